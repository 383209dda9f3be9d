/* The training loop: cache the images (skipping, with a warning, those that cannot be read),
 * stream augmented batches from the loader thread, step SGD on the FCOS loss with warm-up and
 * cosine decay, keep an EMA of the weights, evaluate the EMA model on the validation images,
 * report progress, stop on request or time budget. */
#include "det_int.h"

#include <math.h>
#include <string.h>

struct trainer {
    struct det_train_opts o;
    int arch_default; /* the caller left the architecture to us */
    const struct det_dataset *train, *val;
    struct det_model *model;
    struct det_model shadow; /* the EMA weights seen as a model (borrowed nn model) */
    struct det_cache tc, vc;
    struct det_geom geom;
    struct nn_graph *g, *vg;
    struct nn_optim *opt;
    struct nn_ema *ema;
    struct nn_sched sched;
    struct det_loader *loader;
    struct det_loss_buf lb;
    struct det_train_progress pr;
    long steps_per_epoch;
    int vbatch;
    double t_train, t_mark; /* accumulated training seconds; start of the current stretch */
};

static const struct det_aug default_aug = {0.5f, 1.5f, 0.5f, 0.25f, 0.0f, 0.25f, 0};

static void resolve(const struct det_train_opts *in, int ntrain, struct det_train_opts *o)
{
    *o = *in;
    o->arch = o->arch ? o->arch : DET_DEFAULT_ARCH;
    o->input_size = o->input_size ? o->input_size : DET_DEFAULT_SIZE;
    /* 80: validation held at its best from ~60 on; 110 and 141 epochs fell (src/det/README.md) */
    o->epochs = o->epochs > 0 ? o->epochs : 80;
    o->batch = o->batch > 0 ? o->batch : 8;
    /* mosaic 0.5: validation AP 0.42-0.45 instead of 0.39-0.42 over epochs 55-80 (one run each) */
    o->mosaic = o->mosaic == 0.0f ? 0.5f : o->mosaic < 0.0f ? 0.0f : o->mosaic;
    if (o->batch > ntrain)
        o->batch = ntrain;
    o->eval_every = o->eval_every > 0 ? o->eval_every : 1;
}

static void report(struct trainer *t)
{
    if (t->o.progress)
        t->o.progress(t->o.user, &t->pr);
}

static int cancelled(const struct trainer *t)
{
    return t->o.cancel && *t->o.cancel;
}

/* With the default architecture, a warm start from a model of another one (a project trained
 * before the default changed) is dropped with a warning: the run starts from the default's own
 * start (its pretrained backbone), which beats the old architecture warm-started (README.md). A
 * file that cannot be read is left to det_model_warm_start to report. */
static int init_matches(const struct trainer *t)
{
    struct base_err e;
    struct det_model *init = det_model_load(t->o.init_path, &e);
    if (!init)
        return 1;
    int same = !strcmp(det_model_info(init)->arch, t->o.arch);
    if (!same)
        BASE_WARN("%s is a %s model: training a %s (the default architecture) from its own start "
                  "instead of warm-starting from it",
                  t->o.init_path, det_model_info(init)->arch, t->o.arch);
    det_model_free(init);
    return same;
}

/* The model and its warm start: what can fail on the options alone, before any image is read. */
static int setup_model(struct trainer *t, struct base_err *err)
{
    t->model = det_model_new(t->o.arch, (const char *const *)t->train->classes, t->train->nclasses,
                             t->o.input_size, t->o.seed, err);
    if (!t->model)
        return -1;
    if (t->o.init_path && t->arch_default && !init_matches(t))
        t->o.init_path = NULL;
    if (t->o.init_path && det_model_warm_start(t->model, t->o.init_path, err))
        return -1;
    det_model_geom(t->model, t->o.input_size, &t->geom);
    return 0;
}

/* Graph, optimizer, schedule and EMA, sized by the images that could be read. */
static int setup_training(struct trainer *t, struct base_err *err)
{
    if (t->o.batch > t->tc.n)
        t->o.batch = t->tc.n;
    t->steps_per_epoch = (t->tc.n + t->o.batch - 1) / t->o.batch;
    t->g = nn_graph_new(t->model->nn);
    det_build(t->model, t->g, t->o.batch, t->o.input_size);
    if (nn_graph_compile(t->g, NN_TRAIN, NN_BACKEND_DEFAULT, err))
        return -1;
    /* AdamW: 0.75 AP50 after 40 epochs from scratch where SGD reached 0.64 (src/det/README.md) */
    int sgd = t->o.optim == DET_OPTIM_SGD;
    float lr0 = sgd ? t->model->arch->lr : 4e-3f;
    float lr = (t->o.lr > 0 ? t->o.lr : lr0) * (float)t->o.batch / 16.0f;
    /* AdamW's decay 0.25 was no better than 0.05 over two 15-minute runs (src/det/README.md) */
    float wd = t->o.weight_decay > 0 ? t->o.weight_decay : sgd ? 5e-4f : 0.05f;
    struct nn_optim_cfg oc = {.kind = NN_OPTIM_ADAMW, .weight_decay = wd};
    if (sgd)
        oc = (struct nn_optim_cfg){
            .kind = NN_OPTIM_SGD, .momentum = 0.9f, .nesterov = 1, .weight_decay = wd};
    if (!(t->opt = nn_optim_new(t->model->nn, &oc, err)))
        return -1;
    long total = (long)t->o.epochs * t->steps_per_epoch;
    t->sched = (struct nn_sched){.kind = NN_SCHED_COSINE,
                                 .base_lr = lr,
                                 .warmup_steps = total / 8 < 300 ? total / 8 : 300,
                                 .total_steps = total,
                                 .min_lr = 0.02f * lr};
    /* the EMA averages over about the last five epochs (a tenth of a short run) */
    float horizon = fmaxf(20.0f, fminf((float)total / 10.0f, 5.0f * (float)t->steps_per_epoch));
    t->ema = nn_ema_new(t->model->nn, 1.0f - 1.0f / horizon, horizon);
    t->shadow = *t->model;
    t->shadow.nn = nn_ema_model(t->ema);
    t->pr.steps = total;
    t->pr.epochs = t->o.epochs;
    return 0;
}

/* Unreadable images are left out (det_cache_load warns about each); training goes on with the
 * rest, and only fails when none is left. */
static int load_images(struct trainer *t, struct base_err *err)
{
    t->pr.phase = DET_PHASE_LOADING;
    t->pr.to_load = t->train->nsamples + (t->val ? t->val->nsamples : 0);
    report(t);
    if (det_cache_load(&t->tc, t->train, t->o.input_size, t->o.cancel, err))
        return -1;
    t->pr.loaded = t->tc.n;
    t->pr.skipped = t->tc.skipped;
    if (!t->tc.n)
        return base_err_set(err, BASE_E_INVALID, "no readable training images (%d skipped)",
                            t->tc.skipped);
    report(t);
    if (t->val && t->val->nsamples &&
        det_cache_load(&t->vc, t->val, t->o.input_size, t->o.cancel, err))
        return -1;
    t->pr.loaded += t->vc.n;
    t->pr.skipped += t->vc.skipped;
    return 0;
}

/* ---- validation -------------------------------------------------------------------------------
 */

/* Predicts the cached validation images with the EMA weights; boxes in the data set's pixels. */
static int predict_val(struct trainer *t, struct det_box **boxes, int *counts, struct base_err *err)
{
    struct det_predict_opts o;
    det_predict_defaults(NULL, &o);
    int size = t->o.input_size;
    float *in = nn_graph_input(t->vg, 0, NULL);
    for (int i0 = 0; i0 < t->vc.n; i0 += t->vbatch) {
        struct image_letterbox map[16];
        int n = t->vc.n - i0 < t->vbatch ? t->vc.n - i0 : t->vbatch;
        for (int i = 0; i < n; i++)
            if (det_prepare(&t->shadow, &t->vc.items[i0 + i].img, size,
                            in + (size_t)i * 3 * size * size, &map[i], err))
                return -1;
        if (nn_graph_forward(t->vg, err))
            return -1;
        for (int i = 0; i < n; i++) {
            const struct det_cached *it = &t->vc.items[i0 + i];
            struct det_box *b = boxes[i0 + i] = base_alloc(((size_t)o.max_det + 1) * sizeof *b);
            counts[i0 + i] = det_decode_outputs(&t->shadow, t->vg, i, size, &o, b);
            det_unletterbox(&map[i], b, counts[i0 + i]);
            float sx = (float)it->src_width / it->img.width,
                  sy = (float)it->src_height / it->img.height;
            for (int k = 0; k < counts[i0 + i]; k++)
                b[k].x0 *= sx, b[k].x1 *= sx, b[k].y0 *= sy, b[k].y1 *= sy;
        }
    }
    return 0;
}

static int evaluate(struct trainer *t, struct base_err *err)
{
    if (!t->vc.n)
        return 0;
    if (!t->vg) {
        t->vbatch = t->vc.n < 8 ? t->vc.n : 8;
        t->vg = nn_graph_new(t->shadow.nn);
        det_build(&t->shadow, t->vg, t->vbatch, t->o.input_size);
        if (nn_graph_compile(t->vg, NN_INFER, NN_BACKEND_DEFAULT, err))
            return -1;
    }
    int n = t->vc.n, rc;
    struct det_box **boxes = base_calloc((size_t)n, sizeof *boxes);
    int *counts = base_calloc((size_t)n, sizeof *counts);
    struct det_eval_image *ev = base_calloc((size_t)n, sizeof *ev);
    struct det_metrics m;
    rc = predict_val(t, boxes, counts, err);
    for (int i = 0; i < n && !rc; i++) {
        const struct det_sample *s = &t->val->samples[t->vc.items[i].sample];
        ev[i] = (struct det_eval_image){s->boxes, s->nboxes, boxes[i], counts[i]};
    }
    if (!rc && !(rc = det_evaluate(ev, n, t->model->info.nclasses, &m, err))) {
        t->pr.val_ap = m.ap;
        t->pr.val_ap50 = m.ap50;
        t->pr.evaluated = 1;
        det_metrics_release(&m);
    }
    for (int i = 0; i < n; i++)
        base_free(boxes[i]);
    base_free(boxes);
    base_free(counts);
    base_free(ev);
    return rc;
}

/* ---- the loop ---------------------------------------------------------------------------------
 */

/* With a time budget the schedule runs on whichever ends first, epochs or minutes, so that a
 * budgeted run still anneals to its end. */
static long schedule_step(const struct trainer *t)
{
    if (t->o.max_minutes <= 0)
        return t->pr.step;
    double f = t->t_train / (t->o.max_minutes * 60.0);
    long by_time = (long)(f * (double)t->pr.steps);
    return by_time > t->pr.step ? by_time : t->pr.step;
}

/* The last eighth of the schedule has no mosaic: the model sees whole pictures at their real
 * sizes again (AP50 0.836 instead of 0.812 at the end of the same run, src/det/README.md). */
static long mosaic_end(const struct trainer *t)
{
    return t->pr.steps * 7 / 8;
}

static int train_step(struct trainer *t, struct base_err *err)
{
    const struct det_batch *b = det_loader_next(t->loader);
    memcpy(nn_graph_input(t->g, 0, NULL), b->input,
           (size_t)b->n * 3 * b->size * b->size * sizeof(float));
    if (nn_graph_forward(t->g, err))
        return -1;
    struct det_loss_parts lp;
    det_loss(b, &t->geom, t->g, t->o.cls_loss, &t->lb, &lp);
    if (nn_graph_backward(t->g, err))
        return -1;
    nn_clip_grad_norm(t->model->nn, 10.0);
    nn_optim_step(t->opt, nn_sched_lr(&t->sched, schedule_step(t)));
    nn_ema_update(t->ema, t->model->nn);
    double a = t->pr.step ? 0.9 : 0.0; /* running averages */
    t->pr.loss_cls = a * t->pr.loss_cls + (1 - a) * lp.cls;
    t->pr.loss_box = a * t->pr.loss_box + (1 - a) * lp.box;
    t->pr.loss_ctr = a * t->pr.loss_ctr + (1 - a) * lp.ctr;
    t->pr.loss = t->pr.loss_cls + t->pr.loss_box + t->pr.loss_ctr;
    t->pr.step++;
    return 0;
}

static void update_clock(struct trainer *t)
{
    double now = base_now();
    t->t_train += now - t->t_mark;
    t->t_mark = now;
    t->pr.elapsed_s = t->t_train;
    t->pr.images_per_s = t->t_train > 0 ? (double)t->pr.step * t->o.batch / t->t_train : 0;
    double per_step = t->pr.step ? t->t_train / (double)t->pr.step : 0;
    t->pr.eta_s = per_step * (double)(t->pr.steps - t->pr.step);
}

static int out_of_time(const struct trainer *t)
{
    return t->o.max_minutes > 0 && t->t_train >= t->o.max_minutes * 60.0;
}

static int run_epochs(struct trainer *t, struct base_err *err)
{
    t->pr.phase = DET_PHASE_TRAINING;
    t->t_mark = base_now();
    double last_report = 0;
    for (int e = 1; e <= t->o.epochs; e++) {
        t->pr.epoch = e;
        for (long s = 0; s < t->steps_per_epoch; s++) {
            if (cancelled(t))
                return base_err_set(err, BASE_E_CANCELLED, "training cancelled");
            if (train_step(t, err))
                return -1;
            update_clock(t);
            /* a schedule on the clock reaches its last eighth before the loader's batch count
             * does: end mosaic by the schedule */
            if (t->o.max_minutes > 0 && schedule_step(t) >= mosaic_end(t))
                det_loader_end_mosaic(t->loader);
            if (base_now() - last_report > 0.25) {
                last_report = base_now();
                report(t);
            }
            if (out_of_time(t))
                break; /* a large data set's epoch can outlast the whole budget */
        }
        int last = e == t->o.epochs || out_of_time(t);
        if (last || e % t->o.eval_every == 0) {
            t->pr.phase = DET_PHASE_EVALUATING;
            if (evaluate(t, err))
                return -1;
            report(t);
            t->pr.evaluated = 0;
            t->pr.phase = DET_PHASE_TRAINING;
            t->t_mark = base_now(); /* evaluation time is not training time */
        }
        if (last)
            break;
    }
    return 0;
}

static struct det_model *final_model(struct trainer *t, struct base_err *err)
{
    struct det_model *m = det_model_new(t->o.arch, (const char *const *)t->train->classes,
                                        t->train->nclasses, t->o.input_size, t->o.seed, err);
    if (!m || nn_model_copy(m->nn, t->shadow.nn, err)) {
        det_model_free(m);
        return NULL;
    }
    m->info.epoch = t->pr.epoch;
    m->info.train_images = t->tc.n;
    m->info.val_ap = t->vc.n ? t->pr.val_ap : -1;
    m->info.val_ap50 = t->vc.n ? t->pr.val_ap50 : -1;
    det_dataset_fingerprint(t->train, m->fingerprint);
    return m;
}

static void trainer_release(struct trainer *t)
{
    det_loader_free(t->loader);
    det_loss_buf_release(&t->lb);
    nn_graph_free(t->g);
    nn_graph_free(t->vg);
    nn_optim_free(t->opt);
    nn_ema_free(t->ema);
    det_model_free(t->model);
    det_cache_release(&t->tc);
    det_cache_release(&t->vc);
}

int det_train(const struct det_dataset *train, const struct det_dataset *val,
              const struct det_train_opts *opts, struct det_model **out, struct base_err *err)
{
    *out = NULL;
    if (!train || train->nsamples < 1)
        return base_err_set(err, BASE_E_INVALID, "no training images");
    struct trainer t;
    memset(&t, 0, sizeof t);
    resolve(opts, train->nsamples, &t.o);
    t.arch_default = opts->arch == NULL;
    t.train = train;
    t.val = val;
    t.pr.val_ap = t.pr.val_ap50 = -1;
    int rc = setup_model(&t, err);
    if (!rc)
        rc = load_images(&t, err);
    if (!rc)
        rc = setup_training(&t, err);
    if (!rc) {
        struct det_aug aug = default_aug;
        aug.mosaic = t.o.mosaic;
        aug.mosaic_batches = mosaic_end(&t);
        t.loader = det_loader_new(&t.tc, &t.geom, train->nclasses, t.o.batch, t.o.seed, &aug,
                                  t.model->info.mean, t.model->info.std);
        det_loss_buf_init(&t.lb, &t.geom, t.o.batch, train->nclasses);
        rc = run_epochs(&t, err);
    }
    if (!rc && !(*out = final_model(&t, err)))
        rc = -1;
    if (!rc) {
        t.pr.phase = DET_PHASE_DONE;
        report(&t);
    }
    trainer_release(&t);
    return rc;
}
