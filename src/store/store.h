/* store: labelloop's persistence. SQLite in WAL mode behind functions: every SQL statement of the
 * program lives in src/store, every statement is prepared, every write is one transaction, and
 * the schema is created and upgraded by numbered migrations recorded in the database.
 *
 * Threads: a struct store is shared by all threads; each call borrows a connection from an
 * internal pool, so calls are thread-safe and may run concurrently (SQLite serialises writers;
 * a writer waits up to the busy timeout, then fails with BASE_E_BUSY).
 *
 * Times are microseconds since the Unix epoch (UTC). Ids are positive; 0 means "none" (NULL).
 * JSON values (json_t, jansson) handed to the store are borrowed; JSON values the store hands
 * out in callbacks are borrowed for the duration of the callback, those in structs filled by a
 * *_get function are owned by the struct and freed by its *_release function. */
#ifndef LL_STORE_H
#define LL_STORE_H

#include "base/base.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* Opens the database `where` and applies pending migrations: a PostgreSQL URL
 * (postgresql://... or postgres://..., libpq's URI syntax; the database must exist, its schema is
 * created) or the path of a SQLite file (created if needed).
 * Errors: BASE_E_IO (cannot open or connect), BASE_E_INTERNAL (migration failed; nothing
 * applied). */
struct store *store_open(const char *where, struct base_err *err);
/* Whether `where` names a PostgreSQL database (postgresql:// or postgres://) rather than a
 * SQLite file. */
int store_is_url(const char *where);
/* What the store opened (store_open's `where`), owned by the store: may hold a password. */
const char *store_where(const struct store *st);
/* `where` as it may be shown (logs, the console, errors): a URL's password, in its user part or
 * as a password= parameter, becomes "***". Writes at most `size` bytes (truncated, always
 * terminated) and returns out. */
const char *store_where_shown(const char *where, char *out, size_t size);
/* Closes every pooled connection. No call may be in flight. Accepts NULL. */
void store_close(struct store *st);
/* Number of the newest migration applied. */
int store_schema_version(struct store *st, int *version, struct base_err *err);

/* ---- moving a data dir to PostgreSQL (store_copy.c) ------------------------------------------ */

#define STORE_COPY_TABLES_MAX 64
/* What store_copy copied and verified: each table's rows and its checksum (the sum of a hash of
 * every row, the same on both databases). */
struct store_copy_report {
    int ntables;
    int64_t rows;
    struct {
        char name[64];
        int64_t rows;
        uint64_t checksum;
    } table[STORE_COPY_TABLES_MAX];
};
/* Called after each batch of rows: the table being copied, rows copied so far of all tables. */
typedef void (*store_copy_progress_fn)(void *ctx, const char *table, int64_t done, int64_t total);
/* Copies every row of `from` (a SQLite store) into `to` (a PostgreSQL store whose tables are
 * empty), ids and all, in one transaction on `to`, from one snapshot of `from`; before it commits,
 * every table's row count and checksum must match on both, or nothing is copied. Errors:
 * BASE_E_CONFLICT (a table of `to` has rows), BASE_E_INVALID (not SQLite into PostgreSQL),
 * BASE_E_INTERNAL (verification failed), a database error. `progress` and `report` may be NULL. */
int store_copy(struct store *from, struct store *to, store_copy_progress_fn progress, void *ctx,
               struct store_copy_report *report, struct base_err *err);

/* ---- users, tokens, sessions ---------------------------------------------------------------- */

#define STORE_EMAIL_MAX       254
#define STORE_NAME_MAX        150
#define STORE_TOKEN_LEN       40 /* API tokens: 40 lower-case hex characters */
#define STORE_SESSION_KEY_LEN 64

struct store_user {
    int64_t id;
    char email[STORE_EMAIL_MAX + 1];
    char username[STORE_NAME_MAX + 1];
    char first_name[STORE_NAME_MAX + 1];
    char last_name[STORE_NAME_MAX + 1];
    int is_superuser;
    int is_active;
    int64_t date_joined;
    int64_t last_activity;
};

/* Creates a user with an argon2id password hash (libsodium) and a fresh API token.
 * Errors: BASE_E_INVALID (email empty or too long, password shorter than 8 characters),
 * BASE_E_CONFLICT (email taken). `token` receives the key. */
int store_user_create(struct store *st, const char *email, const char *password, int superuser,
                      struct store_user *out, char token[STORE_TOKEN_LEN + 1],
                      struct base_err *err);
int store_user_count(struct store *st, int64_t *count, struct base_err *err);
/* Lookups; BASE_E_NOTFOUND when absent. Email matching ignores ASCII case. */
int store_user_get(struct store *st, int64_t id, struct store_user *out, struct base_err *err);
int store_user_by_email(struct store *st, const char *email, struct store_user *out,
                        struct base_err *err);
/* The user owning API token `token`: BASE_E_AUTH "Invalid token." otherwise. */
int store_user_by_token(struct store *st, const char *token, struct store_user *out,
                        struct base_err *err);
/* Checks email and password (constant work whether or not the user exists);
 * BASE_E_AUTH when they do not match an active user. */
int store_user_login(struct store *st, const char *email, const char *password,
                     struct store_user *out, struct base_err *err);
int store_user_set_password(struct store *st, int64_t user, const char *password,
                            struct base_err *err);
int store_user_token(struct store *st, int64_t user, char token[STORE_TOKEN_LEN + 1],
                     struct base_err *err);
typedef int (*store_user_fn)(void *ctx, const struct store_user *u, struct base_err *err);
/* Every user in id order. */
int store_user_each(struct store *st, store_user_fn fn, void *ctx, struct base_err *err);
/* Sets username, first and last name (each at most STORE_NAME_MAX bytes, else BASE_E_INVALID). */
int store_user_set_names(struct store *st, int64_t user, const char *username,
                         const char *first_name, const char *last_name, struct base_err *err);
/* Replaces the user's token with a new random one (the old one stops working). */
int store_user_reset_token(struct store *st, int64_t user, char token[STORE_TOKEN_LEN + 1],
                           struct base_err *err);

/* Creates a browser session valid for `ttl_us`; `key` (64 hex characters) goes into the cookie,
 * only its hash is stored. */
int store_session_create(struct store *st, int64_t user, int64_t ttl_us,
                         char key[STORE_SESSION_KEY_LEN + 1], struct base_err *err);
/* The user of a live session: BASE_E_AUTH for an unknown key, "Session expired." for an expired
 * one (which is deleted). */
int store_session_user(struct store *st, const char *key, struct store_user *out,
                       struct base_err *err);
/* Deletes the session (logout); an unknown key is not an error. */
int store_session_delete(struct store *st, const char *key, struct base_err *err);

/* ---- login throttling (store_throttle.c) ----------------------------------------------------- */

/* How failed logins of one kind of key (client address, account) are held back: `free_fails`
 * failures cost nothing, each one past them doubles the wait from `first_us` up to `max_us`, and
 * a key quiet for `forget_us` is forgotten. */
struct store_throttle_policy {
    int free_fails;
    int64_t first_us, max_us, forget_us;
};
/* Counts a login attempt as failed (until store_login_ok), for the client address and the
 * account (email without case) alike, in one statement that every server sharing the database
 * sees; unless either has to wait at `now_us`: then *wait_us is the longer wait and nothing is
 * counted (*wait_us = 0 when the attempt may go ahead). */
int store_login_attempt(struct store *st, const char *address, const char *email,
                        const struct store_throttle_policy *by_address,
                        const struct store_throttle_policy *by_account, int64_t now_us,
                        int64_t *wait_us, struct base_err *err);
/* The attempt succeeded: the account's failures are forgotten and the address's attempt
 * uncounted. */
int store_login_ok(struct store *st, const char *address, const char *email, struct base_err *err);
/* Deletes the counts last touched before `before_us` (forgotten by then anyway), and the oldest
 * past the newest `keep_rows` (a flood of new addresses and accounts must not fill the disk). */
int store_login_prune(struct store *st, int64_t before_us, int64_t keep_rows, struct base_err *err);

/* ---- projects ------------------------------------------------------------------------------- */

enum store_type { STORE_BOOL, STORE_INT, STORE_REAL, STORE_TEXT, STORE_TEXT_NULL, STORE_JSON };

/* The settable project columns, in the key order of Label Studio's project JSON: the single
 * list from which the descriptor table, the SQL and struct store_project are made. Adding a
 * setting = one migration + one line here. */
#define STORE_PROJECT_COLUMNS(X)                                                                   \
    X(title, STORE_TEXT)                                                                           \
    X(description, STORE_TEXT)                                                                     \
    X(label_config, STORE_TEXT)                                                                    \
    X(expert_instruction, STORE_TEXT)                                                              \
    X(show_instruction, STORE_BOOL)                                                                \
    X(show_skip_button, STORE_BOOL)                                                                \
    X(enable_empty_annotation, STORE_BOOL)                                                         \
    X(show_annotation_history, STORE_BOOL)                                                         \
    X(color, STORE_TEXT)                                                                           \
    X(maximum_annotations, STORE_INT)                                                              \
    X(is_published, STORE_BOOL)                                                                    \
    X(model_version, STORE_TEXT)                                                                   \
    X(is_draft, STORE_BOOL)                                                                        \
    X(min_annotations_to_start_training, STORE_INT)                                                \
    X(show_collab_predictions, STORE_BOOL)                                                         \
    X(sampling, STORE_TEXT)                                                                        \
    X(show_ground_truth_first, STORE_BOOL)                                                         \
    X(show_overlap_first, STORE_BOOL)                                                              \
    X(overlap_cohort_percentage, STORE_INT)                                                        \
    X(task_data_login, STORE_TEXT_NULL)                                                            \
    X(task_data_password, STORE_TEXT_NULL)                                                         \
    X(control_weights, STORE_JSON)                                                                 \
    X(parsed_label_config, STORE_JSON)                                                             \
    X(evaluate_predictions_automatically, STORE_BOOL)                                              \
    X(skip_queue, STORE_TEXT)                                                                      \
    X(reveal_preannotations_interactively, STORE_BOOL)                                             \
    X(pinned_at, STORE_TEXT_NULL)                                                                  \
    X(data_types, STORE_JSON)                                                                      \
    X(loop_enabled, STORE_BOOL)                                                                    \
    X(loop_min_labeled, STORE_INT)                                                                 \
    X(loop_retrain_every, STORE_INT)                                                               \
    X(loop_label_map, STORE_TEXT)

/* A settable project column (the table is store_project_columns). */
struct store_column {
    const char *name;
    enum store_type type;
    size_t offset; /* of its member in struct store_project */
};
extern const struct store_column store_project_columns[];
extern const size_t store_project_ncolumns;
/* The column named `name`, or NULL. */
const struct store_column *store_project_column(const char *name);

/* A project: its fixed fields and one member per column of STORE_PROJECT_COLUMNS, typed by the
 * column's type: BOOL int, INT int64_t, REAL double, TEXT a string (never NULL), TEXT_NULL a
 * string or NULL, JSON an object (never NULL). Owned by it: store_project_release. */
#define STORE_CTYPE_STORE_BOOL           int
#define STORE_CTYPE_STORE_INT            int64_t
#define STORE_CTYPE_STORE_REAL           double
#define STORE_CTYPE_STORE_TEXT           char *
#define STORE_CTYPE_STORE_TEXT_NULL      char *
#define STORE_CTYPE_STORE_JSON           json_t *
#define STORE_PROJECT_MEMBER(name, type) STORE_CTYPE_##type name;
struct store_project {
    int64_t id;
    int64_t created_by; /* user id, 0 = null */
    int64_t created_at, updated_at;
    STORE_PROJECT_COLUMNS(STORE_PROJECT_MEMBER)
};
#undef STORE_PROJECT_MEMBER
void store_project_release(struct store_project *p);
/* The project as Label Studio's JSON row (new reference): "id", every column by name (BOOL as
 * true/false, TEXT_NULL as null), "created_by" (user id or null), "organization" (1),
 * "created_at" and "updated_at" (ISO strings as the API writes them). */
json_t *store_project_json(const struct store_project *p);
/* The first data key of the project's labeling config (what Label Studio's "$undefined$" task
 * key stands for), or NULL when it has none. Valid as long as the project. */
const char *store_project_data_key(const struct store_project *p);

/* Creates a project from `fields` (keys: column names; others are ignored; the caller has
 * checked the types, mismatches fail with BASE_E_INVALID). Unset columns get their defaults. */
int store_project_create(struct store *st, const json_t *fields, int64_t created_by, int64_t *id,
                         struct base_err *err);
/* Reads project `id` into *out (store_project_release frees it; untouched on failure);
 * BASE_E_NOTFOUND. */
int store_project_get(struct store *st, int64_t id, struct store_project *out,
                      struct base_err *err);
/* Updates the given columns. Changing maximum_annotations also updates every task's overlap and
 * is_labeled in the same transaction. BASE_E_NOTFOUND. */
int store_project_update(struct store *st, int64_t id, const json_t *fields, struct base_err *err);
/* Deletes the project with its tasks, annotations, predictions and upload records (files on
 * disk are the caller's). BASE_E_NOTFOUND. */
int store_project_delete(struct store *st, int64_t id, struct base_err *err);
/* Newest first. *rows: new array reference; *total: all projects. */
int store_project_list(struct store *st, int64_t offset, int64_t limit, json_t **rows,
                       int64_t *total, struct base_err *err);

/* Counters of spec 1.1, computed in one read transaction. */
struct store_project_counts {
    int64_t task_number;
    int64_t finished_task_number;       /* tasks with is_labeled */
    int64_t num_tasks_with_annotations; /* ≥1 annotation: not cancelled, not ground truth, result */
    int64_t total_annotations_number;   /* not cancelled */
    int64_t useful_annotation_number;   /* not cancelled, not ground truth, result not null */
    int64_t ground_truth_number;
    int64_t skipped_annotations_number; /* cancelled */
    int64_t total_predictions_number;
};
int store_project_counts(struct store *st, int64_t id, struct store_project_counts *c,
                         struct base_err *err);

/* ---- tasks, annotations, predictions -------------------------------------------------------- */

#define STORE_LAST_ACTION_MAX   63
#define STORE_MODEL_VERSION_MAX 255

struct store_annotation {
    int64_t id, task, project;
    int64_t completed_by; /* user id, 0 = null */
    json_t *result;       /* array, or NULL for null */
    int was_cancelled;
    int ground_truth;
    int has_lead_time;
    double lead_time;   /* seconds */
    json_t *prediction; /* snapshot object of the prediction it started from, or {} / NULL */
    /* With store_task_query.json_text: result and prediction stay NULL and these hold the stored
     * JSON text instead (NULL for SQL NULL), valid as long as the annotation. */
    const char *result_text, *prediction_text;
    size_t result_len, prediction_len;
    int64_t result_count;
    int64_t parent_prediction, parent_annotation; /* 0 = null */
    char last_action[STORE_LAST_ACTION_MAX + 1];  /* "" = null */
    int64_t created_at, updated_at;
};

struct store_prediction {
    int64_t id, task, project;
    json_t *result; /* array */
    int has_score;
    double score;
    char model_version[STORE_MODEL_VERSION_MAX + 1]; /* "" by default */
    int has_cluster;
    int64_t cluster;
    json_t *neighbors;                        /* NULL = null */
    const char *result_text, *neighbors_text; /* with json_text (see store_annotation) */
    size_t result_len, neighbors_len;
    double mislabeling;
    int64_t created_at, updated_at;
};

struct store_task {
    int64_t id, project;
    json_t *data; /* object */
    json_t *meta; /* object */
    int64_t created_at, updated_at;
    int is_labeled;
    int64_t overlap;
    int64_t inner_id; /* 1-based position in the project */
    int64_t total_annotations, cancelled_annotations, total_predictions;
    int has_prediction_score;
    double prediction_score; /* mean score of the task's predictions (for ordering) */
    int has_uncertainty;
    double uncertainty;      /* 1 - score of the prediction by the project's model version */
    int64_t file_upload_id;  /* 0 = none */
    const char *file_upload; /* stored file basename "1a2b3c4d-x.jpg", or NULL */
    int64_t updated_by;      /* 0 = null */
    /* With store_task_query.json_text: data and meta stay NULL and these hold the stored JSON
     * text ("{}" when absent), for callers that stream it out without parsing. */
    const char *data_text, *meta_text;
    size_t data_len, meta_len;
    /* Filled only when the query asked for them; ordered by id. */
    const struct store_annotation *annotations;
    size_t nannotations;
    const struct store_prediction *predictions;
    size_t npredictions;
};

/* Which tasks store_task_each visits: of one project in id order, or the single task `task`. */
struct store_task_query {
    int64_t project;    /* the project (required unless `task` is set) */
    int64_t task;       /* a single task id; 0 = all of the project */
    const int64_t *ids; /* optional restriction to these ids (any order, ≤ 100000) */
    size_t nids;
    int only_annotated;    /* only tasks with ≥1 annotation, cancelled ones included */
    int64_t offset, limit; /* skip `offset` tasks, visit at most `limit` (0 = no limit) */
    int with_annotations;  /* fill task->annotations */
    int with_predictions;  /* fill task->predictions */
    int json_text;         /* JSON columns as text (the *_text fields), not parsed */
};

/* Called for each task; a non-zero return stops the iteration and is returned (with err as the
 * callback set it). The task and everything it points to are valid only during the call. */
typedef int (*store_task_fn)(void *ctx, const struct store_task *task, struct base_err *err);

/* Streams the tasks of a query in id order, with their annotations and predictions, inside one
 * read transaction (a consistent snapshot) and in chunks, so memory stays small whatever the
 * project size. The callback may call other store functions (they use other connections) but
 * writes it makes are not seen by this iteration. Returns 0 after visiting every task (possibly
 * none), the callback's non-zero value, or -1 on a database error. */
int store_task_each(struct store *st, const struct store_task_query *q, store_task_fn fn, void *ctx,
                    struct base_err *err);

struct store_task_totals {
    int64_t tasks;             /* tasks matching (offset/limit ignored) */
    int64_t total_annotations; /* their non-cancelled annotations */
    int64_t total_predictions;
};
int store_task_totals(struct store *st, const struct store_task_query *q,
                      struct store_task_totals *t, struct base_err *err);

/* The project a task belongs to; BASE_E_NOTFOUND. */
int store_task_project(struct store *st, int64_t task, int64_t *project, struct base_err *err);

/* Result of a bulk import. Ids are consecutive (one transaction holds the write lock): tasks
 * first_task_id .. first_task_id + task_count - 1, upload records likewise. */
struct store_import_result {
    int64_t task_count, annotation_count, prediction_count;
    int64_t first_task_id;
    int64_t upload_count, first_upload_id;
    int64_t unknown_annotators; /* annotations whose completed_by names no user here (null) */
};

/* Imports a JSON array of tasks into a project in ONE transaction (all or nothing). Each item:
 *   {"data": {...}, "meta"?: {...},
 *    "annotations"?: [{"result": [...]|null, "was_cancelled"?, "ground_truth"?, "lead_time"?,
 *                      "completed_by"?: user id | {"email": ...}, "prediction"?: {...}}],
 *    "predictions"?: [{"result": [...], "score"?: number, "model_version"?: string,
 *                      "cluster"?, "neighbors"?, "mislabeling"?}],
 *    "file_upload"?: "upload/<project>/<uuid8>-<name>"}   (records an uploaded file)
 * Items are expected in this normalized shape (the API layer turns flat dicts into it); a
 * wrong type fails with BASE_E_INVALID naming the item. `user` (0 = none) is the default
 * completed_by of annotations; a completed_by naming no user of this database (an export of
 * another instance) is left null and counted in unknown_annotators. Errors: BASE_E_NOTFOUND
 * (project), BASE_E_INVALID, BASE_E_BUSY. */
int store_tasks_import(struct store *st, int64_t project, const json_t *tasks, int64_t user,
                       struct store_import_result *res, struct base_err *err);

/* The same import fed in pieces, for lists too big to hold as JSON at once (a streamed request
 * body, a large COCO file): begin takes the database's write lock (other writers wait, readers
 * do not), add appends tasks of the shape above, commit makes all of them visible at once.
 * Not thread-safe: one thread drives an import. */
struct store_import;
struct store_import *store_import_begin(struct store *st, int64_t project, int64_t user,
                                        struct base_err *err);
/* On failure the import is dead: the caller must abort it. */
int store_import_add(struct store_import *imp, const json_t *tasks, struct base_err *err);
/* Commits and frees imp in all cases; *res as for store_tasks_import. */
int store_import_commit(struct store_import *imp, struct store_import_result *res,
                        struct base_err *err);
/* Rolls back and frees. Accepts NULL. */
void store_import_abort(struct store_import *imp);

/* Replaces data and/or meta (NULL = keep). BASE_E_NOTFOUND. */
int store_task_update(struct store *st, int64_t id, const json_t *data, const json_t *meta,
                      int64_t updated_by, struct base_err *err);
int store_task_delete(struct store *st, int64_t id, struct base_err *err);
/* Deletes every task of a project; *deleted (may be NULL) receives the count. */
int store_tasks_delete_all(struct store *st, int64_t project, int64_t *deleted,
                           struct base_err *err);

/* Orders of /api/projects/{id}/next. The API maps a project's `sampling` to one of these; a
 * different policy can be plugged in above the store by choosing the task itself. */
enum store_order {
    STORE_ORDER_SEQUENTIAL,  /* lowest id first */
    STORE_ORDER_RANDOM,      /* uniform: the `random`-th candidate modulo their number */
    STORE_ORDER_UNCERTAINTY, /* highest uncertainty first (the current model's least sure),
                                tasks without a prediction last, in id order */
};
/* The next task for `user`: not labeled (is_labeled = 0) and not yet annotated or skipped by
 * this user. BASE_E_NOTFOUND when there is none. */
int store_task_next(struct store *st, int64_t project, int64_t user, enum store_order order,
                    uint64_t random, int64_t *task, struct base_err *err);

/* Like store_task_next, and hands the task out under Label Studio's task lock, picked and
 * locked in one write transaction (so concurrent callers, threads or processes, never get the
 * same task): a task whose annotations plus other users' live locks reach its overlap is
 * skipped; the user's own live lock in the project comes first (renewed), and taking a new one
 * drops the user's old one there. The lock lasts until now_us + ttl_us, or until the user
 * annotates or skips the task (a trigger on annotation). user 0 takes no lock. */
int store_task_take(struct store *st, int64_t project, int64_t user, enum store_order order,
                    uint64_t random, int64_t now_us, int64_t ttl_us, int64_t *task,
                    struct base_err *err);
/* The live lock on a task at now_us (user 0: none). */
struct store_task_lock {
    int64_t user, expire_us;
};
int store_task_lock_get(struct store *st, int64_t task, int64_t now_us, struct store_task_lock *out,
                        struct base_err *err);

/* Bits of the *_update functions saying which fields of the value to write. */
enum {
    STORE_SET_RESULT = 1 << 0,
    STORE_SET_WAS_CANCELLED = 1 << 1,
    STORE_SET_GROUND_TRUTH = 1 << 2,
    STORE_SET_LEAD_TIME = 1 << 3,
    STORE_SET_COMPLETED_BY = 1 << 4,
    STORE_SET_PARENT_PREDICTION = 1 << 5,
    STORE_SET_PARENT_ANNOTATION = 1 << 6,
    STORE_SET_LAST_ACTION = 1 << 7,
    STORE_SET_SCORE = 1 << 8,
    STORE_SET_MODEL_VERSION = 1 << 9,
    STORE_SET_TASK = 1 << 10,
    STORE_SET_CLUSTER = 1 << 11,
    STORE_SET_NEIGHBORS = 1 << 12,
    STORE_SET_MISLABELING = 1 << 13,
};

/* Annotations. Writes update the task's counters and is_labeled in the same transaction.
 * Errors: BASE_E_NOTFOUND (task / annotation), BASE_E_INVALID (a referenced prediction,
 * annotation or user that does not exist). */
int store_annotation_create(struct store *st, int64_t task, const struct store_annotation *in,
                            int64_t *id, struct base_err *err);
/* Fills *out (json fields owned by it: store_annotation_release). */
int store_annotation_get(struct store *st, int64_t id, struct store_annotation *out,
                         struct base_err *err);
void store_annotation_release(struct store_annotation *a);
int store_annotation_update(struct store *st, int64_t id, unsigned set,
                            const struct store_annotation *v, struct base_err *err);
int store_annotation_delete(struct store *st, int64_t id, struct base_err *err);
typedef int (*store_annotation_fn)(void *ctx, const struct store_annotation *a,
                                   struct base_err *err);
/* Annotations of a task in id order; cancelled ones only with include_cancelled. */
int store_annotation_each(struct store *st, int64_t task, int include_cancelled,
                          store_annotation_fn fn, void *ctx, struct base_err *err);

/* Predictions. Writes update the task's total_predictions and prediction_score. */
int store_prediction_create(struct store *st, int64_t task, const struct store_prediction *in,
                            int64_t *id, struct base_err *err);
int store_prediction_get(struct store *st, int64_t id, struct store_prediction *out,
                         struct base_err *err);
void store_prediction_release(struct store_prediction *p);
/* STORE_SET_TASK moves the prediction to another task (of any project). */
int store_prediction_update(struct store *st, int64_t id, unsigned set,
                            const struct store_prediction *v, struct base_err *err);
int store_prediction_delete(struct store *st, int64_t id, struct base_err *err);
typedef int (*store_prediction_fn)(void *ctx, const struct store_prediction *p,
                                   struct base_err *err);
/* Predictions of one task (task > 0), or of one project (project > 0), or all, in id order. */
int store_prediction_each(struct store *st, int64_t task, int64_t project, store_prediction_fn fn,
                          void *ctx, struct base_err *err);

/* ---- uploaded files ------------------------------------------------------------------------- */

/* The project of the upload record whose file is exactly `file` ("upload/3/1a2b3c4d-x.jpg");
 * BASE_E_NOTFOUND when no such record exists. */
int store_file_upload_project(struct store *st, const char *file, int64_t *project,
                              struct base_err *err);

/* ---- the loop: training jobs, the model registry, help records, ML backends (store_ml.c) ---- */

enum store_job_kind {
    STORE_JOB_TRAIN,   /* train, evaluate, maybe promote, then predict every task */
    STORE_JOB_PREDICT, /* predict the tasks that lack a prediction of the current version */
};
enum store_job_state {
    STORE_JOB_QUEUED,
    STORE_JOB_RUNNING,
    STORE_JOB_DONE,
    STORE_JOB_FAILED,
    STORE_JOB_CANCELLED,
};
/* "train"/"predict" and "queued", "running", "done", "failed", "cancelled". */
const char *store_job_kind_name(enum store_job_kind k);
const char *store_job_state_name(enum store_job_state s);

#define STORE_JOB_REASON_MAX 31
#define STORE_JOB_OWNER_MAX  63
#define STORE_JOB_PHASE_MAX  31

struct store_job {
    int64_t id, project;
    enum store_job_kind kind;
    enum store_job_state state;
    char reason[STORE_JOB_REASON_MAX + 1]; /* what queued it: "first", "retrain", "manual", ... */
    int attempt;                           /* 1, or more after a server restart re-queued it */
    int64_t version;                       /* ml_version made (train) or predicted with; 0: none */
    int64_t created_at, started_at, ended_at; /* 0: not yet */
    int64_t pid;                              /* the worker process while running */
    int cancel_requested;
    char phase[STORE_JOB_PHASE_MAX + 1]; /* "loading", "training", "evaluating", "predicting" */
    json_t *progress; /* object (owned): epoch, epochs, loss, images_per_s, ... */
    char *log;        /* the worker's last lines (owned, never NULL when got) */
    char *error;      /* why it failed (owned) or NULL */
    json_t *params;   /* object (owned): options of this run */
    char owner[STORE_JOB_OWNER_MAX + 1]; /* the server running it ("" when none) */
    int64_t lease_until;                 /* its lease, microseconds since the epoch */
};
void store_job_release(struct store_job *j);

/* Queues a job. With `coalesce`, a job of the same project and kind already queued is replaced
 * by this trigger (its reason, creation time and params are updated, *replaced = 1, same id)
 * instead of queueing a second one. `version` is the version a predict job uses (0 for train);
 * `params` (borrowed, may be NULL for {}) the options of the run. */
int store_job_enqueue(struct store *st, int64_t project, enum store_job_kind kind,
                      const char *reason, int64_t version, int attempt, const json_t *params,
                      int coalesce, int64_t *id, int *replaced, struct base_err *err);
/* Fills *out (release with store_job_release). BASE_E_NOTFOUND. */
int store_job_get(struct store *st, int64_t id, struct store_job *out, struct base_err *err);
typedef int (*store_job_fn)(void *ctx, const struct store_job *j, struct base_err *err);
/* Jobs of a project (project > 0) or of every project, newest first, at most `limit`. */
int store_job_each(struct store *st, int64_t project, int64_t limit, store_job_fn fn, void *ctx,
                   struct base_err *err);
/* Takes the next queued job and marks it running for `owner` (a server: STORE_JOB_OWNER_MAX
 * bytes at most) under a lease until lease_until_us, in one write transaction: among the
 * projects with a queued job, the one whose last job started longest ago (never first) goes
 * first, so one busy project cannot starve the others; its oldest queued job. *id = 0 when
 * nothing is queued. */
int store_job_claim(struct store *st, const char *owner, int64_t lease_until_us, int64_t *id,
                    struct base_err *err);
/* Extends the lease of a running job of `owner` to lease_until_us (0 gives it up: the next
 * recovery queues it again). *owned = 0 when the job is no longer running for this owner (its
 * lease ran out and it was queued again, or it ended); *cancel = 1 when a cancel was asked for,
 * by this server or another. */
int store_job_renew(struct store *st, int64_t id, const char *owner, int64_t lease_until_us,
                    int *owned, int *cancel, struct base_err *err);
int store_job_set_pid(struct store *st, int64_t id, int64_t pid, struct base_err *err);
/* Progress of a running job (progress borrowed, may be NULL to keep it). */
int store_job_progress(struct store *st, int64_t id, const char *phase, const json_t *progress,
                       struct base_err *err);
int store_job_set_log(struct store *st, int64_t id, const char *log, struct base_err *err);
/* Ends a queued or running job in `state` (done, failed, cancelled) with an optional error text.
 * A job already ended is left as it is (*changed = 0; changed may be NULL). */
int store_job_finish(struct store *st, int64_t id, enum store_job_state state, const char *error,
                     int *changed, struct base_err *err);
/* Cancels: a queued job ends cancelled at once; a running one gets cancel_requested (its worker is
 * the caller's to stop). *was receives the state before. BASE_E_NOTFOUND. */
int store_job_cancel(struct store *st, int64_t id, enum store_job_state *was, int64_t *pid,
                     struct base_err *err);
/* Running jobs whose lease ran out by now_us (their server stopped or hangs) are queued again
 * with attempt + 1 (*requeued), or end failed with a message naming the job once they have been
 * tried max_attempts times (*failed). Jobs under a live lease, another server's included, are
 * left alone. */
int store_jobs_recover(struct store *st, int64_t now_us, int max_attempts, int64_t *failed,
                       int64_t *requeued, struct base_err *err);

/* What the training policy reads for a project in one snapshot. */
struct store_loop_state {
    int64_t labeled;         /* tasks with a finished annotation (not cancelled, with result) */
    int64_t train_jobs;      /* train jobs ever queued */
    int64_t changes;         /* annotations created or updated since the newest train job */
    int64_t queued, running; /* jobs of any kind */
    int64_t queued_train;    /* queued train jobs */
    int64_t current_version; /* ml_version named by the project's model_version, 0: none */
};
int store_loop_state(struct store *st, int64_t project, struct store_loop_state *out,
                     struct base_err *err);

/* A model version in the registry. Metrics are on the held-out tasks of the job that made it;
 * base_* are the metrics of the version current then, on the same tasks, in the same job. */
struct store_version {
    int64_t id, project, seq, parent, job;
    char name[STORE_MODEL_VERSION_MAX + 1]; /* the predictions' model_version: "fcos-s-v3" */
    char file[256];                         /* model file, relative to the data dir */
    char arch[32];
    int input_size;
    json_t *classes; /* array of names (owned) */
    int64_t train_images, heldout_images, epochs;
    double duration_s;
    int has_metrics, has_base;
    double ap, ap50, ap75;
    double base_ap, base_ap50, base_ap75;
    double score_thr; /* pre-label threshold: best F1 on the held-out tasks */
    int promoted;     /* promoted when it was made */
    char reason[256]; /* why it was or was not promoted */
    int64_t created_at, promoted_at;
    int is_current; /* filled on reads: the project's model_version names it */
};
void store_version_release(struct store_version *v);

/* Records a new version (v->id, seq and name are filled from the project's next sequence number
 * and `name_prefix`: "<prefix>-v<seq>") and, in the same transaction, records it as the output
 * of job `job` (0: none; BASE_E_CONFLICT when that job is no longer running: it was cancelled or
 * its project deleted) and, with `promote`, makes it the project's model_version. */
int store_version_create(struct store *st, struct store_version *v, const char *name_prefix,
                         int promote, int64_t job, struct base_err *err);
/* The same, keeping the model file's bytes (size bytes at `file`) in the database with the
 * version, in the same transaction: servers and workers that do not share the data dir's disk
 * read them with store_model_file_get. */
int store_version_create_file(struct store *st, struct store_version *v, const char *name_prefix,
                              int promote, int64_t job, const void *file, size_t size,
                              struct base_err *err);
/* Keeps the bytes of version `version`'s model file in the database, unless some are kept already
 * (`db migrate-to` for the versions trained before). */
int store_model_file_put(struct store *st, int64_t version, const void *file, size_t size,
                         struct base_err *err);
/* The model file bytes kept with version `version` into out (appended), checked against their
 * size and SHA-256. BASE_E_NOTFOUND when none are kept; BASE_E_INTERNAL naming the version when
 * they do not match. */
int store_model_file_get(struct store *st, int64_t version, struct base_buf *out,
                         struct base_err *err);
/* Fills *out (release it). BASE_E_NOTFOUND. */
int store_version_get(struct store *st, int64_t id, struct store_version *out,
                      struct base_err *err);
/* The project's current version (named by its model_version); BASE_E_NOTFOUND when none. */
int store_version_current(struct store *st, int64_t project, struct store_version *out,
                          struct base_err *err);
typedef int (*store_version_fn)(void *ctx, const struct store_version *v, struct base_err *err);
/* Versions of a project (project 0: of every project, by project), oldest first. */
int store_version_each(struct store *st, int64_t project, store_version_fn fn, void *ctx,
                       struct base_err *err);
/* Makes version `id` the project's current one (rollback or roll forward). */
int store_version_promote(struct store *st, int64_t id, struct base_err *err);
/* Deletes a version row; *file (base_free) receives its model file for the caller to remove.
 * BASE_E_CONFLICT for the current version. */
int store_version_delete(struct store *st, int64_t id, char **file, struct base_err *err);

/* What one annotation kept of the prediction it started from (loop_help_compare). */
struct store_help {
    int64_t annotation, prediction; /* prediction 0: the task had none */
    char model_version[STORE_MODEL_VERSION_MAX + 1];
    int64_t shown, accepted, adjusted, deleted, drawn;
    double adjust_iou; /* sum of the IoUs of adjusted boxes with their predicted boxes */
    int has_lead_time;
    double lead_time;
};
/* Writes (or replaces) the record of annotation h->annotation. */
int store_help_put(struct store *st, const struct store_help *h, struct base_err *err);
/* Totals per model version ("" = annotations made without a prediction). */
struct store_help_sum {
    char model_version[STORE_MODEL_VERSION_MAX + 1];
    int64_t annotations, shown, accepted, adjusted, deleted, drawn;
    double adjust_iou_mean; /* mean IoU of adjusted boxes, 0 when none */
    int64_t lead_n;         /* annotations with a lead time */
    double lead_time_mean;  /* seconds */
};
typedef int (*store_help_fn)(void *ctx, const struct store_help_sum *s, struct base_err *err);
int store_help_each(struct store *st, int64_t project, store_help_fn fn, void *ctx,
                    struct base_err *err);

/* Label Studio's ML backend rows (/api/ml). url "" is the built-in detector. */
struct store_ml_backend {
    int64_t id, project;
    char url[1024];
    char title[256];
    char description[1024];
    int is_interactive, auto_update;
    double timeout;
    int64_t created_at, updated_at;
    /* External backends: Label Studio's state letters ("CO", "ER", "DI", "TR", "PR"), the last
     * error, the model version /setup returned, and whether training goes through the seed-era
     * POST /train (a backend whose /health has no "model_class"). */
    char state[4];
    char error_message[1024];
    char model_version[STORE_MODEL_VERSION_MAX + 1];
    int legacy_train;
};
/* The built-in detector's row of the project, made on first use. */
int store_ml_backend_builtin(struct store *st, int64_t project, struct store_ml_backend *out,
                             struct base_err *err);
int store_ml_backend_get(struct store *st, int64_t id, struct store_ml_backend *out,
                         struct base_err *err);
typedef int (*store_ml_backend_fn)(void *ctx, const struct store_ml_backend *b,
                                   struct base_err *err);
/* Rows of a project (project > 0) or of all projects, in id order. */
int store_ml_backend_each(struct store *st, int64_t project, store_ml_backend_fn fn, void *ctx,
                          struct base_err *err);
/* Writes title, description, is_interactive, timeout and auto_update of b (by b->id). */
int store_ml_backend_update(struct store *st, const struct store_ml_backend *b,
                            struct base_err *err);

/* Adds an external backend (b->url not empty) to project b->project; fills b->id.
 * BASE_E_NOTFOUND when the project does not exist. */
int store_ml_backend_create(struct store *st, struct store_ml_backend *b, struct base_err *err);
/* Deletes an external backend (the built-in row is never deleted: BASE_E_NOTFOUND). */
int store_ml_backend_delete(struct store *st, int64_t id, struct base_err *err);
/* Writes the url of an external backend b (by b->id). */
int store_ml_backend_set_url(struct store *st, const struct store_ml_backend *b,
                             struct base_err *err);
/* Writes state, error_message, model_version and legacy_train of b (by b->id). */
int store_ml_backend_set_state(struct store *st, const struct store_ml_backend *b,
                               struct base_err *err);

/* Inserts predictions in one transaction (the loop's batches: one commit, not one per task).
 * A task deleted meanwhile, or that already has a prediction of the same model_version, is
 * skipped. *created (may be NULL) counts the rows written. */
int store_prediction_create_many(struct store *st, const struct store_prediction *in, size_t n,
                                 int64_t *created, struct base_err *err);

/* ---- task list views: filters and orderings of the data manager --------------------------- */

/* Task columns a list can be filtered or ordered on (Label Studio's data-manager columns). */
enum store_task_col {
    STORE_TASK_COL_ID,
    STORE_TASK_COL_INNER_ID,
    STORE_TASK_COL_TOTAL_ANNOTATIONS,
    STORE_TASK_COL_CANCELLED_ANNOTATIONS,
    STORE_TASK_COL_TOTAL_PREDICTIONS,
    STORE_TASK_COL_PREDICTION_SCORE, /* mean prediction score; NULL without predictions */
    STORE_TASK_COL_IS_LABELED,
    STORE_TASK_COL_UNCERTAINTY,   /* 1 - the current model's score; NULL without its prediction */
    STORE_TASK_COL_AVG_LEAD_TIME, /* mean lead time of its annotations; NULL without */
    STORE_TASK_COL_GROUND_TRUTH,  /* 1 with a ground-truth annotation, else 0 */
    STORE_TASK_COL_CREATED_AT,    /* times: filters compare STORE_VALUE_TIME values */
    STORE_TASK_COL_UPDATED_AT,    /* */
    STORE_TASK_COL_COMPLETED_AT,  /* a labeled task's newest annotation time; NULL otherwise */
    STORE_TASK_COL_DATA,          /* data[key]; filters compare it as a number or as text */
    STORE_TASK_COL_FILE_UPLOAD,   /* text: the upload record's file, "upload/3/1a2b3c4d-x.jpg" */
    STORE_TASK_COL_ANNOTATIONS_RESULTS, /* text: the results of its annotations (JSON) */
    STORE_TASK_COL_PREDICTIONS_RESULTS, /* text: the results of its predictions (JSON) */
    STORE_TASK_COL_ANNOTATIONS_IDS,     /* text: "4, 7" */
    STORE_TASK_COL_ANNOTATORS,          /* list: users who annotated it */
    STORE_TASK_COL_MODEL_VERSIONS,      /* list: model versions of its predictions */
    STORE_TASK_COL_UPDATED_BY,          /* list: the user who last updated it */
};
#define STORE_TASK_NCOLS ((int)STORE_TASK_COL_UPDATED_BY + 1)

enum store_cmp {
    STORE_CMP_EQ,
    STORE_CMP_NE, /* NULLs match: they are not equal to the value */
    STORE_CMP_LT,
    STORE_CMP_LE,
    STORE_CMP_GT,
    STORE_CMP_GE,
    STORE_CMP_BETWEEN,     /* value <= col <= value2 */
    STORE_CMP_NULL,        /* text: NULL or ""; lists: empty */
    STORE_CMP_NOT_NULL,    /* */
    STORE_CMP_NOT_BETWEEN, /* */
    STORE_CMP_CONTAINS,    /* text: contains `text` ignoring ASCII case; lists: holds an item */
    STORE_CMP_NOT_CONTAINS,
    STORE_CMP_REGEX,       /* text matches the POSIX extended regular expression `text` */
    STORE_CMP_IN_LIST,     /* col is one of the items of the JSON array `text` */
    STORE_CMP_NOT_IN_LIST, /* */
};

/* How a filter's value compares: numbers (value, value2), times (value, value2 in microseconds
 * since the epoch) or text (`text`). */
enum store_value { STORE_VALUE_NUMBER, STORE_VALUE_TIME, STORE_VALUE_TEXT };

/* One filter. Which comparisons a column takes: numbers EQ..GE, (NOT_)BETWEEN, (NOT_)NULL,
 * (NOT_)IN_LIST; times the same but the lists; text EQ, NE, (NOT_)CONTAINS, REGEX, (NOT_)NULL,
 * (NOT_)IN_LIST; lists (NOT_)CONTAINS with `text` a JSON array of wanted items (user ids or model
 * versions), (NOT_)NULL. `kind` is how the column compares (NUMBER, TIME or TEXT by its class;
 * DATA as the filter says, NUMBER or TEXT); the (NOT_)IN_LIST items are a JSON array in `text`.
 * Strings are borrowed. */
struct store_task_filter {
    enum store_task_col col;
    enum store_cmp cmp;
    double value, value2;
    enum store_value kind;
    const char *text;
    const char *key; /* STORE_TASK_COL_DATA: the data key (no '"', no control characters) */
};

#define STORE_TASK_FILTERS_MAX 16

/* Which tasks a selection keeps (Label Studio's selectedItems). */
enum store_select {
    STORE_SELECT_ALL,      /* every matching task */
    STORE_SELECT_INCLUDED, /* only the selected ids */
    STORE_SELECT_EXCLUDED, /* every matching task but the selected ids */
};

/* One page of a project's tasks, filtered and ordered. Ties (and the NULLs, which come last in
 * both directions) are ordered by id. */
struct store_task_view {
    int64_t project;
    struct store_task_filter filters[STORE_TASK_FILTERS_MAX];
    size_t nfilters;
    int match_any; /* filters joined by OR instead of AND */
    enum store_task_col order;
    const char *order_key; /* STORE_TASK_COL_DATA ordering: the data key */
    int descending;
    /* The key raw uploads keep as "$undefined$" in their data: a DATA filter or order on it also
     * reads "$undefined$" (NULL: none). */
    const char *undefined_key;
    enum store_select select;
    const int64_t *selected; /* borrowed */
    size_t nselected;
    int64_t offset, limit; /* limit > 0 */
};

/* Fills ids[0..*nids) (room for v->limit) with the page's task ids in order, and *tot with the
 * count and counters of all matching tasks. Errors: BASE_E_INVALID for a filter a column does not
 * take, a bad data key or a filter count over the maximum; database errors. Thread-safe. */
int store_task_view_page(struct store *st, const struct store_task_view *v, int64_t *ids,
                         size_t *nids, struct store_task_totals *tot, struct base_err *err);
/* Every matching task id in the view's order (offset and limit ignored): *ids (base_free; NULL
 * when *n = 0). Errors as store_task_view_page. */
int store_task_view_ids(struct store *st, const struct store_task_view *v, int64_t **ids, size_t *n,
                        struct base_err *err);
/* Checks a view as store_task_view_page does before running it (BASE_E_INVALID naming what a
 * column does not take). */
int store_task_view_check(const struct store_task_view *v, struct base_err *err);
/* Whether `pattern` is a regular expression the REGEX filter takes (POSIX extended, at most 1000
 * characters): BASE_E_INVALID naming the problem otherwise. */
int store_regex_check(const char *pattern, struct base_err *err);

/* ---- the data manager: saved views, actions on task lists, export snapshots ---------------- */

/* A saved view (a Data Manager tab): `data` holds Label Studio's tab settings with its filters,
 * ordering and selectedItems. */
struct store_view {
    int64_t id, project, user; /* user 0: null */
    json_t *data;              /* object (owned) */
    int64_t created_at, updated_at;
};
void store_view_release(struct store_view *v);
/* Errors: BASE_E_NOTFOUND (project). */
int store_view_create(struct store *st, int64_t project, int64_t user, const json_t *data,
                      int64_t *id, struct base_err *err);
int store_view_get(struct store *st, int64_t id, struct store_view *out, struct base_err *err);
/* Replaces data (and moves the view to `project` when > 0). BASE_E_NOTFOUND. */
int store_view_update(struct store *st, int64_t id, int64_t project, const json_t *data,
                      struct base_err *err);
int store_view_delete(struct store *st, int64_t id, struct base_err *err);
/* Deletes every view of a project; *n (may be NULL) counts them. */
int store_views_delete_project(struct store *st, int64_t project, int64_t *n, struct base_err *err);
typedef int (*store_view_fn)(void *ctx, const struct store_view *v, struct base_err *err);
/* Views of a project (project > 0) or of all projects, in id order. */
int store_view_each(struct store *st, int64_t project, store_view_fn fn, void *ctx,
                    struct base_err *err);

/* Actions on tasks of a project chosen by id (ids of other projects are ignored), each in one
 * transaction that also updates the tasks' counters; *n (may be NULL) counts what was deleted or
 * created. */
int store_tasks_delete_ids(struct store *st, int64_t project, const int64_t *ids, size_t nids,
                           int64_t *n, struct base_err *err);
/* Deletes the tasks' annotations; the tasks that had some are marked updated by `user`. */
int store_annotations_delete_tasks(struct store *st, int64_t project, const int64_t *ids,
                                   size_t nids, int64_t user, int64_t *n, struct base_err *err);
int store_predictions_delete_tasks(struct store *st, int64_t project, const int64_t *ids,
                                   size_t nids, int64_t *n, struct base_err *err);
/* Makes an annotation by `user` (parent_prediction set, last_action "prediction") of every
 * prediction of the tasks that no annotation was made from yet; with `model_versions` (a JSON
 * array, NULL: any) only of those versions. */
int store_predictions_to_annotations(struct store *st, int64_t project, const int64_t *ids,
                                     size_t nids, const json_t *model_versions, int64_t user,
                                     int64_t *n, struct base_err *err);
/* Inserts predictions for tasks of `project` (in[i].task) in one transaction, all or nothing:
 * BASE_E_INVALID naming the first task that is not one of the project's. */
int store_predictions_import(struct store *st, int64_t project, const struct store_prediction *in,
                             size_t n, struct base_err *err);
typedef int (*store_version_count_fn)(void *ctx, const char *model_version, int64_t count,
                                      struct base_err *err);
/* The model versions of a project's predictions with their counts, by name. */
int store_prediction_versions(struct store *st, int64_t project, store_version_count_fn fn,
                              void *ctx, struct base_err *err);

/* An export snapshot: its options, and once made its file (relative to the data dir). */
struct store_snapshot {
    int64_t id, project, created_by; /* created_by 0: null */
    char *title;                     /* owned */
    char status[16];                 /* "created", "in_progress", "completed", "failed" */
    char file[256];                  /* "" until completed */
    char md5[33];
    json_t *counters; /* object (owned): {"task_number": n} */
    json_t *options;  /* object (owned): the filter and serialization options asked for */
    int64_t created_at, finished_at; /* finished_at 0: not yet */
};
void store_snapshot_release(struct store_snapshot *s);
/* Records a snapshot in state "created". BASE_E_NOTFOUND (project). */
int store_snapshot_create(struct store *st, int64_t project, int64_t user, const char *title,
                          const json_t *options, int64_t *id, struct base_err *err);
/* Ends it: status "completed" with its file, md5 and counters, or "failed" (file NULL). */
int store_snapshot_finish(struct store *st, int64_t id, const char *status, const char *file,
                          const char *md5, const json_t *counters, struct base_err *err);
int store_snapshot_get(struct store *st, int64_t id, struct store_snapshot *out,
                       struct base_err *err);
typedef int (*store_snapshot_fn)(void *ctx, const struct store_snapshot *s, struct base_err *err);
/* Snapshots of a project, newest first, at most `limit`. */
int store_snapshot_each(struct store *st, int64_t project, int64_t limit, store_snapshot_fn fn,
                        void *ctx, struct base_err *err);
/* Deletes the row; *file (base_free, "" when none) receives its file for the caller to remove. */
int store_snapshot_delete(struct store *st, int64_t id, char **file, struct base_err *err);

/* ---- cloud storages (store_storage.c) ------------------------------------------------------ */

/* A Label Studio cloud storage: `type` "s3", `direction` "import" or "export"; `data` holds its
 * Label Studio fields (title, bucket, prefix, credentials, status, last_sync, ...). */
struct store_storage {
    int64_t id, project;
    char type[16];
    char direction[8];
    json_t *data; /* object (owned) */
    int64_t created_at;
};
void store_storage_release(struct store_storage *s);
/* Errors: BASE_E_NOTFOUND (project). */
int store_storage_create(struct store *st, int64_t project, const char *type, const char *direction,
                         const json_t *data, int64_t *id, struct base_err *err);
int store_storage_get(struct store *st, int64_t id, struct store_storage *out,
                      struct base_err *err);
/* Replaces data. BASE_E_NOTFOUND. */
int store_storage_update(struct store *st, int64_t id, const json_t *data, struct base_err *err);
/* Deletes the storage and its links (the tasks stay, as in Label Studio). BASE_E_NOTFOUND. */
int store_storage_delete(struct store *st, int64_t id, struct base_err *err);
typedef int (*store_storage_fn)(void *ctx, const struct store_storage *s, struct base_err *err);
/* Storages of a project (0: all) of `type` and `direction` (NULL: any), in id order. */
int store_storage_each(struct store *st, int64_t project, const char *type, const char *direction,
                       store_storage_fn fn, void *ctx, struct base_err *err);
/* Whether an object key of the storage already made a task (*has 0 or 1). */
int store_storage_link_has(struct store *st, int64_t storage, const char *key, int *has,
                           struct base_err *err);
/* Links n tasks to the keys they were made from, in one transaction. */
int store_storage_links_add(struct store *st, int64_t storage, const char *const *keys,
                            const int64_t *tasks, size_t n, struct base_err *err);

#endif
