/* Label Studio's tasks and annotations mirrored into the backend's labelloop project, so that the
 * loop trains on them as on its own: a new task gets its image fetched (mlb_media) and linked in
 * as an upload; annotations are matched by Label Studio's annotation id (kept in the task's meta
 * as "ls_ann": {"<ls id>": <local id>}) and created, replaced or deleted, so that a task keeps its
 * id and with it its side of the held-out split. One task whose image cannot be read is skipped
 * and named, never the whole batch. */
#include "mlb_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Local tasks by Label Studio task id: {"<ls id>": {"id": local, "meta": {...}}}. */
static int index_task(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)err;
    json_t *ls = json_object_get(t->meta, "ls_id");
    if (json_is_integer(ls)) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)json_integer_value(ls));
        json_object_set_new(ctx, key,
                            json_pack("{s:I, s:O}", "id", (json_int_t)t->id, "meta", t->meta));
    }
    return 0;
}

static json_t *task_index(struct mlb_server *s, int64_t project, struct base_err *err)
{
    json_t *idx = json_object();
    struct store_task_query q = {.project = project};
    if (store_task_each(s->st, &q, index_task, idx, err)) {
        json_decref(idx);
        return NULL;
    }
    return idx;
}

const char *mlb_media_url(const json_t *data, const char *key)
{
    const char *url = json_string_value(json_object_get(data, key));
    if (url)
        return url;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)data, k, v)
    {
        if (json_is_string(v))
            return json_string_value(v);
    }
    return NULL;
}

/* Links (or copies) the fetched file into media/upload/<project>/ as "<ls task id>-<cached
 * name>" (two tasks may show the same image; each upload record names its own file) and returns
 * that name. */
static char *place_upload(struct mlb_server *s, int64_t project, int64_t ls_task,
                          const char *cached, struct base_err *err)
{
    char rel[64];
    snprintf(rel, sizeof rel, "media/upload/%lld", (long long)project);
    char *dir = base_path_join(s->data_dir, rel);
    const char *base = strrchr(cached, '/') ? strrchr(cached, '/') + 1 : cached;
    char *name = base_alloc(strlen(base) + 32);
    sprintf(name, "%lld-%s", (long long)ls_task, base);
    char *dst = base_path_join(dir, name);
    int rc = base_mkdirs(dir, err);
    if (rc == 0 && !base_file_exists(dst) && link(cached, dst)) {
        char *bytes = NULL;
        size_t len = 0;
        rc = base_file_read(cached, MLB_MAX_MEDIA, &bytes, &len, err) ||
                     base_file_write_atomic(dst, bytes, len, err)
                 ? -1
                 : 0;
        base_free(bytes);
    }
    base_free(dir);
    base_free(dst);
    if (rc) {
        base_free(name);
        return NULL;
    }
    return name;
}

/* Imports a new task (without annotations) and returns its local id, 0 when skipped. */
static int64_t add_task(struct mlb_server *s, const char *uid, int64_t project, const char *key,
                        const json_t *t, struct mlb_sync_stats *st, struct base_err *err)
{
    const json_t *data = json_object_get(t, "data");
    const char *url = mlb_media_url(data, key);
    char host[1024], token[MLB_TOKEN_MAX];
    mlb_project_source(s, uid, host, sizeof host, token, sizeof token);
    struct mlb_source src = {host, token};
    struct base_err why = {0};
    char *cached = url ? mlb_media_get(s->media, &src, url, &why) : NULL;
    char *name = cached ? place_upload(s, project, json_integer_value(json_object_get(t, "id")),
                                       cached, &why)
                        : NULL;
    base_free(cached);
    if (!name) {
        st->skipped++;
        if (!st->first_error[0])
            snprintf(st->first_error, sizeof st->first_error, "task %lld: %s",
                     (long long)json_integer_value(json_object_get(t, "id")),
                     url ? why.msg : "no media URL in its data");
        return 0;
    }
    char upload[512], file[512];
    snprintf(upload, sizeof upload, "/data/upload/%lld/%s", (long long)project, name);
    snprintf(file, sizeof file, "upload/%lld/%s", (long long)project, name);
    base_free(name);
    json_t *items =
        json_pack("[{s:{s:s}, s:{s:O, s:O, s:{}}, s:s}]", "data", key, upload, "meta", "ls_id",
                  json_object_get(t, "id"), "ls_data", data, "ls_ann", "file_upload", file);
    struct store_import_result res = {0};
    int rc = store_tasks_import(s->st, project, items, 0, &res, err);
    json_decref(items);
    if (rc)
        return -1;
    st->added++;
    return res.first_task_id;
}

static void annotation_of(const json_t *a, struct store_annotation *v)
{
    memset(v, 0, sizeof *v);
    json_t *result = json_object_get(a, "result");
    v->result = json_is_array(result) ? result : NULL;
    v->was_cancelled = json_is_true(json_object_get(a, "was_cancelled"));
    v->ground_truth = json_is_true(json_object_get(a, "ground_truth"));
    json_t *lead = json_object_get(a, "lead_time");
    v->has_lead_time = json_is_number(lead);
    v->lead_time = json_number_value(lead);
}

/* Creates or replaces one annotation; returns 1 when something changed. */
static int put_annotation(struct mlb_server *s, int64_t task, json_t *ls_ann, const char *aid,
                          const json_t *a, struct base_err *err)
{
    struct store_annotation v, old = {0};
    annotation_of(a, &v);
    int64_t local = json_integer_value(json_object_get(ls_ann, aid));
    if (local > 0 && store_annotation_get(s->st, local, &old, NULL) == 0) {
        int same = old.was_cancelled == v.was_cancelled && old.ground_truth == v.ground_truth &&
                   ((!old.result && !v.result) ||
                    (old.result && v.result && json_equal(old.result, v.result)));
        store_annotation_release(&old);
        if (same)
            return 0;
        unsigned set = STORE_SET_RESULT | STORE_SET_WAS_CANCELLED | STORE_SET_GROUND_TRUTH |
                       STORE_SET_LEAD_TIME;
        return store_annotation_update(s->st, local, set, &v, err) ? -1 : 1;
    }
    if (store_annotation_create(s->st, task, &v, &local, err))
        return -1;
    json_object_set_new(ls_ann, aid, json_integer(local));
    return 1;
}

static void aid_of(const json_t *a, size_t i, char *out, size_t size)
{
    json_t *id = json_object_get(a, "id");
    if (json_is_integer(id))
        snprintf(out, size, "%lld", (long long)json_integer_value(id));
    else
        snprintf(out, size, "n%zu", i); /* an annotation without an id: by position */
}

/* Applies Label Studio's annotations of one task; returns 1 when something changed. */
static int apply(struct mlb_server *s, int64_t task, json_t *meta, const json_t *anns, int full,
                 struct base_err *err)
{
    json_t *ls_ann = json_object_get(meta, "ls_ann");
    if (!json_is_object(ls_ann))
        json_object_set_new(meta, "ls_ann", ls_ann = json_object());
    int changed = 0;
    json_t *seen = json_object();
    size_t i;
    json_t *a;
    json_array_foreach(anns, i, a)
    {
        char aid[32];
        aid_of(a, i, aid, sizeof aid);
        json_object_set_new(seen, aid, json_true());
        int rc = json_is_object(a) ? put_annotation(s, task, ls_ann, aid, a, err) : 0;
        if (rc < 0) {
            json_decref(seen);
            return -1;
        }
        changed |= rc;
    }
    const char *k;
    json_t *v, *tmp;
    json_object_foreach_safe(ls_ann, tmp, k, v)
    {
        if (!full || json_object_get(seen, k))
            continue;
        store_annotation_delete(s->st, json_integer_value(v), NULL);
        json_object_del(ls_ann, k);
        changed = 1;
    }
    json_decref(seen);
    if (changed && store_task_update(s->st, task, NULL, meta, 0, err))
        return -1;
    return changed;
}

static int sync_one(struct mlb_server *s, const char *uid, int64_t project, const char *key,
                    json_t *idx, const json_t *t, const json_t *anns, int full,
                    struct mlb_sync_stats *st, struct base_err *err)
{
    json_t *id = json_object_get(t, "id");
    if (!json_is_integer(id)) {
        st->skipped++;
        return 0;
    }
    char k[32];
    snprintf(k, sizeof k, "%lld", (long long)json_integer_value(id));
    json_t *e = json_object_get(idx, k);
    int64_t local = json_integer_value(json_object_get(e, "id"));
    json_t *meta = e ? json_deep_copy(json_object_get(e, "meta")) : NULL;
    if (!e) {
        if ((local = add_task(s, uid, project, key, t, st, err)) <= 0)
            return (int)local;
        meta = json_pack("{s:O, s:O, s:{}}", "ls_id", id, "ls_data", json_object_get(t, "data"),
                         "ls_ann");
        json_object_set_new(idx, k, json_pack("{s:I, s:O}", "id", (json_int_t)local, "meta", meta));
    }
    int rc = apply(s, local, meta, anns, full, err);
    if (rc > 0)
        st->changed++;
    if (rc >= 0 && e)
        json_object_set(e, "meta", meta);
    json_decref(meta);
    return rc < 0 ? -1 : 0;
}

static int data_key(struct mlb_server *s, int64_t project, char *out, size_t size,
                    struct base_err *err)
{
    struct store_project p = {0};
    if (store_project_get(s->st, project, &p, err))
        return -1;
    const char *k = store_project_data_key(&p);
    snprintf(out, size, "%s", k ? k : "image");
    store_project_release(&p);
    return 0;
}

int mlb_sync_tasks(struct mlb_server *s, const char *uid, int64_t project, const json_t *tasks,
                   int full, struct mlb_sync_stats *out, struct base_err *err)
{
    memset(out, 0, sizeof *out);
    char key[128];
    json_t *idx = NULL;
    if (data_key(s, project, key, sizeof key, err) || !(idx = task_index(s, project, err)))
        return -1;
    json_t *listed = json_object();
    size_t i;
    json_t *t;
    int rc = 0;
    json_array_foreach(tasks, i, t)
    {
        if (!json_is_object(t) || !json_is_object(json_object_get(t, "data"))) {
            out->skipped++;
            continue;
        }
        out->tasks++;
        json_t *anns = json_object_get(t, "annotations");
        json_t *none = json_array();
        rc = sync_one(s, uid, project, key, idx, t, json_is_array(anns) ? anns : none, 1, out, err);
        json_decref(none);
        if (rc)
            break;
        char k[32];
        snprintf(k, sizeof k, "%lld", (long long)json_integer_value(json_object_get(t, "id")));
        json_object_set_new(listed, k, json_true());
    }
    const char *k;
    json_t *e;
    json_object_foreach(idx, k, e)
    {
        if (rc || !full || json_object_get(listed, k))
            continue;
        json_t *meta = json_deep_copy(json_object_get(e, "meta")), *none = json_array();
        int r = apply(s, json_integer_value(json_object_get(e, "id")), meta, none, 1, err);
        out->changed += r > 0;
        rc = r < 0 ? -1 : 0;
        json_decref(meta);
        json_decref(none);
    }
    json_decref(listed);
    json_decref(idx);
    return rc;
}

int mlb_sync_annotation(struct mlb_server *s, const char *uid, int64_t project, const json_t *task,
                        const json_t *annotation, struct base_err *err)
{
    char key[128];
    json_t *idx = NULL;
    if (data_key(s, project, key, sizeof key, err) || !(idx = task_index(s, project, err)))
        return -1;
    struct mlb_sync_stats st = {0};
    json_t *one = json_pack("[O]", annotation);
    int rc = sync_one(s, uid, project, key, idx, task, one, 0, &st, err);
    json_decref(one);
    json_decref(idx);
    if (rc == 0 && st.skipped)
        rc = base_err_set(err, BASE_E_IO, "%s", st.first_error);
    return rc;
}

int mlb_sync_delete(struct mlb_server *s, int64_t project, const json_t *ids, struct base_err *err)
{
    json_t *idx = task_index(s, project, err);
    if (!idx)
        return -1;
    const char *k;
    json_t *e;
    int rc = 0;
    json_object_foreach(idx, k, e)
    {
        json_t *meta = json_object_get(e, "meta"), *ls_ann = json_object_get(meta, "ls_ann");
        int changed = 0;
        size_t i;
        json_t *id;
        json_array_foreach(ids, i, id)
        {
            char aid[32];
            aid_of(id, i, aid, sizeof aid);
            json_t *local = json_object_get(ls_ann, aid);
            if (!json_is_integer(json_object_get(id, "id")) || !local)
                continue;
            store_annotation_delete(s->st, json_integer_value(local), NULL);
            json_object_del(ls_ann, aid);
            changed = 1;
        }
        if (changed && store_task_update(s->st, json_integer_value(json_object_get(e, "id")), NULL,
                                         meta, 0, err))
            rc = -1;
    }
    json_decref(idx);
    return rc;
}

static int export_task(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)err;
    json_t *anns = json_array(), *rev = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(t->meta, "ls_ann"), k, v)
    {
        char local[32];
        snprintf(local, sizeof local, "%lld", (long long)json_integer_value(v));
        json_object_set_new(rev, local, json_string(k));
    }
    for (size_t i = 0; i < t->nannotations; i++) {
        const struct store_annotation *a = &t->annotations[i];
        char local[32];
        snprintf(local, sizeof local, "%lld", (long long)a->id);
        const char *aid = json_string_value(json_object_get(rev, local));
        int64_t n = 0;
        json_t *id = aid && !base_parse_i64(aid, &n) ? json_integer(n) : json_null();
        json_array_append_new(anns, json_pack("{s:o, s:O, s:b, s:b}", "id", id, "result",
                                              a->result ? a->result : json_null(), "was_cancelled",
                                              a->was_cancelled, "ground_truth", a->ground_truth));
    }
    json_array_append_new(
        ctx, json_pack("{s:O, s:O, s:o, s:[]}", "id", json_object_get(t->meta, "ls_id"), "data",
                       json_object_get(t->meta, "ls_data"), "annotations", anns, "predictions"));
    json_decref(rev);
    return 0;
}

json_t *mlb_train_data(struct mlb_server *s, int64_t project, struct base_err *err)
{
    json_t *out = json_array();
    struct store_task_query q = {.project = project, .only_annotated = 1, .with_annotations = 1};
    if (store_task_each(s->st, &q, export_task, out, err)) {
        json_decref(out);
        return NULL;
    }
    return out;
}
