/* bench/det-*: the C side of the detector benchmarks.
 *   bench_det train DIR ARCH SIZE BATCH STEPS   trains STEPS steps on raccoon's fixed training
 *       split, writing the initial weights (DIR/init.safetensors) and every batch with its
 *       targets (DIR/batches.bin) so that fcos_torch.py trains the identical network on the
 *       identical batches; prints per-step losses and the step time breakdown.
 *   bench_det model PATH ARCH SIZE               writes a freshly initialised model (seed 1).
 *   bench_det infer MODEL ITERS BATCH            latency of det_predict on one picture (median)
 *       and throughput of batches of BATCH pictures, on raccoon images.
 * Output: `key=value` lines that run.sh collects. */
#include "det/det_int.h"
#include "formats/formats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct det_dataset *raccoon_split(int want_val, const char *shared)
{
    char path[1024];
    struct base_err err;
    struct formats_dataset *fd;
    snprintf(path, sizeof path, "%s/datasets/raccoon", shared);
    if (formats_dataset_read(path, FORMATS_VOC, &fd, &err)) {
        fprintf(stderr, "bench_det: %s\n", err.msg);
        exit(1);
    }
    struct det_dataset *all = det_dataset_from_formats(fd, 0, &err);
    formats_dataset_free(fd);
    if (!all) {
        fprintf(stderr, "bench_det: %s\n", err.msg);
        exit(1);
    }
    struct det_dataset *tr, *va;
    det_dataset_split(all, 0.2, 1, &tr, &va, &err);
    det_dataset_free(all);
    det_dataset_free(want_val ? tr : va);
    return want_val ? va : tr;
}

static void write_batch(FILE *f, const struct det_batch *b, const struct det_geom *g)
{
    fwrite(b->input, sizeof(float), (size_t)b->n * 3 * b->size * b->size, f);
    for (int l = 0; l < g->nlevels; l++)
        fwrite(b->cls_t[l], sizeof(float), (size_t)b->n * b->nclasses * g->lv[l].w * g->lv[l].h, f);
    int32_t np = b->npos;
    fwrite(&np, sizeof np, 1, f);
    for (int k = 0; k < b->npos; k++) {
        int32_t ip[3] = {b->pos[k].img, b->pos[k].level, b->pos[k].p};
        fwrite(ip, sizeof ip, 1, f);
        fwrite(b->pos[k].ltrb, sizeof(float), 4, f);
        fwrite(&b->pos[k].ctr, sizeof(float), 1, f);
    }
}

struct timing {
    double fwd, loss, bwd, opt, total;
};

static int train(const char *dir, const char *arch, int size, int batch, int steps,
                 const char *shared)
{
    struct base_err err;
    struct det_dataset *tr = raccoon_split(0, shared);
    struct det_model *m =
        det_model_new(arch, (const char *const *)tr->classes, tr->nclasses, size, 1, &err);
    char path[1024];
    snprintf(path, sizeof path, "%s/init.safetensors", dir);
    if (!m || det_model_save(m, path, &err))
        return fprintf(stderr, "bench_det: %s\n", err.msg), 1;
    struct det_cache c;
    if (det_cache_load(&c, tr, size, NULL, &err))
        return fprintf(stderr, "bench_det: %s\n", err.msg), 1;
    struct det_geom g;
    det_model_geom(m, size, &g);
    static const struct det_aug aug = {0.5f, 1.5f, 0.5f, 0.25f, 0.0f, 0.25f, 0};
    struct det_loader *l =
        det_loader_new(&c, &g, tr->nclasses, batch, 1, &aug, m->info.mean, m->info.std);
    struct det_loss_buf lb;
    det_loss_buf_init(&lb, &g, batch, tr->nclasses);
    struct nn_graph *graph = nn_graph_new(m->nn);
    det_build(m, graph, batch, size);
    if (nn_graph_compile(graph, NN_TRAIN, NN_BACKEND_DEFAULT, &err))
        return fprintf(stderr, "bench_det: %s\n", err.msg), 1;
    struct nn_optim_cfg oc = {
        .kind = NN_OPTIM_SGD, .momentum = 0.9f, .nesterov = 1, .weight_decay = 5e-4f};
    struct nn_optim *opt = nn_optim_new(m->nn, &oc, &err);
    snprintf(path, sizeof path, "%s/batches.bin", dir);
    FILE *f = fopen(path, "wb");
    struct timing t = {0};
    for (int s = 0; s < steps; s++) {
        const struct det_batch *b = det_loader_next(l);
        write_batch(f, b, &g);
        double t0 = base_now();
        memcpy(nn_graph_input(graph, 0, NULL), b->input,
               (size_t)batch * 3 * size * size * sizeof(float));
        nn_graph_forward(graph, &err);
        double t1 = base_now();
        struct det_loss_parts lp;
        det_loss(b, &g, graph, DET_CLS_FOCAL, &lb, &lp); /* the focal loss of the torch twin */
        double t2 = base_now();
        nn_graph_backward(graph, &err);
        double t3 = base_now();
        double gnorm = nn_clip_grad_norm(m->nn, 10.0);
        nn_optim_step(opt, 0.01f);
        double t4 = base_now();
        printf("step=%d loss_cls=%.6f loss_box=%.6f loss_ctr=%.6f npos=%d ms=%.1f gnorm=%.2f\n", s,
               lp.cls, lp.box, lp.ctr, lp.npos, (t4 - t0) * 1e3, gnorm);
        if (s >= 2) { /* the first steps touch memory for the first time */
            t.fwd += t1 - t0, t.loss += t2 - t1, t.bwd += t3 - t2, t.opt += t4 - t3;
            t.total += t4 - t0;
        }
    }
    fclose(f);
    int n = steps - 2;
    printf("ours_ms=%.2f fwd_ms=%.2f loss_ms=%.2f bwd_ms=%.2f opt_ms=%.2f ours_ips=%.2f "
           "gflops=%.3f params=%zu threads=%d\n",
           t.total / n * 1e3, t.fwd / n * 1e3, t.loss / n * 1e3, t.bwd / n * 1e3, t.opt / n * 1e3,
           batch * n / t.total, m->info.gflops, m->info.params, nn_num_threads());
    nn_optim_free(opt);
    nn_graph_free(graph);
    det_loader_free(l);
    det_loss_buf_release(&lb);
    det_cache_release(&c);
    det_model_free(m);
    det_dataset_free(tr);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int infer(const char *model, int iters, int batch, const char *shared)
{
    struct base_err err;
    struct det_predictor *p = det_predictor_open(model, &err);
    if (!p)
        return fprintf(stderr, "bench_det: %s\n", err.msg), 1;
    struct det_dataset *va = raccoon_split(1, shared);
    struct image imgs[16];
    const struct image *ptrs[16];
    for (int i = 0; i < 16; i++) {
        if (image_decode_file(va->samples[i].path, NULL, &imgs[i], NULL, &err))
            return fprintf(stderr, "bench_det: %s\n", err.msg), 1;
        ptrs[i] = &imgs[i];
    }
    double *ms = base_alloc((size_t)iters * sizeof *ms);
    struct det_box *out[16];
    int counts[16];
    for (int i = -3; i < iters; i++) { /* three warm-up calls */
        double t0 = base_now();
        det_predict(p, &ptrs[(i + 3) % 16], 1, NULL, out, counts, &err);
        if (i >= 0)
            ms[i] = (base_now() - t0) * 1e3;
        base_free(out[0]);
    }
    qsort(ms, (size_t)iters, sizeof *ms, cmp_double);
    double t0 = base_now();
    int nb = iters / 4 + 2;
    for (int i = 0; i < nb; i++) {
        det_predict(p, ptrs, batch, NULL, out, counts, &err);
        for (int k = 0; k < batch; k++)
            base_free(out[k]);
    }
    double ips = nb * batch / (base_now() - t0);
    printf("ms=%.2f ms_p10=%.2f ms_p90=%.2f batch_ips=%.1f threads=%d\n", ms[iters / 2],
           ms[iters / 10], ms[iters * 9 / 10], ips, nn_num_threads());
    for (int i = 0; i < 16; i++)
        image_release(&imgs[i]);
    base_free(ms);
    det_dataset_free(va);
    det_predictor_free(p);
    return 0;
}

static int fresh_model(const char *path, const char *arch, int size)
{
    struct base_err err;
    const char *cls[1] = {"raccoon"};
    struct det_model *m = det_model_new(arch, cls, 1, size, 1, &err);
    int rc = m ? det_model_save(m, path, &err) : -1;
    if (rc)
        fprintf(stderr, "bench_det: %s\n", err.msg);
    else
        printf("gflops=%.3f params=%zu\n", m->info.gflops, m->info.params);
    det_model_free(m);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *shared = getenv("LL_SHARED") ? getenv("LL_SHARED") : "../shared";
    if (getenv("LL_THREADS"))
        nn_set_num_threads(atoi(getenv("LL_THREADS")));
    if (argc == 7 && !strcmp(argv[1], "train"))
        return train(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), shared);
    if (argc == 5 && !strcmp(argv[1], "model"))
        return fresh_model(argv[2], argv[3], atoi(argv[4]));
    if (argc == 5 && !strcmp(argv[1], "infer"))
        return infer(argv[2], atoi(argv[3]), atoi(argv[4]), shared);
    fprintf(stderr, "usage: bench_det train DIR ARCH SIZE BATCH STEPS | model PATH ARCH SIZE | "
                    "infer MODEL ITERS BATCH\n");
    return 2;
}
