/* Export snapshots (/api/projects/{id}/exports): a row per snapshot with the options it was made
 * with and, once made, the file it wrote (under the data dir), its md5 and task count. */
#include "store_int.h"

#include <string.h>

#define COLS                                                                                       \
    "id, project_id, created_by_id, title, status, file, md5, counters, options, created_at,"      \
    " finished_at"

static const char SQL_INSERT[] =
    "INSERT INTO export_snapshot(project_id, created_by_id, title, status, options, created_at)"
    " SELECT ?1, ?2, ?3, 'created', ?4, ?5 FROM project WHERE id = ?1 RETURNING id";
static const char SQL_FINISH[] = "UPDATE export_snapshot SET status = ?2, file = ?3, md5 = ?4,"
                                 " counters = ?5, finished_at = ?6 WHERE id = ?1";
static const char SQL_GET[] = "SELECT " COLS " FROM export_snapshot WHERE id = ?";
static const char SQL_EACH[] = "SELECT " COLS " FROM export_snapshot WHERE project_id = ?"
                               " ORDER BY id DESC LIMIT ?";
static const char SQL_FILE[] = "SELECT file FROM export_snapshot WHERE id = ?";
static const char SQL_DELETE[] = "DELETE FROM export_snapshot WHERE id = ?";

static json_t *object_col(struct store_stmt *s, int i)
{
    json_t *v = store_col_json(s, i);
    if (json_is_object(v))
        return v;
    json_decref(v);
    return json_object();
}

static void load(struct store_stmt *s, void *out)
{
    struct store_snapshot *x = out;
    memset(x, 0, sizeof *x);
    x->id = store_col_i64(s, 0);
    x->project = store_col_i64(s, 1);
    x->created_by = store_col_i64(s, 2);
    const char *title = store_col_str(s, 3);
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

static void bind_create(struct store_stmt *s, void *arg)
{
    const struct create_args *a = arg;
    store_bind_i64(s, 1, a->project);
    store_bind_id(s, 2, a->user);
    store_bind_text(s, 3, a->title);
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

static void bind_finish(struct store_stmt *s, void *arg)
{
    const struct finish_args *a = arg;
    store_bind_i64(s, 1, a->id);
    store_bind_text(s, 2, a->status);
    store_bind_text(s, 3, a->file ? a->file : "");
    store_bind_text(s, 4, a->md5 ? a->md5 : "");
    if (a->counters)
        store_bind_json(s, 5, a->counters);
    else
        store_bind_static(s, 5, "{}");
    store_bind_time(s, 6, base_time_us());
}

int store_snapshot_finish(struct store *st, int64_t id, const char *status, const char *file,
                          const char *md5, const json_t *counters, struct base_err *err)
{
    struct finish_args a = {id, status, file, md5, counters};
    return store_write_one(st, SQL_FINISH, bind_finish, &a, "Not found.", NULL, err);
}

int store_snapshot_get(struct store *st, int64_t id, struct store_snapshot *out,
                       struct base_err *err)
{
    memset(out, 0, sizeof *out);
    struct store_one q = {.sql = SQL_GET, .key = id, .load = load, .out = out};
    return store_one(st, &q, err);
}

STORE_EACH_ROW(each_row, struct store_snapshot, store_snapshot_fn, load, store_snapshot_release)

int store_snapshot_each(struct store *st, int64_t project, int64_t limit, store_snapshot_fn fn,
                        void *ctx, struct base_err *err)
{
    int64_t keys[2] = {project, limit > 0 ? limit : STORE_NO_LIMIT};
    struct store_cb x = STORE_CB(fn, ctx);
    return store_read(st, SQL_EACH, store_bind_ids_arg, keys, 0, each_row, &x, err);
}

static void load_file(struct store_stmt *s, void *file)
{
    const char *f = store_col_str(s, 0);
    *(char **)file = base_strdup(f ? f : "");
}

struct delete_args {
    int64_t id;
    char **file;
};

static int delete_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct delete_args *a = ctx;
    struct store_one q = {.sql = SQL_FILE, .key = a->id, .load = load_file, .out = a->file};
    if (store_one_on(c, &q, err))
        return -1;
    return store_write_on(c, SQL_DELETE, store_bind_id_arg, &a->id, NULL, NULL, err);
}

int store_snapshot_delete(struct store *st, int64_t id, char **file, struct base_err *err)
{
    *file = NULL;
    struct delete_args a = {id, file};
    int rc = store_tx(st, STORE_TX_WRITE, delete_body, &a, err);
    if (rc) {
        base_free(*file);
        *file = NULL;
    }
    return rc;
}
