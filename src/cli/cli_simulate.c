/* `labelloop simulate`: the whole loop on a labeled data set, through the server's own code paths.
 * A real server (store, loop, worker processes, API) runs in this process on a loopback port; a
 * simulated annotator who holds the true boxes takes tasks in the order /next gives, keeps,
 * adjusts, deletes and draws boxes against the prediction shown, and pays for each action in
 * seconds of a virtual clock. Training runs for real: a model is used for pre-labels only from
 * the task the annotator would have reached when its job really ended (README of src/loop). */
#include "cli_int.h"

#include "api/api.h"
#include "det/det.h"
#include "http/http.h"
#include "store/store.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sim_opts {
    const char *data, *format, *sampling, *policy, *out, *arch;
    struct loop_costs costs;
    int worker_threads, limit, keep;
    double max_train_s, probe_hz;
};

struct sim {
    struct sim_opts o;
    struct det_dataset *d;
    struct store *st;
    struct loop *loop;
    struct api *api;
    struct http_server *srv;
    char *dir, *server_dir, base[64], token[STORE_TOKEN_LEN + 1];
    struct cli_http *h;
    int64_t project, first_task, user, min_labeled, retrain_every;
    double v; /* the annotator's clock, seconds */
    int anchored;
    double anchor_v, anchor_r; /* while jobs run: real time anchor_r is virtual anchor_v */
    char version[64];
    double thr;
    volatile int active; /* a job is running or queued */
    struct cli_sim_step *steps;
    size_t nsteps;
    pthread_mutex_t lat_mu;
    double *lat;
    size_t nlat, latcap;
    volatile int stop_probe;
};

static const char usage[] =
    "usage: labelloop simulate --data PATH [options]\n\n"
    "Runs the closed loop on a labeled data set: a server with the built-in detector, and a\n"
    "simulated annotator who holds the true boxes and takes tasks in the order the server gives.\n"
    "Training runs for real; the annotator's time is modelled. Writes steps.csv, versions.csv and\n"
    "curve.svg and prints a summary.\n\n"
    "options:\n"
    "  --data PATH          COCO, YOLO or VOC data set\n"
    "  --format F           coco, yolo or voc (default: guessed from the layout)\n"
    "  --sampling S         sequential, uniform or uncertainty (default uncertainty)\n"
    "  --policy K,N         first training at K labeled tasks, then every N annotations\n"
    "                       (default 10,20)\n"
    "  --out DIR            where the report goes (default ./simulation)\n"
    "  --limit N            only the first N images of the data set\n"
    "  --draw-s S           seconds to draw a box (default 10)\n"
    "  --adjust-s S         seconds to adjust a predicted box (default 4)\n"
    "  --delete-s S         seconds to delete a predicted box (default 1)\n"
    "  --look-s S           seconds to look at an image (default 1.6)\n"
    "  --worker-threads N   training worker threads (default: all cores)\n"
    "  --max-train-s S      cap on one training cycle (default: by size)\n"
    "  --arch NAME          architecture the loop trains (default: the server's)\n"
    "  --probe-hz F         extra /next requests per second while a job runs, to measure the\n"
    "                       API's latency (default 5; 0: only the annotator's own)\n"
    "  --keep 1             keep the simulated server's data directory (DIR/server)\n";

static int parse(int argc, char **argv, struct sim_opts *o, int *status)
{
    *o = (struct sim_opts){.sampling = "uncertainty",
                           .policy = "10,20",
                           .out = "./simulation",
                           .costs = {1.6, 10, 4, 1},
                           .probe_hz = 5};
    const struct cli_det_opt opts[] = {
        {"--data", CLI_DET_STR, &o->data},
        {"--format", CLI_DET_STR, &o->format},
        {"--sampling", CLI_DET_STR, &o->sampling},
        {"--policy", CLI_DET_STR, &o->policy},
        {"--out", CLI_DET_STR, &o->out},
        {"--limit", CLI_DET_INT, &o->limit},
        {"--draw-s", CLI_DET_DOUBLE, &o->costs.draw_s},
        {"--adjust-s", CLI_DET_DOUBLE, &o->costs.adjust_s},
        {"--delete-s", CLI_DET_DOUBLE, &o->costs.delete_s},
        {"--look-s", CLI_DET_DOUBLE, &o->costs.look_s},
        {"--worker-threads", CLI_DET_INT, &o->worker_threads},
        {"--max-train-s", CLI_DET_DOUBLE, &o->max_train_s},
        {"--arch", CLI_DET_STR, &o->arch},
        {"--probe-hz", CLI_DET_DOUBLE, &o->probe_hz},
        {"--keep", CLI_DET_INT, &o->keep},
    };
    if (cli_det_parse(argc, argv, opts, sizeof opts / sizeof opts[0], usage, status))
        return 1;
    *status = 2;
    if (!o->data)
        return cli_fail("simulate: --data is required (see --help)"), 1;
    return 0;
}

static const char *sampling_name(const char *s)
{
    return !strcmp(s, "sequential")    ? "Sequential sampling"
           : !strcmp(s, "uniform")     ? "Uniform sampling"
           : !strcmp(s, "uncertainty") ? "Uncertainty sampling"
                                       : NULL;
}

/* ---- latency of the API while a job runs ---- */

static void record_latency(struct sim *s, double ms)
{
    pthread_mutex_lock(&s->lat_mu);
    if (s->nlat == s->latcap)
        s->lat = base_realloc(s->lat, (s->latcap = s->latcap * 2 + 256) * sizeof *s->lat);
    s->lat[s->nlat++] = ms;
    pthread_mutex_unlock(&s->lat_mu);
}

/* A request of the annotator; its latency counts when a job is running. */
static int call(struct sim *s, struct cli_http *h, const char *method, const char *path,
                const json_t *body, long *status, json_t **out, struct base_err *err)
{
    double ms;
    int busy = s->active;
    int rc = cli_http_json(h, method, path, body, status, out, &ms, err);
    if (rc == 0 && busy && s->active)
        record_latency(s, ms);
    return rc;
}

static void *probe(void *arg)
{
    struct sim *s = arg;
    struct cli_http *h = cli_http_new(s->base, s->token);
    char path[64];
    snprintf(path, sizeof path, "/api/projects/%lld/next", (long long)s->project);
    while (!s->stop_probe) {
        if (s->active) {
            long status;
            json_t *j = NULL;
            call(s, h, "GET", path, NULL, &status, &j, NULL);
            json_decref(j);
        }
        usleep((useconds_t)(1e6 / s->o.probe_hz));
    }
    cli_http_free(h);
    return NULL;
}

/* ---- the server in this process ---- */

static int start_server(struct sim *s, struct base_err *err)
{
    s->server_dir = base_path_join(s->dir, "server");
    base_remove_tree(s->server_dir, NULL);
    if (!(s->st = cli_open_store(s->server_dir, NULL)))
        return base_err_set(err, BASE_E_IO, "cannot open the simulated server's store");
    char password[25];
    struct store_user u;
    if (base_random_hex(password, 12, err) ||
        store_user_create(s->st, "simulator@localhost", password, 1, &u, s->token, err))
        return -1;
    s->user = u.id;
    struct loop_config lc = {.data_dir = s->server_dir,
                             .worker_threads = s->o.worker_threads,
                             .max_train_s = s->o.max_train_s,
                             .arch = s->o.arch};
    if (!(s->loop = loop_new(s->st, &lc, err)))
        return -1;
    struct api_config ac = {
        .data_dir = s->server_dir, .version = "simulate", .seed = 1, .loop = s->loop};
    if (!(s->api = api_new(s->st, &ac, err)))
        return -1;
    struct cli_serve_opts so = {.data_dir = s->server_dir,
                                .host = "127.0.0.1",
                                .threads = 4,
                                .max_body_mb = 250,
                                .max_conns_per_ip = 128};
    if (!(s->srv = cli_start_http(s->api, &so, err)))
        return -1;
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", http_server_port(s->srv));
    s->h = cli_http_new(s->base, s->token);
    return 0;
}

static void stop_server(struct sim *s)
{
    cli_http_free(s->h);
    http_server_free(s->srv, 1.0);
    api_free(s->api);
    loop_free(s->loop);
    store_close(s->st);
    if (!s->o.keep && s->server_dir)
        base_remove_tree(s->server_dir, NULL);
    base_free(s->server_dir);
}

static json_t *label_config(const struct det_dataset *d)
{
    struct base_buf b;
    base_buf_init(&b, 1 << 20);
    base_buf_puts(&b,
                  "<View><Image name=\"image\" value=\"$image\"/>"
                  "<RectangleLabels name=\"label\" toName=\"image\">",
                  NULL);
    for (int i = 0; i < d->nclasses; i++) {
        json_t *name = json_string(d->classes[i]);
        char *esc = json_dumps(name, JSON_ENCODE_ANY); /* quotes and backslashes escaped */
        base_buf_printf(&b, NULL, "<Label value=%s/>", esc);
        free(esc);
        json_decref(name);
    }
    base_buf_puts(&b, "</RectangleLabels></View>", NULL);
    json_t *j = json_stringn(b.data, b.len);
    base_buf_release(&b);
    return j;
}

static int create_project(struct sim *s, struct base_err *err)
{
    long status;
    json_t *out = NULL;
    json_t *body =
        json_pack("{s:s, s:o, s:s, s:I, s:I}", "title", "simulation", "label_config",
                  label_config(s->d), "sampling", sampling_name(s->o.sampling), "loop_min_labeled",
                  (json_int_t)s->min_labeled, "loop_retrain_every", (json_int_t)s->retrain_every);
    int rc = cli_http_json(s->h, "POST", "/api/projects", body, &status, &out, NULL, err);
    if (rc == 0 && status != 201)
        rc = base_err_set(err, BASE_E_INVALID, "creating the project: HTTP %ld", status);
    if (rc == 0)
        s->project = json_integer_value(json_object_get(out, "id"));
    json_decref(body);
    json_decref(out);
    return rc;
}

static void import_progress(void *ctx, size_t done, size_t total, const char *name)
{
    (void)name;
    base_progress_update(ctx, done, NULL);
    (void)total;
}

static int import_images(struct sim *s, struct base_err *err)
{
    int n = s->d->nsamples;
    const char **paths = base_alloc(((size_t)n + 1) * sizeof *paths);
    for (int i = 0; i < n; i++)
        paths[i] = s->d->samples[i].path;
    struct store_import_result res;
    size_t skipped = 0;
    struct base_progress *bar = base_progress_new("import", (uint64_t)n, "images");
    int rc = api_import_files(s->api, s->project, s->user, paths, (size_t)n, import_progress, bar,
                              &res, &skipped, err);
    base_progress_finish(bar, NULL);
    base_free(paths);
    if (rc == 0 && (skipped || res.task_count != n))
        rc = base_err_set(err, BASE_E_INVALID, "%zu of %d images were not imported", skipped, n);
    s->first_task = res.first_task_id;
    return rc;
}

/* ---- the clocks ---- */

/* Reads the model panel: current version, its threshold, whether a job runs or waits. */
static int poll_model(struct sim *s, struct base_err *err)
{
    char path[64];
    snprintf(path, sizeof path, "/api/projects/%lld/model", (long long)s->project);
    long status;
    json_t *m = NULL;
    if (cli_http_json(s->h, "GET", path, NULL, &status, &m, NULL, err))
        return -1;
    const json_t *cur = json_object_get(m, "current");
    const char *name = json_string_value(json_object_get(cur, "name"));
    snprintf(s->version, sizeof s->version, "%s", name ? name : "");
    s->thr = json_number_value(json_object_get(cur, "score_threshold"));
    s->active =
        !json_is_null(json_object_get(m, "running")) || !json_is_null(json_object_get(m, "queued"));
    json_decref(m);
    return 0;
}

/* Before the annotator acts at virtual time s->v: while jobs run, real time must have reached
 * the moment that corresponds to s->v, so that a job that ends later in real time has not
 * ended yet in the annotator's time. */
static int sync_clock(struct sim *s, struct base_err *err)
{
    if (poll_model(s, err))
        return -1;
    if (!s->active) {
        s->anchored = 0;
        return 0;
    }
    if (!s->anchored) {
        s->anchored = 1;
        s->anchor_v = s->v;
        s->anchor_r = base_now();
    }
    for (;;) {
        double wait = s->anchor_r + (s->v - s->anchor_v) - base_now();
        if (wait <= 0)
            return 0;
        usleep((useconds_t)(fmin(wait, 0.25) * 1e6));
        if (poll_model(s, err))
            return -1;
        if (!s->active) {
            s->anchored = 0;
            return 0;
        }
    }
}

/* ---- the annotator ---- */

static const json_t *shown_prediction(const json_t *task, const char *version)
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(task, "predictions"), i, p)
    {
        const char *v = json_string_value(json_object_get(p, "model_version"));
        if (v && version[0] && !strcmp(v, version))
            return p;
    }
    return NULL;
}

/* Boxes of a prediction in pixels of sample `d`, those at or above the threshold. */
static struct det_box *shown_boxes(const json_t *pred, const struct det_dataset *ds,
                                   const struct det_sample *d, double thr, int *n)
{
    struct det_box *b = loop_result_boxes(json_object_get(pred, "result"), "label",
                                          (const char *const *)ds->classes, ds->nclasses, n);
    int k = 0;
    for (int i = 0; i < *n; i++) {
        if (b[i].score < thr)
            continue;
        b[k] = b[i];
        b[k].x0 *= d->width / 100.0f, b[k].x1 *= d->width / 100.0f;
        b[k].y0 *= d->height / 100.0f, b[k].y1 *= d->height / 100.0f;
        k++;
    }
    *n = k;
    return b;
}

static json_t *result_json(const struct det_box *b, int n, const struct det_dataset *ds,
                           const struct det_sample *d)
{
    json_t *out = json_array();
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        double w = d->width, h = d->height;
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:{s:f, s:f, s:f, s:f, s:i, s:[s]}}",
                           "id", id, "type", "rectanglelabels", "from_name", "label", "to_name",
                           "image", "original_width", d->width, "original_height", d->height,
                           "value", "x", b[i].x0 / w * 100, "y", b[i].y0 / h * 100, "width",
                           (b[i].x1 - b[i].x0) / w * 100, "height", (b[i].y1 - b[i].y0) / h * 100,
                           "rotation", 0, "rectanglelabels", ds->classes[b[i].label]));
    }
    return out;
}

static void add_step(struct sim *s, const struct cli_sim_step *st)
{
    s->steps = base_realloc(s->steps, (s->nsteps + 1) * sizeof *s->steps);
    s->steps[s->nsteps++] = *st;
}

/* Labels the task /next handed out; 1 when there is none left. */
static int label_one(struct sim *s, struct base_err *err)
{
    char path[96];
    long status;
    json_t *task = NULL, *out = NULL;
    if (sync_clock(s, err))
        return -1;
    snprintf(path, sizeof path, "/api/projects/%lld/next", (long long)s->project);
    if (call(s, s->h, "GET", path, NULL, &status, &task, err))
        return -1;
    if (status == 404) {
        json_decref(task);
        return 1;
    }
    int64_t id = json_integer_value(json_object_get(task, "id"));
    int k = (int)(id - s->first_task);
    if (status != 200 || k < 0 || k >= s->d->nsamples) {
        json_decref(task);
        return base_err_set(err, BASE_E_INTERNAL, "/next answered %ld with task %lld", status,
                            (long long)id);
    }
    const struct det_sample *d = &s->d->samples[k];
    const json_t *pred = shown_prediction(task, s->version);
    struct cli_sim_step st = {.task = id, .sample = k, .start_s = s->v, .truth = d->nboxes};
    snprintf(st.version, sizeof st.version, "%s", pred ? s->version : "");
    snprintf(st.current, sizeof st.current, "%s", s->version);
    int nshown = 0, nfinal = 0;
    struct det_box *shown = pred ? shown_boxes(pred, s->d, d, s->thr, &nshown) : NULL;
    struct det_box *final = base_alloc(((size_t)nshown + (size_t)d->nboxes + 1) * sizeof *final);
    loop_sim_annotate(shown, nshown, d->boxes, d->nboxes, &s->o.costs, final, &nfinal, &st.a);
    st.shown = nshown;
    st.by_hand_s = s->o.costs.look_s + d->nboxes * s->o.costs.draw_s;
    s->v += st.a.seconds;
    json_t *body = json_pack("{s:o, s:f}", "result", result_json(final, nfinal, s->d, d),
                             "lead_time", st.a.seconds);
    if (pred)
        json_object_set(body, "parent_prediction", json_object_get(pred, "id"));
    snprintf(path, sizeof path, "/api/tasks/%lld/annotations", (long long)id);
    int rc = sync_clock(s, err) || call(s, s->h, "POST", path, body, &status, &out, err) ? -1 : 0;
    if (rc == 0 && status != 201)
        rc = base_err_set(err, BASE_E_INTERNAL, "annotation of task %lld: HTTP %ld", (long long)id,
                          status);
    if (rc == 0)
        add_step(s, &st);
    base_free(shown);
    base_free(final);
    json_decref(body);
    json_decref(out);
    json_decref(task);
    return rc;
}

/* ---- the report ---- */

static double job_seconds(const json_t *job, const char *from, const char *to)
{
    int64_t a = 0, b = 0;
    const char *x = json_string_value(json_object_get(job, from));
    const char *y = json_string_value(json_object_get(job, to));
    if (!x || !y || base_time_parse(x, &a) || base_time_parse(y, &b))
        return -1;
    return (double)(b - a) / 1e6;
}

/* The versions of the run with their jobs' durations. */
static int collect_versions(struct sim *s, struct cli_sim_version **out, size_t *n,
                            struct base_err *err)
{
    char path[96];
    long status;
    json_t *vs = NULL, *jobs = NULL;
    snprintf(path, sizeof path, "/api/projects/%lld/model/versions", (long long)s->project);
    if (cli_http_json(s->h, "GET", path, NULL, &status, &vs, NULL, err))
        return -1;
    snprintf(path, sizeof path, "/api/projects/%lld/model/jobs?limit=1000", (long long)s->project);
    if (cli_http_json(s->h, "GET", path, NULL, &status, &jobs, NULL, err)) {
        json_decref(vs);
        return -1;
    }
    *n = json_array_size(vs);
    *out = base_calloc(*n + 1, sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        const json_t *v = json_array_get(vs, i), *m = json_object_get(v, "metrics");
        struct cli_sim_version *o = &(*out)[i];
        snprintf(o->name, sizeof o->name, "%s", json_string_value(json_object_get(v, "name")));
        o->promoted = json_is_true(json_object_get(v, "promoted"));
        o->train_images = json_integer_value(json_object_get(v, "train_images"));
        o->heldout_images = json_integer_value(json_object_get(v, "heldout_images"));
        o->ap = m ? json_number_value(json_object_get(m, "ap")) : -1;
        o->ap50 = m ? json_number_value(json_object_get(m, "ap50")) : -1;
        o->ap75 = m ? json_number_value(json_object_get(m, "ap75")) : -1;
        o->train_s = json_number_value(json_object_get(v, "duration_s"));
        o->cycle_s = -1;
        size_t k;
        const json_t *j;
        json_array_foreach(jobs, k, j) if (json_integer_value(json_object_get(j, "id")) ==
                                           json_integer_value(json_object_get(v, "job")))
            o->cycle_s = job_seconds(j, "started_at", "ended_at");
    }
    json_decref(vs);
    json_decref(jobs);
    return 0;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, by_value);
    size_t i = (size_t)ceil(q * (double)n) - 1;
    return v[i < n ? i : n - 1];
}

static int run(struct sim *s, struct base_err *err)
{
    if (start_server(s, err) || create_project(s, err) || import_images(s, err))
        return -1;
    pthread_t th;
    int probing = s->o.probe_hz > 0 && pthread_create(&th, NULL, probe, s) == 0;
    struct base_progress *bar = base_progress_new("simulate", (uint64_t)s->d->nsamples, "tasks");
    int rc;
    char detail[160];
    double by_hand = 0, spent = 0;
    while ((rc = label_one(s, err)) == 0) {
        const struct cli_sim_step *st = &s->steps[s->nsteps - 1];
        by_hand += st->by_hand_s, spent += st->a.seconds;
        snprintf(detail, sizeof detail, "%s  %.0f s of %.0f by hand  saved %.0f%%",
                 s->version[0] ? s->version : "no model", spent, by_hand,
                 by_hand > 0 ? 100 * (1 - spent / by_hand) : 0);
        base_progress_update(bar, s->nsteps, detail);
    }
    base_progress_finish(bar, detail);
    s->stop_probe = 1;
    if (probing)
        pthread_join(th, NULL);
    if (rc < 0)
        return -1;
    struct cli_sim_version *vs = NULL;
    size_t nv = 0;
    if (collect_versions(s, &vs, &nv, err))
        return -1;
    pthread_mutex_lock(&s->lat_mu);
    size_t calls = s->nlat;
    double p50 = percentile(s->lat, s->nlat, 0.50), p99 = percentile(s->lat, s->nlat, 0.99);
    pthread_mutex_unlock(&s->lat_mu);
    struct cli_sim_report r = {s->steps,
                               s->nsteps,
                               vs,
                               nv,
                               &s->o.costs,
                               p99,
                               p50,
                               calls,
                               s->o.sampling,
                               s->min_labeled,
                               s->retrain_every,
                               s->o.arch ? s->o.arch : DET_DEFAULT_ARCH};
    rc = cli_sim_write(&r, s->dir, err);
    base_free(vs);
    return rc;
}

static int setup(struct sim *s, struct base_err *err)
{
    long long k, n;
    if (sscanf(s->o.policy, "%lld,%lld", &k, &n) != 2 || k < 1 || n < 0)
        return base_err_set(err, BASE_E_INVALID, "--policy: expected K,N (e.g. 10,20), got '%s'",
                            s->o.policy);
    s->min_labeled = k, s->retrain_every = n;
    if (!sampling_name(s->o.sampling))
        return base_err_set(err, BASE_E_INVALID,
                            "--sampling: sequential, uniform or uncertainty, not '%s'",
                            s->o.sampling);
    if (cli_det_read(s->o.data, s->o.format, &s->d, NULL, err))
        return -1;
    if (s->o.limit > 0 && s->o.limit < s->d->nsamples) { /* the first N images only */
        struct det_dataset *all = s->d;
        s->d = det_dataset_new((const char *const *)all->classes, all->nclasses, err);
        for (int i = 0; s->d && i < s->o.limit; i++) {
            const struct det_sample *x = &all->samples[i];
            if (det_dataset_add(s->d, x->path, x->width, x->height, x->boxes, x->nboxes, err))
                i = s->o.limit;
        }
        det_dataset_free(all);
        if (!s->d || s->d->nsamples != s->o.limit)
            return -1;
    }
    s->dir = base_strdup(s->o.out);
    return base_mkdirs(s->dir, err);
}

int cli_simulate(int argc, char **argv)
{
    struct sim s;
    memset(&s, 0, sizeof s);
    int status;
    if (parse(argc, argv, &s.o, &status))
        return status;
    pthread_mutex_init(&s.lat_mu, NULL);
    if (base_log_get_level() < BASE_LOG_WARN) /* the progress bar tells the story */
        base_log_set_level(BASE_LOG_WARN);
    struct base_err err = {0};
    int rc = setup(&s, &err) || run(&s, &err) ? 1 : 0;
    if (rc)
        cli_fail("simulate: %s", err.msg);
    stop_server(&s);
    det_dataset_free(s.d);
    base_free(s.steps);
    base_free(s.lat);
    base_free(s.dir);
    pthread_mutex_destroy(&s.lat_mu);
    return rc;
}
