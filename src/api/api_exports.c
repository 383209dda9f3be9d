/* Export snapshots, /api/projects/{id}/exports (spec 2.6, the newer SDKs' way to export): a
 * snapshot is the project's tasks in the JSON export shape, chosen and shaped by the options it
 * was created with (task_filter_options: a view, finished / annotated / skipped "only" or
 * "exclude", only_with_annotations; annotation_filter_options: usual, ground_truth, skipped;
 * serialization_options: predictions and annotations__completed_by as ids or objects), written
 * once under <data-dir>/export/snapshots/<project>/ when created. Downloading it in another format
 * converts that file, so a snapshot always shows the project as it was. */
#include "api_int.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define API_SNAPSHOTS_LISTED   100
#define API_SNAPSHOT_TITLE_MAX 2048

/* ---- options ------------------------------------------------------------------------------- */

struct snap_opts {
    int64_t view;
    const char *finished, *annotated, *skipped; /* "only", "exclude" or NULL */
    int only_with_annotations;
    int usual, ground_truth, cancelled; /* which annotations */
    int predictions_full, users_full;
};

static int flag(const json_t *obj, const char *key, int def)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

static int only_id(const json_t *ser, const char *key, int def)
{
    return flag(json_object_get(ser, key), "only_id", def);
}

static int tri(struct api_req *r, const json_t *obj, const char *key, const char **out,
               struct base_err *err)
{
    const json_t *v = json_object_get(obj, key);
    const char *s = json_string_value(v);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!s || (strcmp(s, "only") && strcmp(s, "exclude")))
        return api_invalid(r, err, "task_filter_options", "%s is \"only\", \"exclude\" or null",
                           key);
    *out = s;
    return 0;
}

/* Reads the options of a snapshot (as given when it was created). */
static int read_opts(struct api_req *r, const json_t *options, struct snap_opts *o,
                     struct base_err *err)
{
    const json_t *tf = json_object_get(options, "task_filter_options");
    const json_t *af = json_object_get(options, "annotation_filter_options");
    const json_t *ser = json_object_get(options, "serialization_options");
    const json_t *view = json_object_get(tf, "view");
    memset(o, 0, sizeof *o);
    if (view && !json_is_null(view) && !json_is_integer(view))
        return api_invalid(r, err, "task_filter_options", "view is a view id");
    o->view = json_integer_value(view);
    o->only_with_annotations = flag(tf, "only_with_annotations", 0);
    o->usual = flag(af, "usual", 1);
    o->ground_truth = flag(af, "ground_truth", 1);
    o->cancelled = flag(af, "skipped", 1);
    /* as the direct export: predictions and annotators as ids unless asked otherwise */
    o->predictions_full = !only_id(ser, "predictions", 1);
    o->users_full = !only_id(ser, "annotations__completed_by", 1);
    return tri(r, tf, "finished", &o->finished, err) ||
                   tri(r, tf, "annotated", &o->annotated, err) ||
                   tri(r, tf, "skipped", &o->skipped, err)
               ? -1
               : 0;
}

/* Whether a task passes an "only" / "exclude" option for a property it has or not. */
static int passes(const char *opt, int has)
{
    return !opt || (!strcmp(opt, "only") ? has : !has);
}

/* ---- writing a snapshot ------------------------------------------------------------------- */

struct snap_ctx {
    struct api_req *r;
    struct api_users *users;
    const struct snap_opts *o;
    struct formats_export *e;
    const char *ukey;
    int64_t count;
};

static int keep_annotation(const struct snap_opts *o, const struct store_annotation *a)
{
    return a->was_cancelled ? o->cancelled : a->ground_truth ? o->ground_truth : o->usual;
}

/* The task in the export shape, shaped by the snapshot's options. */
static json_t *snap_task(struct snap_ctx *x, const struct store_task *t, struct base_err *err)
{
    json_t *j = api_task_json(x->users, t, API_TASK_EXPORT, 1, x->ukey, err);
    if (!j)
        return NULL;
    json_t *all = json_object_get(j, "annotations"), *anns = json_array();
    for (size_t i = 0; i < t->nannotations; i++) {
        const struct store_annotation *a = &t->annotations[i];
        json_t *aj = json_array_get(all, i); /* the shape keeps the store's order */
        if (!aj || !keep_annotation(x->o, a))
            continue;
        if (x->o->users_full && a->completed_by)
            json_object_set_new(aj, "completed_by",
                                api_user_simple_json(api_users_get(x->users, a->completed_by)));
        json_array_append(anns, aj);
    }
    json_object_set_new(j, "annotations", anns);
    if (x->o->predictions_full) {
        json_t *preds = json_array();
        for (size_t i = 0; i < t->npredictions; i++)
            json_array_append_new(preds, api_prediction_json(&t->predictions[i]));
        json_object_set_new(j, "predictions", preds);
    }
    return j;
}

static int snap_add(void *ctx, const struct store_task *t, struct base_err *err)
{
    struct snap_ctx *x = ctx;
    const struct snap_opts *o = x->o;
    if (!passes(o->finished, t->is_labeled) || !passes(o->annotated, t->total_annotations > 0) ||
        !passes(o->skipped, t->cancelled_annotations > 0))
        return 0;
    json_t *j = snap_task(x, t, err);
    int rc = j ? formats_export_add(x->e, j, err) : -1;
    json_decref(j);
    x->count += rc == 0;
    return rc;
}

/* The tasks of the snapshot's view (all of the project without one). */
static int view_ids(struct api_req *r, const struct store_project *row, const struct snap_opts *o,
                    struct store_task_query *q, int *none, struct base_err *err)
{
    struct store_task_view v;
    int64_t *ids = NULL;
    size_t n = 0;
    *none = 0;
    if (!o->view)
        return 0;
    if (api_dm_view_query(r, row, o->view, &v, err) ||
        store_task_view_ids(r->api->store, &v, &ids, &n, err))
        return -1;
    if (n > 100000) {
        base_free(ids);
        return api_invalid(r, err, "task_filter_options",
                           "a snapshot of a view takes at most 100000 tasks (this one has %zu)", n);
    }
    int64_t *kept = base_arena_alloc(r->arena, (n ? n : 1) * sizeof *kept);
    if (n)
        memcpy(kept, ids, n * sizeof *ids);
    base_free(ids);
    q->ids = kept;
    q->nids = n;
    *none = n == 0; /* an empty view selects nothing, not every task */
    return 0;
}

static char *snapshot_path(struct api *api, int64_t project, int64_t id)
{
    char rel[96];
    snprintf(rel, sizeof rel, "export/snapshots/%lld/%lld.json", (long long)project, (long long)id);
    return base_path_join(api->data_dir, rel);
}

/* Writes the snapshot's file; *count: its tasks. */
static int write_snapshot(struct api_req *r, const struct store_project *row,
                          const struct snap_opts *o, const char *dest, int64_t *count,
                          struct base_err *err)
{
    struct formats_config *cfg = NULL;
    const char *xml = row->label_config;
    struct store_task_query q = {.project = row->id,
                                 .only_annotated = o->only_with_annotations,
                                 .with_annotations = 1,
                                 .with_predictions = 1};
    struct snap_ctx x = {r, api_users_new(r), o, NULL, store_project_data_key(row), 0};
    char *dir = base_strdup(dest);
    *strrchr(dir, '/') = '\0';
    int none = 0;
    int rc = base_mkdirs(dir, err) || view_ids(r, row, o, &q, &none, err) ||
                     formats_config_parse(xml ? xml : "", xml ? strlen(xml) : 0, &cfg, err)
                 ? -1
                 : 0;
    base_free(dir);
    struct formats_export_opts fo = {.kind = FORMATS_JSON, .config = cfg};
    if (rc || formats_export_open(&fo, dest, &x.e, err)) {
        formats_config_free(cfg);
        return -1;
    }
    rc = none ? 0 : store_task_each(r->api->store, &q, snap_add, &x, err);
    if (rc)
        formats_export_abort(x.e);
    else
        rc = formats_export_commit(x.e, err);
    formats_config_free(cfg);
    *count = x.count;
    return rc;
}

/* ---- the API ------------------------------------------------------------------------------- */

static json_t *snapshot_json(struct api_req *r, const struct store_snapshot *s)
{
    struct store_user u;
    json_t *by = s->created_by && !store_user_get(r->api->store, s->created_by, &u, NULL)
                     ? api_user_simple_json(&u)
                     : json_null();
    json_t *j = json_pack("{sI ss so so so ss ss sO s[]}", "id", (json_int_t)s->id, "title",
                          s->title, "created_by", by, "created_at", api_time_json(s->created_at),
                          "finished_at", api_time_json(s->finished_at), "status", s->status, "md5",
                          s->md5, "counters", s->counters, "converted_formats");
    json_object_update_missing(j, s->options);
    return j;
}

static int reply_snapshot(struct api_req *r, int status, int64_t project, int64_t id,
                          struct base_err *err)
{
    struct store_snapshot s;
    if (store_snapshot_get(r->api->store, id, &s, err))
        return -1;
    int rc = s.project == project ? api_reply_json(r, status, snapshot_json(r, &s))
                                  : base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    store_snapshot_release(&s);
    return rc;
}

/* The options worth keeping from a create body. */
static json_t *body_options(const json_t *body)
{
    static const char *const keys[] = {"task_filter_options", "annotation_filter_options",
                                       "serialization_options"};
    json_t *o = json_object();
    for (int i = 0; i < 3; i++) {
        const json_t *v = json_object_get(body, keys[i]);
        json_object_set_new(o, keys[i], json_is_object(v) ? json_deep_copy(v) : json_object());
    }
    return o;
}

/* Makes the snapshot's file and records how it went. */
static int make_snapshot(struct api_req *r, const struct store_project *row, int64_t id,
                         const json_t *options, struct base_err *err)
{
    struct snap_opts o;
    int64_t project = row->id, count = 0;
    char md5[33], *path = snapshot_path(r->api, project, id);
    char rel[96];
    snprintf(rel, sizeof rel, "export/snapshots/%lld/%lld.json", (long long)project, (long long)id);
    int rc = read_opts(r, options, &o, err) || write_snapshot(r, row, &o, path, &count, err) ||
                     base_md5_file(path, md5, err)
                 ? -1
                 : 0;
    json_t *counters = json_pack("{sI}", "task_number", (json_int_t)count);
    struct base_err ignored;
    if (store_snapshot_finish(r->api->store, id, rc ? "failed" : "completed", rc ? NULL : rel,
                              rc ? NULL : md5, counters, rc ? &ignored : err))
        rc = -1;
    if (rc)
        unlink(path);
    json_decref(counters);
    base_free(path);
    return rc;
}

/* POST /api/projects/{id}/exports */
int api_project_exports_create(struct api_req *r, struct base_err *err)
{
    size_t len;
    http_request_body(r->http, &len);
    struct store_project row = {0};
    json_t *body = len ? api_body_object(r, err) : json_object(), *options = NULL;
    int64_t id;
    int rc = -1;
    if (!body || api_project_row(r, r->m.ids[0], &row, err))
        goto out;
    const json_t *title = json_object_get(body, "title");
    if (title && (!json_is_string(title) || json_string_length(title) > API_SNAPSHOT_TITLE_MAX)) {
        api_invalid(r, err, "title", "a string of at most %d characters", API_SNAPSHOT_TITLE_MAX);
        goto out;
    }
    struct snap_opts check;
    options = body_options(body);
    if (read_opts(r, options, &check, err) ||
        store_snapshot_create(r->api->store, r->m.ids[0], r->user.id,
                              json_is_string(title) ? json_string_value(title) : "", options, &id,
                              err))
        goto out;
    /* a snapshot that could not be made stays listed as failed, as in Label Studio */
    if (make_snapshot(r, &row, id, options, err))
        goto out;
    rc = reply_snapshot(r, 201, r->m.ids[0], id, err);
out:
    json_decref(options);
    store_project_release(&row);
    json_decref(body);
    return rc;
}

struct list_ctx {
    struct api_req *r;
    json_t *out;
};

static int append_snapshot(void *ctx, const struct store_snapshot *s, struct base_err *err)
{
    (void)err;
    struct list_ctx *x = ctx;
    json_array_append_new(x->out, snapshot_json(x->r, s));
    return 0;
}

/* GET /api/projects/{id}/exports: newest first. */
int api_project_exports_list(struct api_req *r, struct base_err *err)
{
    struct store_project row = {0};
    if (api_project_row(r, r->m.ids[0], &row, err))
        return -1;
    store_project_release(&row);
    struct list_ctx x = {r, json_array()};
    if (store_snapshot_each(r->api->store, r->m.ids[0], API_SNAPSHOTS_LISTED, append_snapshot, &x,
                            err)) {
        json_decref(x.out);
        return -1;
    }
    return api_reply_json(r, 200, x.out);
}

int api_project_export_get(struct api_req *r, struct base_err *err)
{
    return reply_snapshot(r, 200, r->m.ids[0], r->m.ids[1], err);
}

int api_project_export_delete(struct api_req *r, struct base_err *err)
{
    struct store_snapshot s;
    char *file = NULL;
    if (store_snapshot_get(r->api->store, r->m.ids[1], &s, err))
        return -1;
    int mine = s.project == r->m.ids[0];
    store_snapshot_release(&s);
    if (!mine)
        return base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    if (store_snapshot_delete(r->api->store, r->m.ids[1], &file, err))
        return -1;
    if (*file) {
        char *path = base_path_join(r->api->data_dir, file);
        unlink(path);
        base_free(path);
    }
    base_free(file);
    return api_reply_empty(r, 204);
}

/* ---- download ---------------------------------------------------------------------------------
 */

/* Converts the snapshot's JSON file into `kind` at dest, task by task. */
static int convert(struct api_req *r, const struct store_project *row, const char *src,
                   enum formats_kind kind, const char *dest, struct base_err *err)
{
    struct formats_config *cfg = NULL;
    struct formats_export *e = NULL;
    const char *xml = row->label_config;
    char *text = NULL;
    size_t len, n;
    const char *item;
    struct base_json_items it;
    if (formats_config_parse(xml ? xml : "", xml ? strlen(xml) : 0, &cfg, err) ||
        base_file_read(src, (size_t)1 << 34, &text, &len, err)) {
        formats_config_free(cfg);
        return -1;
    }
    struct formats_export_opts fo = {.kind = kind,
                                     .config = cfg,
                                     .download_resources =
                                         api_query_bool(r, "download_resources", 1),
                                     .resolve = api_export_resolve,
                                     .resolve_ctx = r->api};
    int rc = formats_export_open(&fo, dest, &e, err);
    if (rc == 0 && !base_json_items_init(&it, text, len))
        rc = base_err_set(err, BASE_E_INTERNAL, "the snapshot file is not a list of tasks");
    while (rc == 0 && (rc = base_json_items_next(&it, &item, &n, err)) == 1)
        rc = formats_export_add_text(e, item, n, err);
    if (rc == 0)
        rc = formats_export_commit(e, err);
    else
        formats_export_abort(e);
    base_free(text);
    formats_config_free(cfg);
    return rc;
}

/* Sends `path` as the download `name` (Label Studio's headers: Content-Disposition and filename;
 * application/zip or application/<ext>); the file may be unlinked afterwards. */
static int send_file(struct api_req *r, const char *path, const char *name, const char *ext,
                     struct base_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        if (fd >= 0)
            close(fd);
        return base_err_set(err, BASE_E_IO, "cannot read the export file");
    }
    http_response_header(r->resp, "Content-Disposition",
                         base_arena_printf(r->arena, "attachment; filename=\"%s\"", name));
    http_response_header(r->resp, "filename", name);
    http_response_file(r->resp, 200,
                       strcmp(ext, "zip") ? base_arena_printf(r->arena, "application/%s", ext)
                                          : "application/zip",
                       fd, 0, (uint64_t)st.st_size);
    return 0;
}

/* GET /api/projects/{id}/exports/{id}/download?exportType=JSON */
int api_project_export_download(struct api_req *r, struct base_err *err)
{
    struct store_snapshot s;
    struct store_project row = {0};
    enum formats_kind kind = FORMATS_JSON;
    const char *type = http_request_query(r->http, "exportType");
    if (!type)
        type = http_request_query(r->http, "export_type");
    if (type && formats_kind_parse(type, &kind))
        return api_invalid(r, err, "exportType", "unknown export format \"%s\"", type);
    if (store_snapshot_get(r->api->store, r->m.ids[1], &s, err))
        return -1;
    int rc = -1;
    char *src = NULL, *dest = NULL, when[32];
    if (s.project != r->m.ids[0]) {
        base_err_set(err, BASE_E_NOTFOUND, "Not found.");
        goto out;
    }
    if (strcmp(s.status, "completed") || !*s.file) {
        base_err_set(err, BASE_E_NOTFOUND, "Export is not completed");
        goto out;
    }
    struct tm tm;
    time_t t = (time_t)(s.created_at / 1000000);
    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d-%H-%M", &tm);
    const char *ext = formats_export_ext(kind);
    const char *name = base_arena_printf(r->arena, "project-%lld-at-%s-%.8s.%s",
                                         (long long)s.project, when, s.md5, ext);
    src = base_path_join(r->api->data_dir, s.file);
    if (kind == FORMATS_JSON) {
        rc = send_file(r, src, name, ext, err);
        goto out;
    }
    dest = base_strprintf("%s.%s-%lld.%s", src, formats_kind_name(kind), (long long)base_time_us(),
                          ext);
    rc = api_project_row(r, s.project, &row, err) || convert(r, &row, src, kind, dest, err) ||
                 send_file(r, dest, name, ext, err)
             ? -1
             : 0;
    unlink(dest); /* sent from its open descriptor */
out:
    base_free(src);
    base_free(dest);
    store_project_release(&row);
    store_snapshot_release(&s);
    return rc;
}

void api_exports_purge(struct api *api, int64_t project)
{
    char rel[64];
    snprintf(rel, sizeof rel, "export/snapshots/%lld", (long long)project);
    char *dir = base_path_join(api->data_dir, rel);
    struct base_err ferr = {0};
    if (base_remove_tree(dir, &ferr))
        BASE_WARN("api: project %lld deleted but its export snapshots remain: %s",
                  (long long)project, ferr.msg);
    base_free(dir);
}
