/* store_copy: a SQLite data dir's every row into a new, empty PostgreSQL database (`labelloop db
 * migrate-to`), all or nothing. The source's tables, columns and foreign keys are read from
 * SQLite's own catalog, so a new migration needs nothing here; the copy runs inside one write
 * transaction on the target and is verified (row counts and a checksum of every row of every
 * table, annotations included) before it commits. */
#include "store_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define COPY_NAME_MAX  64
#define COPY_COLS_MAX  64
#define COPY_CHUNK     4096 /* rows a scan reads per statement */
#define COPY_BATCH_MAX 1000 /* parameters an INSERT binds at most */

/* Tables that triggers fill from other tables' inserts (migration 3): emptied after the copy
 * and copied last, so the target holds the source's rows, not the triggers' sums. */
static const char *const DERIVED[] = {"project_stats"};

enum copy_kind { COPY_INT, COPY_REAL, COPY_TEXT };

struct copy_table {
    char name[COPY_NAME_MAX];
    int ncols, int_pk; /* the single INTEGER primary key's column, or -1 */
    char col[COPY_COLS_MAX][COPY_NAME_MAX];
    enum copy_kind kind[COPY_COLS_MAX];
    char refs[8][COPY_NAME_MAX]; /* tables its foreign keys name */
    int nrefs;
};

struct copy_val {
    int null;
    enum copy_kind kind;
    int64_t i;
    double r;
    const char *t;
};

struct copy {
    struct store_conn *src, *dst;
    struct copy_table *t;
    int n;
    store_copy_progress_fn progress;
    void *ctx;
    int64_t done, total;
    /* the INSERT's batch */
    struct copy_val *vals;
    int nrows, batch_rows;
    struct base_arena *arena;
    struct store_stmt *insert; /* of batch_rows rows, for the current table */
    /* the checksum's running state */
    int64_t rows;
    uint64_t sum;
};

static const char SQL_TABLES[] = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
                                 "LIKE 'sqlite%' AND name <> 'schema_migrations' ORDER BY name";
static const char SQL_COLUMNS[] = "SELECT name, upper(type), pk FROM pragma_table_info(?1) "
                                  "ORDER BY cid";
static const char SQL_REFS[] = "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1)";

static int is_derived(const char *name)
{
    for (size_t i = 0; i < sizeof DERIVED / sizeof DERIVED[0]; i++)
        if (!strcmp(name, DERIVED[i]))
            return 1;
    return 0;
}

static int name_copy(char *out, const char *in, struct base_err *err)
{
    if (!in || strlen(in) >= COPY_NAME_MAX || strchr(in, '"'))
        return base_err_set(err, BASE_E_INTERNAL, "cannot copy a table or column named '%s'",
                            in ? in : "(null)");
    strcpy(out, in);
    return 0;
}

/* Columns and foreign keys of one table, from SQLite's catalog. */
static int describe(struct store_conn *c, struct copy_table *t, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_COLUMNS, err);
    if (!s)
        return -1;
    store_bind_text(s, 1, t->name);
    int rc, npk = 0, pk = -1;
    while ((rc = store_step(s)) == STORE_ROW) {
        if (t->ncols == COPY_COLS_MAX)
            return base_err_set(err, BASE_E_INTERNAL, "table %s has too many columns", t->name);
        int i = t->ncols++;
        if (name_copy(t->col[i], store_col_str(s, 0), err))
            return -1;
        const char *type = store_col_str(s, 1);
        type = type ? type : "";
        t->kind[i] = strstr(type, "INT")                            ? COPY_INT
                     : strstr(type, "REAL") || strstr(type, "DOUB") ? COPY_REAL
                                                                    : COPY_TEXT;
        if (store_col_int(s, 2) > 0) {
            npk++;
            pk = i;
        }
    }
    store_reset(s);
    if (rc != STORE_DONE)
        return store_fail(c, rc, err);
    t->int_pk = npk == 1 && t->kind[pk] == COPY_INT ? pk : -1;
    if (!(s = store_prepare(c, SQL_REFS, err)))
        return -1;
    store_bind_text(s, 1, t->name);
    while ((rc = store_step(s)) == STORE_ROW && t->nrefs < 8)
        if (name_copy(t->refs[t->nrefs++], store_col_str(s, 0), err))
            return -1;
    store_reset(s);
    return rc == STORE_ROW || rc == STORE_DONE ? 0 : store_fail(c, rc, err);
}

static int placed(const struct copy_table *order, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(order[i].name, name))
            return 1;
    return 0;
}

/* Orders the tables so that every table comes after those its foreign keys name (a table may
 * name itself: its rows go in id order), derived tables last. */
static int order_tables(struct copy *cp, struct copy_table *in, struct base_err *err)
{
    int n = 0;
    for (int pass = 0; n < cp->n && pass <= cp->n; pass++)
        for (int i = 0; i < cp->n; i++) {
            struct copy_table *t = &in[i];
            if (placed(cp->t, n, t->name) || is_derived(t->name))
                continue;
            int ready = 1;
            for (int r = 0; r < t->nrefs; r++)
                ready &= !strcmp(t->refs[r], t->name) || placed(cp->t, n, t->refs[r]);
            if (ready)
                cp->t[n++] = *t;
        }
    for (int i = 0; i < cp->n; i++)
        if (is_derived(in[i].name))
            cp->t[n++] = in[i];
    if (n != cp->n)
        return base_err_set(err, BASE_E_INTERNAL, "the tables' foreign keys form a cycle");
    return 0;
}

static int list_tables(struct copy *cp, struct base_err *err)
{
    struct store_stmt *s = store_prepare(cp->src, SQL_TABLES, err);
    if (!s)
        return -1;
    struct copy_table *in = base_calloc(STORE_COPY_TABLES_MAX, sizeof *in);
    int rc, n = 0, bad = 0;
    while (!bad && (rc = store_step(s)) == STORE_ROW) {
        if (n == STORE_COPY_TABLES_MAX)
            bad = base_err_set(err, BASE_E_INTERNAL, "too many tables to copy");
        else
            bad = name_copy(in[n++].name, store_col_str(s, 0), err);
    }
    store_reset(s);
    if (!bad && rc != STORE_DONE)
        bad = store_fail(cp->src, rc, err);
    for (int i = 0; !bad && i < n; i++)
        bad = describe(cp->src, &in[i], err);
    cp->n = n;
    cp->t = base_calloc((size_t)n + 1, sizeof *cp->t);
    bad = bad || order_tables(cp, in, err);
    base_free(in);
    return bad ? -1 : 0;
}

static void put_ident(struct base_buf *b, const char *name)
{
    base_buf_printf(b, NULL, "\"%s\"", name);
}

static void put_cols(struct base_buf *b, const struct copy_table *t)
{
    for (int i = 0; i < t->ncols; i++) {
        base_buf_puts(b, i ? ", " : "", NULL);
        put_ident(b, t->col[i]);
    }
}

static struct store_stmt *stmt_built(struct store_conn *c, struct base_buf *b, struct base_err *err)
{
    size_t len = 0;
    char *sql = base_buf_steal(b, &len);
    struct store_stmt *s = sql ? store_stmt_new(c, sql, len, err) : NULL;
    if (!sql)
        base_err_set(err, BASE_E_NOMEM, "cannot build a statement");
    base_free(sql);
    return s;
}

/* SELECT of every column; with an integer key, a chunk after ?1 in key order. */
static struct store_stmt *select_stmt(struct store_conn *c, const struct copy_table *t,
                                      struct base_err *err)
{
    struct base_buf b;
    base_buf_init(&b, 1 << 16);
    base_buf_puts(&b, "SELECT ", NULL);
    put_cols(&b, t);
    base_buf_puts(&b, " FROM ", NULL);
    put_ident(&b, t->name);
    if (t->int_pk >= 0) {
        base_buf_puts(&b, " WHERE ", NULL);
        put_ident(&b, t->col[t->int_pk]);
        base_buf_puts(&b, " > ?1 ORDER BY ", NULL);
        put_ident(&b, t->col[t->int_pk]);
        base_buf_printf(&b, NULL, " LIMIT %d", COPY_CHUNK);
    }
    return stmt_built(c, &b, err);
}

typedef int (*copy_row_fn)(struct copy *cp, const struct copy_table *t, struct store_stmt *s,
                           struct base_err *err);

/* Calls row() for every row of table t on connection c, in chunks when the key allows. */
static int scan(struct copy *cp, struct store_conn *c, const struct copy_table *t, copy_row_fn row,
                struct base_err *err)
{
    struct store_stmt *s = select_stmt(c, t, err);
    if (!s)
        return -1;
    int64_t after = INT64_MIN;
    int rc = 0, more = 1, bad = 0;
    while (more && !bad) {
        int got = 0;
        if (t->int_pk >= 0)
            store_bind_i64(s, 1, after);
        while (!bad && (rc = store_step(s)) == STORE_ROW) {
            got++;
            if (t->int_pk >= 0)
                after = store_col_i64(s, t->int_pk);
            bad = row(cp, t, s, err);
        }
        store_reset(s);
        if (!bad && rc != STORE_DONE)
            bad = store_fail(c, rc, err);
        more = t->int_pk >= 0 && got == COPY_CHUNK;
    }
    store_stmt_free(s);
    return bad ? -1 : 0;
}

/* INSERT of `rows` rows of table t. */
static struct store_stmt *insert_stmt(struct store_conn *c, const struct copy_table *t, int rows,
                                      struct base_err *err)
{
    struct base_buf b;
    base_buf_init(&b, 1 << 20);
    base_buf_puts(&b, "INSERT INTO ", NULL);
    put_ident(&b, t->name);
    base_buf_puts(&b, " (", NULL);
    put_cols(&b, t);
    base_buf_puts(&b, ") VALUES ", NULL);
    for (int r = 0, p = 1; r < rows; r++) {
        base_buf_puts(&b, r ? ", (" : "(", NULL);
        for (int i = 0; i < t->ncols; i++)
            base_buf_printf(&b, NULL, i ? ", ?%d" : "?%d", p++);
        base_buf_puts(&b, ")", NULL);
    }
    return stmt_built(c, &b, err);
}

static int flush(struct copy *cp, const struct copy_table *t, struct base_err *err)
{
    if (!cp->nrows)
        return 0;
    struct store_stmt *s =
        cp->nrows == cp->batch_rows ? cp->insert : insert_stmt(cp->dst, t, cp->nrows, err);
    if (!s)
        return -1;
    for (int v = 0; v < cp->nrows * t->ncols; v++) {
        const struct copy_val *x = &cp->vals[v];
        if (x->null)
            store_bind_null(s, v + 1);
        else if (x->kind == COPY_INT)
            store_bind_i64(s, v + 1, x->i);
        else if (x->kind == COPY_REAL)
            store_bind_real(s, v + 1, x->r);
        else
            store_bind_static(s, v + 1, x->t);
    }
    int rc = store_step_done(cp->dst, s, err);
    if (s != cp->insert)
        store_stmt_free(s);
    cp->done += cp->nrows;
    cp->nrows = 0;
    base_arena_reset(cp->arena);
    if (cp->progress)
        cp->progress(cp->ctx, t->name, cp->done, cp->total);
    return rc;
}

/* Column i of the current row; text is copied into `arena` (it must outlive the statement's
 * next step: the batch), or with a NULL arena pointed at in place (read before the next step). */
static void read_val(struct base_arena *arena, const struct copy_table *t, struct store_stmt *s,
                     int i, struct copy_val *x)
{
    x->kind = t->kind[i];
    x->null = store_col_null(s, i);
    if (x->null)
        return;
    if (x->kind == COPY_INT)
        x->i = store_col_i64(s, i);
    else if (x->kind == COPY_REAL)
        x->r = store_col_real(s, i);
    else
        x->t = arena ? store_col_text(s, i, arena) : store_col_str(s, i);
}

static int copy_row(struct copy *cp, const struct copy_table *t, struct store_stmt *s,
                    struct base_err *err)
{
    struct copy_val *row = &cp->vals[cp->nrows * t->ncols];
    for (int i = 0; i < t->ncols; i++)
        read_val(cp->arena, t, s, i, &row[i]);
    return ++cp->nrows == cp->batch_rows ? flush(cp, t, err) : 0;
}

/* One row's hash, added to the table's sum: the same value whether the row is read from SQLite
 * or PostgreSQL, independent of the order rows come in (text keys sort differently there). */
static int sum_row(struct copy *cp, const struct copy_table *t, struct store_stmt *s,
                   struct base_err *err)
{
    (void)err;
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 8);
    for (int i = 0; i < t->ncols; i++) {
        struct copy_val x = {0};
        read_val(NULL, t, s, i, &x); /* hashed before the next step */
        unsigned char tag[2] = {(unsigned char)x.kind, (unsigned char)x.null};
        crypto_generichash_update(&h, tag, 2);
        if (x.null)
            continue;
        if (x.kind == COPY_INT)
            crypto_generichash_update(&h, (const unsigned char *)&x.i, sizeof x.i);
        else if (x.kind == COPY_REAL)
            crypto_generichash_update(&h, (const unsigned char *)&x.r, sizeof x.r);
        else {
            uint64_t len = store_col_len(s, i);
            crypto_generichash_update(&h, (const unsigned char *)&len, sizeof len);
            crypto_generichash_update(&h, (const unsigned char *)x.t, (size_t)len);
        }
    }
    uint64_t v = 0;
    crypto_generichash_final(&h, (unsigned char *)&v, sizeof v);
    cp->sum += v;
    cp->rows++;
    return 0;
}

static int checksum(struct copy *cp, struct store_conn *c, const struct copy_table *t,
                    int64_t *rows, uint64_t *sum, struct base_err *err)
{
    cp->rows = 0;
    cp->sum = 0;
    int rc = scan(cp, c, t, sum_row, err);
    *rows = cp->rows;
    *sum = cp->sum;
    return rc;
}

static int count(struct store_conn *c, const struct copy_table *t, int64_t *n, struct base_err *err)
{
    struct base_buf b;
    base_buf_init(&b, 256);
    base_buf_puts(&b, "SELECT count(*) FROM ", NULL);
    put_ident(&b, t->name);
    struct store_stmt *s = stmt_built(c, &b, err);
    if (!s)
        return -1;
    int rc = store_step(s);
    *n = rc == STORE_ROW ? store_col_i64(s, 0) : 0;
    store_stmt_free(s);
    return rc == STORE_ROW ? 0 : store_fail(c, rc, err);
}

static int exec_built(struct store_conn *c, struct base_buf *b, struct base_err *err)
{
    struct store_stmt *s = stmt_built(c, b, err);
    if (!s)
        return -1;
    int rc = store_step(s);
    store_stmt_free(s);
    return rc == STORE_ROW || rc == STORE_DONE ? 0 : store_fail(c, rc, err);
}

static int copy_table(struct copy *cp, const struct copy_table *t, struct base_err *err)
{
    struct base_buf b;
    if (is_derived(t->name)) {
        base_buf_init(&b, 256);
        base_buf_puts(&b, "DELETE FROM ", NULL);
        put_ident(&b, t->name);
        if (exec_built(cp->dst, &b, err))
            return -1;
    }
    cp->batch_rows = COPY_BATCH_MAX / t->ncols ? COPY_BATCH_MAX / t->ncols : 1;
    if (!(cp->insert = insert_stmt(cp->dst, t, cp->batch_rows, err)))
        return -1;
    cp->vals = base_calloc((size_t)cp->batch_rows * (size_t)t->ncols, sizeof *cp->vals);
    int rc = scan(cp, cp->src, t, copy_row, err);
    rc = rc ? rc : flush(cp, t, err);
    store_stmt_free(cp->insert);
    base_free(cp->vals);
    cp->insert = NULL;
    cp->vals = NULL;
    if (rc || t->int_pk < 0 || strcmp(t->col[t->int_pk], "id"))
        return rc;
    /* ids were copied as they are: the next new row's id follows the largest */
    base_buf_init(&b, 512);
    base_buf_printf(&b, NULL,
                    "SELECT setval(pg_get_serial_sequence('\"%s\"', 'id'), coalesce(max(id), 0) "
                    "+ 1, false) FROM ",
                    t->name);
    put_ident(&b, t->name);
    return exec_built(cp->dst, &b, err);
}

/* Row counts of the source (the progress bar's total) and refuses a target that has rows. */
static int check_counts(struct copy *cp, struct base_err *err)
{
    for (int i = 0; i < cp->n; i++) {
        int64_t src = 0, dst = 0;
        if (count(cp->src, &cp->t[i], &src, err) || count(cp->dst, &cp->t[i], &dst, err))
            return -1;
        if (dst)
            return base_err_set(err, BASE_E_CONFLICT,
                                "the target database is not empty (table %s has %lld rows): "
                                "migrate-to copies into a new, empty database",
                                cp->t[i].name, (long long)dst);
        cp->total += src;
    }
    return 0;
}

static int verify(struct copy *cp, struct store_copy_report *report, struct base_err *err)
{
    for (int i = 0; i < cp->n; i++) {
        const struct copy_table *t = &cp->t[i];
        int64_t rows[2];
        uint64_t sum[2];
        if (checksum(cp, cp->src, t, &rows[0], &sum[0], err) ||
            checksum(cp, cp->dst, t, &rows[1], &sum[1], err))
            return -1;
        if (rows[0] != rows[1] || sum[0] != sum[1])
            return base_err_set(err, BASE_E_INTERNAL,
                                "verification failed: table %s has %lld rows (checksum %016llx) "
                                "in SQLite and %lld (%016llx) in PostgreSQL; nothing was copied",
                                t->name, (long long)rows[0], (unsigned long long)sum[0],
                                (long long)rows[1], (unsigned long long)sum[1]);
        if (report && i < STORE_COPY_TABLES_MAX) {
            snprintf(report->table[i].name, sizeof report->table[i].name, "%s", t->name);
            report->table[i].rows = rows[0];
            report->table[i].checksum = sum[0];
            report->ntables = i + 1;
            report->rows += rows[0];
        }
    }
    return 0;
}

static int copy_all(struct copy *cp, struct store_copy_report *report, struct base_err *err)
{
    if (list_tables(cp, err) || check_counts(cp, err))
        return -1;
    for (int i = 0; i < cp->n; i++)
        if (copy_table(cp, &cp->t[i], err))
            return -1;
    return verify(cp, report, err);
}

int store_copy(struct store *from, struct store *to, store_copy_progress_fn progress, void *ctx,
               struct store_copy_report *report, struct base_err *err)
{
    struct copy cp = {.progress = progress, .ctx = ctx};
    if (report)
        memset(report, 0, sizeof *report);
    cp.src = store_conn_get(from, err);
    cp.dst = cp.src ? store_conn_get(to, err) : NULL;
    int rc = -1;
    if (cp.dst && (cp.src->ops != &store_sqlite_ops || cp.dst->ops != &store_pg_ops))
        base_err_set(err, BASE_E_INVALID, "migrate-to copies a SQLite store into PostgreSQL");
    else if (cp.dst && !store_begin(cp.src, 0, err) && !store_begin(cp.dst, 1, err)) {
        cp.arena = base_arena_new(1 << 20);
        rc = copy_all(&cp, report, err);
        rc = rc ? rc : store_commit(cp.dst, err);
        base_arena_free(cp.arena);
    }
    if (cp.dst)
        store_conn_put(to, cp.dst); /* rolls back what did not commit */
    if (cp.src)
        store_conn_put(from, cp.src);
    base_free(cp.t);
    return rc;
}
