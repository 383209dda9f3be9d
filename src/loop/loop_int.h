/* Shared by the files of src/loop: the project's detection target read from its labeling config,
 * task images on disk, predicting one picture with its mirror image, and the predictions the loop
 * stores in Label Studio's shape. */
#ifndef LL_LOOP_INT_H
#define LL_LOOP_INT_H

#include "loop.h"

#include "image/image.h"

/* What the detector learns in a project: the first RectangleLabels control of its config, the
 * Image tag it points at and that tag's data key, and the control's labels as classes. */
struct loop_target {
    char *from_name, *to_name, *data_key;
    char **classes;
    int nclasses;
};
/* Reads the target from a project row's label_config. BASE_E_INVALID when the config has no
 * RectangleLabels control on an Image. */
int loop_target_load(const struct store_project *project, struct loop_target *t,
                     struct base_err *err);
void loop_target_release(struct loop_target *t);

/* The local file of a task's image: data[key] (or data["$undefined$"]) must be an upload URL
 * "/data/upload/<project>/<file>" whose file exists under <data_dir>/media/upload, or an
 * s3://bucket/key of one of the project's S3 import storages (fetched once into the data dir's
 * cache, loop_s3_file). Returns a base_alloc'd path, or NULL with err saying why (another remote
 * URL, a missing file, an object S3 would not give). */
/* Names an error about the cached copy of an s3:// image by the object's URI (the cache file's
 * name means nothing to a reader of the log); other URLs are named already. */
void loop_name_s3(const json_t *data, const char *key, struct base_err *err);
char *loop_task_image(struct store *st, const char *data_dir, const struct loop_media *media,
                      int64_t project, const json_t *data, const char *key, struct base_err *err);

/* "<data_dir>/models/<project>" and a model file path under the data dir (both base_alloc'd). */
char *loop_models_dir(const char *data_dir, int64_t project);
char *loop_data_path(const char *data_dir, const char *rel);

/* Training and held-out data sets of a project from its labeled tasks (each task's ground-truth
 * annotation, else its newest finished one), boxes in pixels of the displayed image. Tasks whose
 * image is not a readable local file are skipped and counted, with a warning naming them. */
struct loop_data {
    struct det_dataset *train, *heldout;
    int skipped;
    int train_total, heldout_total; /* before loop_data_cap */
};
int loop_data_load(struct store *st, const char *data_dir, const struct loop_media *media,
                   int64_t project, const struct loop_target *t, struct loop_data *out,
                   struct base_err *err);
/* Appends the samples of src whose keep[i] is set (all when keep is NULL) to dst, which has the
 * same classes; paths and boxes are copied. */
int loop_dataset_append(struct det_dataset *dst, const struct det_dataset *src, const char *keep,
                        struct base_err *err);
/* A cycle trains on at most this many images: about what 150 s of training sees on 2 cores
 * (~65 images/s), and ~2 GB of decoded pictures; it judges on at most this many held-out ones
 * (13 s for both models). Measured in README.md. */
#define LOOP_TRAIN_MAX   5000
#define LOOP_HELDOUT_MAX 1000
/* Bounds what one cycle reads into memory on a large project: at most max_train training images,
 * drawn at random (seed: the job's, so successive cycles see different parts), and the newest
 * max_heldout held-out images (the current data, the same for both models of a job). */
int loop_data_cap(struct loop_data *d, int max_train, int max_heldout, uint64_t seed,
                  struct base_err *err);
void loop_data_release(struct loop_data *d);

/* One picture through the model and through its mirror image: boxes in the pixels of the file's
 * displayed image (base_alloc'd), and its uncertainty at threshold thr. */
struct loop_shot {
    struct det_box *boxes;
    int n;
    int width, height; /* displayed size */
    double uncertainty;
};
int loop_predict_file(struct det_predictor *p, const char *path, float thr, struct loop_shot *out,
                      struct base_err *err);
void loop_shot_release(struct loop_shot *s);

/* Boxes stored in a prediction: at least this score (or the version's threshold when lower). */
#define LOOP_STORE_MIN_SCORE 0.1f
#define LOOP_STORE_MAX_BOXES 50

/* A Label Studio prediction of a shot (result items in percent, per-box score, overall score =
 * 1 - uncertainty, model_version = version). Fills *p; p->result is a new reference. */
void loop_shot_prediction(const struct loop_shot *s, const struct loop_target *t,
                          const struct det_model_info *model, const char *version, float thr,
                          int64_t task, struct store_prediction *p);

/* ---- zero-shot pre-labels (loop_zoo.c) ---- */

/* Whether a version's `file` names a zoo model rather than a model file. */
int loop_is_zoo(const char *file);
/* What det_predictor_open takes for version v: the model file's path under the data dir, or for
 * a zoo version the zoo spec of the project's labels as they match now (base_alloc'd). A model
 * file missing from this data dir is first written there from the copy kept in the database (a
 * model trained on another machine); when there is none, the path is returned all the same and
 * opening it says the file is missing. */
char *loop_model_path(struct store *st, const char *data_dir, const struct store_project *project,
                      const struct loop_target *t, const struct store_version *v);
/* The zoo spec (det.h) for the project's labels that match a COCO class through its
 * loop_label_map or det_zoo_match, or NULL when none does (base_alloc'd). `file`: the zoo
 * version's file, or NULL for a new version; a version that names BlazeFace keeps it as its
 * face network, every other one gets FaceBoxes. */
char *loop_zoo_spec(const struct store_project *project, const struct loop_target *t,
                    const char *file);

/* ---- one job in a worker process (loop_worker.c) ---- */

/* Opens the worker's database (o->db, else the data dir's SQLite file) and sets its threads. */
struct store *loop_worker_open(const struct loop_worker_opts *o, struct base_err *err);
/* Runs job `job` (claimed: running) to its end and records it, except a run stopped by the
 * worker's own shutdown (*handed_back set; may be NULL): its lease is given up instead, so that
 * another worker retries it. 0 when it ended done or cancelled. */
int loop_worker_job(struct store *st, const struct loop_worker_opts *o, int64_t job,
                    const volatile int *handed_back, struct base_err *err);

/* ---- job leases (loop_worker.c), shared by the server's scheduler and standing workers ---- */

/* A running job's lease: renewed every LOOP_LEASE_RENEW_S while its worker lives, so a job whose
 * server or worker stopped or hangs is queued again by another one within LOOP_LEASE_S +
 * LOOP_RECOVER_S; expired leases are looked for at start and every LOOP_RECOVER_S; a job is tried
 * LOOP_MAX_ATTEMPTS times. */
#define LOOP_LEASE_S       30.0
#define LOOP_LEASE_RENEW_S 5.0
#define LOOP_RECOVER_S     10.0
#define LOOP_MAX_ATTEMPTS  3
/* Microseconds since the epoch s seconds from now. */
int64_t loop_lease_end(double s);
/* store_jobs_recover now, with a warning that counts what it did. */
int loop_jobs_recover(struct store *st, struct base_err *err);

/* ---- the service (loop_service.c, loop_events.c, loop_serve.c) ---- */

#include <pthread.h>
#include <sys/types.h>

#define LOOP_CACHE    8    /* projects whose current model the server keeps loaded */
#define LOOP_LOG_TAIL 4096 /* bytes of a worker's output kept in its job row */

/* The last lines a worker printed, for its job row: at most LOOP_LOG_TAIL bytes of whole lines
 * (the server's from its child's pipe, a standing worker's from its own stderr). */
struct loop_tail {
    char text[LOOP_LOG_TAIL + 1];
    size_t len;
    char line[512]; /* the line being read; a longer one is cut */
    size_t line_len;
    void (*on_line)(void *ctx, const char *s, size_t n); /* each finished line (may be NULL) */
    void *ctx;
};
/* Takes n bytes of output; loop_tail_end ends a last line without a newline. */
void loop_tail_feed(struct loop_tail *t, const char *buf, size_t n);
void loop_tail_end(struct loop_tail *t);
/* The last line kept (*n bytes at the result; 0 when none). */
const char *loop_tail_last(const struct loop_tail *t, size_t *n);

struct loop_cached {
    int64_t project;
    char version[STORE_MODEL_VERSION_MAX + 1];
    struct det_predictor *p;
    int users; /* predictions in flight: never evicted while > 0 */
    uint64_t used;
};

struct loop {
    struct store *st;
    struct loop_config cfg;
    char *data_dir, *exe;
    char **envp;   /* the workers' environment: ours with LABELLOOP_DB = the store's database */
    char arch[32]; /* cfg.arch copied ("": det's default) */
    pthread_t thread;
    int started;
    pthread_mutex_t mu; /* guards what follows up to the cache */
    pthread_cond_t cv;  /* the scheduler waits on it; enqueue and reap signal it */
    int stop, wake;
    pid_t pid; /* the running worker, 0 when none */
    int64_t job, job_project;
    enum store_job_kind job_kind;
    int64_t job_version;
    double kill_at; /* SIGKILL deadline of a worker asked to stop (0: none) */
    int out_fd;     /* the worker's stdout and stderr */
    struct loop_tail out;
    double tail_saved;
    char owner[STORE_JOB_OWNER_MAX + 1]; /* this server in the job rows: host, pid, start */
    double lease_renewed, recovered_at;  /* base_now() of the last renewal and recovery */
    pthread_mutex_t cache_mu;
    struct loop_cached cache[LOOP_CACHE];
    uint64_t tick;
};

/* Wakes the scheduler (a job was queued or cancelled). */
void loop_wake(struct loop *l);
/* Asks the running worker of job `job` (or of project `project` when job is 0) to stop: SIGTERM
 * for a cancel (it records "cancelled" itself), SIGKILL with `hard`; returns 1 if one was running.
 * With `wait`, returns only after the scheduler reaped it (at most 10 s). */
int loop_stop_worker(struct loop *l, int64_t job, int64_t project, int hard, int wait);
/* Removes model files no version row points at (left by a crash) and folders of deleted projects.
 */
void loop_sweep(struct loop *l);
/* Frees the loaded predictors. */
void loop_cache_release(struct loop *l);

/* Predicting every task of a project that lacks a prediction of `version` (loop_refresh.c). */
struct loop_refresh_stats {
    int64_t total, done, made, skipped;
};
typedef void loop_refresh_fn(void *user, const struct loop_refresh_stats *s, double elapsed_s);
struct loop_refresh {
    struct store *st;
    const char *data_dir;
    const struct loop_media *media; /* may be NULL */
    int64_t project;
    const struct loop_target *target;
    struct det_predictor *predictor;
    const char *version;
    float thr;
    const volatile int *cancel;
    loop_refresh_fn *progress; /* after each task (may be NULL) */
    void *user;
};
int loop_refresh_run(const struct loop_refresh *r, struct loop_refresh_stats *stats,
                     struct base_err *err);

#endif
