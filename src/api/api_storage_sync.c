/* Syncing S3 storages as Label Studio does without a job queue (the request waits; the work runs
 * on the storage pool, one sync at a time, off the server threads): an import sync lists the
 * bucket under the prefix and makes tasks from the objects it has not linked yet (one task per
 * object with use_blob_urls, else the object's JSON task(s)); an export sync writes
 * every annotation of the project as one object <prefix>/<annotation id> holding Label Studio's
 * storage JSON (the annotation with its task), which is also written on each annotation save. One
 * unreadable object is skipped with a message naming it (status completed_with_errors, the
 * messages in `traceback`); the storage's status and last_sync_count show progress meanwhile. */
#include "api_int.h"

#include "s3/s3.h"

#include <regex.h>
#include <string.h>

#define SYNC_BATCH        500                /* blob tasks imported per transaction */
#define SYNC_JSON_MAX     ((size_t)64 << 20) /* one task object */
#define SYNC_MAX_MESSAGES 100                /* kept in traceback */
#define SYNC_PROGRESS_US  1000000            /* storage row updated at most this often */

static char *iso_now(void)
{
    json_t *t = api_time_json(base_time_us());
    char *s = base_strdup(json_string_value(t));
    json_decref(t);
    return s;
}

static struct s3 *open_s3(const json_t *data, struct base_err *err)
{
    struct s3_config c;
    s3_config_from_json(data, &c);
    if (!c.bucket || !*c.bucket) {
        base_err_set(err, BASE_E_INVALID, "the storage has no bucket");
        return NULL;
    }
    return s3_new(&c, err);
}

struct sync {
    struct api_req *r;
    struct store_storage *s;
    struct store_project project;
    const char *data_key;
    struct s3 *s3;
    regex_t re;
    int has_re, blob;
    int64_t created, existed, skipped, last_save;
    json_t *messages; /* array of strings */
    /* the blob batch */
    char *keys[SYNC_BATCH];
    size_t n;
};

static void note(struct sync *x, const char *fmt, const char *key, const char *why)
{
    char *m = base_strprintf(fmt, key, why);
    BASE_WARN("storage %lld: %s", (long long)x->s->id, m);
    if (json_array_size(x->messages) < SYNC_MAX_MESSAGES)
        json_array_append_new(x->messages, json_string(m));
    base_free(m);
    x->skipped++;
}

static void save_state(struct sync *x, const char *status)
{
    json_object_set_new(x->s->data, "status", json_string(status));
    json_object_set_new(x->s->data, "last_sync_count", json_integer(x->created));
    json_t *meta = json_object_get(x->s->data, "meta");
    if (!json_is_object(meta))
        json_object_set_new(x->s->data, "meta", meta = json_object());
    json_object_set_new(meta, "tasks_existed", json_integer(x->existed));
    json_object_set_new(meta, "objects_skipped", json_integer(x->skipped));
    store_storage_update(x->r->api->store, x->s->id, x->s->data, NULL);
    x->last_save = base_time_us();
}

/* Imports tasks (normalized for the project) made from `keys` and links each to its key. */
static int import_tasks(struct sync *x, json_t *tasks, char *const *keys, size_t nkeys,
                        struct base_err *err)
{
    struct store_import_result res = {0};
    if (api_tasks_normalize(x->r, &x->project, tasks, err) ||
        store_tasks_import(x->r->api->store, x->s->project, tasks, x->r->user.id, &res, err))
        return -1;
    size_t n = (size_t)res.task_count;
    const char **k = base_calloc(n ? n : 1, sizeof *k);
    int64_t *ids = base_calloc(n ? n : 1, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        k[i] = keys[nkeys == 1 ? 0 : i];
        ids[i] = res.first_task_id + (int64_t)i;
    }
    int rc = store_storage_links_add(x->r->api->store, x->s->id, k, ids, n, err);
    base_free(k);
    base_free(ids);
    if (rc == 0) {
        x->created += (int64_t)n;
        api_tell_loop_import(x->r, x->s->project, &res);
    }
    return rc;
}

static int flush_blobs(struct sync *x, struct base_err *err)
{
    if (!x->n)
        return 0;
    json_t *tasks = json_array();
    const char *bucket = json_string_value(json_object_get(x->s->data, "bucket"));
    for (size_t i = 0; i < x->n; i++) {
        char *uri = base_strprintf("s3://%s/%s", bucket, x->keys[i]);
        json_array_append_new(tasks, json_pack("{s:{s:s}}", "data", x->data_key, uri));
        base_free(uri);
    }
    int rc = import_tasks(x, tasks, x->keys, x->n, err);
    json_decref(tasks);
    for (size_t i = 0; i < x->n; i++)
        base_free(x->keys[i]);
    x->n = 0;
    return rc;
}

/* An object read as JSON task(s): a task object or a list of them (as Label Studio reads). */
static void import_json(struct sync *x, const char *key)
{
    struct base_err e = {0};
    struct base_buf b;
    base_buf_init(&b, SYNC_JSON_MAX);
    json_t *v = NULL;
    if (s3_get(x->s3, key, &b, &e) || !(v = base_json_parse(b.data, b.len, &e))) {
        note(x, "%s skipped: %s (is use_blob_urls needed for media files?)", key, e.msg);
    } else {
        json_t *tasks = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
        char *keys[1] = {(char *)key};
        if (!json_is_object(v) && !json_is_array(v))
            note(x, "%s skipped: %s", key, "not a JSON object or list of tasks");
        else if (import_tasks(x, tasks, keys, 1, &e))
            note(x, "%s skipped: %s", key, e.msg);
        json_decref(tasks);
    }
    json_decref(v);
    base_buf_release(&b);
}

static int on_object(void *ctx, const struct s3_object *o, struct base_err *err)
{
    struct sync *x = ctx;
    size_t len = strlen(o->key);
    if (o->key[len - 1] == '/')
        return 0; /* a folder marker */
    regmatch_t m;
    if (x->has_re && (regexec(&x->re, o->key, 1, &m, 0) || m.rm_so != 0))
        return 0; /* Python's re.match: anchored at the start */
    int has = 0;
    if (store_storage_link_has(x->r->api->store, x->s->id, o->key, &has, err))
        return -1;
    if (has) {
        x->existed++;
    } else if (x->blob) {
        for (size_t i = 0; i < x->n; i++)
            if (!strcmp(x->keys[i], o->key))
                return 0;
        x->keys[x->n++] = base_strdup(o->key);
        if (x->n == SYNC_BATCH && flush_blobs(x, err))
            return -1;
    } else {
        import_json(x, o->key);
    }
    if (base_time_us() - x->last_save > SYNC_PROGRESS_US)
        save_state(x, "in_progress");
    return 0;
}

static int run_import(struct sync *x, struct base_err *err)
{
    const json_t *d = x->s->data;
    const char *prefix = json_string_value(json_object_get(d, "prefix"));
    const char *re = json_string_value(json_object_get(d, "regex_filter"));
    x->blob = json_is_true(json_object_get(d, "use_blob_urls"));
    if (re && *re) {
        if (regcomp(&x->re, re, REG_EXTENDED))
            return api_invalid(x->r, err, "regex_filter", "not a valid regular expression");
        x->has_re = 1;
    }
    char *pfx = NULL;
    if (prefix && *prefix) { /* Label Studio lists "<prefix without trailing slashes>/" */
        size_t n = strlen(prefix);
        while (n && prefix[n - 1] == '/')
            n--;
        pfx = base_strprintf("%.*s/", (int)n, prefix);
    }
    const char *delim = json_is_true(json_object_get(d, "recursive_scan")) ? NULL : "/";
    int rc = s3_list(x->s3, pfx, delim, 0, on_object, x, err);
    if (rc == 0)
        rc = flush_blobs(x, err);
    for (size_t i = 0; i < x->n; i++)
        base_free(x->keys[i]);
    base_free(pfx);
    return rc;
}

/* Ends a sync: the storage's final state saved and answered as Label Studio does. */
static int finish(struct sync *x, int rc, struct base_err *err)
{
    if (rc) {
        json_array_append_new(x->messages, json_string(err->msg));
        BASE_WARN("storage %lld: sync failed: %s", (long long)x->s->id, err->msg);
    }
    const char *status = rc ? "failed" : x->skipped ? "completed_with_errors" : "completed";
    json_t *tb = json_array_size(x->messages) ? json_string("") : json_null();
    size_t i;
    json_t *m;
    json_array_foreach(x->messages, i, m)
    {
        char *t =
            base_strprintf("%s%s%s", json_string_value(tb), i ? "\n" : "", json_string_value(m));
        json_string_set(tb, t);
        base_free(t);
    }
    json_object_set_new(x->s->data, "traceback", tb);
    char *now = iso_now();
    json_object_set_new(x->s->data, "last_sync", json_string(now));
    base_free(now);
    save_state(x, status);
    /* as Label Studio without a job queue: the answer is the storage, its status says how it went
     */
    return api_reply_json(x->r, 200, api_storage_json(x->s));
}

static int start(struct api_req *r, struct sync *x, struct store_storage *s, struct base_err *err)
{
    memset(x, 0, sizeof *x);
    x->r = r;
    x->s = s;
    x->messages = json_array();
    if (api_storage_load(r, s, err))
        return -1;
    if (api_project_row(r, s->project, &x->project, err)) {
        store_storage_release(s);
        return -1;
    }
    x->data_key = store_project_data_key(&x->project);
    if (!x->data_key)
        x->data_key = "$undefined$";
    json_object_set_new(s->data, "last_sync", json_null());
    save_state(x, "in_progress");
    return 0;
}

static void end(struct sync *x)
{
    if (x->has_re)
        regfree(&x->re);
    s3_free(x->s3);
    json_decref(x->messages);
    store_project_release(&x->project);
    store_storage_release(x->s);
}

static int import_sync(struct api_req *r, struct base_err *err)
{
    struct store_storage s;
    struct sync *x = base_calloc(1, sizeof *x);
    if (start(r, x, &s, err)) {
        base_free(x);
        return -1;
    }
    int rc = (x->s3 = open_s3(s.data, err)) ? run_import(x, err) : -1;
    rc = finish(x, rc, err);
    end(x);
    base_free(x);
    return rc;
}

/* ---- export -----------------------------------------------------------------------------------
 */

/* Label Studio's StorageAnnotationSerializer: the annotation, its task (no annotations) and its
 * author as {id, first_name, last_name, email}. */
static char *annotation_text(struct api_users *u, const struct store_task *t,
                             const struct store_annotation *a, const char *key)
{
    json_t *j = api_annotation_json(u, a);
    json_t *task = api_task_json(u, t, API_TASK_DM, 0, key, NULL);
    json_object_set_new(j, "task", task);
    const struct store_user *user = a->completed_by ? api_users_get(u, a->completed_by) : NULL;
    json_object_set_new(j, "completed_by",
                        user ? json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)user->id,
                                         "first_name", user->first_name, "last_name",
                                         user->last_name, "email", user->email)
                             : json_null());
    char *text = base_json_dumps(j, BASE_JSON_COMPACT, NULL);
    json_decref(j);
    return text;
}

struct export
{
    struct api_req *r;
    struct api_users *users;
    const char *prefix, *key;
    struct s3 *s3;
    int64_t only; /* one annotation (0: all) */
    int64_t written, failed;
    json_t *messages;
};

static int export_task(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)err;
    struct export *x = ctx;
    for (size_t i = 0; i < t->nannotations; i++) {
        const struct store_annotation *a = &t->annotations[i];
        if (x->only && a->id != x->only)
            continue;
        char *text = annotation_text(x->users, t, a, x->key);
        char *key = x->prefix && *x->prefix ? base_strprintf("%s/%lld", x->prefix, (long long)a->id)
                                            : base_strprintf("%lld", (long long)a->id);
        struct base_err e = {0};
        if (s3_put(x->s3, key, text, strlen(text), "application/json", &e)) {
            x->failed++;
            BASE_WARN("export storage: annotation %lld not written: %s", (long long)a->id, e.msg);
            if (json_array_size(x->messages) < SYNC_MAX_MESSAGES)
                json_array_append_new(x->messages, json_string(e.msg));
        } else {
            x->written++;
        }
        base_free(key);
        base_free(text);
    }
    return 0;
}

static int export_run(struct api_req *r, struct store_storage *s, int64_t task, int64_t only,
                      struct export *x, struct base_err *err)
{
    memset(x, 0, sizeof *x);
    struct store_project p;
    if (api_project_row(r, s->project, &p, err))
        return -1;
    x->r = r;
    x->users = api_users_new(r);
    x->prefix = json_string_value(json_object_get(s->data, "prefix"));
    x->key = store_project_data_key(&p);
    x->only = only;
    x->messages = json_array();
    int rc = -1;
    if ((x->s3 = open_s3(s->data, err))) {
        struct store_task_query q = {.project = s->project, .task = task, .with_annotations = 1};
        rc = store_task_each(r->api->store, &q, export_task, x, err);
    }
    s3_free(x->s3);
    store_project_release(&p);
    return rc;
}

static int export_sync(struct api_req *r, struct base_err *err)
{
    struct store_storage s;
    if (api_storage_load(r, &s, err))
        return -1;
    struct export x;
    int rc = export_run(r, &s, 0, 0, &x, err);
    char *now = iso_now();
    json_object_set_new(s.data, "status",
                        json_string(rc         ? "failed"
                                    : x.failed ? "completed_with_errors"
                                               : "completed"));
    json_object_set_new(s.data, "last_sync", json_string(now));
    json_object_set_new(s.data, "last_sync_count", json_integer(x.written));
    json_object_set_new(
        s.data, "meta",
        json_pack("{s:I}", "total_annotations", (json_int_t)(x.written + x.failed)));
    json_t *tb = json_null();
    if (rc || x.failed) {
        json_t *parts = rc ? json_pack("[s]", err->msg) : json_incref(x.messages);
        char *joined = NULL;
        size_t i;
        json_t *m;
        json_array_foreach(parts, i, m)
        {
            char *t =
                base_strprintf("%s%s%s", joined ? joined : "", i ? "\n" : "", json_string_value(m));
            base_free(joined);
            joined = t;
        }
        tb = json_string(joined ? joined : "");
        base_free(joined);
        json_decref(parts);
    }
    json_object_set_new(s.data, "traceback", tb);
    base_free(now);
    store_storage_update(r->api->store, s.id, s.data, NULL);
    json_decref(x.messages);
    if (!rc)
        rc = api_reply_json(r, 200, api_storage_json(&s));
    store_storage_release(&s);
    return rc;
}

int api_storages_s3_sync(struct api_req *r, struct base_err *err)
{
    return api_defer(r, API_POOL_STORAGE, import_sync, err);
}

int api_storages_export_s3_sync(struct api_req *r, struct base_err *err)
{
    return api_defer(r, API_POOL_STORAGE, export_sync, err);
}

struct one_ctx {
    struct api_req *r;
    int64_t task, annotation;
};

static int export_one(void *ctx, const struct store_storage *s, struct base_err *err)
{
    (void)err;
    struct one_ctx *c = ctx;
    struct export x;
    struct base_err e = {0};
    if (export_run(c->r, (struct store_storage *)s, c->task, c->annotation, &x, &e))
        BASE_WARN("export storage %lld: annotation %lld not written: %s", (long long)s->id,
                  (long long)c->annotation, e.msg);
    json_decref(x.messages);
    return 0;
}

void api_storage_export_annotation(struct api_req *r, int64_t project, int64_t task,
                                   int64_t annotation)
{
    struct one_ctx c = {r, task, annotation};
    struct base_err e = {0};
    if (store_storage_each(r->api->store, project, "s3", "export", export_one, &c, &e))
        BASE_WARN("export storages of project %lld: %s", (long long)project, e.msg);
}
