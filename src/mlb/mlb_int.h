/* Shared by the files of src/mlb: the server's state (its store and loop, the Label Studio
 * projects it knows, the background queue of webhook work), and the pieces its handlers call. */
#ifndef LL_MLB_INT_H
#define LL_MLB_INT_H

#include "mlb.h"

#include "http/http.h"
#include "loop/loop.h"
#include "store/store.h"

#include <pthread.h>

#define MLB_MAX_MEDIA    ((size_t)64 << 20)
#define MLB_TOKEN_MAX    2048
#define MLB_UID_MAX      63
#define MLB_MAX_PROJECTS 256
#define MLB_NO_VERSION   "untrained" /* /setup's model_version before the first training */
#define MLB_QUEUE_MAX    1024        /* webhook events waiting; more are refused with 503 */

/* A Label Studio project this backend serves: its uid ("<id>.<created unix seconds>"), the
 * labelloop project that mirrors it, and where its media lives (from the last /setup). */
struct mlb_proj {
    char uid[MLB_UID_MAX + 1];
    int64_t id;        /* labelloop project */
    int64_t ls_id;     /* Label Studio's project id (the part before the dot) */
    char *host;        /* from /setup, NULL when none */
    char *token;       /* from /setup, NULL when none */
    char *problem;     /* what the last check of the Label Studio host found wrong, or NULL */
    char *train_error; /* why the last training or sync failed, or NULL */
};

/* A FIFO of items that begin with a struct mlb_node (mlb_queue.c); the caller locks. */
struct mlb_node {
    struct mlb_node *next;
};
struct mlb_queue {
    struct mlb_node *head, *tail;
    int n;
};
void mlb_queue_push(struct mlb_queue *q, void *item);
void *mlb_queue_pop(struct mlb_queue *q); /* NULL when empty */

struct mlb_event {
    struct mlb_node node;
    char uid[MLB_UID_MAX + 1];
    char *action; /* the webhook's action, or "TRAIN" for a pull-and-train, "CHECK" for a host check
                   */
    json_t *body;
};

struct mlb_server {
    struct mlb_config cfg;
    char *model_dir, *data_dir;
    struct store *st;
    struct loop *loop;
    struct mlb_media *media;
    struct http_server *http;
    pthread_mutex_t mu; /* guards projects and the queue */
    pthread_cond_t cv;
    struct mlb_proj projects[MLB_MAX_PROJECTS];
    int nprojects;
    struct mlb_queue queue; /* of struct mlb_event */
    int stop, busy;
    pthread_t thread;
    int started;
    pthread_mutex_t sync_mu; /* one mirror update at a time (handlers and the event thread) */
};

/* ---- projects (mlb_project.c) ---- */
/* Loads the projects of the store (title = uid) at start. */
int mlb_projects_load(struct mlb_server *s, struct base_err *err);
/* The project of uid, made from `schema` when new or when the schema changed (NULL: keep);
 * fills *id. BASE_E_INVALID when the schema gives the detector nothing to learn;
 * BASE_E_NOTFOUND for an unknown uid without a schema. */
int mlb_project_get(struct mlb_server *s, const char *uid, const char *schema, int64_t *id,
                    struct base_err *err);
/* Label Studio's project id: the part of a uid before the dot (0 when not a number). */
int64_t mlb_uid_project(const char *uid);
/* Remembers host and token (either may be NULL: keep) of a uid. */
void mlb_project_set_source(struct mlb_server *s, const char *uid, const char *host,
                            const char *token);
/* Copies the source of uid (falling back to LABEL_STUDIO_URL / _API_KEY) into the buffers. */
void mlb_project_source(struct mlb_server *s, const char *uid, char *host, size_t hsize,
                        char *token, size_t tsize);
/* Records (text NULL: clears) a problem or a training error of uid. */
void mlb_project_note(struct mlb_server *s, const char *uid, int train, const char *text);
/* The uid of a labelloop project into out ("" when unknown). */
void mlb_project_uid(struct mlb_server *s, int64_t id, char *out, size_t size);
/* Problems of every project as strings appended to arr (for /health). */
void mlb_projects_problems(struct mlb_server *s, json_t *arr);
void mlb_projects_release(struct mlb_server *s);

/* ---- tasks from Label Studio (mlb_sync.c) ---- */
/* The media URL of a Label Studio task's data: data[key], else its first string value. */
const char *mlb_media_url(const json_t *data, const char *key);
struct mlb_sync_stats {
    int64_t tasks, added, changed, skipped;
    char first_error[BASE_ERR_MSG + 32]; /* "task <id>: " and the error */
};
/* Brings Label Studio tasks of export shape ({"id", "data", "annotations": [...]}) into the
 * project: new tasks with their media fetched, annotations replaced by the ones given (with
 * `full`, tasks missing from the list lose theirs). A task whose media cannot be fetched is
 * skipped and counted, its error kept in first_error. */
int mlb_sync_tasks(struct mlb_server *s, const char *uid, int64_t project, const json_t *tasks,
                   int full, struct mlb_sync_stats *out, struct base_err *err);
/* One annotation event: the task (export shape without annotations) and the annotation to add
 * or replace, or with `deleted` the annotation ids to remove. */
int mlb_sync_annotation(struct mlb_server *s, const char *uid, int64_t project, const json_t *task,
                        const json_t *annotation, struct base_err *err);
int mlb_sync_delete(struct mlb_server *s, int64_t project, const json_t *ids, struct base_err *err);
/* The labeled tasks of the project in Label Studio's export shape (train_data.json). */
json_t *mlb_train_data(struct mlb_server *s, int64_t project, struct base_err *err);

/* ---- background work (mlb_events.c) ---- */
int mlb_events_start(struct mlb_server *s, struct base_err *err);
void mlb_events_stop(struct mlb_server *s);
/* Queues an event (takes body); BASE_E_BUSY when the queue is full. */
int mlb_event_push(struct mlb_server *s, const char *uid, const char *action, json_t *body,
                   struct base_err *err);
/* The loop's job_ended callback: a training job's version goes into <model_dir>/<uid>/<version>/.
 */
void mlb_job_ended(void *user, int64_t job);

/* ---- handlers (mlb_server.c, mlb_predict.c) ---- */
int mlb_predict(struct mlb_server *s, json_t *body, json_t **out, struct base_err *err);
#endif
