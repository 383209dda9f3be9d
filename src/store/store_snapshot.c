/* Export snapshots (/api/projects/{id}/exports): a row per snapshot with the options it was made
 * with and, once made, the file it wrote (under the data dir), its md5 and task count. */
#include "store_int.h"

#include <string.h>

#define COLS                                                                                       \
    "id, project_id, created_by_id, title, status, file, md5, counters, options, created_at,"      \
    " finished_at"

static const char SQL_INSERT[] =
    "INSERT INTO export_snapshot(project_id, created_by_id, title, status, options, created_at)"
    " SELECT ?1, ?2, ?3, 'created', ?4, ?5 FROM project WHERE id = ?1";
static const char SQL_FINISH[] = "UPDATE export_snapshot SET status = ?2, file = ?3, md5 = ?4,"
                                 " counters = ?5, finished_at = ?6 WHERE id = ?1";
static const char SQL_GET[] = "SELECT " COLS " FROM export_snapshot WHERE id = ?";
static const char SQL_EACH[] = "SELECT " COLS " FROM export_snapshot WHERE project_id = ?"
                               " ORDER BY id DESC LIMIT ?";
static const char SQL_FILE[] = "SELECT file FROM export_snapshot WHERE id = ?";
static const char SQL_DELETE[] = "DELETE FROM export_snapshot WHERE id = ?";

static json_t *object_col(sqlite3_stmt *s, int i)
{
    json_t *v = store_col_json(s, i);
    if (json_is_object(v))
        return v;
    json_decref(v);
    return json_object();
}

static void load(sqlite3_stmt *s, struct store_snapshot *x)
{
    memset(x, 0, sizeof *x);
    x->id = sqlite3_column_int64(s, 0);
    x->project = sqlite3_column_int64(s, 1);
    x->created_by = sqlite3_column_int64(s, 2);
    const char *title = (const char *)sqlite3_column_text(s, 3);
    x->title = base_strdup(title ? title : "");
    store_col_copy(s, 4, x->status, sizeof x->status);
    store_col_copy(s, 5, x->file, sizeof x->file);
    store_col_copy(s, 6, x->md5, sizeof x->md5);
    x->counters = object_col(s, 7);
    x->options = object_col(s, 8);
    x->created_at = store_col_time(s, 9);
    x->finished_at = store_col_time(s, 10);
}

void store_snapshot_release(struct store_snapshot *x)
{
    if (!x)
        return;
    base_free(x->title);
    json_decref(x->counters);
    json_decref(x->options);
    x->title = NULL;
    x->counters = x->options = NULL;
}

struct create_args {
    int64_t project, user;
    const char *title;
    const json_t *options;
};

static void bind_create(sqlite3_stmt *s, void *arg)
{
    const struct create_args *a = arg;
    sqlite3_bind_int64(s, 1, a->project);
    store_bind_id(s, 2, a->user);
    sqlite3_bind_text(s, 3, a->title, -1, SQLITE_TRANSIENT);
    store_bind_json(s, 4, a->options);
    store_bind_time(s, 5, base_time_us());
}

int store_snapshot_create(struct store *st, int64_t project, int64_t user, const char *title,
                          const json_t *options, int64_t *id, struct base_err *err)
{
    struct create_args a = {project, user, title ? title : "", options};
    return store_write_one(st, SQL_INSERT, bind_create, &a, "Not found.", id, err);
}

struct finish_args {
    int64_t id;
    const char *status, *file, *md5;
    const json_t *counters;
};

static void bind_finish(sqlite3_stmt *s, void *arg)
{
    const struct finish_args *a = arg;
    sqlite3_bind_int64(s, 1, a->id);
    sqlite3_bind_text(s, 2, a->status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, a->file ? a->file : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, a->md5 ? a->md5 : "", -1, SQLITE_TRANSIENT);
    if (a->counters)
        store_bind_json(s, 5, a->counters);
    else
        sqlite3_bind_text(s, 5, "{}", 2, SQLITE_STATIC);
    store_bind_time(s, 6, base_time_us());
}

int store_snapshot_finish(struct store *st, int64_t id, const char *status, const char *file,
                          const char *md5, const json_t *counters, struct base_err *err)
{
    struct finish_args a = {id, status, file, md5, counters};
    return store_write_one(st, SQL_FINISH, bind_finish, &a, "Not found.", NULL, err);
}

static int load_row(void *ctx, sqlite3_stmt *s, struct base_err *err)
{
    (void)err;
    load(s, ctx);
    return 0;
}

int store_snapshot_get(struct store *st, int64_t id, struct store_snapshot *out,
                       struct base_err *err)
{
    memset(out, 0, sizeof *out);
    return store_read(st, SQL_GET, store_bind_id_arg, &id, 1, load_row, out, err);
}

struct each_ctx {
    int64_t project, limit;
    store_snapshot_fn fn;
    void *ctx;
};

static void bind_each(sqlite3_stmt *s, void *arg)
{
    const struct each_ctx *x = arg;
    sqlite3_bind_int64(s, 1, x->project);
    sqlite3_bind_int64(s, 2, x->limit);
}

static int each_row(void *ctx, sqlite3_stmt *s, struct base_err *err)
{
    struct each_ctx *x = ctx;
    struct store_snapshot snap;
    load(s, &snap);
    int rc = x->fn(x->ctx, &snap, err);
    store_snapshot_release(&snap);
    return rc;
}

int store_snapshot_each(struct store *st, int64_t project, int64_t limit, store_snapshot_fn fn,
                        void *ctx, struct base_err *err)
{
    struct each_ctx x = {project, limit, fn, ctx};
    return store_read(st, SQL_EACH, bind_each, &x, 0, each_row, &x, err);
}

int store_snapshot_delete(struct store *st, int64_t id, char **file, struct base_err *err)
{
    *file = NULL;
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    sqlite3_stmt *s;
    int rc = -1;
    if (store_begin(c, 1, err) || !(s = store_stmt(c, SQL_FILE, err)))
        goto out;
    sqlite3_bind_int64(s, 1, id);
    if (store_step_row(c, s, err, BASE_E_NOTFOUND, "Not found."))
        goto out;
    const char *f = (const char *)sqlite3_column_text(s, 0);
    *file = base_strdup(f ? f : "");
    sqlite3_reset(s);
    if (!(s = store_stmt(c, SQL_DELETE, err)))
        goto out;
    sqlite3_bind_int64(s, 1, id);
    rc = store_step_done(c, s, err) || store_commit(c, err) ? -1 : 0;
out:
    store_rollback(c);
    store_conn_put(st, c);
    if (rc) {
        base_free(*file);
        *file = NULL;
    }
    return rc;
}
