/* The model registry: every version a training job made, with its held-out metrics, the metrics
 * of the version it was compared with, lineage and file; promotion and rollback move the
 * project's model_version (Label Studio's field) and re-rank the queue in the same transaction. */
#include "store_int.h"

#include <sodium.h>

#include <string.h>

#define VERSION_COLS                                                                               \
    "v.id, v.project_id, v.seq, v.parent_id, v.job_id, v.name, v.file, v.arch, v.input_size,"      \
    " v.classes, v.train_images, v.heldout_images, v.epochs, v.duration_s, v.ap, v.ap50, v.ap75,"  \
    " v.base_ap, v.base_ap50, v.base_ap75, v.score_thr, v.promoted, v.reason, v.created_at,"       \
    " v.promoted_at, v.name = p.model_version"

static const char SQL_GET[] = "SELECT " VERSION_COLS " FROM ml_version v JOIN project p"
                              " ON p.id = v.project_id WHERE v.id = ?";
static const char SQL_CURRENT[] = "SELECT " VERSION_COLS " FROM ml_version v JOIN project p"
                                  " ON p.id = v.project_id WHERE p.id = ? AND v.name ="
                                  " p.model_version";
static const char SQL_EACH[] = "SELECT " VERSION_COLS " FROM ml_version v JOIN project p"
                               " ON p.id = v.project_id WHERE ?1 = 0 OR p.id = ?1"
                               " ORDER BY v.project_id, v.seq";
static const char SQL_SEQ[] = "SELECT coalesce(max(seq), 0) + 1 FROM ml_version"
                              " WHERE project_id = ?";
static const char SQL_INSERT[] =
    "INSERT INTO ml_version(project_id, seq, name, parent_id, job_id, file, arch, input_size,"
    " classes, train_images, heldout_images, epochs, duration_s, ap, ap50, ap75, base_ap,"
    " base_ap50, base_ap75, score_thr, promoted, reason, created_at, promoted_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
    " ?19, ?20, ?21, ?22, ?23, CASE WHEN CAST(?21 AS BIGINT) <> 0 THEN ?23 END) RETURNING id";
static const char SQL_JOB_VERSION[] = "UPDATE ml_job SET version_id = ?2 WHERE id = ?1"
                                      " AND state = 'running'";
static const char SQL_PROMOTE[] =
    "UPDATE project SET model_version = (SELECT name FROM ml_version WHERE id = ?1),"
    " updated_at = ?2 WHERE id = (SELECT project_id FROM ml_version WHERE id = ?1)";
static const char SQL_PROMOTED_AT[] = "UPDATE ml_version SET promoted_at = ?2 WHERE id = ?1";
static const char SQL_PROJECT_OF[] = "SELECT v.project_id, v.file, v.name = p.model_version"
                                     " FROM ml_version v JOIN project p ON p.id = v.project_id"
                                     " WHERE v.id = ?";
static const char SQL_FILE_PUT[] =
    "INSERT INTO model_file(version_id, size, sha256, data) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (version_id) DO NOTHING";
static const char SQL_FILE_GET[] = "SELECT size, sha256, data FROM model_file WHERE version_id = ?";
static const char SQL_DELETE[] = "DELETE FROM ml_version WHERE id = ?";

#define F(col, how, member) STORE_FIELD(col, how, struct store_version, member)
static const struct store_field FIELDS[] = {
    F(0, I64, id),
    F(1, I64, project),
    F(2, I64, seq),
    F(3, I64, parent),
    F(4, I64, job),
    F(5, TEXT, name),
    F(6, TEXT, file),
    F(7, TEXT, arch),
    F(8, INT, input_size),
    F(10, I64, train_images),
    F(11, I64, heldout_images),
    F(12, I64, epochs),
    F(13, REAL, duration_s),
    F(14, SET, has_metrics),
    F(17, SET, has_base),
    F(20, REAL, score_thr),
    F(21, INT, promoted),
    F(22, TEXT, reason),
    F(23, TIME, created_at),
    F(24, TIME, promoted_at),
    F(25, INT, is_current),
};
#undef F

static void col_metric(struct store_stmt *s, int i, double *out)
{
    *out = store_col_null(s, i) ? -1 : store_col_real(s, i);
}

static void load(struct store_stmt *s, void *out)
{
    struct store_version *v = out;
    memset(v, 0, sizeof *v);
    store_load_fields(s, FIELDS, sizeof FIELDS / sizeof FIELDS[0], v);
    v->classes = store_col_json(s, 9);
    if (!json_is_array(v->classes)) {
        json_decref(v->classes);
        v->classes = json_array();
    }
    double *m[] = {&v->ap, &v->ap50, &v->ap75, &v->base_ap, &v->base_ap50, &v->base_ap75};
    for (int i = 0; i < 6; i++)
        col_metric(s, 14 + i, m[i]);
}

void store_version_release(struct store_version *v)
{
    if (!v)
        return;
    json_decref(v->classes);
    v->classes = NULL;
}

static void bind_metric(struct store_stmt *s, int i, int has, double v)
{
    if (has)
        store_bind_real(s, i, v);
    else
        store_bind_null(s, i);
}

static int next_seq(struct store_conn *c, int64_t project, int64_t *seq, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_SEQ, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, project);
    int rc = store_step_row(c, s, err, BASE_E_INTERNAL, "no sequence");
    if (!rc)
        *seq = store_col_i64(s, 0);
    store_reset(s);
    return rc;
}

static int insert(struct store_conn *c, struct store_version *v, int promote, int64_t now,
                  struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_INSERT, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, v->project);
    store_bind_i64(s, 2, v->seq);
    store_bind_text(s, 3, v->name);
    store_bind_id(s, 4, v->parent);
    store_bind_id(s, 5, v->job);
    store_bind_text(s, 6, v->file);
    store_bind_text(s, 7, v->arch);
    store_bind_int(s, 8, v->input_size);
    store_bind_json(s, 9, v->classes ? v->classes : json_array());
    store_bind_i64(s, 10, v->train_images);
    store_bind_i64(s, 11, v->heldout_images);
    store_bind_i64(s, 12, v->epochs);
    store_bind_real(s, 13, v->duration_s);
    double m[] = {v->ap, v->ap50, v->ap75, v->base_ap, v->base_ap50, v->base_ap75};
    for (int i = 0; i < 6; i++)
        bind_metric(s, 14 + i, i < 3 ? v->has_metrics : v->has_base, m[i]);
    store_bind_real(s, 20, v->score_thr);
    store_bind_int(s, 21, promote ? 1 : 0);
    store_bind_text(s, 22, v->reason);
    store_bind_time(s, 23, now);
    if (store_step_id(c, s, &v->id, err))
        return -1;
    return 0;
}

/* Points the project's model_version at version `id` and re-ranks its queue. */
static int promote_on(struct store_conn *c, int64_t id, int64_t project, int64_t now,
                      struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_PROMOTE, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, id);
    store_bind_time(s, 2, now);
    if (store_step_done(c, s, err) || !(s = store_prepare(c, SQL_PROMOTED_AT, err)))
        return -1;
    store_bind_i64(s, 1, id);
    store_bind_time(s, 2, now);
    return store_step_done(c, s, err) || store_project_refresh_uncertainty(c, project, err) ? -1
                                                                                            : 0;
}

static int job_version(struct store_conn *c, int64_t job, int64_t version, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_JOB_VERSION, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, job);
    store_bind_i64(s, 2, version);
    if (store_step_done(c, s, err))
        return -1;
    return store_changes(c) ? 0
                            : base_err_set(err, BASE_E_CONFLICT, "job %lld is no longer running",
                                           (long long)job);
}

struct create {
    struct store_version *v;
    const char *name_prefix;
    int promote;
    int64_t job;
    const void *file; /* bytes kept with it, or NULL */
    size_t size;
};

static int keep_file(struct store_conn *c, int64_t version, const void *file, size_t size,
                     struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_FILE_PUT, err);
    if (!s)
        return -1;
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[2 * sizeof h + 1];
    crypto_hash_sha256(h, file, size);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    size_t n = sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = base_alloc(n);
    sodium_bin2base64(b64, n, file, size, sodium_base64_VARIANT_ORIGINAL);
    store_bind_i64(s, 1, version);
    store_bind_i64(s, 2, (int64_t)size);
    store_bind_text(s, 3, hex);
    store_bind_text(s, 4, b64);
    base_free(b64);
    return store_step_done(c, s, err);
}

static int create_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct create *x = ctx;
    struct store_version *v = x->v;
    int64_t now = base_time_us();
    if (next_seq(c, v->project, &v->seq, err))
        return -1;
    snprintf(v->name, sizeof v->name, "%s-v%lld", x->name_prefix, (long long)v->seq);
    v->job = x->job;
    if (insert(c, v, x->promote, now, err) || (x->job > 0 && job_version(c, x->job, v->id, err)) ||
        (x->promote && promote_on(c, v->id, v->project, now, err)) ||
        (x->file && keep_file(c, v->id, x->file, x->size, err)))
        return -1;
    return 0;
}

int store_version_create(struct store *st, struct store_version *v, const char *name_prefix,
                         int promote, int64_t job, struct base_err *err)
{
    return store_version_create_file(st, v, name_prefix, promote, job, NULL, 0, err);
}

int store_version_create_file(struct store *st, struct store_version *v, const char *name_prefix,
                              int promote, int64_t job, const void *file, size_t size,
                              struct base_err *err)
{
    struct create x = {v, name_prefix, promote, job, file, size};
    return store_tx(st, STORE_TX_WRITE, create_body, &x, err);
}

static int put_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    const struct create *x = ctx;
    return keep_file(c, x->v->id, x->file, x->size, err);
}

int store_model_file_put(struct store *st, int64_t version, const void *file, size_t size,
                         struct base_err *err)
{
    struct store_version v = {.id = version};
    struct create x = {&v, NULL, 0, 0, file, size};
    return store_tx(st, STORE_TX_NONE, put_body, &x, err);
}

struct file_get {
    int64_t version;
    struct base_buf *out;
};

/* Decodes and checks the row in place (its text lives until the statement steps again). */
static int file_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct file_get *x = ctx;
    struct store_stmt *s = store_prepare(c, SQL_FILE_GET, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, x->version);
    int step = store_step(s);
    if (step == STORE_DONE)
        return base_err_set(err, BASE_E_NOTFOUND, "model version %lld has no file in the database",
                            (long long)x->version);
    if (step != STORE_ROW)
        return store_fail(c, step, err);
    size_t size = (size_t)store_col_i64(s, 0), got = 0;
    char hex[2 * crypto_hash_sha256_BYTES + 1], want[sizeof hex];
    store_col_copy(s, 1, want, sizeof want);
    unsigned char h[crypto_hash_sha256_BYTES], *bin = base_alloc(size + 1);
    int rc = sodium_base642bin(bin, size + 1, store_col_str(s, 2), store_col_len(s, 2), NULL, &got,
                               NULL, sodium_base64_VARIANT_ORIGINAL) ||
                     got != size
                 ? -1
                 : 0;
    if (rc == 0) {
        crypto_hash_sha256(h, bin, size);
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        rc = strcmp(hex, want) ? -1 : base_buf_append(x->out, bin, size, err);
    }
    base_free(bin);
    store_reset(s);
    if (rc && !err->status)
        base_err_set(err, BASE_E_INTERNAL,
                     "the model file of version %lld in the database is damaged (size or"
                     " SHA-256 differ)",
                     (long long)x->version);
    return rc;
}

int store_model_file_get(struct store *st, int64_t version, struct base_buf *out,
                         struct base_err *err)
{
    struct file_get x = {version, out};
    return store_tx(st, STORE_TX_NONE, file_body, &x, err);
}

/* Loads the single row of `sql` bound to `key`. */
static int get_by(struct store *st, const char *sql, int64_t key, struct store_version *out,
                  struct base_err *err)
{
    struct store_one q = {
        .sql = sql, .key = key, .load = load, .out = out, .msg = "model version not found"};
    return store_one(st, &q, err);
}

int store_version_get(struct store *st, int64_t id, struct store_version *out, struct base_err *err)
{
    return get_by(st, SQL_GET, id, out, err);
}

int store_version_current(struct store *st, int64_t project, struct store_version *out,
                          struct base_err *err)
{
    return get_by(st, SQL_CURRENT, project, out, err);
}

STORE_EACH_ROW(each_row, struct store_version, store_version_fn, load, store_version_release)

int store_version_each(struct store *st, int64_t project, store_version_fn fn, void *ctx,
                       struct base_err *err)
{
    struct store_cb x = STORE_CB(fn, ctx);
    return store_read(st, SQL_EACH, store_bind_id_arg, &project, 0, each_row, &x, err);
}

/* Version `id`: its project, file (when asked) and whether it is the project's current one. */
struct owner {
    int64_t id, project;
    char **file;
    int current;
};

static void load_owner(struct store_stmt *s, void *arg)
{
    struct owner *o = arg;
    o->project = store_col_i64(s, 0);
    if (o->file)
        *o->file = base_strdup(store_col_str(s, 1));
    o->current = store_col_int(s, 2);
}

/* Fills o from the row of version o->id inside the caller's transaction. */
static int owner_of(struct store_conn *c, struct owner *o, struct base_err *err)
{
    char missing[64];
    snprintf(missing, sizeof missing, "model version %lld not found", (long long)o->id);
    struct store_one q = {
        .sql = SQL_PROJECT_OF, .key = o->id, .load = load_owner, .out = o, .msg = missing};
    return store_one_on(c, &q, err);
}

static int promote_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct owner *o = ctx;
    return owner_of(c, o, err) || promote_on(c, o->id, o->project, base_time_us(), err) ? -1 : 0;
}

int store_version_promote(struct store *st, int64_t id, struct base_err *err)
{
    struct owner o = {.id = id};
    return store_tx(st, STORE_TX_WRITE, promote_body, &o, err);
}

static int delete_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct owner *o = ctx;
    if (owner_of(c, o, err))
        return -1;
    if (o->current)
        return base_err_set(
            err, BASE_E_CONFLICT,
            "version %lld is the project's current model: roll back to another one first",
            (long long)o->id);
    return store_write_on(c, SQL_DELETE, store_bind_id_arg, &o->id, NULL, NULL, err);
}

int store_version_delete(struct store *st, int64_t id, char **file, struct base_err *err)
{
    *file = NULL;
    struct owner o = {.id = id, .file = file};
    int rc = store_tx(st, STORE_TX_WRITE, delete_body, &o, err);
    if (rc) {
        base_free(*file);
        *file = NULL;
    }
    return rc;
}
