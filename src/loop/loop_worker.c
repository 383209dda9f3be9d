/* The worker process (`labelloop train-worker`): runs one job from the job table to its end.
 * A train job reads the labeled tasks, trains with a warm start from the current version,
 * evaluates the new and the current model on the same held-out tasks, records the version,
 * promotes it if it is at least as good, and predicts every task with it; a predict job only
 * predicts. Progress goes to the job row, warnings to stderr (the server keeps the last lines). */
#include "loop_int.h"

#include "nn/nn.h"

#include <stdio.h>
#include <string.h>

struct worker {
    struct store *st;
    const struct loop_worker_opts *o;
    struct store_job job;
    struct store_project project;
    struct loop_target target;
    double last_report, last_line;
    double budget_s; /* the training time cap of this run */
};

/* Writes progress (stolen) to the job row at most twice a second unless forced. */
static void report(struct worker *w, const char *phase, json_t *progress, int force)
{
    double now = base_now();
    if (force || now - w->last_report >= 0.5) {
        struct base_err e = {0};
        if (store_job_progress(w->st, w->job.id, phase, progress, &e))
            BASE_WARN("loop: job %lld: cannot record progress: %s", (long long)w->job.id, e.msg);
        w->last_report = now;
    }
    json_decref(progress);
}

static void train_progress(void *user, const struct det_train_progress *p)
{
    struct worker *w = user;
    static const char *const phases[] = {"loading", "training", "evaluating", "training"};
    json_t *j =
        json_pack("{s:i, s:i, s:I, s:I, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "epoch",
                  p->epoch, "epochs", p->epochs, "step", (json_int_t)p->step, "steps",
                  (json_int_t)p->steps, "loaded", p->loaded, "to_load", p->to_load, "loss", p->loss,
                  "loss_cls", p->loss_cls, "loss_box", p->loss_box, "loss_ctr", p->loss_ctr,
                  "images_per_s", p->images_per_s, "elapsed_s", p->elapsed_s, "eta_s", p->eta_s);
    if (w->budget_s > 0) { /* the clock, not the epochs, ends a capped run */
        double left = w->budget_s - p->elapsed_s;
        json_object_set_new(j, "budget_s", json_real(w->budget_s));
        json_object_set_new(j, "eta_s",
                            json_real(left < p->eta_s ? (left > 0 ? left : 0) : p->eta_s));
    }
    report(w, phases[p->phase], j, p->phase != DET_PHASE_TRAINING);
    double now = base_now();
    if (p->phase == DET_PHASE_TRAINING && now - w->last_line >= 10) {
        w->last_line = now;
        fprintf(stderr, "epoch %d/%d  step %ld/%ld  loss %.3f  %.1f img/s  eta %.0f s\n", p->epoch,
                p->epochs, p->step, p->steps, p->loss, p->images_per_s, p->eta_s);
    }
}

static void refresh_progress(void *user, const struct loop_refresh_stats *s, double elapsed)
{
    struct worker *w = user;
    double eta = s->done ? elapsed / (double)s->done * (double)(s->total - s->done) : 0;
    report(w, "predicting",
           json_pack("{s:I, s:I, s:I, s:I, s:f, s:f}", "done", (json_int_t)s->done, "total",
                     (json_int_t)s->total, "made", (json_int_t)s->made, "skipped",
                     (json_int_t)s->skipped, "elapsed_s", elapsed, "eta_s", eta),
           s->done == s->total);
}

/* Held-out metrics of a predictor's model on data set d, and its cheapest pre-label threshold. */
static int evaluate(struct det_predictor *p, const struct det_dataset *d, struct loop_eval *out,
                    float *thr, int min_images, struct base_err *err)
{
    int n = d->nsamples, k = 0, rc;
    const char **paths = base_alloc(((size_t)n + 1) * sizeof *paths);
    struct det_box **dt = base_calloc((size_t)n + 1, sizeof *dt);
    int *counts = base_calloc((size_t)n + 1, sizeof *counts), map[256];
    struct det_eval_image *im = base_calloc((size_t)n + 1, sizeof *im);
    struct det_model *m = det_predictor_acquire(p);
    const struct det_model_info *info = det_model_info(m);
    for (int c = 0; c < info->nclasses && c < 256; c++) { /* model class -> data set class */
        map[c] = -1;
        for (int j = 0; j < d->nclasses; j++)
            if (!strcmp(info->classes[c], d->classes[j]))
                map[c] = j;
    }
    det_predictor_release(p, m);
    for (int i = 0; i < n; i++)
        paths[i] = d->samples[i].path;
    struct det_predict_opts o = {.score_thr = 0.05f, .max_det = 100};
    rc = det_predict_files(p, paths, n, &o, dt, counts, NULL, err);
    for (int i = 0; i < n && rc == 0; i++) {
        if (counts[i] < 0)
            continue; /* unreadable: left out, the warning names it */
        int kept = 0;
        for (int b = 0; b < counts[i]; b++) {
            int label = dt[i][b].label;
            if (label < 0 || label >= 256 || map[label] < 0)
                continue; /* a class the data set no longer has */
            dt[i][kept] = dt[i][b];
            dt[i][kept++].label = map[label];
        }
        im[k++] = (struct det_eval_image){d->samples[i].boxes, d->samples[i].nboxes, dt[i], kept};
    }
    struct det_metrics met = {0};
    if (rc == 0 && k > 0 && (rc = det_evaluate(im, k, d->nclasses, &met, err)) == 0) {
        *out = (struct loop_eval){k, met.ap < 0 ? 0 : met.ap, met.ap50 < 0 ? 0 : met.ap50,
                                  met.ap75 < 0 ? 0 : met.ap75};
        *thr = k >= min_images ? loop_best_threshold(im, k, &loop_default_costs, 0.3f) : 0.3f;
    } else if (rc == 0) {
        *out = (struct loop_eval){0, 0, 0, 0};
        *thr = 0.3f;
    }
    det_metrics_release(&met);
    for (int i = 0; i < n; i++)
        base_free(dt[i]);
    base_free(dt);
    base_free(counts);
    base_free(paths);
    base_free(im);
    return rc;
}

/* The training time cap: the schedule's, lowered by the server's setting; a job's own
 * max_train_s (Train now) replaces both. */
static double time_cap(const struct worker *w, double schedule_s)
{
    double s =
        w->o->max_train_s > 0 && w->o->max_train_s < schedule_s ? w->o->max_train_s : schedule_s;
    const json_t *own = json_object_get(w->job.params, LOOP_PARAM_MAX_TRAIN_S);
    return json_is_number(own) && json_number_value(own) > 0 ? json_number_value(own) : s;
}

static int train_model(struct worker *w, const struct loop_data *data, const char *init,
                       struct det_model **out, struct base_err *err)
{
    struct loop_schedule sch;
    loop_schedule_for(data->train->nsamples, init != NULL, &sch);
    double max_s = time_cap(w, sch.max_s);
    w->budget_s = max_s;
    const json_t *epochs = json_object_get(w->job.params, LOOP_PARAM_EPOCHS);
    const json_t *size = json_object_get(w->job.params, LOOP_PARAM_INPUT_SIZE);
    if (json_is_integer(epochs))
        sch.epochs = (int)json_integer_value(epochs);
    struct det_train_opts to = {.arch = w->o->arch,
                                .epochs = sch.epochs,
                                .input_size =
                                    json_is_integer(size) ? (int)json_integer_value(size) : 0,
                                .max_minutes = max_s / 60.0,
                                .seed = (uint64_t)w->job.id,
                                .eval_every = sch.epochs + 1, /* the loop evaluates itself */
                                .init_path = init,
                                .cancel = w->o->cancel,
                                .progress = train_progress,
                                .user = w};
    fprintf(stderr,
            "training on %d of %d images (%d of %d held out, %d skipped), %d epochs, at most"
            " %.0f s%s\n",
            data->train->nsamples, data->train_total, data->heldout->nsamples, data->heldout_total,
            data->skipped, sch.epochs, max_s,
            init ? ", warm start from the current model" : ", from scratch");
    return det_train(data->train, NULL, &to, out, err);
}

/* All images of both data sets (same classes), paths and boxes copied. */
static struct det_dataset *merged(const struct det_dataset *a, const struct det_dataset *b,
                                  struct base_err *err)
{
    struct det_dataset *d = det_dataset_new((const char *const *)a->classes, a->nclasses, err);
    if (d && (loop_dataset_append(d, a, NULL, err) || loop_dataset_append(d, b, NULL, err))) {
        det_dataset_free(d);
        return NULL;
    }
    return d;
}

/* The pre-label threshold: the cheapest for the annotator on the held-out images (see
 * loop_best_threshold), or, when there are too few of them to say anything (a young project),
 * on every labeled image: the training images flatter the model, but the threshold they give
 * still cuts the crowd of weak boxes a fixed one lets in. */
static int threshold(struct det_predictor *p, const struct det_dataset *train,
                     const struct det_dataset *heldout, float *thr, struct base_err *err)
{
    struct loop_eval ignored;
    struct det_dataset *all = merged(heldout, train, err);
    int rc = all ? evaluate(p, all, &ignored, thr, 1, err) : -1;
    det_dataset_free(all);
    return rc;
}

/* Evaluates the fresh model and the current one (file `cur`, may be NULL) on the held-out set
 * and fills the version's metrics, threshold and promotion decision. */
static int judge(struct det_model *fresh, const char *cur, const struct loop_data *data,
                 struct store_version *v, int *promote, struct base_err *err)
{
    const struct det_dataset *heldout = data->heldout;
    struct loop_eval ef = {0}, ec = {0};
    float thr = 0.3f, thr_cur;
    struct det_predictor *pf = det_predictor_new(fresh), *pc = NULL;
    int rc = evaluate(pf, heldout, &ef, &thr, LOOP_MIN_HELDOUT, err);
    if (rc == 0 && ef.nimages < LOOP_MIN_HELDOUT)
        rc = threshold(pf, data->train, heldout, &thr, err);
    struct base_err e = {0};
    if (rc == 0 && cur && !(pc = det_predictor_open(cur, &e))) {
        BASE_WARN("loop: the current model cannot be read, the new one replaces it: %s", e.msg);
        cur = NULL;
    }
    if (rc == 0 && pc)
        rc = evaluate(pc, heldout, &ec, &thr_cur, LOOP_MIN_HELDOUT, err);
    det_predictor_free(pc);
    det_predictor_free(pf); /* frees fresh too */
    if (rc)
        return -1;
    v->has_metrics = 1;
    v->ap = ef.ap, v->ap50 = ef.ap50, v->ap75 = ef.ap75;
    v->has_base = cur != NULL;
    v->base_ap = ec.ap, v->base_ap50 = ec.ap50, v->base_ap75 = ec.ap75;
    v->heldout_images = ef.nimages;
    v->score_thr = thr;
    *promote = loop_promote(&ef, cur ? &ec : NULL, v->reason, sizeof v->reason);
    fprintf(stderr, "held-out (%d images): AP %.3f AP50 %.3f AP75 %.3f; %s: %s\n", ef.nimages,
            ef.ap, ef.ap50, ef.ap75, *promote ? "promoted" : "not promoted", v->reason);
    return 0;
}

static int predict_all(struct worker *w, const char *model_file, const char *version, float thr,
                       struct base_err *err)
{
    struct det_predictor *p = det_predictor_open(model_file, err);
    if (!p)
        return -1;
    struct loop_refresh r = {w->st, w->o->data_dir, w->o->media, w->job.project, &w->target,
                             p,     version,        thr,         w->o->cancel,   refresh_progress,
                             w};
    struct loop_refresh_stats s;
    int rc = loop_refresh_run(&r, &s, err);
    fprintf(stderr, "predicted %lld of %lld tasks with %s (%lld skipped)\n", (long long)s.made,
            (long long)s.total, version, (long long)s.skipped);
    det_predictor_free(p);
    return rc;
}

/* The version record of a freshly trained model. */
static void describe(struct worker *w, const struct det_model *m, const struct loop_data *data,
                     const struct store_version *cur, double seconds, struct store_version *v)
{
    const struct det_model_info *info = det_model_info(m);
    memset(v, 0, sizeof *v);
    v->project = w->job.project;
    v->parent = cur ? cur->id : 0;
    snprintf(v->file, sizeof v->file, "models/%lld/job-%lld.safetensors", (long long)w->job.project,
             (long long)w->job.id);
    snprintf(v->arch, sizeof v->arch, "%s", info->arch);
    v->input_size = info->input_size;
    v->classes = json_array();
    for (int i = 0; i < info->nclasses; i++)
        json_array_append_new(v->classes, json_string(info->classes[i]));
    v->train_images = data->train_total;
    v->epochs = info->epoch;
    v->duration_s = seconds;
}

/* Saves the model, judges it and records the version; *promoted says what was decided. */
static int record(struct worker *w, struct det_model *m, const struct loop_data *data,
                  const struct store_version *cur, double seconds, struct store_version *v,
                  int *promoted, struct base_err *err)
{
    describe(w, m, data, cur, seconds, v);
    char *dir = loop_models_dir(w->o->data_dir, w->job.project);
    char *path = loop_data_path(w->o->data_dir, v->file);
    char *cur_path =
        cur ? loop_model_path(w->st, w->o->data_dir, &w->project, &w->target, cur) : NULL;
    int rc = base_mkdirs(dir, err) || det_model_save(m, path, err) ? -1 : 0;
    report(w, "evaluating", json_object(), 1);
    if (rc == 0)
        rc = judge(m, cur_path, data, v, promoted, err);
    else
        det_model_free(m);
    char *bytes = NULL;
    size_t size = 0;
    if (rc == 0 && w->o->keep_files) /* for servers and workers on other machines */
        rc = base_file_read(path, (size_t)1 << 30, &bytes, &size, err);
    if (rc == 0)
        rc = store_version_create_file(w->st, v, v->arch, *promoted, w->job.id, bytes, size, err);
    base_free(bytes);
    if (rc)
        remove(path); /* nothing points at it: no orphan file */
    base_free(dir);
    base_free(path);
    base_free(cur_path);
    return rc;
}

static int run_train(struct worker *w, struct base_err *err)
{
    struct loop_data data = {0};
    struct store_version cur = {0}, v = {0};
    struct det_model *m = NULL;
    int has_cur = store_version_current(w->st, w->job.project, &cur, NULL) == 0, promoted = 0;
    int scratch = json_is_true(json_object_get(w->job.params, LOOP_PARAM_FROM_SCRATCH));
    /* a zoo version seeds nothing: training starts from the pretrained backbone */
    char *cur_path = has_cur && !scratch && !loop_is_zoo(cur.file)
                         ? loop_model_path(w->st, w->o->data_dir, &w->project, &w->target, &cur)
                         : NULL;
    const char *arch = w->o->arch ? w->o->arch : DET_DEFAULT_ARCH;
    if (cur_path && !base_file_exists(cur_path)) {
        BASE_WARN("loop: %s (version %s) is missing: training from scratch", cur_path, cur.name);
        base_free(cur_path);
        cur_path = NULL;
    } else if (cur_path && strcmp(cur.arch, arch)) {
        /* the server was switched to another architecture: its own start beats a warm start
         * that cannot carry over (det's README) */
        fprintf(stderr, "version %s is a %s model; training a %s from its own start\n", cur.name,
                cur.arch, arch);
        base_free(cur_path);
        cur_path = NULL;
    }
    report(w, "loading", json_object(), 1);
    int rc =
        loop_data_load(w->st, w->o->data_dir, w->o->media, w->job.project, &w->target, &data, err);
    if (rc == 0)
        rc = loop_data_cap(&data, LOOP_TRAIN_MAX, LOOP_HELDOUT_MAX, (uint64_t)w->job.id, err);
    if (rc == 0 && data.train->nsamples == 0)
        rc = base_err_set(err, BASE_E_INVALID,
                          "no labeled images to train on (%d held out, %d skipped)",
                          data.heldout->nsamples, data.skipped);
    double t0 = base_now();
    if (rc == 0)
        rc = train_model(w, &data, cur_path, &m, err);
    if (rc == 0)
        rc = record(w, m, &data, has_cur ? &cur : NULL, base_now() - t0, &v, &promoted, err);
    if (rc == 0 && promoted) {
        char *path = loop_data_path(w->o->data_dir, v.file);
        rc = predict_all(w, path, v.name, (float)v.score_thr, err);
        base_free(path);
    }
    base_free(cur_path);
    store_version_release(&cur);
    store_version_release(&v);
    loop_data_release(&data);
    return rc;
}

static int run_predict(struct worker *w, struct base_err *err)
{
    struct store_version v = {0};
    int rc = w->job.version ? store_version_get(w->st, w->job.version, &v, err)
                            : store_version_current(w->st, w->job.project, &v, err);
    if (rc == 0) {
        char *path = loop_model_path(w->st, w->o->data_dir, &w->project, &w->target, &v);
        rc = predict_all(w, path, v.name, (float)v.score_thr, err);
        base_free(path);
    }
    store_version_release(&v);
    return rc;
}

static int run(struct worker *w, int64_t job, struct base_err *err)
{
    if (store_job_get(w->st, job, &w->job, err))
        return -1;
    if (w->job.state != STORE_JOB_RUNNING)
        return base_err_set(err, BASE_E_CONFLICT, "job %lld is %s, not running",
                            (long long)w->job.id, store_job_state_name(w->job.state));
    if (store_project_get(w->st, w->job.project, &w->project, err) ||
        loop_target_load(&w->project, &w->target, err))
        return -1;
    return w->job.kind == STORE_JOB_TRAIN ? run_train(w, err) : run_predict(w, err);
}

int loop_worker_job(struct store *st, const struct loop_worker_opts *o, int64_t job,
                    const volatile int *handed_back, struct base_err *err)
{
    struct worker w = {.st = st, .o = o};
    int rc = run(&w, job, err);
    enum store_job_state end = rc == 0                           ? STORE_JOB_DONE
                               : err->status == BASE_E_CANCELLED ? STORE_JOB_CANCELLED
                                                                 : STORE_JOB_FAILED;
    int owned, cancel;
    if (handed_back && *handed_back && end == STORE_JOB_CANCELLED) {
        if (store_job_renew(st, job, o->owner, 0, &owned, &cancel, NULL))
            BASE_WARN("loop: job %lld: cannot give its lease up", (long long)job);
        fprintf(stderr, "job %lld handed back: this worker stops\n", (long long)job);
    } else if (w.job.id && store_job_finish(st, w.job.id, end, rc ? err->msg : NULL, NULL, NULL)) {
        BASE_WARN("loop: job %lld: cannot record its end", (long long)w.job.id);
    }
    if (rc)
        fprintf(stderr, "job %lld %s: %s\n", (long long)job, store_job_state_name(end), err->msg);
    loop_target_release(&w.target);
    store_project_release(&w.project);
    store_job_release(&w.job);
    return rc == 0 || end == STORE_JOB_CANCELLED ? 0 : -1;
}

struct store *loop_worker_open(const struct loop_worker_opts *o, struct base_err *err)
{
    char *db = o->db ? base_strdup(o->db) : base_path_join(o->data_dir, "labelloop.sqlite3");
    struct store *st = store_open(db, err);
    base_free(db);
    if (st && o->threads > 0)
        nn_set_num_threads(o->threads);
    return st;
}

int loop_worker_run(const struct loop_worker_opts *o, struct base_err *err)
{
    struct store *st = loop_worker_open(o, err);
    if (!st)
        return -1;
    int rc = loop_worker_job(st, o, o->job, NULL, err);
    store_close(st);
    return rc;
}

/* ---- leases ---- */

int64_t loop_lease_end(double s)
{
    return base_time_us() + (int64_t)(s * 1e6);
}

int loop_jobs_recover(struct store *st, struct base_err *err)
{
    int64_t failed = 0, requeued = 0;
    if (store_jobs_recover(st, base_time_us(), LOOP_MAX_ATTEMPTS, &failed, &requeued, err))
        return -1;
    if (failed || requeued)
        BASE_WARN("loop: %lld job(s) lost their server (lease expired): %lld queued again, %lld"
                  " failed after %d attempts",
                  (long long)(failed + requeued), (long long)requeued, (long long)failed,
                  LOOP_MAX_ATTEMPTS);
    return 0;
}
