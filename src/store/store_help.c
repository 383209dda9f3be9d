/* What the model saved people: one record per annotation of the boxes it kept, adjusted, deleted
 * and drew against the prediction it started from, summed per model version; and Label Studio's
 * ML backend rows (/api/ml), where the built-in detector is the row with an empty url. */
#include "store_int.h"

#include <stdio.h>
#include <string.h>

static const char SQL_HELP_PUT[] =
    "INSERT INTO ml_help(annotation_id, project_id, task_id, prediction_id,"
    " model_version, shown, accepted, adjusted, deleted, drawn, adjust_iou, lead_time, updated_at)"
    " SELECT id, project_id, task_id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 FROM annotation"
    " WHERE id = ?1 ON CONFLICT(annotation_id) DO UPDATE SET project_id = excluded.project_id,"
    " task_id = excluded.task_id, prediction_id = excluded.prediction_id,"
    " model_version = excluded.model_version, shown = excluded.shown,"
    " accepted = excluded.accepted, adjusted = excluded.adjusted, deleted = excluded.deleted,"
    " drawn = excluded.drawn, adjust_iou = excluded.adjust_iou, lead_time = excluded.lead_time,"
    " updated_at = excluded.updated_at";
static const char SQL_HELP_SUM[] =
    "SELECT model_version, count(*), sum(shown), sum(accepted), sum(adjusted), sum(deleted),"
    " sum(drawn), sum(adjust_iou), count(lead_time), coalesce(avg(lead_time), 0)"
    " FROM ml_help WHERE project_id = ? GROUP BY model_version ORDER BY min(updated_at)";

#define BACKEND_COLS                                                                               \
    "id, project_id, url, title, description, is_interactive, timeout, auto_update, created_at,"   \
    " updated_at, state, error_message, model_version, legacy_train"
static const char SQL_BACKEND_BUILTIN[] = "SELECT " BACKEND_COLS " FROM ml_backend"
                                          " WHERE project_id = ? AND url = '' ORDER BY id LIMIT 1";
static const char SQL_BACKEND_INSERT[] =
    "INSERT INTO ml_backend(project_id, url, title, description, created_at, updated_at)"
    " SELECT id, '', 'labelloop', 'built-in FCOS detector, trained in the background', ?2, ?2"
    " FROM project WHERE id = ?1";
static const char SQL_BACKEND_GET[] = "SELECT " BACKEND_COLS " FROM ml_backend WHERE id = ?";
static const char SQL_BACKEND_EACH[] = "SELECT " BACKEND_COLS " FROM ml_backend"
                                       " WHERE ?1 = 0 OR project_id = ?1 ORDER BY id";
static const char SQL_BACKEND_CREATE[] =
    "INSERT INTO ml_backend(project_id, url, title, description, is_interactive, timeout,"
    " auto_update, state, error_message, model_version, legacy_train, created_at, updated_at)"
    " SELECT id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12 FROM project WHERE id = ?1 "
    "RETURNING id";
static const char SQL_BACKEND_DELETE[] = "DELETE FROM ml_backend WHERE id = ? AND url != ''";
static const char SQL_BACKEND_STATE[] =
    "UPDATE ml_backend SET state = ?2, error_message = ?3, model_version = ?4, legacy_train = ?5"
    " WHERE id = ?1";
static const char SQL_BACKEND_URL[] = "UPDATE ml_backend SET url = ?2 WHERE id = ?1 AND url != ''";
static const char SQL_BACKEND_UPDATE[] =
    "UPDATE ml_backend SET title = ?2, description = ?3, is_interactive = ?4, timeout = ?5,"
    " auto_update = ?6, updated_at = ?7 WHERE id = ?1";

static void bind_help(struct store_stmt *s, void *arg)
{
    const struct store_help *h = arg;
    store_bind_i64(s, 1, h->annotation);
    store_bind_id(s, 2, h->prediction);
    store_bind_text(s, 3, h->model_version);
    int64_t counts[] = {h->shown, h->accepted, h->adjusted, h->deleted, h->drawn};
    for (int i = 0; i < 5; i++)
        store_bind_i64(s, 4 + i, counts[i]);
    store_bind_real(s, 9, h->adjust_iou);
    if (h->has_lead_time)
        store_bind_real(s, 10, h->lead_time);
    else
        store_bind_null(s, 10);
    store_bind_time(s, 11, base_time_us());
}

int store_help_put(struct store *st, const struct store_help *h, struct base_err *err)
{
    char missing[64];
    snprintf(missing, sizeof missing, "annotation %lld not found", (long long)h->annotation);
    return store_write_one(st, SQL_HELP_PUT, bind_help, (void *)h, missing, NULL, err);
}

static void load_help(struct store_stmt *s, struct store_help_sum *h)
{
    memset(h, 0, sizeof *h);
    store_col_copy(s, 0, h->model_version, sizeof h->model_version);
    int64_t *f[] = {&h->annotations, &h->shown, &h->accepted, &h->adjusted, &h->deleted, &h->drawn};
    for (int i = 0; i < 6; i++)
        *f[i] = store_col_i64(s, 1 + i);
    h->adjust_iou_mean = h->adjusted ? store_col_real(s, 7) / (double)h->adjusted : 0;
    h->lead_n = store_col_i64(s, 8);
    h->lead_time_mean = store_col_real(s, 9);
}

STORE_EACH_ROW(help_row, struct store_help_sum, store_help_fn, load_help, STORE_NO_RELEASE)

int store_help_each(struct store *st, int64_t project, store_help_fn fn, void *ctx,
                    struct base_err *err)
{
    struct store_cb x = STORE_CB(fn, ctx);
    return store_read(st, SQL_HELP_SUM, store_bind_id_arg, &project, 0, help_row, &x, err);
}

#define F(col, how, member) STORE_FIELD(col, how, struct store_ml_backend, member)
static const struct store_field BACKEND_FIELDS[] = {
    F(0, I64, id),
    F(1, I64, project),
    F(2, TEXT, url),
    F(3, TEXT, title),
    F(4, TEXT, description),
    F(5, INT, is_interactive),
    F(6, REAL, timeout),
    F(7, INT, auto_update),
    F(8, TIME, created_at),
    F(9, TIME, updated_at),
    F(10, TEXT, state),
    F(11, TEXT, error_message),
    F(12, TEXT, model_version),
    F(13, INT, legacy_train),
};
#undef F

static void load_backend(struct store_stmt *s, void *out)
{
    memset(out, 0, sizeof(struct store_ml_backend));
    store_load_fields(s, BACKEND_FIELDS, sizeof BACKEND_FIELDS / sizeof BACKEND_FIELDS[0], out);
}

/* The project's built-in row on connection c: 0 with *out filled, 1 when there is none. */
static int find_builtin(struct store_conn *c, int64_t project, struct store_ml_backend *out,
                        struct base_err *err)
{
    struct store_one q = {
        .sql = SQL_BACKEND_BUILTIN, .key = project, .load = load_backend, .out = out};
    struct base_err missing = {0};
    int rc = store_one_on(c, &q, &missing);
    if (rc && missing.status != BASE_E_NOTFOUND)
        base_err_set(err, missing.status, "%s", missing.msg);
    return rc && missing.status == BASE_E_NOTFOUND ? 1 : rc;
}

struct builtin {
    int64_t project;
    struct store_ml_backend *out;
};

static int find_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct builtin *b = ctx;
    return find_builtin(c, b->project, b->out, err);
}

static void bind_builtin(struct store_stmt *s, void *project)
{
    store_bind_i64(s, 1, *(const int64_t *)project);
    store_bind_time(s, 2, base_time_us());
}

/* Makes the row, unless another thread just did. */
static int make_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct builtin *b = ctx;
    char missing[64];
    snprintf(missing, sizeof missing, "project %lld not found", (long long)b->project);
    int rc = find_builtin(c, b->project, b->out, err);
    if (rc != 1)
        return rc;
    if (store_write_on(c, SQL_BACKEND_INSERT, bind_builtin, &b->project, missing, NULL, err))
        return -1;
    return find_builtin(c, b->project, b->out, err) ? -1 : 0;
}

int store_ml_backend_builtin(struct store *st, int64_t project, struct store_ml_backend *out,
                             struct base_err *err)
{
    struct builtin b = {project, out};
    int rc = store_tx(st, STORE_TX_NONE, find_body, &b, err);
    return rc == 1 ? store_tx(st, STORE_TX_WRITE, make_body, &b, err) : rc;
}

int store_ml_backend_get(struct store *st, int64_t id, struct store_ml_backend *out,
                         struct base_err *err)
{
    struct store_one q = {.sql = SQL_BACKEND_GET, .key = id, .load = load_backend, .out = out};
    return store_one(st, &q, err);
}

STORE_EACH_ROW(backend_row, struct store_ml_backend, store_ml_backend_fn, load_backend,
               STORE_NO_RELEASE)

int store_ml_backend_each(struct store *st, int64_t project, store_ml_backend_fn fn, void *ctx,
                          struct base_err *err)
{
    struct store_cb x = STORE_CB(fn, ctx);
    return store_read(st, SQL_BACKEND_EACH, store_bind_id_arg, &project, 0, backend_row, &x, err);
}

static void bind_update(struct store_stmt *s, void *arg)
{
    const struct store_ml_backend *b = arg;
    store_bind_i64(s, 1, b->id);
    store_bind_text(s, 2, b->title);
    store_bind_text(s, 3, b->description);
    store_bind_int(s, 4, b->is_interactive);
    store_bind_real(s, 5, b->timeout);
    store_bind_int(s, 6, b->auto_update);
    store_bind_time(s, 7, base_time_us());
}

int store_ml_backend_update(struct store *st, const struct store_ml_backend *b,
                            struct base_err *err)
{
    return store_write_one(st, SQL_BACKEND_UPDATE, bind_update, (void *)b, "Not found.", NULL, err);
}

static void bind_create(struct store_stmt *s, void *arg)
{
    const struct store_ml_backend *b = arg;
    store_bind_i64(s, 1, b->project);
    const char *texts[] = {b->url, b->title, b->description};
    for (int i = 0; i < 3; i++)
        store_bind_text(s, 2 + i, texts[i]);
    store_bind_int(s, 5, b->is_interactive);
    store_bind_real(s, 6, b->timeout);
    store_bind_int(s, 7, b->auto_update);
    store_bind_text(s, 8, b->state[0] ? b->state : "DI");
    store_bind_text(s, 9, b->error_message);
    store_bind_text(s, 10, b->model_version);
    store_bind_int(s, 11, b->legacy_train);
    store_bind_time(s, 12, base_time_us());
}

int store_ml_backend_create(struct store *st, struct store_ml_backend *b, struct base_err *err)
{
    char missing[64];
    snprintf(missing, sizeof missing, "project %lld not found", (long long)b->project);
    return store_write_one(st, SQL_BACKEND_CREATE, bind_create, b, missing, &b->id, err);
}

static void bind_state(struct store_stmt *s, void *arg)
{
    const struct store_ml_backend *b = arg;
    store_bind_i64(s, 1, b->id);
    store_bind_text(s, 2, b->state);
    store_bind_text(s, 3, b->error_message);
    store_bind_text(s, 4, b->model_version);
    store_bind_int(s, 5, b->legacy_train);
}

static void bind_url(struct store_stmt *s, void *arg)
{
    const struct store_ml_backend *b = arg;
    store_bind_i64(s, 1, b->id);
    store_bind_text(s, 2, b->url);
}

int store_ml_backend_delete(struct store *st, int64_t id, struct base_err *err)
{
    return store_write_one(st, SQL_BACKEND_DELETE, store_bind_id_arg, &id, "Not found.", NULL, err);
}

int store_ml_backend_set_state(struct store *st, const struct store_ml_backend *b,
                               struct base_err *err)
{
    return store_write_one(st, SQL_BACKEND_STATE, bind_state, (void *)b, "Not found.", NULL, err);
}

int store_ml_backend_set_url(struct store *st, const struct store_ml_backend *b,
                             struct base_err *err)
{
    return store_write_one(st, SQL_BACKEND_URL, bind_url, (void *)b, "Not found.", NULL, err);
}
