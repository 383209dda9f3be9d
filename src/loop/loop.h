/* loop: the closed loop between annotations and the built-in detector. Annotations queue training
 * jobs on a policy; a worker process (`labelloop train-worker`) trains with a warm start from the
 * current model, evaluates the new and the current model on held-out human labels, records the
 * version in the registry and promotes it only if it is at least as good, then predicts every
 * task; the server predicts a task on the spot when it is opened, orders the queue by the model's
 * uncertainty and records what each annotation kept of its prediction. Built on det and store;
 * the api calls it. Design and measurements: src/loop/README.md. */
#ifndef LL_LOOP_H
#define LL_LOOP_H

#include "base/base.h"
#include "det/det.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

/* ---- the service inside the server ----------------------------------------------------------- */

struct loop;

struct loop_config {
    const char *data_dir; /* the server's: models go to <data_dir>/models/<project>/ */
    const char *exe;      /* the labelloop binary workers run (NULL: /proc/self/exe) */
    int worker_threads;   /* threads of a training worker (0: the number of CPUs) */
    int worker_nice;      /* niceness of a worker (0: 10) */
    double max_train_s;   /* cap on one cycle's training time (0: the schedule's own) */
    const char *arch;     /* architecture of the models it trains (NULL: det's default) */
    int no_workers;       /* no scheduler: jobs stay queued (tests of the API alone) */
    int no_zoo;           /* no zero-shot version 0: a project waits for its first training */
    /* Called on the scheduler thread after a worker exited and its job's end is recorded (the ML
     * backend server writes its version folders then). May be NULL. */
    void (*job_ended)(void *user, int64_t job);
    void *user;
};

/* Starts the loop over an open store (borrowed; it must outlive the loop; its workers open the
 * same database, named in their environment as LABELLOOP_DB): running jobs left by
 * a previous server are marked failed and queued again, then a scheduler thread starts workers,
 * one at a time. Errors: BASE_E_IO (models folder), store errors. */
struct loop *loop_new(struct store *st, const struct loop_config *cfg, struct base_err *err);
/* Stops the scheduler; a running worker is asked to stop (SIGTERM, then SIGKILL after 5 s) and
 * its job is left for the next start to recover. Accepts NULL. */
void loop_free(struct loop *l);

/* Whether the project gets the built-in detector: its config has a RectangleLabels control on
 * an Image and loop_enabled is on. `project` is a store project row. */
int loop_project_active(const struct store_project *project);
/* Whether its config gives the detector something to learn (whatever loop_enabled says); -1 with
 * BASE_E_INVALID saying why not. */
int loop_project_check(const struct store_project *project, struct base_err *err);

/* An annotation of the project was created, changed or deleted: applies the training policy
 * (the first training once loop_min_labeled tasks are labeled, then after every
 * loop_retrain_every new or changed annotations), queueing a job when it says so. Errors are
 * logged, never returned: labeling must not fail because of the loop. Thread-safe. */
void loop_annotations_changed(struct loop *l, int64_t project);
/* Tasks were added: when the project has no model yet
 * and some of its labels are COCO classes (by name, synonym or loop_label_map), the zoo model
 * becomes its first version (loop_zoo_start); then, when the project has a current model, a
 * predict job is queued (coalesced). */
void loop_tasks_added(struct loop *l, int64_t project);
/* Makes the zoo's CenterNet the project's current version when the project is active, has no
 * current version and some label matches: returns 1 then, 0 when nothing was done, -1 on a store
 * error. */
int loop_zoo_start(struct loop *l, int64_t project, struct base_err *err);
/* The labels, the label map or loop_enabled changed: when that makes the zoo the project's first
 * version (loop_zoo_start), a predict job pre-labels its tasks; otherwise nothing happens. */
void loop_labels_changed(struct loop *l, int64_t project);
/* Calls fn(ctx, label, zoo class) for each "label -> class" line of a loop_label_map setting (fn
 * may be NULL: only checks; a non-zero return stops). Empty lines are skipped. BASE_E_INVALID
 * naming the line when it has no "->" or the class is no COCO class or synonym. */
typedef int loop_label_map_fn(void *ctx, const char *label, int zoo_class);
int loop_label_map_each(const char *text, loop_label_map_fn *fn, void *ctx, struct base_err *err);
/* Options of one training run (loop_train's params; the API passes the request's): */
#define LOOP_PARAM_FROM_SCRATCH "from_scratch" /* true: no warm start from the current model */
#define LOOP_PARAM_MAX_TRAIN_S  "max_train_s"  /* number: this run's training time cap */
#define LOOP_PARAM_EPOCHS       "epochs"       /* integer: this many epochs, not the schedule's */
#define LOOP_PARAM_INPUT_SIZE   "input_size"   /* integer: the model's input side (new models) */
/* Queues a training job now ("Train now", POST /api/ml/{id}/train), replacing a queued one.
 * params (may be NULL) holds the options above, checked by the caller. Errors: BASE_E_NOTFOUND,
 * BASE_E_INVALID when the config has no RectangleLabels, BASE_E_CONFLICT when loop_enabled is
 * off. */
int loop_train(struct loop *l, int64_t project, const char *reason, const json_t *params,
               int64_t *job, struct base_err *err);
/* Cancels a queued or running job (a running worker is stopped). BASE_E_NOTFOUND; BASE_E_CONFLICT
 * when it has already ended. */
int loop_cancel(struct loop *l, int64_t job, struct base_err *err);
/* Makes a version the project's current model (rollback) and queues the predictions it lacks. */
int loop_rollback(struct loop *l, int64_t version, struct base_err *err);
/* Deletes a version that is not the current one: its row, its file and queued predict jobs for
 * it. BASE_E_CONFLICT for the current version. */
int loop_version_delete(struct loop *l, int64_t version, struct base_err *err);
/* Before a project is deleted: stops its running job and waits for the worker to exit. After the
 * rows are gone, loop_project_purge removes its model files. */
void loop_project_stop(struct loop *l, int64_t project);
void loop_project_purge(struct loop *l, int64_t project);

/* Predicts task `task` with the project's current version if it has no prediction of it yet
 * (the editor opens a task: ~15-30 ms, no spinner). *made = 1 when a prediction was stored.
 * Nothing happens (0, *made = 0) when the project is not active, has no model or the image is
 * not a local file. Thread-safe. */
int loop_predict_task(struct loop *l, int64_t task, int *made, struct base_err *err);
/* Predicts the image file at `path` with the project's current version, storing nothing (the ML
 * backend protocol's /predict): *prediction receives a new Label Studio prediction object
 * {"result", "score", "model_version"}, or NULL when the project is not active or has no model
 * yet. Errors: BASE_E_NOTFOUND (project), image decoding errors naming the file. Thread-safe. */
int loop_predict_image(struct loop *l, int64_t project, const char *path, json_t **prediction,
                       struct base_err *err);
/* Records what annotation `annotation` kept of the prediction it started from (its
 * parent_prediction, else the snapshot of the current model's prediction). Thread-safe. */
int loop_record_help(struct loop *l, int64_t annotation, struct base_err *err);

/* ---- the worker process ---------------------------------------------------------------------- */

/* Where a worker on another machine gets the task images its data dir does not hold: fetch
 * returns a local copy of an upload URL ("/data/upload/...") as a base_alloc'd path, or NULL with
 * err naming the URL (the cli fetches them from the server with its API token). */
struct loop_media {
    char *(*fetch)(void *ctx, const char *url, struct base_err *err);
    void *ctx;
};

struct loop_worker_opts {
    const char *data_dir; /* the server's, or a remote worker's own (its cache of media, models) */
    const char *db;       /* the database: a PostgreSQL URL or SQLite file (NULL: the data dir's) */
    int64_t job;          /* loop_worker_run's job */
    const struct loop_media *media; /* NULL: uploads are read from data_dir */
    int keep_files;     /* keep each new model file in the database too (store_model_file_get) */
    const char *owner;  /* loop_worker_serve: the name its claims and leases carry */
    double poll_s;      /* loop_worker_serve: seconds between looks at an empty queue (0: 2) */
    double lease_s;     /* loop_worker_serve: a claim's lease without renewal (0: 30 s) */
    int threads;        /* 0: the number of CPUs */
    double max_train_s; /* 0: the schedule's own */
    const char *arch;   /* architecture of new models (NULL: det's default) */
    const volatile int *cancel; /* set from a signal handler to stop cleanly (may be NULL) */
};

/* Runs job `job` to its end in this process (`labelloop train-worker`) and records the outcome
 * in the job row: done, failed with the error, or cancelled when *cancel is set (the command
 * sets it on SIGTERM/SIGINT). Returns 0 when the job ended done or cancelled. */
int loop_worker_run(const struct loop_worker_opts *o, struct base_err *err);
/* A standing worker (`labelloop train-worker --server URL`, on this or another machine): claims
 * queued jobs from the database itself (any project; o->job is ignored), holds each under a
 * lease it renews every 5 s, runs it as loop_worker_run does and goes on, until *o->cancel is
 * set (a running job is then cancelled and its lease given up, so that another worker takes it
 * at once). Expired leases of dead workers or servers are queued again as the servers do. A job
 * that fails does not stop it. Returns 0 when stopped, -1 when the database cannot be opened. */
int loop_worker_serve(const struct loop_worker_opts *o, struct base_err *err);

/* ---- pure pieces (unit-tested) ------------------------------------------------------------- */

/* Percent of labeled tasks held out for evaluation. */
#define LOOP_HELDOUT_PCT 20
/* Whether a task is held out: a stable hash of its id, so a task never moves between parts. */
int loop_heldout(int64_t task);

/* How long one training cycle runs for n training images, from scratch or warm-started. */
struct loop_schedule {
    int epochs;
    double max_s; /* training time cap, seconds */
};
void loop_schedule_for(int ntrain, int warm, struct loop_schedule *out);

/* The policy: whether to queue a training job now, and why ("first" or "retrain"). */
struct loop_settings {
    int enabled;
    int64_t min_labeled;   /* K */
    int64_t retrain_every; /* N; 0: only on demand after the first */
};
const char *loop_policy(const struct loop_settings *s, const struct store_loop_state *st);

/* Held-out metrics of a model, for the promotion rule. */
struct loop_eval {
    int nimages; /* held-out images evaluated */
    double ap, ap50, ap75;
};
/* Minimum held-out images for a comparison to decide; below it the newer model is promoted. */
#define LOOP_MIN_HELDOUT 5
/* Decides promotion of `fresh` over `current` (NULL: there is none) on the same held-out tasks
 * and writes why into reason. Returns 1 to promote. */
int loop_promote(const struct loop_eval *fresh, const struct loop_eval *current, char *reason,
                 size_t size);

/* What an annotation did with the boxes shown to it: accepted (same box and label), adjusted
 * (matched with IoU >= LOOP_ADJUST_IOU, moved, resized or relabelled), deleted (shown, not kept)
 * and drawn (not from the prediction). Boxes in any consistent units (IoU does not change when
 * both axes are scaled). */
#define LOOP_ADJUST_IOU 0.3
struct loop_help_counts {
    int shown, accepted, adjusted, deleted, drawn;
    double adjust_iou; /* sum over adjusted boxes */
};
void loop_help_compare(const struct det_box *shown, int nshown, const struct det_box *final,
                       int nfinal, struct loop_help_counts *out);

/* The simulated annotator of `labelloop simulate` (README.md, "Simulation"): seconds per action
 * (defaults from Papadopoulos et al. 2016/2017: look 1.6, adjust 4, delete 1, draw 10). */
struct loop_costs {
    double look_s, draw_s, adjust_s, delete_s;
};
#define LOOP_KEEP_IOU 0.7
struct loop_sim_actions {
    int kept, adjusted, deleted, drawn;
    double seconds;
};
/* What an annotator who knows the true boxes does with the boxes shown: keeps a shown box that
 * matches a true box (same label, IoU >= LOOP_KEEP_IOU), adjusts one with the right label and
 * LOOP_ADJUST_IOU <= IoU < LOOP_KEEP_IOU onto its true box, deletes the other shown boxes and
 * draws the true boxes left over. `final` (room for nshown + ntruth) receives the boxes submitted:
 * kept ones exactly as shown. Greedy matching, best IoU first. */
void loop_sim_annotate(const struct det_box *shown, int nshown, const struct det_box *truth,
                       int ntruth, const struct loop_costs *c, struct det_box *final, int *nfinal,
                       struct loop_sim_actions *a);

/* Uncertainty of an image in [0, 1] from its boxes (score >= 0.05), the boxes of its mirror
 * image mapped back, and the pre-label threshold: see README.md, "Ordering the queue". */
double loop_uncertainty(const struct det_box *boxes, int n, const struct det_box *flipped,
                        int nflipped, float thr);

/* The pre-label threshold: the score above which shown boxes cost the simulated annotator
 * (loop_sim_annotate with costs c) the least time over images' ground truth and detections, on a
 * grid of 0.05 steps; a tie goes to the higher threshold. `fallback` without ground truth. */
float loop_best_threshold(const struct det_eval_image *images, int n, const struct loop_costs *c,
                          float fallback);
/* The cost model's defaults (seconds): look 1.6, draw 10, adjust 4, delete 1. */
extern const struct loop_costs loop_default_costs;

/* Boxes of a Label Studio result list (rectanglelabels items of control `from_name`, percent of
 * the image) in percent units, labels as indexes into classes (unknown labels are skipped);
 * base_alloc'd array (free with base_free), *n its length. */
struct det_box *loop_result_boxes(const json_t *result, const char *from_name,
                                  const char *const *classes, int nclasses, int *n);

/* ---- media in S3 (loop_s3.c) ---------------------------------------------------------------- */

/* Splits "s3://bucket/key" (new strings); -1 when it is not one. */
int loop_s3_split(const char *uri, char **bucket, char **key);
/* The S3 import storage of `project` whose bucket is `bucket` (the first by id), in *out
 * (store_storage_release); BASE_E_NOTFOUND naming the bucket when the project has none. */
int loop_s3_storage(struct store *st, int64_t project, const char *bucket,
                    struct store_storage *out, struct base_err *err);
/* The local copy of an s3:// object of one of the project's import storages: fetched once into
 * <data_dir>/media/s3cache/<storage id>/<md5 of the key>, later reads use it. Returns a
 * base_alloc'd path, or NULL with err naming the object. */
char *loop_s3_file(struct store *st, const char *data_dir, int64_t project, const char *uri,
                   struct base_err *err);
/* The most bytes of one cached object. */
#define LOOP_S3_MAX_OBJECT ((uint64_t)512 << 20)

#endif
