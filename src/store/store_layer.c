/* The statement layer's front: the pool of connections of a store, the choice of back end
 * (a postgresql:// URL or a SQLite file) and the calls that go to the connection's back end
 * (struct store_ops). */
#include "store_int.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

struct store {
    char *where; /* the SQLite file or the PostgreSQL URL */
    const struct store_ops *ops;
    pthread_mutex_t lock;
    struct store_conn *idle;
    size_t nidle;
};

/* ---- the pool -------------------------------------------------------------------------------- */

int store_is_url(const char *where)
{
    return !strncmp(where, "postgresql://", 13) || !strncmp(where, "postgres://", 11);
}

const char *store_where(const struct store *st)
{
    return st->where;
}

/* Copies n bytes of s into out (size bytes, at *at), truncating. */
static void shown_put(char *out, size_t size, size_t *at, const char *s, size_t n)
{
    while (n-- && *at + 1 < size)
        out[(*at)++] = *s++;
    out[*at] = 0;
}

const char *store_where_shown(const char *where, char *out, size_t size)
{
    size_t at = 0;
    if (!size)
        return out;
    out[0] = 0;
    if (!store_is_url(where)) {
        shown_put(out, size, &at, where, strlen(where));
        return out;
    }
    /* user:password@ in the authority: the password is between the first ':' and the last '@'
     * before the path (a password may hold '@' only percent-encoded, but be safe) */
    const char *auth = strstr(where, "://") + 3;
    const char *end = auth + strcspn(auth, "/?");
    const char *at_sign = NULL;
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            at_sign = p;
    const char *colon = at_sign ? memchr(auth, ':', (size_t)(at_sign - auth)) : NULL;
    const char *p = where;
    if (colon) {
        shown_put(out, size, &at, p, (size_t)(colon + 1 - p));
        shown_put(out, size, &at, "***", 3);
        p = at_sign;
    }
    /* password=... among the parameters */
    for (const char *q; (q = strstr(p, "password="));) {
        int param = q >= end && (q[-1] == '?' || q[-1] == '&');
        shown_put(out, size, &at, p, (size_t)(q + 9 - p));
        p = q + 9;
        if (param) {
            shown_put(out, size, &at, "***", 3);
            p += strcspn(p, "&");
        }
    }
    shown_put(out, size, &at, p, strlen(p));
    return out;
}

struct store *store_open(const char *where, struct base_err *err)
{
    if (sodium_init() < 0) {
        base_err_set(err, BASE_E_INTERNAL, "libsodium failed to initialise");
        return NULL;
    }
    const struct store_ops *ops = store_is_url(where) ? &store_pg_ops : &store_sqlite_ops;
    struct store_conn *c = ops->open(where, err);
    if (!c)
        return NULL;
    if (store_migrate(c, err)) {
        ops->close(c);
        return NULL;
    }
    struct store *st = base_calloc(1, sizeof *st);
    st->where = base_strdup(where);
    st->ops = ops;
    pthread_mutex_init(&st->lock, NULL);
    st->idle = c;
    st->nidle = 1;
    return st;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    while (st->idle) {
        struct store_conn *c = st->idle;
        st->idle = c->next;
        st->ops->close(c);
    }
    pthread_mutex_destroy(&st->lock);
    base_free(st->where);
    base_free(st);
}

struct store_conn *store_conn_get(struct store *st, struct base_err *err)
{
    pthread_mutex_lock(&st->lock);
    struct store_conn *c = st->idle;
    if (c) {
        st->idle = c->next;
        st->nidle--;
    }
    pthread_mutex_unlock(&st->lock);
    return c ? c : st->ops->open(st->where, err);
}

void store_conn_put(struct store *st, struct store_conn *c)
{
    if (!c)
        return;
    c->ops->release(c);
    pthread_mutex_lock(&st->lock);
    int keep = st->nidle < STORE_POOL_IDLE;
    if (keep) {
        c->next = st->idle;
        st->idle = c;
        st->nidle++;
    }
    pthread_mutex_unlock(&st->lock);
    if (!keep)
        c->ops->close(c);
}

int store_conn_is_pg(const struct store_conn *c)
{
    return c->ops == &store_pg_ops;
}

/* "table.column" lines of the schema, sorted, in each dialect. */
static const char SQL_COLUMNS_SQLITE[] =
    "SELECT m.name || '.' || c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c"
    " WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1";
static const char SQL_COLUMNS_PG[] =
    "SELECT table_name || '.' || column_name FROM information_schema.columns"
    " WHERE table_schema = current_schema() ORDER BY 1";

char *store_columns(struct store *st, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    const char *sql = st->ops == &store_pg_ops ? SQL_COLUMNS_PG : SQL_COLUMNS_SQLITE;
    struct store_stmt *s = c ? store_prepare(c, sql, err) : NULL;
    if (!s) {
        store_conn_put(st, c);
        return NULL;
    }
    struct base_buf b;
    base_buf_init(&b, 1 << 20);
    int rc;
    while ((rc = store_step(s)) == STORE_ROW)
        base_buf_printf(&b, NULL, "%s\n", store_col_str(s, 0));
    char *out = rc == STORE_DONE ? base_buf_steal(&b, NULL) : NULL;
    if (!out)
        store_fail(c, rc, err);
    base_buf_release(&b);
    store_conn_put(st, c);
    return out;
}

/* ---- calls to the back end ------------------------------------------------------------------- */

struct store_stmt *store_prepare(struct store_conn *c, const char *sql, struct base_err *err)
{
    return c->ops->prepare(c, sql, err);
}

struct store_stmt *store_stmt_new(struct store_conn *c, const char *sql, size_t len,
                                  struct base_err *err)
{
    return c->ops->stmt_new(c, sql, len, err);
}

void store_stmt_free(struct store_stmt *s)
{
    if (s)
        s->conn->ops->stmt_free(s);
}

int store_exec(struct store_conn *c, const char *sql, struct base_err *err)
{
    return c->ops->exec(c, sql, err);
}

char *store_migration_sql(struct store_conn *c, int i)
{
    return c->ops->migration(i);
}

int store_step(struct store_stmt *s)
{
    return s->conn->ops->step(s);
}

void store_reset(struct store_stmt *s)
{
    s->conn->ops->reset(s);
}

int store_fail(struct store_conn *c, int rc, struct base_err *err)
{
    return c->ops->fail(c, rc, err);
}

int store_rc_constraint(struct store_conn *c, int rc)
{
    return c->ops->rc_constraint(rc);
}

int64_t store_changes(struct store_conn *c)
{
    return c->ops->changes(c);
}

int store_bind_count(struct store_stmt *s)
{
    return s->conn->ops->bind_count(s);
}

void store_bind_i64(struct store_stmt *s, int i, int64_t v)
{
    s->conn->ops->bind_i64(s, i, v);
}

void store_bind_int(struct store_stmt *s, int i, int v)
{
    s->conn->ops->bind_i64(s, i, v);
}

void store_bind_real(struct store_stmt *s, int i, double v)
{
    s->conn->ops->bind_real(s, i, v);
}

void store_bind_null(struct store_stmt *s, int i)
{
    s->conn->ops->bind_null(s, i);
}

void store_bind_text(struct store_stmt *s, int i, const char *v)
{
    s->conn->ops->bind_text(s, i, v);
}

void store_bind_static(struct store_stmt *s, int i, const char *v)
{
    s->conn->ops->bind_static(s, i, v);
}

void store_bind_json(struct store_stmt *s, int i, const json_t *v)
{
    if (!v) {
        store_bind_null(s, i);
        return;
    }
    size_t len;
    char *text = base_json_dumps(v, BASE_JSON_COMPACT, &len);
    s->conn->ops->bind_owned(s, i, text, len);
}

int64_t store_col_i64(struct store_stmt *s, int i)
{
    return s->conn->ops->col_i64(s, i);
}

int store_col_int(struct store_stmt *s, int i)
{
    return (int)s->conn->ops->col_i64(s, i);
}

double store_col_real(struct store_stmt *s, int i)
{
    return s->conn->ops->col_real(s, i);
}

int store_col_null(struct store_stmt *s, int i)
{
    return s->conn->ops->col_null(s, i);
}

const char *store_col_str(struct store_stmt *s, int i)
{
    return s->conn->ops->col_str(s, i);
}

size_t store_col_len(struct store_stmt *s, int i)
{
    return s->conn->ops->col_len(s, i);
}

int store_begin(struct store_conn *c, int write, struct base_err *err)
{
    return c->ops->begin(c, write, err);
}

int store_commit(struct store_conn *c, struct base_err *err)
{
    return c->ops->commit(c, err);
}

void store_rollback(struct store_conn *c)
{
    c->ops->rollback(c);
}
