/* Import (spec 2.4): JSON task lists and multipart uploads of images and JSON files through
 * POST /api/projects/{id}/import, and local image files for `labelloop import`. Every uploaded
 * file must probe as a JPEG, PNG or WebP image within the pixel limit and is stored under the
 * extension of what it is, never of what the client called it (an "image" that is HTML must not
 * be served as a page). Files are written (temp name, fsync, rename) before the one transaction
 * that records them commits; if it fails they are removed, so nothing is half-imported (a crash
 * in between is swept at the next start, api_sweep.c). */
#include "api_int.h"

#include "formats/formats.h"
#include "image/image.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define API_UPLOAD_MAX_PARTS 10000
#define API_FILE_MAX         ((size_t)1 << 30)

/* ---- files ----------------------------------------------------------------------------------- */

/* What an uploaded file is, from its header: a JPEG, PNG or WebP image within the pixel limit,
 * or an error naming the file (BASE_E_INVALID, or BASE_E_TOOBIG over the limit). */
static int check_image(struct api *api, const char *name, const void *data, size_t len,
                       struct image_info *info, struct base_err *err)
{
    struct base_err perr = {0};
    if (image_probe(data, len, info, &perr))
        return base_err_set(err, BASE_E_INVALID, "%s is not a JPEG, PNG or WebP image (%s)", name,
                            perr.msg);
    uint64_t pixels = (uint64_t)info->stored_width * (uint64_t)info->stored_height;
    if (pixels > api->limits.max_image_pixels)
        return base_err_set(
            err, BASE_E_TOOBIG, "%s: %dx%d is over the server's limit of %.0f million pixels", name,
            info->stored_width, info->stored_height, (double)api->limits.max_image_pixels / 1e6);
    return 0;
}

/* The extensions a stored file of each format may keep; the first is given to the others. */
static const char *const image_exts[][3] = {
    [IMAGE_FORMAT_JPEG] = {".jpg", ".jpeg", ".jpe"},
    [IMAGE_FORMAT_PNG] = {".png"},
    [IMAGE_FORMAT_WEBP] = {".webp"},
};

/* `name` with the extension of `format`: kept when it already is one, else replaced. */
static const char *typed_name(struct base_arena *a, const char *name, enum image_format format)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < 3; i++)
        if (image_exts[format][i] && !strcasecmp(dot, image_exts[format][i]))
            return name;
    size_t stem = dot ? (size_t)(dot - name) : strlen(name);
    return base_arena_printf(a, "%.*s%s", (int)stem, name, image_exts[format][0]);
}

/* Django's get_valid_filename, ASCII: the base name, spaces to '_', only [A-Za-z0-9_.-], no
 * leading dots, at most 100 characters keeping the extension. */
static char *safe_name(struct base_arena *a, const char *filename)
{
    const char *base = filename;
    for (const char *p = filename; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    char *out = base_arena_alloc(a, strlen(base) + 8);
    size_t n = 0;
    for (const char *p = base; *p; p++) {
        char c = *p == ' ' ? '_' : *p;
        if ((isalnum((unsigned char)c) && !(c & 0x80)) || c == '_' || c == '-' ||
            (c == '.' && n > 0))
            out[n++] = c;
    }
    out[n] = '\0';
    if (n == 0)
        return base_arena_strdup(a, "file");
    if (n > 100) {
        const char *dot = strrchr(out, '.');
        size_t ext = dot && strlen(dot) < 16 ? strlen(dot) : 0;
        memmove(out + 100 - ext, out + n - ext, ext + 1);
    }
    return out;
}

struct saved {
    char **paths; /* absolute paths written, removed if the import fails */
    size_t n, cap;
};

static void saved_add(struct saved *s, char *path)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->paths = base_realloc(s->paths, s->cap * sizeof *s->paths);
    }
    s->paths[s->n++] = path;
}

static void saved_release(struct saved *s, int remove)
{
    for (size_t i = 0; i < s->n; i++) {
        if (remove)
            unlink(s->paths[i]);
        base_free(s->paths[i]);
    }
    base_free(s->paths);
    memset(s, 0, sizeof *s);
}

/* Writes one upload (an image of `format`, see check_image) under
 * media/upload/<project>/<uuid8>-<name> and appends its task. */
static int save_upload(struct api *api, struct base_arena *a, int64_t project, const char *ukey,
                       const char *filename, enum image_format format, const void *data, size_t len,
                       json_t *tasks, struct saved *saved, struct base_err *err)
{
    char dir_rel[64], hex[9];
    snprintf(dir_rel, sizeof dir_rel, "upload/%lld", (long long)project);
    char *dir = base_path_join(api->media_dir, dir_rel), *path = NULL, *rel = NULL;
    const char *name = typed_name(a, safe_name(a, filename), format);
    int rc = base_mkdirs(dir, err);
    for (int tries = 0; rc == 0 && tries < 8; tries++) {
        base_free(path);
        if ((rc = base_random_hex(hex, 4, err)))
            break;
        rel = base_arena_printf(a, "%s/%s-%s", dir_rel, hex, name);
        path = base_path_join(api->media_dir, rel);
        if (!base_file_exists(path))
            break;
    }
    if (rc == 0)
        rc = base_file_write_atomic(path, data, len, err);
    if (rc == 0) {
        saved_add(saved, path);
        path = NULL;
        char *url = base_arena_printf(a, "/data/%s", rel);
        json_array_append_new(tasks, json_pack("{s{ss}ss}", "data", ukey ? ukey : "$undefined$",
                                               url, "file_upload", rel));
    }
    base_free(path);
    base_free(dir);
    return rc;
}

/* ---- the API --------------------------------------------------------------------------------- */

#define API_IMPORT_CHUNK 1000

struct upload {
    json_t *tasks;   /* tasks waiting to be written (at most a chunk for JSON lists) */
    json_t *formats; /* {".jpg": 3} */
    json_t *columns; /* data keys seen, in order */
    json_t *pre;     /* preannotated_from_fields, or NULL */
    struct saved saved;
    struct store_import *imp;
    size_t done; /* tasks handed to the store so far */
    struct api_import_notes notes;
};

/* Appends tasks read from a body or a file (a task object or a list; stolen). */
static int add_outside(struct api_req *r, struct upload *u, json_t *v, struct base_err *err)
{
    size_t from = json_array_size(u->tasks);
    if (json_is_array(v))
        json_array_extend(u->tasks, v);
    else
        json_array_append(u->tasks, v);
    json_decref(v);
    for (size_t k = from; k < json_array_size(u->tasks); k++)
        if (api_task_from_outside(r, u->tasks, k, u->done + k, u->pre, err))
            return -1;
    return 0;
}

static void count_format(json_t *formats, const char *ext)
{
    json_t *n = json_object_get(formats, ext);
    json_object_set_new(formats, ext, json_integer(json_integer_value(n) + 1));
}

static void add_columns(json_t *cols, const json_t *tasks)
{
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
    {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(t, "data"), k, v)
        {
            int seen = 0;
            for (size_t c = 0; c < json_array_size(cols) && !seen; c++)
                seen = !strcmp(json_string_value(json_array_get(cols, c)), k);
            if (!seen && json_array_size(cols) < 1000)
                json_array_append_new(cols, json_string(k));
        }
    }
}

/* Normalises and writes the waiting tasks (starting the store import on first use). */
static int flush(struct api_req *r, const struct store_project *row, struct upload *u,
                 struct base_err *err)
{
    size_t n = json_array_size(u->tasks);
    if (api_tasks_normalize_at(r, row, u->tasks, u->done, &u->notes, err))
        return -1;
    if (!u->imp && !(u->imp = store_import_begin(r->api->store, r->m.ids[0], r->user.id, err)))
        return -1;
    if (n && store_import_add(u->imp, u->tasks, err))
        return -1;
    add_columns(u->columns, u->tasks);
    u->done += n;
    json_array_clear(u->tasks);
    return 0;
}

static int add_json_file(struct api_req *r, struct upload *u, const struct http_part *p,
                         struct base_err *err)
{
    struct base_err perr = {0};
    json_t *v = base_json_parse(p->data, p->len, &perr);
    if (!v)
        return api_invalid(r, err, "file", "%s: %s", p->filename, perr.msg);
    if (!json_is_object(v) && !json_is_array(v)) {
        json_decref(v);
        return api_invalid(r, err, "file", "%s: expected a task or a list of tasks", p->filename);
    }
    count_format(u->formats, ".json");
    return add_outside(r, u, v, err);
}

/* CSV and TSV (a header row of data keys, a task per row) and TXT (a task per line) files. */
static int add_table_file(struct api_req *r, struct upload *u, const struct http_part *p,
                          const char *ext, struct base_err *err)
{
    struct base_err perr = {0};
    json_t *tasks = NULL;
    int rc = !strcasecmp(ext, ".txt")
                 ? formats_txt_tasks(p->data, p->len, &tasks, &perr)
                 : formats_csv_tasks(p->data, p->len, strcasecmp(ext, ".tsv") ? ',' : '\t', &tasks,
                                     &perr);
    if (rc)
        return api_invalid(r, err, "file", "%s: %s", p->filename, perr.msg);
    count_format(u->formats, !strcasecmp(ext, ".txt")   ? ".txt"
                             : !strcasecmp(ext, ".tsv") ? ".tsv"
                                                        : ".csv");
    return add_outside(r, u, tasks, err);
}

static int add_part(struct api_req *r, const struct store_project *row, struct upload *u,
                    const struct http_part *p, struct base_err *err)
{
    const char *dot = strrchr(p->filename, '.');
    if (dot && !strcasecmp(dot, ".json"))
        return add_json_file(r, u, p, err);
    if (dot && (!strcasecmp(dot, ".csv") || !strcasecmp(dot, ".tsv") || !strcasecmp(dot, ".txt")))
        return add_table_file(r, u, p, dot, err);
    struct image_info info;
    struct base_err ierr = {0};
    if (check_image(r->api, p->filename, p->data, p->len, &info, &ierr))
        return api_invalid(r, err, "file", "%s", ierr.msg);
    if (json_object_size(row->data_types) > 1)
        return api_invalid(r, err, "file",
                           "Your labeling config has more than one data key and direct file "
                           "upload supports only one data key. To import data with multiple "
                           "data keys, use a JSON file.");
    count_format(u->formats, dot && strlen(dot) < 16 ? dot : image_exts[info.format][0]);
    int64_t project = row->id;
    return save_upload(r->api, r->arena, project, store_project_data_key(row), p->filename,
                       info.format, p->data, p->len, u->tasks, &u->saved, err);
}

static int collect_multipart(struct api_req *r, const struct store_project *row, struct upload *u,
                             struct base_err *err)
{
    size_t len, n;
    const char *body = http_request_body(r->http, &len);
    struct http_part *parts;
    if (http_multipart_parse(http_request_header(r->http, "Content-Type"), body, len, r->arena,
                             &parts, &n, API_UPLOAD_MAX_PARTS, err))
        return -1;
    size_t files = 0;
    for (size_t i = 0; i < n; i++) {
        if (!parts[i].filename)
            continue;
        files++;
        if (add_part(r, row, u, &parts[i], err))
            return -1;
    }
    if (!files)
        return api_invalid(r, err, "file", "No files were uploaded.");
    return flush(r, row, u, err);
}

/* A JSON list is parsed and written a chunk at a time, so memory stays small whatever its
 * length; a single task object is a list of one. */
static int collect_json(struct api_req *r, const struct store_project *row, struct upload *u,
                        struct base_err *err)
{
    size_t len, n;
    const char *body = http_request_body(r->http, &len), *item;
    struct base_json_items it;
    if (!base_json_items_init(&it, body, len)) {
        json_t *v = api_body_json(r, err);
        if (!v)
            return -1;
        if (!json_is_object(v)) {
            json_decref(v);
            return api_invalid(r, err, "non_field_errors", "expected a task or a list of tasks");
        }
        return add_outside(r, u, v, err) || flush(r, row, u, err) ? -1 : 0;
    }
    int rc;
    while ((rc = base_json_items_next(&it, &item, &n, err)) == 1) {
        struct base_err perr = {0};
        json_t *v = base_json_parse(item, n, &perr);
        if (!v)
            return base_err_set(err, BASE_E_INVALID, "%s (task %zu)", perr.msg, it.index - 1);
        if (add_outside(r, u, json_pack("[o]", v), err))
            return -1;
        if (json_array_size(u->tasks) == API_IMPORT_CHUNK && flush(r, row, u, err))
            return -1;
    }
    return rc < 0 ? -1 : flush(r, row, u, err);
}

static json_t *import_summary(struct api_req *r, const struct upload *u,
                              const struct store_import_result *res, double seconds)
{
    json_t *ids = json_array(), *uploads = json_array();
    for (int64_t i = 0; i < res->upload_count; i++)
        json_array_append_new(uploads, json_integer(res->first_upload_id + i));
    json_t *body = json_pack("{sI sI sI sf so sb sO sO}", "task_count", (json_int_t)res->task_count,
                             "annotation_count", (json_int_t)res->annotation_count,
                             "prediction_count", (json_int_t)res->prediction_count, "duration",
                             seconds, "file_upload_ids", uploads, "could_be_tasks_list", 0,
                             "found_formats", u->formats, "data_columns", u->columns);
    json_object_set_new(body, "warnings", api_import_warnings(&u->notes, res));
    if (api_query_bool(r, "return_task_ids", 0)) {
        for (int64_t i = 0; i < res->task_count; i++)
            json_array_append_new(ids, json_integer(res->first_task_id + i));
        json_object_set(body, "task_ids", ids);
    }
    json_decref(ids);
    return body;
}

/* A form body that is not JSON text is Label Studio's import from a URL, which we do not do. */
static int url_form(struct api_req *r)
{
    const char *ctype = http_request_header(r->http, "Content-Type");
    if (!ctype || strncasecmp(ctype, "application/x-www-form-urlencoded", 33))
        return 0;
    size_t len;
    const char *b = http_request_body(r->http, &len);
    json_t *probe = base_json_parse(b, len, NULL);
    json_decref(probe);
    return probe == NULL;
}

int api_project_import(struct api_req *r, struct base_err *err)
{
    double t0 = base_now();
    struct store_project row = {0};
    if (api_project_row(r, r->m.ids[0], &row, err))
        return -1;
    struct upload u = {.tasks = json_array(),
                       .formats = json_object(),
                       .columns = json_array(),
                       .pre = api_import_pre_fields(r)};
    const char *ctype = http_request_header(r->http, "Content-Type");
    struct store_import_result res;
    int rc = -1;
    if (url_form(r)) {
        base_err_set(err, BASE_E_UNSUPPORTED,
                     "import from a URL is not supported; send JSON "
                     "or upload files as multipart/form-data");
        goto out;
    }
    if (ctype && !strncasecmp(ctype, "multipart/form-data", 19)
            ? collect_multipart(r, &row, &u, err)
            : collect_json(r, &row, &u, err))
        goto out;
    struct store_import *imp = u.imp;
    u.imp = NULL;
    if (store_import_commit(imp, &res, err))
        goto out;
    api_tell_loop_import(r, r->m.ids[0], &res);
    rc = api_reply_json(r, 201, import_summary(r, &u, &res, base_now() - t0));
out:
    store_import_abort(u.imp);
    saved_release(&u.saved, rc != 0);
    json_decref(u.tasks);
    json_decref(u.formats);
    json_decref(u.columns);
    json_decref(u.pre);
    store_project_release(&row);
    return rc;
}

/* ---- local files (labelloop import) ---------------------------------------------------------- */

int api_import_files(struct api *api, int64_t project, int64_t user, const char *const *paths,
                     size_t npaths, api_progress_fn progress, void *progress_ctx,
                     struct store_import_result *res, size_t *skipped, struct base_err *err)
{
    struct store_project row = {0};
    json_t *tasks = json_array();
    struct saved saved = {0};
    struct base_arena *a = base_arena_new(16384);
    int rc = store_project_get(api->store, project, &row, err);
    *skipped = 0;
    for (size_t i = 0; rc == 0 && i < npaths; i++) {
        char *data = NULL;
        size_t len = 0;
        struct image_info info;
        struct base_err skip = {0};
        rc = base_file_read(paths[i], API_FILE_MAX, &data, &len, err);
        if (rc == 0 && !check_image(api, paths[i], data, len, &info, &skip))
            rc = save_upload(api, a, project, store_project_data_key(&row), paths[i], info.format,
                             data, len, tasks, &saved, err);
        else if (rc == 0 && ++*skipped && skip.status == BASE_E_TOOBIG)
            BASE_WARN("import: skipped %s", skip.msg);
        base_free(data);
        if (progress)
            progress(progress_ctx, i + 1, npaths, paths[i]);
    }
    if (rc == 0)
        rc = store_tasks_import(api->store, project, tasks, user, res, err);
    saved_release(&saved, rc != 0);
    base_arena_free(a);
    json_decref(tasks);
    store_project_release(&row);
    return rc;
}

/* ---- detection data sets and Label Studio JSON files (labelloop import --format) ------------- */

/* Annotations and predictions of an imported Label Studio task, reduced to what an import
 * creates (ids, users and times of the exporting instance do not carry over). */
static json_t *clean_items(const json_t *list, int predictions, const char *model_version)
{
    static const char *const ann_keys[] = {"result", "was_cancelled", "ground_truth", "lead_time",
                                           "completed_by"};
    static const char *const pred_keys[] = {"result", "score", "model_version"};
    json_t *out = json_array(), *a;
    size_t i;
    json_array_foreach(list, i, a)
    {
        json_t *c = json_object();
        for (size_t k = 0; k < (predictions ? 3u : 5u); k++) {
            const char *key = predictions ? pred_keys[k] : ann_keys[k];
            if (json_object_get(a, key) && !json_is_null(json_object_get(a, key)))
                json_object_set(c, key, json_object_get(a, key));
        }
        if (predictions && model_version)
            json_object_set_new(c, "model_version", json_string(model_version));
        json_array_append_new(out, c);
    }
    return out;
}

static int tasks_from_json(const struct api_dataset_import *o, const char *ukey, json_t **out,
                           struct base_err *err)
{
    char *text = NULL;
    size_t len, skipped = 0;
    json_t *tasks = NULL, *t;
    if (base_file_read(o->path, API_FILE_MAX, &text, &len, err) ||
        formats_tasks_parse(text, len, &tasks, &skipped, err)) {
        base_err_prefix(err, "%s: ", o->path);
        base_free(text);
        return -1;
    }
    base_free(text);
    if (skipped)
        BASE_WARN("import: %s: %zu annotations or predictions were not objects and were skipped "
                  "(Label Studio's JSON export lists predictions as ids)",
                  o->path, skipped);
    if (o->ids_skipped)
        *o->ids_skipped = (int64_t)skipped;
    *out = json_array();
    size_t i;
    json_array_foreach(tasks, i, t)
    {
        json_t *data = json_copy(json_object_get(t, "data"));
        json_t *raw = json_object_get(data, "$undefined$");
        if (raw && ukey && !json_object_get(data, ukey)) {
            json_object_set(data, ukey, raw);
            json_object_del(data, "$undefined$");
        }
        json_t *n = json_pack("{so}", "data", data);
        const json_t *anns = json_object_get(t, "annotations");
        json_t *preds = clean_items(json_object_get(t, "predictions"), 1, o->model_version);
        if (o->as_predictions) { /* annotations become pre-annotations of the given model */
            json_t *more = clean_items(anns, 1, o->model_version ? o->model_version : "");
            json_array_extend(preds, more);
            json_decref(more);
        } else {
            json_object_set_new(n, "annotations", clean_items(anns, 0, NULL));
        }
        json_object_set_new(n, "predictions", preds);
        json_array_append_new(*out, n);
    }
    json_decref(tasks);
    return 0;
}

/* A data value naming a local image file rather than a URL: "pimgs/a.jpg", "/home/u/a.png". */
static int local_image_ref(const char *v)
{
    static const char *const ext[] = {".jpg", ".jpeg", ".jpe", ".png", ".webp"};
    if (!v || strstr(v, "://") || !strncmp(v, "/data/", 6) || !strncmp(v, "data:", 5))
        return 0;
    const char *dot = strrchr(v, '.');
    for (size_t i = 0; dot && i < sizeof ext / sizeof ext[0]; i++)
        if (!strcasecmp(dot, ext[i]))
            return 1;
    return 0;
}

/* Where the image a JSON task names lies (see api_dataset_import.local_files), or NULL. */
static char *find_image(const struct api_dataset_import *o, const char *dir, const char *v)
{
    const char *slash = strrchr(v, '/'), *base = slash ? slash + 1 : v;
    char *images = base_path_join(dir, "images"), *c[4] = {0};
    int n = 0;
    if (o->local_files) {
        c[n++] = v[0] == '/' ? base_strdup(v) : base_path_join(dir, v);
        c[n++] = base_strdup(v);
    }
    c[n++] = base_path_join(images, base);
    c[n++] = base_path_join(dir, base);
    char *found = NULL;
    for (int i = 0; i < n; i++) {
        if (!found && base_file_exists(c[i]))
            found = c[i];
        else
            base_free(c[i]);
    }
    base_free(images);
    return found;
}

/* Copies one image a JSON task names into the uploads; data[key] becomes its URL. */
static int copy_image(struct api *api, struct base_arena *a, const struct api_dataset_import *o,
                      json_t *t, const char *key, const char *path, struct saved *saved,
                      struct base_err *err)
{
    char *bytes = NULL;
    size_t len;
    struct image_info info;
    json_t *one = json_array();
    int rc =
        base_file_read(path, API_FILE_MAX, &bytes, &len, err) ||
                check_image(api, path, bytes, len, &info, err) ||
                save_upload(api, a, o->project, key, path, info.format, bytes, len, one, saved, err)
            ? -1
            : 0;
    if (!rc) {
        json_t *made = json_array_get(one, 0);
        json_object_set(json_object_get(t, "data"), key,
                        json_object_get(json_object_get(made, "data"), key));
        json_object_set(t, "file_upload", json_object_get(made, "file_upload"));
    }
    json_decref(one);
    base_free(bytes);
    return rc;
}

/* The images a JSON file's tasks name by path, copied in as uploads (api_dataset_import's
 * local_files). A path that is found nowhere is an error when images could be expected (the
 * command line, or an upload that came with images); otherwise the value stays as it is. */
static int copy_task_images(struct api *api, struct base_arena *a,
                            const struct api_dataset_import *o, json_t *tasks, struct saved *saved,
                            struct base_err *err)
{
    char *dir = base_strdup(o->path), *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    char *images = base_path_join(dir, "images");
    int strict = o->local_files || base_file_exists(images), rc = 0;
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
    {
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(t, "data"), key, v)
        {
            if (rc || !local_image_ref(json_string_value(v)))
                continue;
            char *path = find_image(o, dir, json_string_value(v));
            if (path)
                rc = copy_image(api, a, o, t, key, path, saved, err);
            else if (strict)
                rc = base_err_set(err, BASE_E_INVALID,
                                  "%s: task %zu: image %s not found (next to the JSON file, in its "
                                  "images/ folder%s)",
                                  o->path, i + 1, json_string_value(v),
                                  o->local_files ? ", or at that path" : " of the upload");
            base_free(path);
        }
        if (!rc && o->progress)
            o->progress(o->progress_ctx, i + 1, json_array_size(tasks), "");
    }
    base_free(images);
    base_free(dir);
    return rc;
}

/* Copies each image of the data set as an upload and gives its task the boxes. */
static int tasks_from_dataset(struct api *api, struct base_arena *a,
                              const struct api_dataset_import *o, const struct store_project *row,
                              json_t *tasks, struct saved *saved, struct base_err *err)
{
    struct formats_config *cfg = NULL;
    struct formats_dataset *d = NULL;
    const char *xml = row->label_config;
    struct formats_import_opts io = {.as_predictions = o->as_predictions,
                                     .model_version = o->model_version};
    int rc = formats_config_parse(xml ? xml : "", xml ? strlen(xml) : 0, &cfg, err) ||
                     formats_dataset_read(o->path, o->kind, &d, err)
                 ? -1
                 : 0;
    io.config = cfg;
    if (!rc)
        rc = formats_import_check(d, &io, err);
    for (size_t i = 0; !rc && i < d->nsamples; i++) {
        char *data = NULL;
        size_t len;
        struct image_info info;
        rc = base_file_read(d->samples[i].path, API_FILE_MAX, &data, &len, err) ||
                     check_image(api, d->samples[i].path, data, len, &info, err) ||
                     save_upload(api, a, o->project, formats_config_first_data_key(cfg),
                                 d->samples[i].path, info.format, data, len, tasks, saved, err)
                 ? -1
                 : 0;
        base_free(data);
        if (rc)
            break;
        json_t *t = json_array_get(tasks, json_array_size(tasks) - 1);
        const char *url = json_string_value(
            json_object_get(json_object_get(t, "data"), formats_config_first_data_key(cfg)));
        json_t *boxes = formats_import_task(d, i, url, &io);
        json_object_update_missing(t, boxes); /* adds its annotations or predictions */
        json_decref(boxes);
        if (o->progress)
            o->progress(o->progress_ctx, i + 1, d->nsamples, d->samples[i].path);
    }
    formats_dataset_free(d);
    formats_config_free(cfg);
    return rc;
}

int api_import_dataset(struct api *api, const struct api_dataset_import *o,
                       struct store_import_result *res, struct base_err *err)
{
    struct store_project row = {0};
    json_t *tasks = json_array();
    struct saved saved = {0};
    struct base_arena *a = base_arena_new(16384);
    int rc = store_project_get(api->store, o->project, &row, err);
    if (!rc && o->match_existing && o->kind == FORMATS_JSON) {
        rc = api_import_match(api, o, &row, res, err);
        json_decref(tasks), store_project_release(&row);
        base_arena_free(a);
        return rc;
    }
    if (!rc && o->kind == FORMATS_JSON) {
        json_decref(tasks);
        tasks = NULL;
        rc = tasks_from_json(o, store_project_data_key(&row), &tasks, err) ||
                     copy_task_images(api, a, o, tasks, &saved, err)
                 ? -1
                 : 0;
    } else if (!rc && o->kind >= FORMATS_COCO) {
        rc = tasks_from_dataset(api, a, o, &row, tasks, &saved, err);
    } else if (!rc) {
        rc = base_err_set(err, BASE_E_UNSUPPORTED, "import from %s is not supported",
                          formats_kind_name(o->kind));
    }
    if (!rc)
        rc = store_tasks_import(api->store, o->project, tasks, o->user, res, err);
    saved_release(&saved, rc != 0);
    base_arena_free(a);
    json_decref(tasks);
    store_project_release(&row);
    return rc;
}
