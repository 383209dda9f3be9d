/* The ML backend's HTTP side (spec 3.1): routes, the answers' shapes and status codes as
 * label-studio-ml gives them (201 for /train and training webhooks, 400 "No annotations found.",
 * errors as {"status", "detail"}), and the server's life: its own store and loop under
 * <model_dir>/.labelloop, the media cache, the event thread. */
#include "mlb_int.h"

#include <curl/curl.h>
#include <string.h>
#include <unistd.h>

static void reply(struct http_response *resp, int status, json_t *body)
{
    size_t len;
    char *text = base_json_dumps(body, BASE_JSON_COMPACT, &len);
    http_response_take(resp, status, "application/json", text, len);
    json_decref(body);
}

static int status_of(enum base_status st)
{
    switch (st) {
    case BASE_E_INVALID:
        return 400;
    case BASE_E_NOTFOUND:
        return 404;
    case BASE_E_TOOBIG:
        return 413;
    case BASE_E_UNSUPPORTED:
        return 415;
    case BASE_E_BUSY:
        return 503;
    default:
        return 500;
    }
}

/* label-studio-ml's error shape: {"status", "detail", "request", "result"}. */
static void reply_error(struct http_response *resp, const struct base_err *err)
{
    int code = status_of(err->status);
    reply(resp, code,
          json_pack("{s:i, s:s, s:{}, s:{s:s}}", "status", code, "detail", err->msg, "request",
                    "result", "traceback", ""));
}

static int version_name(void *ctx, const struct store_version *v, struct base_err *err)
{
    (void)err;
    json_array_append_new(ctx, json_string(v->name));
    return 0;
}

static const char *current_version(struct mlb_server *s, int64_t project, char *out, size_t size)
{
    struct store_version v = {0};
    snprintf(out, size, "%s", MLB_NO_VERSION);
    if (!store_version_current(s->st, project, &v, NULL))
        snprintf(out, size, "%s", v.name);
    store_version_release(&v);
    return out;
}

static void health(struct mlb_server *s, struct http_response *resp)
{
    json_t *problems = json_array();
    if (access(s->model_dir, W_OK))
        json_array_append_new(problems,
                              json_sprintf("the model directory %s is not writable", s->model_dir));
    char media[BASE_ERR_MSG];
    mlb_media_last_error(s->media, media, sizeof media);
    if (media[0])
        json_array_append_new(problems, json_sprintf("last media error: %s", media));
    mlb_projects_problems(s, problems);
    json_t *projects = json_object();
    pthread_mutex_lock(&s->mu);
    int n = s->nprojects, queued = s->queue.n;
    struct {
        char uid[MLB_UID_MAX + 1];
        int64_t id;
    } list[MLB_MAX_PROJECTS];
    for (int i = 0; i < n; i++) {
        snprintf(list[i].uid, sizeof list[i].uid, "%s", s->projects[i].uid);
        list[i].id = s->projects[i].id;
    }
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < n; i++) {
        char v[STORE_MODEL_VERSION_MAX + 1];
        current_version(s, list[i].id, v, sizeof v);
        json_object_set_new(projects, list[i].uid, json_pack("{s:s}", "model_version", v));
        if (!strcmp(v, MLB_NO_VERSION))
            json_array_append_new(problems,
                                  json_sprintf("project %s: no model trained yet (/predict answers"
                                               " no results until /train or a webhook trains one)",
                                               list[i].uid));
    }
    reply(resp, 200,
          json_pack("{s:s, s:s, s:s, s:b, s:o, s:i, s:o}", "status", "UP", "model_class",
                    "labelloop FCOS", "model_dir", s->model_dir, "v2", 0, "projects", projects,
                    "events_queued", queued, "problems", problems));
}

static int setup(struct mlb_server *s, json_t *body, json_t **out, struct base_err *err)
{
    const char *uid = json_string_value(json_object_get(body, "project"));
    const char *schema = json_string_value(json_object_get(body, "schema"));
    const char *host = json_string_value(json_object_get(body, "hostname"));
    const char *token = json_string_value(json_object_get(body, "access_token"));
    int64_t project;
    if (!schema)
        return base_err_set(err, BASE_E_INVALID, "'schema' (the labeling config) is missing");
    if (mlb_project_get(s, uid, schema, &project, err))
        return -1;
    mlb_project_set_source(s, uid, host ? host : "", token ? token : "");
    char h[1024], t[MLB_TOKEN_MAX], v[STORE_MODEL_VERSION_MAX + 1];
    mlb_project_source(s, uid, h, sizeof h, t, sizeof t);
    if (h[0])
        mlb_event_push(s, uid, "CHECK", NULL, NULL);
    else
        mlb_project_note(s, uid, 0,
                         "no Label Studio host: /setup sent no hostname and LABEL_STUDIO_URL is"
                         " not set, so /data/upload/ images cannot be fetched");
    *out = json_pack("{s:s}", "model_version", current_version(s, project, v, sizeof v));
    return 0;
}

static int train(struct mlb_server *s, json_t *body, int *code, json_t **out, struct base_err *err)
{
    json_t *anns = json_object_get(body, "annotations");
    const char *uid = json_string_value(json_object_get(body, "project"));
    const char *schema = json_string_value(json_object_get(body, "label_config"));
    if (!json_is_array(anns) || json_array_size(anns) == 0) {
        *code = 400;
        *out = json_string("No annotations found.");
        return 0;
    }
    int64_t project, job = 0;
    struct mlb_sync_stats st;
    if (mlb_project_get(s, uid, schema, &project, err))
        return -1;
    pthread_mutex_lock(&s->sync_mu);
    int rc = mlb_sync_tasks(s, uid, project, anns, 1, &st, err);
    pthread_mutex_unlock(&s->sync_mu);
    if (rc)
        return -1;
    if (st.tasks > 0 && st.skipped == st.tasks) {
        mlb_project_note(s, uid, 1, st.first_error);
        return base_err_set(err, BASE_E_IO, "none of the %lld tasks could be read: %s",
                            (long long)st.tasks, st.first_error);
    }
    if (loop_train(s->loop, project, "label studio", NULL, &job, err))
        return -1;
    *code = 201;
    *out = json_pack("{s:{s:I, s:I, s:I, s:I, s:s, s:I}}", "labelloop", "tasks",
                     (json_int_t)st.tasks, "added", (json_int_t)st.added, "changed",
                     (json_int_t)st.changed, "skipped", (json_int_t)st.skipped, "first_error",
                     st.first_error, "training_job", (json_int_t)job);
    return 0;
}

/* The uid of the project object of a webhook: "<id>.<created_at as unix seconds>", or the known
 * uid of that Label Studio id when created_at is absent (PROJECT_DELETED). */
static int webhook_uid(struct mlb_server *s, const json_t *project, char *uid, size_t size)
{
    json_t *id = json_object_get(project, "id");
    const char *created = json_string_value(json_object_get(project, "created_at"));
    int64_t us;
    if (!json_is_integer(id))
        return -1;
    if (created && !base_time_parse(created, &us)) {
        snprintf(uid, size, "%lld.%lld", (long long)json_integer_value(id),
                 (long long)(us / 1000000));
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    int found = -1;
    for (int i = 0; i < s->nprojects && found < 0; i++)
        if (s->projects[i].ls_id == json_integer_value(id)) {
            snprintf(uid, size, "%s", s->projects[i].uid);
            found = 0;
        }
    pthread_mutex_unlock(&s->mu);
    return found;
}

static int webhook(struct mlb_server *s, json_t *body, int *code, json_t **out,
                   struct base_err *err)
{
    const char *action = json_string_value(json_object_get(body, "action"));
    json_t *project = json_object_get(body, "project");
    if (!action)
        return base_err_set(err, BASE_E_INVALID, "'action' is missing");
    static const char *const train_events[] = {"START_TRAINING", "PROJECT_UPDATED"};
    static const char *const annotation_events[] = {"ANNOTATION_CREATED", "ANNOTATION_UPDATED",
                                                    "ANNOTATION_DELETED", "ANNOTATIONS_CREATED",
                                                    "ANNOTATIONS_DELETED"};
    const char *kind = NULL;
    for (size_t i = 0; i < 2; i++)
        kind = !strcmp(action, train_events[i]) ? "TRAIN" : kind;
    for (size_t i = 0; i < 5; i++)
        kind = !strcmp(action, annotation_events[i]) ? action : kind;
    if (!kind) {
        *code = 200;
        *out = json_pack("{s:s}", "status", "Unknown event");
        return 0;
    }
    char uid[MLB_UID_MAX + 1];
    int64_t id;
    if (webhook_uid(s, project, uid, sizeof uid))
        return base_err_set(err, BASE_E_INVALID,
                            "'project' must be Label Studio's project object"
                            " (with id and created_at)");
    const char *schema = json_string_value(json_object_get(project, "label_config"));
    if (mlb_project_get(s, uid, schema, &id, err) ||
        mlb_event_push(s, uid, kind, json_incref(body), err))
        return -1;
    char job[32];
    snprintf(job, sizeof job, "%lld", (long long)(base_time_us() / 1000000));
    *code = 201;
    *out = json_pack("{s:s, s:s}", "job_id", job, "status", "ok");
    return 0;
}

static int versions(struct mlb_server *s, const char *uid, json_t **out, struct base_err *err)
{
    json_t *names = json_array();
    int64_t project;
    int rc = 0;
    if (uid) {
        rc = mlb_project_get(s, uid, NULL, &project, err) ||
                     store_version_each(s->st, project, version_name, names, err)
                 ? -1
                 : 0;
    } else {
        rc = store_version_each(s->st, 0, version_name, names, err);
    }
    if (rc) {
        json_decref(names);
        return -1;
    }
    *out = json_pack("{s:o, s:s, s:b}", "versions", names, "model_dir", s->model_dir, "v2", 0);
    return 0;
}

static int is_training(struct mlb_server *s, const char *uid, json_t **out, struct base_err *err)
{
    int64_t project;
    struct store_loop_state st;
    if (mlb_project_get(s, uid, NULL, &project, err) || store_loop_state(s->st, project, &st, err))
        return -1;
    *out = json_pack("{s:b}", "is_training", st.running > 0 || st.queued_train > 0);
    return 0;
}

static json_t *body_object(struct http_request *req, struct base_err *err)
{
    size_t len;
    const char *text = http_request_body(req, &len);
    if (http_request_status(req) == BASE_E_TOOBIG)
        return base_err_set(err, BASE_E_TOOBIG, "the request body is too large"), NULL;
    json_t *j = base_json_parse(len ? text : "{}", len ? len : 2, err);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return base_err_set(err, BASE_E_INVALID, "the body must be a JSON object"), NULL;
    }
    return j;
}

/* The POST endpoints: each fills code and out, or returns -1 with err. */
static int post(struct mlb_server *s, const char *path, json_t *body, int *code, json_t **out,
                struct base_err *err)
{
    *code = 200;
    if (!strcmp(path, "/setup"))
        return setup(s, body, out, err);
    if (!strcmp(path, "/predict"))
        return mlb_predict(s, body, out, err);
    if (!strcmp(path, "/train"))
        return train(s, body, code, out, err);
    if (!strcmp(path, "/webhook"))
        return webhook(s, body, code, out, err);
    const char *uid = json_string_value(json_object_get(body, "project"));
    if (!uid)
        return base_err_set(err, BASE_E_INVALID, "'project' is missing");
    return versions(s, uid, out, err);
}

static void handle(void *ctx, struct http_request *req, struct http_response *resp)
{
    struct mlb_server *s = ctx;
    const char *method = http_request_method(req);
    char path[64];
    snprintf(path, sizeof path, "%s", http_request_path(req));
    size_t n = strlen(path);
    if (n > 1 && path[n - 1] == '/')
        path[n - 1] = '\0';
    int get = !strcmp(method, "GET"), is_post = !strcmp(method, "POST");
    struct base_err err = {0};
    json_t *out = NULL, *body = NULL;
    int code = 200, rc = 0;
    static const char *const posts[] = {"/setup", "/predict", "/train", "/webhook", "/versions"};
    int known_post = 0;
    for (size_t i = 0; i < 5; i++)
        known_post |= !strcmp(path, posts[i]);
    if (get && (!strcmp(path, "/") || !strcmp(path, "/health"))) {
        health(s, resp);
        return;
    }
    if (get && !strcmp(path, "/metrics"))
        out = json_object();
    else if (get && !strcmp(path, "/versions"))
        rc = versions(s, http_request_query(req, "project"), &out, &err);
    else if (get && !strcmp(path, "/is_training"))
        rc = is_training(s, http_request_query(req, "project"), &out, &err);
    else if (is_post && known_post)
        rc = !(body = body_object(req, &err)) ? -1 : post(s, path, body, &code, &out, &err);
    else if (known_post || !strcmp(path, "/health") || !strcmp(path, "/metrics"))
        rc = base_err_set(&err, BASE_E_INVALID, "%s is not allowed on %s", method, path),
        code = 405;
    else
        rc = base_err_set(&err, BASE_E_NOTFOUND, "no endpoint %s %s", method, path);
    json_decref(body);
    if (rc && code == 405) {
        reply(resp, 405, json_pack("{s:i, s:s}", "status", 405, "detail", err.msg));
        return;
    }
    if (rc) {
        BASE_WARN("ml-backend: %s %s: %s", method, path, err.msg);
        reply_error(resp, &err);
    } else {
        reply(resp, code, out);
    }
}

static void defaults(struct mlb_config *c)
{
    c->threads = c->threads > 0 ? c->threads : 8;
    c->min_labeled = c->min_labeled > 0 ? c->min_labeled : 10;
    c->retrain_every = c->retrain_every > 0 ? c->retrain_every : 20;
}

static int open_state(struct mlb_server *s, struct base_err *err)
{
    if (base_mkdirs(s->data_dir, err))
        return -1;
    char *db =
        s->cfg.db ? base_strdup(s->cfg.db) : base_path_join(s->data_dir, "labelloop.sqlite3");
    char *cache = base_path_join(s->data_dir, "cache");
    s->st = store_open(db, err);
    struct mlb_media_config mc = {cache, s->cfg.local_root, s->cfg.max_media_bytes,
                                  s->cfg.media_timeout_s};
    if (s->st)
        s->media = mlb_media_new(&mc, err);
    base_free(db);
    base_free(cache);
    if (!s->media)
        return -1;
    struct loop_config lc = {.data_dir = s->data_dir,
                             .worker_threads = s->cfg.worker_threads,
                             .max_train_s = s->cfg.max_train_s,
                             .arch = s->cfg.arch,
                             .no_workers = s->cfg.no_training,
                             .job_ended = mlb_job_ended,
                             .user = s};
    if (!(s->loop = loop_new(s->st, &lc, err)) || mlb_projects_load(s, err))
        return -1;
    return mlb_events_start(s, err);
}

struct mlb_server *mlb_server_new(const struct mlb_config *cfg, struct base_err *err)
{
    struct mlb_server *s = base_calloc(1, sizeof *s);
    s->cfg = *cfg;
    defaults(&s->cfg);
    s->cfg.host = s->cfg.ls_url = s->cfg.ls_token = s->cfg.local_root = NULL;
    s->model_dir = base_strdup(cfg->model_dir);
    s->data_dir = base_path_join(cfg->model_dir, ".labelloop");
    s->cfg.ls_url = cfg->ls_url && cfg->ls_url[0] ? base_strdup(cfg->ls_url) : NULL;
    s->cfg.ls_token = cfg->ls_token && cfg->ls_token[0] ? base_strdup(cfg->ls_token) : NULL;
    s->cfg.local_root = cfg->local_root && cfg->local_root[0] ? base_strdup(cfg->local_root) : NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->sync_mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct http_server_config hc = {.host = cfg->host,
                                    .port = cfg->port,
                                    .threads = s->cfg.threads,
                                    .max_body = (size_t)256 << 20,
                                    .timeout_s = 300};
    if (open_state(s, err) || !(s->http = http_server_new(&hc, handle, s, err))) {
        mlb_server_free(s);
        return NULL;
    }
    return s;
}

int mlb_server_port(const struct mlb_server *s)
{
    return http_server_port(s->http);
}

void mlb_server_free(struct mlb_server *s)
{
    if (!s)
        return;
    http_server_free(s->http, 5);
    mlb_events_stop(s);
    loop_free(s->loop);
    mlb_media_free(s->media);
    store_close(s->st);
    mlb_projects_release(s);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->sync_mu);
    pthread_mutex_destroy(&s->mu);
    base_free((char *)s->cfg.ls_url);
    base_free((char *)s->cfg.ls_token);
    base_free((char *)s->cfg.local_root);
    base_free(s->model_dir);
    base_free(s->data_dir);
    base_free(s);
    curl_global_cleanup();
}
