/* Work the ML backend does after it has answered: Label Studio gives a webhook one second, so
 * annotation events, pulls of a project's annotations through Label Studio's export API and
 * checks of the Label Studio host go to one background thread, in order. Also the end of a
 * training job: its version is laid out as label-studio-ml lays it out,
 * <model_dir>/<project uid>/<version>/ with train_data.json, train_data_info.json,
 * job_result.json and the model file. */
#include "mlb_int.h"

#include <string.h>
#include <unistd.h>

int mlb_event_push(struct mlb_server *s, const char *uid, const char *action, json_t *body,
                   struct base_err *err)
{
    pthread_mutex_lock(&s->mu);
    if (s->queue.n >= MLB_QUEUE_MAX) {
        pthread_mutex_unlock(&s->mu);
        json_decref(body);
        return base_err_set(err, BASE_E_BUSY, "%d events are waiting: try again later",
                            MLB_QUEUE_MAX);
    }
    struct mlb_event *e = base_calloc(1, sizeof *e);
    snprintf(e->uid, sizeof e->uid, "%s", uid);
    e->action = base_strdup(action);
    e->body = body;
    mlb_queue_push(&s->queue, e);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void event_free(struct mlb_event *e)
{
    json_decref(e->body);
    base_free(e->action);
    base_free(e);
}

/* GET <host><path> with the project's token; the parsed JSON answer, or NULL with err. */
static json_t *ls_get(struct mlb_server *s, const char *uid, const char *path, double total_s,
                      struct base_err *err)
{
    char host[1024], token[MLB_TOKEN_MAX], auth[MLB_TOKEN_MAX + 8];
    mlb_project_source(s, uid, host, sizeof host, token, sizeof token);
    if (!host[0])
        return base_err_set(err, BASE_E_NOTFOUND,
                            "no Label Studio host is known (/setup sent no"
                            " hostname and LABEL_STUDIO_URL is not set)"),
               NULL;
    snprintf(auth, sizeof auth, "Token %s", token);
    size_t n = strlen(host);
    while (n > 0 && host[n - 1] == '/')
        host[--n] = '\0';
    char *url = base_alloc(n + strlen(path) + 1);
    sprintf(url, "%s%s", host, path);
    struct mlb_call c = {.url = url,
                         .auth = token[0] ? auth : NULL,
                         .connect_s = 2,
                         .total_s = total_s,
                         .max_bytes = (size_t)1 << 30};
    struct base_buf body;
    base_buf_init(&body, c.max_bytes);
    long status = 0;
    json_t *j = NULL;
    if (mlb_http(&c, &status, &body, err) == 0) {
        if (status == 401 || status == 403)
            base_err_set(err, BASE_E_AUTH,
                         "GET %s: HTTP %ld: Label Studio refused the token%s (it comes from"
                         " /setup's access_token, else LABEL_STUDIO_API_KEY)",
                         url, status, token[0] ? "" : " (none is known)");
        else if (status < 200 || status > 299)
            base_err_set(err, BASE_E_IO, "GET %s: HTTP %ld", url, status);
        else if (!(j = base_json_parse(body.data, body.len, err)))
            base_err_prefix(err, "GET %s: ", url);
    }
    base_buf_release(&body);
    base_free(url);
    return j;
}

static void check_host(struct mlb_server *s, const char *uid)
{
    char path[64];
    snprintf(path, sizeof path, "/api/projects/%lld", (long long)mlb_uid_project(uid));
    struct base_err err = {0};
    json_t *j = ls_get(s, uid, path, 5, &err);
    mlb_project_note(s, uid, 0, j ? NULL : err.msg);
    if (!j)
        BASE_WARN("ml-backend: project %s: %s", uid, err.msg);
    json_decref(j);
}

/* Pulls every annotated task of the project through the export API, mirrors it, trains. */
static int pull_and_train(struct mlb_server *s, const char *uid, struct base_err *err)
{
    int64_t project;
    if (mlb_project_get(s, uid, NULL, &project, err))
        return -1;
    char path[128];
    snprintf(path, sizeof path,
             "/api/projects/%lld/export?exportType=JSON&download_all_tasks=false",
             (long long)mlb_uid_project(uid));
    json_t *tasks = ls_get(s, uid, path, 300, err);
    if (!tasks)
        return -1;
    struct mlb_sync_stats st;
    int rc = json_is_array(tasks)
                 ? 0
                 : base_err_set(err, BASE_E_INVALID, "%s: the export is not a list of tasks", path);
    if (rc == 0) {
        pthread_mutex_lock(&s->sync_mu);
        rc = mlb_sync_tasks(s, uid, project, tasks, 1, &st, err);
        pthread_mutex_unlock(&s->sync_mu);
    }
    json_decref(tasks);
    if (rc == 0 && st.tasks == 0)
        rc = base_err_set(err, BASE_E_INVALID,
                          "Label Studio's export of project %lld has no annotated task: nothing to"
                          " train on yet",
                          (long long)mlb_uid_project(uid));
    if (rc == 0) {
        BASE_INFO(
            "ml-backend: project %s: %lld tasks pulled, %lld new, %lld changed, %lld skipped%s%s",
            uid, (long long)st.tasks, (long long)st.added, (long long)st.changed,
            (long long)st.skipped, st.skipped ? ": " : "", st.first_error);
        int64_t job;
        rc = loop_train(s->loop, project, "label studio", NULL, &job, err);
    }
    return rc;
}

/* The annotations an event names: "annotation" (an object or a list) or "annotations". */
static json_t *event_annotations(const json_t *body)
{
    json_t *a = json_object_get(body, "annotation");
    if (json_is_object(a))
        return json_pack("[O]", a);
    if (json_is_array(a))
        return json_incref(a);
    a = json_object_get(body, "annotations");
    return json_is_array(a) ? json_incref(a) : json_array();
}

/* The task of an annotation: "task" as an object, or the one of a list whose id matches. */
static const json_t *task_of(const json_t *body, const json_t *annotation)
{
    const json_t *t = json_object_get(body, "task");
    if (json_is_object(t))
        return t;
    json_int_t want = json_integer_value(json_object_get(annotation, "task"));
    size_t i;
    json_t *x;
    json_array_foreach(t, i, x) if (json_integer_value(json_object_get(x, "id")) == want) return x;
    return NULL;
}

static int annotation_event(struct mlb_server *s, const struct mlb_event *e, struct base_err *err)
{
    int64_t project;
    if (mlb_project_get(s, e->uid, NULL, &project, err))
        return -1;
    json_t *anns = event_annotations(e->body);
    int rc = 0;
    pthread_mutex_lock(&s->sync_mu);
    if (strstr(e->action, "DELETED")) {
        rc = mlb_sync_delete(s, project, anns, err);
    } else {
        size_t i;
        json_t *a;
        json_array_foreach(anns, i, a)
        {
            const json_t *t = task_of(e->body, a);
            if (t && (rc = mlb_sync_annotation(s, e->uid, project, t, a, err)))
                break;
        }
    }
    pthread_mutex_unlock(&s->sync_mu);
    json_decref(anns);
    if (rc == 0)
        loop_annotations_changed(s->loop, project);
    return rc;
}

static void run_event(struct mlb_server *s, const struct mlb_event *e)
{
    struct base_err err = {0};
    int rc = 0;
    if (!strcmp(e->action, "CHECK"))
        check_host(s, e->uid);
    else if (!strcmp(e->action, "TRAIN"))
        rc = pull_and_train(s, e->uid, &err);
    else
        rc = annotation_event(s, e, &err);
    if (rc) {
        BASE_WARN("ml-backend: project %s: %s: %s", e->uid, e->action, err.msg);
        mlb_project_note(s, e->uid, 1, err.msg);
    }
}

static void *events_main(void *arg)
{
    struct mlb_server *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        struct mlb_event *e = mlb_queue_pop(&s->queue);
        if (!e) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        s->busy = 1;
        pthread_mutex_unlock(&s->mu);
        run_event(s, e);
        event_free(e);
        pthread_mutex_lock(&s->mu);
        s->busy = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int mlb_events_start(struct mlb_server *s, struct base_err *err)
{
    if (pthread_create(&s->thread, NULL, events_main, s))
        return base_err_set(err, BASE_E_INTERNAL, "cannot start the event thread");
    s->started = 1;
    return 0;
}

void mlb_events_stop(struct mlb_server *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->started)
        pthread_join(s->thread, NULL);
    s->started = 0;
    struct mlb_event *e;
    while ((e = mlb_queue_pop(&s->queue)))
        event_free(e);
}

/* ---- a finished training job ---- */

static int write_json(const char *dir, const char *name, const json_t *v, struct base_err *err)
{
    char *path = base_path_join(dir, name);
    size_t len;
    char *text = base_json_dumps(v, BASE_JSON_PYTHON, &len);
    int rc = base_file_write_atomic(path, text, len, err);
    base_free(text);
    base_free(path);
    return rc;
}

static int link_model(struct mlb_server *s, const struct store_version *v, const char *dir,
                      struct base_err *err)
{
    char *src = base_path_join(s->data_dir, v->file);
    char *dst = base_path_join(dir, "model.safetensors");
    int rc = 0;
    if (!base_file_exists(dst) && link(src, dst)) {
        char *bytes = NULL;
        size_t len = 0;
        rc = base_file_read(src, (size_t)1 << 31, &bytes, &len, err) ||
                     base_file_write_atomic(dst, bytes, len, err)
                 ? -1
                 : 0;
        base_free(bytes);
    }
    base_free(src);
    base_free(dst);
    return rc;
}

static json_t *job_result(const struct store_version *v, const char *uid, const char *dir)
{
    json_t *out =
        json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:I}", "model_file", "model.safetensors",
                  "model_version", v->name, "promoted", v->promoted, "reason", v->reason,
                  "train_images", (json_int_t)v->train_images, "heldout_images",
                  (json_int_t)v->heldout_images, "epochs", (json_int_t)v->epochs);
    if (v->has_metrics)
        json_object_set_new(
            out, "heldout",
            json_pack("{s:f, s:f, s:f}", "ap", v->ap, "ap50", v->ap50, "ap75", v->ap75));
    if (v->has_base)
        json_object_set_new(out, "heldout_previous",
                            json_pack("{s:f, s:f, s:f}", "ap", v->base_ap, "ap50", v->base_ap50,
                                      "ap75", v->base_ap75));
    return json_pack("{s:s, s:o, s:s, s:s, s:s, s:n, s:f}", "status", "ok", "train_output", out,
                     "project", uid, "workdir", dir, "version", v->name, "job_id", "time",
                     v->duration_s);
}

static int lay_out(struct mlb_server *s, const char *uid, const struct store_version *v,
                   struct base_err *err)
{
    char *pdir = base_path_join(s->model_dir, uid);
    char *dir = base_path_join(pdir, v->name);
    json_t *data = NULL, *result = job_result(v, uid, dir);
    int rc = base_mkdirs(dir, err) || !(data = mlb_train_data(s, v->project, err)) ? -1 : 0;
    if (rc == 0) {
        json_t *info = json_pack("{s:I}", "count", (json_int_t)json_array_size(data));
        rc = write_json(dir, "train_data.json", data, err) ||
                     write_json(dir, "train_data_info.json", info, err) ||
                     link_model(s, v, dir, err) || write_json(dir, "job_result.json", result, err)
                 ? -1
                 : 0;
        json_decref(info);
    }
    json_decref(data);
    json_decref(result);
    base_free(dir);
    base_free(pdir);
    return rc;
}

void mlb_job_ended(void *user, int64_t job)
{
    struct mlb_server *s = user;
    struct store_job j = {0};
    struct store_version v = {0};
    struct base_err err = {0};
    char uid[MLB_UID_MAX + 1];
    if (store_job_get(s->st, job, &j, &err) || j.kind != STORE_JOB_TRAIN)
        goto out;
    mlb_project_uid(s, j.project, uid, sizeof uid);
    if (!uid[0])
        goto out;
    if (j.state == STORE_JOB_FAILED) {
        mlb_project_note(s, uid, 1, j.error ? j.error : "the training job failed");
        goto out;
    }
    if (j.state != STORE_JOB_DONE || !j.version || store_version_get(s->st, j.version, &v, &err))
        goto out;
    mlb_project_note(s, uid, 1, NULL);
    if (lay_out(s, uid, &v, &err))
        BASE_WARN("ml-backend: project %s: version %s: %s", uid, v.name, err.msg);
    else
        BASE_INFO("ml-backend: project %s: version %s in %s/%s/%s (%s)", uid, v.name, s->model_dir,
                  uid, v.name, v.promoted ? "promoted" : "not promoted");
out:
    store_version_release(&v);
    store_job_release(&j);
}
