/* Saved data-manager views (Label Studio's tabs, /api/dm/views): one row per view holding the
 * tab's settings as JSON, filters and ordering included, so a view is read back exactly as it
 * was saved. */
#include "store_int.h"

#include <string.h>

static const char SQL_INSERT[] =
    "INSERT INTO dm_view(project_id, user_id, data, created_at,"
    " updated_at) SELECT ?1, ?2, ?3, ?4, ?4 FROM project WHERE id = ?1 RETURNING id";
static const char SQL_GET[] = "SELECT id, project_id, user_id, data, created_at, updated_at"
                              " FROM dm_view WHERE id = ?";
static const char SQL_UPDATE[] =
    "UPDATE dm_view SET data = ?2, updated_at = ?3,"
    " project_id = CASE WHEN ?4 > 0 THEN ?4 ELSE project_id END WHERE id = ?1";
static const char SQL_DELETE[] = "DELETE FROM dm_view WHERE id = ?";
static const char SQL_DELETE_PROJECT[] = "DELETE FROM dm_view WHERE project_id = ?";
static const char SQL_EACH[] = "SELECT id, project_id, user_id, data, created_at, updated_at"
                               " FROM dm_view WHERE ?1 = 0 OR project_id = ?1 ORDER BY id";

#define F(col, how, member) STORE_FIELD(col, how, struct store_view, member)
static const struct store_field FIELDS[] = {
    F(0, I64, id),          F(1, I64, project),     F(2, I64, user),
    F(4, TIME, created_at), F(5, TIME, updated_at),
};
#undef F

static void load(struct store_stmt *s, void *out)
{
    struct store_view *v = out;
    memset(v, 0, sizeof *v);
    store_load_fields(s, FIELDS, sizeof FIELDS / sizeof FIELDS[0], v);
    v->data = store_col_json(s, 3);
    if (!json_is_object(v->data)) {
        json_decref(v->data);
        v->data = json_object();
    }
}

void store_view_release(struct store_view *v)
{
    if (!v)
        return;
    json_decref(v->data);
    v->data = NULL;
}

struct view_args {
    int64_t id, project, user;
    const json_t *data;
};

static void bind_insert(struct store_stmt *s, void *arg)
{
    const struct view_args *a = arg;
    store_bind_i64(s, 1, a->project);
    store_bind_id(s, 2, a->user);
    store_bind_json(s, 3, a->data);
    store_bind_time(s, 4, base_time_us());
}

int store_view_create(struct store *st, int64_t project, int64_t user, const json_t *data,
                      int64_t *id, struct base_err *err)
{
    struct view_args a = {0, project, user, data};
    return store_write_one(st, SQL_INSERT, bind_insert, &a, "Not found.", id, err);
}

static void bind_update(struct store_stmt *s, void *arg)
{
    const struct view_args *a = arg;
    store_bind_i64(s, 1, a->id);
    store_bind_json(s, 2, a->data);
    store_bind_time(s, 3, base_time_us());
    store_bind_i64(s, 4, a->project);
}

int store_view_update(struct store *st, int64_t id, int64_t project, const json_t *data,
                      struct base_err *err)
{
    struct view_args a = {id, project, 0, data};
    return store_write_one(st, SQL_UPDATE, bind_update, &a, "Not found.", NULL, err);
}

int store_view_delete(struct store *st, int64_t id, struct base_err *err)
{
    return store_write_one(st, SQL_DELETE, store_bind_id_arg, &id, "Not found.", NULL, err);
}

int store_views_delete_project(struct store *st, int64_t project, int64_t *n, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    struct store_stmt *s = store_prepare(c, SQL_DELETE_PROJECT, err);
    int rc = -1;
    if (s) {
        store_bind_i64(s, 1, project);
        rc = store_step_done(c, s, err);
        if (rc == 0 && n)
            *n = store_changes(c);
    }
    store_conn_put(st, c);
    return rc;
}

int store_view_get(struct store *st, int64_t id, struct store_view *out, struct base_err *err)
{
    memset(out, 0, sizeof *out);
    struct store_one q = {.sql = SQL_GET, .key = id, .load = load, .out = out};
    return store_one(st, &q, err);
}

STORE_EACH_ROW(each_row, struct store_view, store_view_fn, load, store_view_release)

int store_view_each(struct store *st, int64_t project, store_view_fn fn, void *ctx,
                    struct base_err *err)
{
    struct store_cb x = STORE_CB(fn, ctx);
    return store_read(st, SQL_EACH, store_bind_id_arg, &project, 0, each_row, &x, err);
}
