/* Label Studio's cloud storages (/api/storages/s3, /api/storages/export/s3): one row per storage
 * with its settings and sync state as JSON, and the links from imported object keys to the tasks
 * made from them, which make a re-sync import only new objects. */
#include "store_int.h"

#include <string.h>

static const char SQL_INSERT[] =
    "INSERT INTO storage(project_id, type, direction, data, created_at)"
    " SELECT ?1, ?2, ?3, ?4, ?5 FROM project WHERE id = ?1 RETURNING id";
static const char SQL_GET[] = "SELECT id, project_id, type, direction, data, created_at"
                              " FROM storage WHERE id = ?";
static const char SQL_UPDATE[] = "UPDATE storage SET data = ?2 WHERE id = ?1";
static const char SQL_DELETE[] = "DELETE FROM storage WHERE id = ?";
static const char SQL_EACH[] =
    "SELECT id, project_id, type, direction, data, created_at FROM storage"
    " WHERE (?1 = 0 OR project_id = ?1) AND (type = ?2 OR ?2 IS NULL)"
    " AND (direction = ?3 OR ?3 IS NULL) ORDER BY id";
static const char SQL_LINK_HAS[] = "SELECT 1 FROM storage_link WHERE storage_id = ?1 AND key = ?2"
                                   " LIMIT 1";
static const char SQL_LINK_ADD[] =
    "INSERT INTO storage_link(task_id, storage_id, key) VALUES (?3, ?1, ?2)"
    " ON CONFLICT(task_id) DO UPDATE SET storage_id = excluded.storage_id, key = excluded.key";

#define F(col, how, member) STORE_FIELD(col, how, struct store_storage, member)
static const struct store_field FIELDS[] = {
    F(0, I64, id),         F(1, I64, project),     F(2, TEXT, type),
    F(3, TEXT, direction), F(5, TIME, created_at),
};
#undef F

static void load(struct store_stmt *s, void *out)
{
    struct store_storage *v = out;
    memset(v, 0, sizeof *v);
    store_load_fields(s, FIELDS, sizeof FIELDS / sizeof FIELDS[0], v);
    v->data = store_col_json(s, 4);
    if (!json_is_object(v->data)) {
        json_decref(v->data);
        v->data = json_object();
    }
}

void store_storage_release(struct store_storage *s)
{
    if (!s)
        return;
    json_decref(s->data);
    s->data = NULL;
}

struct storage_args {
    int64_t id, project;
    const char *type, *direction;
    const json_t *data;
};

static void bind_insert(struct store_stmt *s, void *arg)
{
    const struct storage_args *a = arg;
    store_bind_i64(s, 1, a->project);
    store_bind_text(s, 2, a->type);
    store_bind_text(s, 3, a->direction);
    store_bind_json(s, 4, a->data);
    store_bind_time(s, 5, base_time_us());
}

int store_storage_create(struct store *st, int64_t project, const char *type, const char *direction,
                         const json_t *data, int64_t *id, struct base_err *err)
{
    struct storage_args a = {0, project, type, direction, data};
    return store_write_one(st, SQL_INSERT, bind_insert, &a, "Not found.", id, err);
}

int store_storage_get(struct store *st, int64_t id, struct store_storage *out, struct base_err *err)
{
    memset(out, 0, sizeof *out);
    struct store_one q = {.sql = SQL_GET, .key = id, .load = load, .out = out};
    return store_one(st, &q, err);
}

static void bind_update(struct store_stmt *s, void *arg)
{
    const struct storage_args *a = arg;
    store_bind_i64(s, 1, a->id);
    store_bind_json(s, 2, a->data);
}

int store_storage_update(struct store *st, int64_t id, const json_t *data, struct base_err *err)
{
    struct storage_args a = {.id = id, .data = data};
    return store_write_one(st, SQL_UPDATE, bind_update, &a, "Not found.", NULL, err);
}

int store_storage_delete(struct store *st, int64_t id, struct base_err *err)
{
    return store_write_tx(st, SQL_DELETE, store_bind_id_arg, &id, "Not found.", err);
}

static void bind_each(struct store_stmt *s, void *arg)
{
    const struct storage_args *a = arg;
    store_bind_i64(s, 1, a->project);
    store_bind_text(s, 2, a->type);
    store_bind_text(s, 3, a->direction);
}

STORE_EACH_ROW(each_row, struct store_storage, store_storage_fn, load, store_storage_release)

int store_storage_each(struct store *st, int64_t project, const char *type, const char *direction,
                       store_storage_fn fn, void *ctx, struct base_err *err)
{
    struct storage_args a = {0, project, type, direction, NULL};
    struct store_cb x = STORE_CB(fn, ctx);
    return store_read(st, SQL_EACH, bind_each, &a, 0, each_row, &x, err);
}

struct link_args {
    int64_t storage, task;
    const char *key;
};

static void bind_link(struct store_stmt *s, void *arg)
{
    const struct link_args *a = arg;
    store_bind_i64(s, 1, a->storage);
    store_bind_text(s, 2, a->key);
    store_bind_i64(s, 3, a->task);
}

static int found(void *ctx, struct store_stmt *s, struct base_err *err)
{
    (void)s, (void)err;
    *(int *)ctx = 1;
    return 0;
}

int store_storage_link_has(struct store *st, int64_t storage, const char *key, int *has,
                           struct base_err *err)
{
    struct link_args a = {storage, 0, key};
    *has = 0;
    return store_read(st, SQL_LINK_HAS, bind_link, &a, 0, found, has, err);
}

struct links {
    int64_t storage;
    const char *const *keys;
    const int64_t *tasks;
    size_t n;
};

static int add_links(struct store_conn *c, void *ctx, struct base_err *err)
{
    const struct links *l = ctx;
    for (size_t i = 0; i < l->n; i++) {
        struct link_args a = {l->storage, l->tasks[i], l->keys[i]};
        if (store_write_on(c, SQL_LINK_ADD, bind_link, &a, NULL, NULL, err))
            return -1;
    }
    return 0;
}

int store_storage_links_add(struct store *st, int64_t storage, const char *const *keys,
                            const int64_t *tasks, size_t n, struct base_err *err)
{
    struct links l = {storage, keys, tasks, n};
    return store_tx(st, STORE_TX_WRITE, add_links, &l, err);
}
