/* Shared by the handler files of src/api. To add an endpoint: write `int api_x(struct api_req *r,
 * struct base_err *err)` in a file of its resource, declare it below, and add one line to the
 * table in api_routes.c. A handler either answers (api_reply_* and returns 0) or returns -1 with
 * err set: the dispatcher then answers with Label Studio's error wrapper and the HTTP status of
 * err->status (api_http_status). Handlers run on pool threads: keep state in the request. */
#ifndef LL_API_INT_H
#define LL_API_INT_H

#include "api.h"

#include <jansson.h>
#include <pthread.h>

struct api {
    struct store *store;
    struct loop *loop;      /* may be NULL */
    struct mlb_client *mlb; /* may be NULL */
    char *data_dir;
    char *media_dir; /* <data_dir>/media */
    char *version;
    int64_t session_ttl_us;
    int64_t task_lock_ttl_us;
    pthread_mutex_t rng_lock;
    struct base_rng rng;
    struct api_limits limits;
    struct api_throttle *throttle;
};

struct api_req {
    struct api *api;
    struct http_request *http;
    struct http_response *resp;
    struct base_arena *arena; /* freed with the request */
    const char *method;       /* HEAD is routed as GET */
    const char *path;
    struct http_route_match m; /* m.ids[0..]: the {id} segments of the route, in order */
    int authed;
    struct store_user user;    /* the authenticated user (routes without API_PUBLIC) */
    json_t *validation_errors; /* filled by api_invalid */
    const char *www_authenticate;
    int status_override; /* an HTTP status the error table has no entry for (405) */
};

typedef int (*api_handler_fn)(struct api_req *r, struct base_err *err);

enum {
    API_PUBLIC = 1 << 0, /* no authentication required */
    API_UPLOAD = 1 << 1, /* bodies up to --max-body-mb, spooled to disk (others: max_json) */
};

struct api_route {
    const char *method;  /* "GET", "POST", "PATCH", "PUT", "DELETE" */
    const char *pattern; /* see http_route_match: "/api/tasks/{id}/annotations" */
    api_handler_fn fn;
    unsigned flags;
};

extern const struct api_route api_routes[];
extern const size_t api_nroutes;

/* ---- replies and errors ---------------------------------------------------------------------- */

/* Answers `body` (reference stolen) as compact JSON with Python-repr floats. Returns 0. */
int api_reply_json(struct api_req *r, int status, json_t *body);
/* Answers with no body (204 and the like). Returns 0. */
int api_reply_empty(struct api_req *r, int status);
/* Records a field error for the 400 wrapper's validation_errors ({"field": ["message"]}) and
 * returns -1 with err = BASE_E_INVALID "Validation error". */
int api_invalid(struct api_req *r, struct base_err *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The HTTP status of an error status (one table). */
int api_http_status(enum base_status status);
/* Sends Label Studio's error wrapper {id, status_code, version, detail, exc_info[,
 * validation_errors]} for `err`. */
void api_reply_error(struct api_req *r, const struct base_err *err);

/* ---- request input --------------------------------------------------------------------------- */

/* The body parsed as JSON (new reference); 400 naming the problem when malformed or empty. */
json_t *api_body_json(struct api_req *r, struct base_err *err);
/* Same, but the body must be a JSON object. */
json_t *api_body_object(struct api_req *r, struct base_err *err);
/* Integer query parameter: `def` when absent, 400 when not an integer in [min, max]. */
int api_query_int(struct api_req *r, const char *name, int64_t def, int64_t min, int64_t max,
                  int64_t *out, struct base_err *err);
/* Boolean query parameter: 1/true/yes/on vs 0/false/no/off (any case), `def` when absent. */
int api_query_bool(struct api_req *r, const char *name, int def);
/* "http://<Host>" for absolute links (pagination). */
const char *api_base_url(struct api_req *r);

/* ---- JSON field checks (each records a validation error and returns -1 on a bad type) ------- */

int api_field_bool(struct api_req *r, json_t *obj, const char *key, int *out, int *present,
                   struct base_err *err);
int api_field_int(struct api_req *r, json_t *obj, const char *key, int nullable, int64_t *out,
                  int *present, struct base_err *err);
int api_field_number(struct api_req *r, json_t *obj, const char *key, int nullable, double *out,
                     int *is_null, int *present, struct base_err *err);
/* A result list; a string holding JSON is parsed as Label Studio does. *out borrowed or new
 * (decref it). */
int api_field_result(struct api_req *r, json_t *obj, const char *key, int nullable, json_t **out,
                     int *present, struct base_err *err);

/* ---- serializers (Label Studio shapes) ------------------------------------------------------- */

/* Per-request cache of users for created_username / created_by. */
struct api_users;
struct api_users *api_users_new(struct api_req *r);
/* The user or NULL if it does not exist; valid for the request. */
const struct store_user *api_users_get(struct api_users *u, int64_t id);

json_t *api_user_json(const struct store_user *u);
json_t *api_user_simple_json(const struct store_user *u);
/* Project JSON of spec 1.1 from a store row (borrowed) with its counters. */
json_t *api_project_json(struct api_req *r, const json_t *row,
                         const struct store_project_counts *c);
/* Annotation as /api/annotations answers (created_username, created_ago; no prediction). */
json_t *api_annotation_json(struct api_users *users, const struct store_annotation *a);
json_t *api_prediction_json(const struct store_prediction *p);

enum api_task_shape {
    API_TASK_DM,     /* /api/tasks list items (annotations/predictions only with `full`) */
    API_TASK_EXPORT, /* spec 1.2 export shape: annotations full, predictions as ids */
    API_TASK_SIMPLE, /* /predict payload shape: all model fields, everything expanded */
};
/* A task in one of the shapes. `undefined_key` (may be NULL) is the data key `$undefined$` is
 * renamed to on output (spec 1.2: the first data key of the project's config). The export and
 * ML-payload shapes are api_task_export_text's text parsed back (one writer of those shapes);
 * they fail (NULL) only when that text is beyond API_TASK_TEXT_MAX or its stored data does not
 * parse. The DM shape never fails. */
json_t *api_task_json(struct api_users *users, const struct store_task *t,
                      enum api_task_shape shape, int full, const char *undefined_key,
                      struct base_err *err);
/* The most bytes of one task's export text. */
#define API_TASK_TEXT_MAX ((size_t)1 << 30)
/* The API_TASK_EXPORT (or API_TASK_SIMPLE) shape as compact JSON text appended to `out`: the one
 * writer of those shapes. For a task loaded with store_task_query.json_text the stored data and
 * result text is copied, not parsed (data is parsed only when $undefined$ may need renaming);
 * for a task loaded as values, they are dumped. Fails on unparsable stored data (BASE_E_INVALID)
 * or when `out` reaches its limit (BASE_E_TOOBIG), the message naming the task. */
int api_task_export_text(const struct store_task *t, enum api_task_shape shape,
                         const char *undefined_key, struct base_buf *out, struct base_err *err);
/* Django's timesince: "0 minutes", "2 minutes", "1 hour, 3 minutes" (non-breaking spaces). */
void api_created_ago(int64_t us, char out[64]);
/* ISO time string as a new JSON string; 0 -> null. */
json_t *api_time_json(int64_t us);

/* ---- projects and labeling configs ------------------------------------------------------------
 */

/* Loads a project (404 when absent) into *p (store_project_release). */
int api_project_row(struct api_req *r, int64_t id, struct store_project *p, struct base_err *err);
struct api_dataset_import;
struct store_import_result;
/* api_import_match.c: a JSON file's predictions for the project's existing tasks (match_existing
 * of api_import_dataset); res counts the predictions. */
int api_import_match(struct api *api, const struct api_dataset_import *o,
                     const struct store_project *row, struct store_import_result *res,
                     struct base_err *err);
/* Validates a labeling config as Label Studio does on save (400 with validation_errors under
 * `field` otherwise) and sets parsed_label_config, data_types and control_weights in `fields`
 * (unless `fields` already sets control_weights). */
int api_label_config_apply(struct api_req *r, const char *xml, const char *field, json_t *fields,
                           struct base_err *err);

/* Checks `xml` against the tasks and annotations of project `id` (spec 4.5 B; `strict` also
 * refuses removing used labels): 400 with Label Studio's message under `field` otherwise. */
int api_label_config_check_usage(struct api_req *r, int64_t id, const char *xml, int strict,
                                 const char *field, struct base_err *err);

/* ---- the labeling queue ------------------------------------------------------------------------
 */

/* Picks the next task of `project` for r->user: *task, or -1 with BASE_E_NOTFOUND when nothing
 * is left. */
typedef int (*api_next_fn)(struct api_req *r, const struct store_project *project, int64_t *task,
                           struct base_err *err);
/* Policies by the project's `sampling` value; the first entry is the fallback. An active-learning
 * order plugs in by adding a line to this table (api_next.c). */
struct api_next_policy {
    const char *sampling;
    api_next_fn fn;
};
extern const struct api_next_policy api_next_policies[];
extern const size_t api_next_npolicies;

/* ---- import -----------------------------------------------------------------------------------
 */

/* What an import skipped, for the warnings of its report. */
struct api_import_notes {
    int64_t ids_skipped; /* annotations or predictions that were not objects (an export's ids) */
};

/* Normalises a Label Studio task list in place (a flat dict becomes {"data": dict}; `$undefined$`
 * renamed when the project has a data key; entries of annotations/predictions that are not
 * objects dropped and counted in notes, may be NULL; prediction results in short forms expanded)
 * and validates it against the project: every object-tag data key present, annotations with
 * result lists. 400 on failure. */
int api_tasks_normalize(struct api_req *r, const struct store_project *project, json_t *tasks,
                        struct base_err *err);
/* The same for a piece of a longer list whose first task is number `first` (for messages). */
int api_tasks_normalize_at(struct api_req *r, const struct store_project *project, json_t *tasks,
                           size_t first, struct api_import_notes *notes, struct base_err *err);
/* The names of ?preannotated_from_fields=a,b (new reference), or NULL. */
json_t *api_import_pre_fields(struct api_req *r);
/* tasks[k] (task number i) came from a request body or a file, not from the server: the
 * exporting instance's file_upload is dropped and, with pre_fields, those fields become its
 * predictions (400 when the task lacks one). */
int api_task_from_outside(struct api_req *r, json_t *tasks, size_t k, size_t i,
                          const json_t *pre_fields, struct base_err *err);
/* The report's "warnings": what was skipped or left null (new array). */
json_t *api_import_warnings(const struct api_import_notes *n,
                            const struct store_import_result *res);
/* A prediction's result in full form: a list of regions as given (a JSON text of one parsed),
 * one region object, a value payload ({"choices": ["A"]}) or a bare label / number of a
 * single-valued control (Choices, TextArea, Rating, Number) expanded with the project's labeling
 * config as Label Studio does. *out: new reference. 400 under `field` otherwise. */
int api_prediction_result(struct api_req *r, const struct store_project *row, const json_t *result,
                          const char *field, json_t **out, struct base_err *err);

/* ---- media --------------------------------------------------------------------------------------
 */

/* Whether the part of an upload URL after "/data/upload/" is "<project digits>/<plain file
 * name>" (no dot files, separators or control bytes): safe to join under the media folder. */
int api_media_valid_tail(const char *tail);
/* The image type of an open file's first bytes (image/jpeg, image/png, image/webp), or NULL. */
const char *api_media_sniff(int fd);

/* ---- task list views (api_task_view.c) -------------------------------------------------------
 */

struct api_task_slot;
/* One page of a filtered or reordered task list. */
struct api_task_page {
    int64_t *ids; /* the page's task ids in order (request arena) */
    size_t n;
    struct store_task_totals totals; /* of all matching tasks */
    struct api_task_slot *slots;     /* filled by api_task_page_index */
};
/* Reads the data-manager parameters of GET /api/tasks for the project: the saved view named
 * by `view`, else the `query` parameter (filters, ordering, selectedItems). Returns 1 when they ask
 * for nothing but the plain id order (or are absent), 0 with *out filled for the page at
 * offset/limit (limit > 0), -1 with err (400 naming the problem for a bad query). */
int api_task_view(struct api_req *r, const struct store_project *row, int64_t offset, int64_t limit,
                  struct api_task_page *out, struct base_err *err);
/* Label Studio's data-manager object q ({"filters", "ordering", "selectedItems"}; NULL: none)
 * for the project as a store view (strings in the request arena); 400 under "query" or
 * "selectedItems" naming what is wrong. */
int api_dm_query(struct api_req *r, const struct store_project *row, const json_t *q,
                 struct store_task_view *v, struct base_err *err);
/* The same for the saved view `view` (404 when absent, 400 when it is another project's). */
int api_dm_view_query(struct api_req *r, const struct store_project *row, int64_t view,
                      struct store_task_view *v, struct base_err *err);
/* Prepares api_task_page_slot, which gives the position in the page of one of its task ids. */
void api_task_page_index(struct api_req *r, struct api_task_page *p);
size_t api_task_page_slot(const struct api_task_page *p, int64_t id);

/* ---- exports (api_export.c, api_exports.c) ----------------------------------------------------
 */

/* The exporters' resolver (ctx: the api): "/data/upload/<project>/<file>" to the local file when
 * an upload record names exactly that file and it is a regular file; NULL otherwise. */
char *api_export_resolve(void *ctx, const char *url);
/* Removes a deleted project's export snapshot files. */
void api_exports_purge(struct api *api, int64_t project);

/* ---- the loop (api_ml.c, api_model.c) ---------------------------------------------------------
 */

/* A registry version and a job as /api/projects/{id}/model answers them. */
json_t *api_version_json(const struct store_version *v);
json_t *api_job_json(const struct store_job *j);

/* Tasks (and maybe annotations) were imported into a project: the loop predicts them and applies
 * its training policy. Never fails the request. */
void api_tell_loop_import(struct api_req *r, int64_t project,
                          const struct store_import_result *res);
/* A task is being opened: the loop predicts it with the current model if it has no prediction of
 * it yet (errors are logged, the task is served anyway). */
void api_predict_on_open(struct api_req *r, int64_t task);
/* An annotation event for the project's external ML backends (their webhook); never fails. */
void api_tell_backends(struct api_req *r, int64_t project, const char *action, int64_t annotation,
                       int64_t task);

/* ---- handlers (one file per resource) ---------------------------------------------------------
 */

int api_health(struct api_req *r, struct base_err *err);
int api_version(struct api_req *r, struct base_err *err);

int api_auth_login(struct api_req *r, struct base_err *err);
int api_auth_logout(struct api_req *r, struct base_err *err);
int api_whoami(struct api_req *r, struct base_err *err);
int api_token_get(struct api_req *r, struct base_err *err);
int api_token_reset(struct api_req *r, struct base_err *err);

int api_projects_list(struct api_req *r, struct base_err *err);
int api_projects_create(struct api_req *r, struct base_err *err);
int api_project_get(struct api_req *r, struct base_err *err);
int api_project_patch(struct api_req *r, struct base_err *err);
int api_project_delete(struct api_req *r, struct base_err *err);
int api_projects_validate(struct api_req *r, struct base_err *err);
int api_project_validate(struct api_req *r, struct base_err *err);
int api_project_next(struct api_req *r, struct base_err *err);
int api_project_import(struct api_req *r, struct base_err *err);
int api_project_import_dataset(struct api_req *r, struct base_err *err);
int api_project_export(struct api_req *r, struct base_err *err);
int api_project_export_formats(struct api_req *r, struct base_err *err);
int api_project_tasks_list(struct api_req *r, struct base_err *err);
int api_project_tasks_delete(struct api_req *r, struct base_err *err);

int api_tasks_list(struct api_req *r, struct base_err *err);
int api_tasks_create(struct api_req *r, struct base_err *err);
int api_task_get(struct api_req *r, struct base_err *err);
int api_task_patch(struct api_req *r, struct base_err *err);
int api_task_delete(struct api_req *r, struct base_err *err);
int api_task_thumbnail(struct api_req *r, struct base_err *err);

int api_task_annotations_list(struct api_req *r, struct base_err *err);
int api_task_annotations_create(struct api_req *r, struct base_err *err);
int api_annotation_get(struct api_req *r, struct base_err *err);
int api_annotation_patch(struct api_req *r, struct base_err *err);
int api_annotation_delete(struct api_req *r, struct base_err *err);

int api_predictions_list(struct api_req *r, struct base_err *err);
int api_predictions_create(struct api_req *r, struct base_err *err);
int api_prediction_get(struct api_req *r, struct base_err *err);
int api_prediction_patch(struct api_req *r, struct base_err *err);
int api_prediction_delete(struct api_req *r, struct base_err *err);

int api_media_upload(struct api_req *r, struct base_err *err);

int api_ml_list(struct api_req *r, struct base_err *err);
int api_ml_get(struct api_req *r, struct base_err *err);
int api_ml_patch(struct api_req *r, struct base_err *err);
int api_ml_train(struct api_req *r, struct base_err *err);
int api_ml_versions(struct api_req *r, struct base_err *err);
int api_ml_create(struct api_req *r, struct base_err *err);
/* External backends (api_ml_external.c): their JSON, PATCH, and hand-offs to the client. */
json_t *api_ml_external_json(struct api_req *r, const struct store_ml_backend *b);
/* The settable fields of any backend row: title, description, is_interactive, auto_update,
 * timeout (validation errors recorded). */
int api_ml_fields(struct api_req *r, json_t *body, struct store_ml_backend *b,
                  struct base_err *err);
int api_ml_external_patch(struct api_req *r, struct store_ml_backend *b, struct base_err *err);
void api_backends_predict(struct api_req *r, int64_t project, const int64_t *tasks, size_t n);
void api_backends_refresh(struct api_req *r, const struct store_ml_backend *b);
int api_ml_delete(struct api_req *r, struct base_err *err);
int api_model_get(struct api_req *r, struct base_err *err);
int api_model_versions(struct api_req *r, struct base_err *err);
int api_model_version_get(struct api_req *r, struct base_err *err);
int api_model_version_delete(struct api_req *r, struct base_err *err);
int api_model_rollback(struct api_req *r, struct base_err *err);
int api_model_train(struct api_req *r, struct base_err *err);
int api_model_jobs(struct api_req *r, struct base_err *err);
int api_model_job_get(struct api_req *r, struct base_err *err);
int api_model_job_cancel(struct api_req *r, struct base_err *err);
int api_model_help(struct api_req *r, struct base_err *err);
int api_project_import_predictions(struct api_req *r, struct base_err *err);
int api_project_model_versions(struct api_req *r, struct base_err *err);

int api_dm_views_list(struct api_req *r, struct base_err *err);
int api_dm_views_create(struct api_req *r, struct base_err *err);
int api_dm_views_reset(struct api_req *r, struct base_err *err);
int api_dm_view_get(struct api_req *r, struct base_err *err);
int api_dm_view_patch(struct api_req *r, struct base_err *err);
int api_dm_view_delete(struct api_req *r, struct base_err *err);
int api_dm_actions_list(struct api_req *r, struct base_err *err);
int api_dm_actions_run(struct api_req *r, struct base_err *err);

/* Label Studio's storage routes (api_storages.c, api_storage_sync.c, api_storage_media.c): S3
 * import and export storages; other types answer a 404 saying that labelloop has only S3. */
int api_storages_none(struct api_req *r, struct base_err *err);
int api_storages_all(struct api_req *r, struct base_err *err);
int api_storages_types(struct api_req *r, struct base_err *err);
int api_storages_s3_list(struct api_req *r, struct base_err *err);
int api_storages_s3_create(struct api_req *r, struct base_err *err);
int api_storages_s3_get(struct api_req *r, struct base_err *err);
int api_storages_s3_patch(struct api_req *r, struct base_err *err);
int api_storages_s3_delete(struct api_req *r, struct base_err *err);
int api_storages_s3_validate(struct api_req *r, struct base_err *err);
int api_storages_s3_sync(struct api_req *r, struct base_err *err);
int api_storages_export_s3_sync(struct api_req *r, struct base_err *err);
int api_task_resolve(struct api_req *r, struct base_err *err);
/* A storage as Label Studio answers it (credentials left out). */
json_t *api_storage_json(const struct store_storage *s);
/* The storage {id} of the route's kind (import or export S3; 404 otherwise). */
int api_storage_load(struct api_req *r, struct store_storage *s, struct base_err *err);
/* Label Studio's validate_connection of a storage's fields (400 with its messages). */
int api_storage_check(struct api_req *r, const json_t *data, struct base_err *err);
struct s3_object;
int api_storage_count_one(void *ctx, const struct s3_object *o, struct base_err *err);
/* An annotation was saved: written to the project's S3 export storages (never fails). */
void api_storage_export_annotation(struct api_req *r, int64_t project, int64_t task,
                                   int64_t annotation);
/* A task's JSON for the UI: s3:// URIs of its data become /tasks/<id>/resolve/?fileuri=... */
void api_storage_rewrite(json_t *task);

int api_users_list(struct api_req *r, struct base_err *err);
int api_users_create(struct api_req *r, struct base_err *err);
int api_current_user_password(struct api_req *r, struct base_err *err);
int api_user_get(struct api_req *r, struct base_err *err);
int api_user_login_form(struct api_req *r, struct base_err *err);

int api_project_exports_list(struct api_req *r, struct base_err *err);
int api_project_exports_create(struct api_req *r, struct base_err *err);
int api_project_export_get(struct api_req *r, struct base_err *err);
int api_project_export_delete(struct api_req *r, struct base_err *err);
int api_project_export_download(struct api_req *r, struct base_err *err);

/* The browser UI: embedded files, index.html for client-side routes. */
int api_static(struct api_req *r, struct base_err *err);

/* ---- admission, deferred work, throttling (api_admit.c, api_pool.c, api_throttle.c) ---------
 */

/* Sets up r for a request (HEAD is routed as GET). */
void api_req_init(struct api_req *r, struct api *api, struct http_request *http,
                  struct http_response *resp);
/* The route of r (NULL for the UI's files) with r->m filled, the user authenticated unless the
 * route is public, and cookie-authenticated writes checked against cross-site forgery (403).
 * Done once when the headers arrive (api_admit) and remembered for the handler. Errors: 404,
 * 405, 401, 403, 415. */
int api_route_resolve(struct api_req *r, const struct api_route **route, struct base_err *err);
/* The address login throttling counts for the client of r (X-Forwarded-For with
 * trust_proxy; an IPv6 address by its /64). */
const char *api_client_address(struct api_req *r);

/* Finishes the request on work pool `pool` (API_POOL_*): fn runs there on a copy of r and
 * answers as a handler does, while the handler returns 0 and leaves the response alone. Errors:
 * BASE_E_BUSY (503 with Retry-After) when the pool is full. */
int api_defer(struct api_req *r, int pool, api_handler_fn fn, struct base_err *err);

/* Before a login's password is hashed: 429 with Retry-After while the client address or the
 * account has to wait (api_auth.c). */
int api_login_admit(struct api_req *r, const char *email, struct base_err *err);
/* The password check of a login (on the hashing pool): on success r->user is set, the failure
 * counts cleared and the session cookie set on the response; a wrong password is counted (401). */
int api_login_check(struct api_req *r, const char *email, const char *password,
                    struct base_err *err);

/* Failed logins by client address and by account, with exponential back-off, counted in the
 * store so that every server sharing it agrees. Thread-safe. */
struct api_throttle *api_throttle_new(void);
void api_throttle_free(struct api_throttle *t);
/* Counts a login attempt at `now` (wall clock, microseconds: servers compare it) as failed
 * until api_throttle_login_ok says otherwise: *wait_s = 0 when it may go ahead, else the seconds
 * to wait, and then the attempt is not counted. Errors: the store's. */
int api_throttle_login(struct api *api, const char *address, const char *email, int64_t now,
                       double *wait_s, struct base_err *err);
/* The attempt succeeded (a failure is logged, not returned: the login itself stands). */
void api_throttle_login_ok(struct api *api, const char *address, const char *email);

#endif
