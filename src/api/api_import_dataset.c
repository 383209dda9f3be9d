/* POST /api/projects/{id}/import/dataset?format=coco|yolo|voc|json: a detection data set uploaded
 * as multipart files (images plus the annotation files) is laid out in a temporary folder the way
 * the readers expect and imported in one transaction (api_import_dataset), the boxes becoming
 * annotations, or predictions with as_predictions=true&model_version=V. A labelloop extension:
 * Label Studio itself needs label-studio-converter for this (spec 5.11). */
#include "api_int.h"

#include "formats/formats.h"

#include <string.h>
#include <strings.h>

#define API_DATASET_MAX_PARTS 100000

/* The base name of an uploaded file, restricted to a safe set of characters. */
static const char *safe_base(struct base_arena *a, const char *filename)
{
    const char *base = filename;
    for (const char *p = filename; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    char *out = base_arena_strdup(a, base);
    for (char *p = out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_'))
            *p = '_';
    return out[0] && out[0] != '.' ? out : "file";
}

/* Where a part goes in the folder the readers read. */
static const char *place(struct base_arena *a, enum formats_kind kind, const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *ext = dot ? dot : "";
    if (!strcasecmp(ext, ".json"))
        return kind == FORMATS_JSON ? "tasks.json" : "annotations.json";
    if (kind == FORMATS_YOLO && !strcmp(name, "classes.txt"))
        return "classes.txt";
    if (kind == FORMATS_YOLO && !strcasecmp(ext, ".txt"))
        return base_arena_printf(a, "labels/%s", name);
    if (kind == FORMATS_VOC && !strcasecmp(ext, ".xml"))
        return base_arena_printf(a, "Annotations/%s", name);
    return base_arena_printf(a, "images/%s", name);
}

static int write_parts(struct api_req *r, enum formats_kind kind, const char *dir,
                       struct base_err *err)
{
    size_t len, n, files = 0;
    const char *body = http_request_body(r->http, &len);
    struct http_part *parts;
    if (http_multipart_parse(http_request_header(r->http, "Content-Type"), body, len, r->arena,
                             &parts, &n, API_DATASET_MAX_PARTS, err))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!parts[i].filename)
            continue;
        const char *rel = place(r->arena, kind, safe_base(r->arena, parts[i].filename));
        char *path = base_path_join(dir, rel), *slash = strrchr(path, '/');
        *slash = '\0';
        int rc = base_mkdirs(path, err);
        *slash = '/';
        if (!rc && base_file_exists(path))
            rc = api_invalid(r, err, "file", "%s: uploaded twice", rel);
        if (!rc)
            rc = base_file_write_atomic(path, parts[i].data, parts[i].len, err);
        base_free(path);
        if (rc)
            return -1;
        files++;
    }
    return files ? 0 : api_invalid(r, err, "file", "No files were uploaded.");
}

/* Errors about the files speak of them as uploaded ("annotations.json: ..."), never by the
 * server's temporary folder, and a file the upload lacks is the client's mistake (400). */
static void as_uploaded(struct base_err *err, const char *dir)
{
    size_t n = strlen(dir);
    char *p;
    while ((p = strstr(err->msg, dir))) {
        size_t skip = n + (p[n] == '/');
        const char *with = p[n] == '/' ? "" : "the upload";
        size_t rest = strlen(p + skip) + 1, wlen = strlen(with);
        if ((size_t)(p - err->msg) + wlen + rest > sizeof err->msg)
            break;
        memmove(p + wlen, p + skip, rest);
        memcpy(p, with, wlen);
    }
    if (err->status == BASE_E_NOTFOUND)
        err->status = BASE_E_INVALID;
}

int api_project_import_dataset(struct api_req *r, struct base_err *err)
{
    double t0 = base_now();
    enum formats_kind kind;
    const char *fmt = http_request_query(r->http, "format");
    const char *ctype = http_request_header(r->http, "Content-Type");
    if (!fmt || formats_kind_parse(fmt, &kind) ||
        (kind != FORMATS_COCO && kind != FORMATS_YOLO && kind != FORMATS_VOC &&
         kind != FORMATS_JSON))
        return api_invalid(r, err, "format", "expected format=coco, yolo, voc or json");
    if (api_query_bool(r, "match_existing", 0) && kind != FORMATS_JSON)
        return api_invalid(r, err, "match_existing", "only a JSON task file (format=json)");
    if (!ctype || strncasecmp(ctype, "multipart/form-data", 19))
        return api_invalid(r, err, "file", "upload the files as multipart/form-data");
    struct store_project row = {0};
    if (api_project_row(r, r->m.ids[0], &row, err))
        return -1;
    store_project_release(&row);
    char *tmpl = base_path_join(r->api->data_dir, "tmp-import-XXXXXX");
    if (!mkdtemp(tmpl)) {
        base_free(tmpl);
        return base_err_set(err, BASE_E_IO, "cannot create a temporary folder");
    }
    struct api_dataset_import o = {.project = r->m.ids[0],
                                   .user = r->user.id,
                                   .kind = kind,
                                   .as_predictions = api_query_bool(r, "as_predictions", 0),
                                   .model_version = http_request_query(r->http, "model_version"),
                                   .match_existing = api_query_bool(r, "match_existing", 0)};
    struct store_import_result res;
    struct api_import_notes notes = {0};
    o.ids_skipped = &notes.ids_skipped;
    char *json_path = base_path_join(tmpl, "tasks.json");
    o.path = kind == FORMATS_JSON ? json_path : tmpl;
    int rc = write_parts(r, kind, tmpl, err) || api_import_dataset(r->api, &o, &res, err) ? -1 : 0;
    if (rc)
        as_uploaded(err, tmpl);
    struct base_err ignored;
    base_remove_tree(tmpl, &ignored);
    base_free(tmpl), base_free(json_path);
    if (rc)
        return -1;
    api_tell_loop_import(r, o.project, &res);
    json_t *ids = json_array();
    for (int64_t i = 0; i < res.task_count && api_query_bool(r, "return_task_ids", 0); i++)
        json_array_append_new(ids, json_integer(res.first_task_id + i));
    json_t *body =
        json_pack("{sI sI sI sf}", "task_count", (json_int_t)res.task_count, "annotation_count",
                  (json_int_t)res.annotation_count, "prediction_count",
                  (json_int_t)res.prediction_count, "duration", base_now() - t0);
    if (json_array_size(ids))
        json_object_set(body, "task_ids", ids);
    json_object_set_new(body, "warnings", api_import_warnings(&notes, &res));
    json_decref(ids);
    return api_reply_json(r, 201, body);
}
