/* Export (spec 2.6): GET /api/projects/{id}/export streams the project's tasks from the store
 * into the formats module's exporter, keeps the file under <data-dir>/export/ as Label Studio
 * does, and sends it; GET /api/projects/{id}/export/formats lists the formats. Also the entry
 * point `labelloop export` uses. */
#include "api_int.h"

#include "formats/formats.h"
#include "store/store.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* "/data/upload/<project>/<file>" -> <media>/upload/<project>/<file> when an upload record names
 * exactly that file and it is a regular file, not a link; anything else (remote URLs, absolute
 * paths a task could name, a link planted in the media folder) is never read, so an export
 * cannot leak server files. The zip writer opens it with O_NOFOLLOW as well. */
char *api_export_resolve(void *ctx, const char *url)
{
    const struct api *api = ctx;
    static const char prefix[] = "/data/upload/";
    if (strncmp(url, prefix, sizeof prefix - 1) || strchr(url, '?') ||
        !api_media_valid_tail(url + sizeof prefix - 1))
        return NULL;
    char *rel = base_strprintf("upload/%s", url + sizeof prefix - 1);
    int64_t project;
    char *path = store_file_upload_project(api->store, rel, &project, NULL)
                     ? NULL
                     : base_path_join(api->media_dir, rel);
    base_free(rel);
    struct stat st;
    if (path && (lstat(path, &st) || !S_ISREG(st.st_mode))) {
        base_free(path);
        return NULL;
    }
    return path;
}

struct export_ctx {
    struct formats_export *e;
    const char *ukey;
    api_progress_fn progress;
    void *progress_ctx;
    size_t done, total;
    int stored;           /* the format reads stored tasks (all but JSON) */
    struct base_buf text; /* JSON: the task's export shape as text (store json_text) */
    struct formats_stored_annotation *anns;
    size_t cap;
};

/* The item formats read the stored JSON text of data and results directly. */
static int add_stored(struct export_ctx *x, const struct store_task *t, struct base_err *err)
{
    if (t->nannotations > x->cap) {
        x->cap = t->nannotations;
        x->anns = base_realloc(x->anns, x->cap * sizeof *x->anns);
    }
    for (size_t i = 0; i < t->nannotations; i++) {
        const struct store_annotation *a = &t->annotations[i];
        x->anns[i] = (struct formats_stored_annotation){.id = a->id,
                                                        .completed_by = a->completed_by,
                                                        .result = a->result_text,
                                                        .result_len = a->result_len,
                                                        .was_cancelled = a->was_cancelled,
                                                        .created_at_us = a->created_at,
                                                        .updated_at_us = a->updated_at,
                                                        .has_lead_time = a->has_lead_time,
                                                        .lead_time = a->lead_time};
    }
    struct formats_stored_task s = {.id = t->id,
                                    .data = t->data_text,
                                    .data_len = t->data_len,
                                    .annotations = x->anns,
                                    .nannotations = t->nannotations};
    return formats_export_add_stored(x->e, &s, err);
}

static int export_task(void *ctx, const struct store_task *t, struct base_err *err)
{
    struct export_ctx *x = ctx;
    int rc;
    if (t->data_text && x->stored) {
        rc = add_stored(x, t, err);
    } else { /* JSON streams the export shape as text (completed_by stays an id) */
        base_buf_reset(&x->text);
        rc = api_task_export_text(t, API_TASK_EXPORT, x->ukey, &x->text, err) ||
                     formats_export_add_text(x->e, x->text.data, x->text.len, err)
                 ? -1
                 : 0;
    }
    if (x->progress)
        x->progress(x->progress_ctx, ++x->done, x->total, "");
    return rc;
}

/* project-<id>-at-<YYYY-MM-DD-HH-MM>-<8 hex>, the file name Label Studio gives its exports (the
 * suffix is random here, not part of an md5). */
static int export_name(int64_t project, char out[96], struct base_err *err)
{
    char hex[9], when[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d-%H-%M", &tm);
    if (base_random_hex(hex, 4, err))
        return -1;
    snprintf(out, 96, "project-%lld-at-%s-%s", (long long)project, when, hex);
    return 0;
}

/* Streams the project's tasks from the store into the export. */
static int feed_tasks(struct api *api, const struct api_export_opts *o,
                      const struct store_project *row, struct formats_export *e,
                      struct base_err *err)
{
    struct store_task_query q = {.project = o->project,
                                 .ids = o->ids,
                                 .nids = o->nids,
                                 .only_annotated = !o->all_tasks,
                                 .with_annotations = 1,
                                 /* only JSON carries them (as ids) */
                                 .with_predictions = o->kind == FORMATS_JSON,
                                 /* every format reads the task as text (no jansson tree) */
                                 .json_text = 1};
    struct export_ctx x = {.e = e,
                           .ukey = store_project_data_key(row),
                           .progress = o->progress,
                           .progress_ctx = o->progress_ctx,
                           .stored = !formats_export_wants_text(o->kind)};
    base_buf_init(&x.text, API_TASK_TEXT_MAX);
    struct store_task_totals totals;
    if (o->progress && store_task_totals(api->store, &q, &totals, err) == 0)
        x.total = (size_t)totals.tasks;
    int rc = store_task_each(api->store, &q, export_task, &x, err);
    base_buf_release(&x.text);
    base_free(x.anns);
    return rc;
}

int api_export_project(struct api *api, const struct api_export_opts *o, char **path,
                       struct base_err *err)
{
    struct store_project row = {0};
    struct formats_config *cfg = NULL;
    struct formats_export *e = NULL;
    char name[96], *dest = NULL;
    int rc = -1;
    if (store_project_get(api->store, o->project, &row, err))
        return -1;
    const char *xml = row.label_config;
    if (formats_config_parse(xml ? xml : "", xml ? strlen(xml) : 0, &cfg, err))
        goto out;
    char *dir = base_path_join(api->data_dir, "export");
    rc = base_mkdirs(dir, err) || export_name(o->project, name, err) ? -1 : 0;
    if (!rc) {
        char *file = base_strprintf("%s.%s", name, formats_export_ext(o->kind));
        dest = o->dest ? base_strdup(o->dest) : base_path_join(dir, file);
        base_free(file);
    }
    base_free(dir);
    struct formats_export_opts fo = {.kind = o->kind,
                                     .config = cfg,
                                     .download_resources = o->download_resources,
                                     .json_only = o->json_only,
                                     .resolve = api_export_resolve,
                                     .resolve_ctx = api};
    if (rc || formats_export_open(&fo, dest, &e, err)) {
        rc = -1;
        goto out;
    }
    if (feed_tasks(api, o, &row, e, err)) {
        formats_export_abort(e);
        rc = -1;
        goto out;
    }
    rc = formats_export_commit(e, err);
out:
    if (rc == 0) {
        *path = dest;
        dest = NULL;
    }
    base_free(dest);
    formats_config_free(cfg);
    store_project_release(&row);
    return rc;
}

static int query_kind(struct api_req *r, enum formats_kind *kind, struct base_err *err)
{
    const char *t = http_request_query(r->http, "exportType");
    if (!t)
        t = http_request_query(r->http, "export_type");
    if (!t)
        t = "JSON";
    if (formats_kind_parse(t, kind))
        return api_invalid(r, err, "exportType",
                           "unknown export format \"%s\" (one of JSON, "
                           "JSON_MIN, CSV, TSV, COCO, YOLO, VOC)",
                           t);
    return 0;
}

/* ids[]=1&ids[]=2 (or ids=1&ids=2): a restriction to those tasks. */
static int query_ids(struct api_req *r, int64_t **ids, size_t *n, struct base_err *err)
{
    static const char *const names[] = {"ids[]", "ids"};
    size_t count = 0;
    for (int k = 0; k < 2; k++)
        while (http_request_query_nth(r->http, names[k], count))
            count++;
    *n = 0;
    *ids = count ? base_arena_calloc(r->arena, count + 1, sizeof **ids) : NULL;
    if (count > 100000)
        return api_invalid(r, err, "ids", "at most 100000 ids");
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; *n < count && http_request_query_nth(r->http, names[k], i); i++) {
            int64_t v;
            if (base_parse_i64(http_request_query_nth(r->http, names[k], i), &v) || v < 1)
                return api_invalid(r, err, "ids", "expected task ids");
            (*ids)[(*n)++] = v;
        }
    return 0;
}

int api_project_export(struct api_req *r, struct base_err *err)
{
    struct api_export_opts o = {.project = r->m.ids[0]};
    int64_t *ids = NULL;
    if (query_kind(r, &o.kind, err) || query_ids(r, &ids, &o.nids, err))
        return -1;
    o.ids = ids;
    o.all_tasks = api_query_bool(r, "download_all_tasks", 0);
    o.download_resources = api_query_bool(r, "download_resources", 1);
    char *path = NULL;
    if (api_export_project(r->api, &o, &path, err))
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        if (fd >= 0)
            close(fd);
        base_free(path);
        return base_err_set(err, BASE_E_IO, "cannot read the export file");
    }
    const char *file = strrchr(path, '/') + 1, *ext = formats_export_ext(o.kind);
    char *disp = base_arena_printf(r->arena, "attachment; filename=\"%s\"", file);
    /* Label Studio's quirk: application/.json for files, application/zip for archives */
    char *ctype = strcmp(ext, "zip") ? base_arena_printf(r->arena, "application/.%s", ext)
                                     : "application/zip";
    http_response_header(r->resp, "Content-Disposition", disp);
    http_response_header(r->resp, "filename", file);
    http_response_file(r->resp, 200, ctype, fd, 0, (uint64_t)st.st_size);
    base_free(path);
    return 0;
}

int api_project_export_formats(struct api_req *r, struct base_err *err)
{
    static const char *const titles[] = {"JSON", "JSON-MIN", "CSV",           "TSV",
                                         "COCO", "YOLO",     "Pascal VOC XML"};
    struct store_project row = {0};
    struct formats_config *cfg = NULL;
    if (api_project_row(r, r->m.ids[0], &row, err))
        return -1;
    const char *xml = row.label_config;
    int rc = formats_config_parse(xml ? xml : "", xml ? strlen(xml) : 0, &cfg, err);
    store_project_release(&row);
    if (rc)
        return -1;
    json_t *list = json_array();
    for (int k = 0; k < FORMATS_NKINDS; k++) {
        json_t *f = json_pack("{s:s, s:s}", "name", formats_kind_name((enum formats_kind)k),
                              "title", titles[k]);
        if (!formats_kind_supported(cfg, (enum formats_kind)k))
            json_object_set_new(f, "disabled", json_true());
        json_array_append_new(list, f);
    }
    formats_config_free(cfg);
    return api_reply_json(r, 200, list);
}
