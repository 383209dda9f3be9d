/* Failed logins counted in the database, so that every server sharing it holds an attacker to
 * the same count (an in-memory count gave N servers N times the attempts). One row per client
 * address and per account, keyed by a hash (a copy of the database does not list who was
 * guessed); the policy (free failures, doubling wait, cap, forgetting) is the caller's, bound
 * into the statements. An attempt is a read and one write: an upsert whose conditional DO UPDATE
 * counts only keys not waiting, so parallel attempts on any server are cut off as soon as the
 * count is reached, with row locks only (not the writers' lock). */
#include "store_int.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>

#define KEY_HEX 32 /* 128 bits of SHA-256 */

/* The parameter for the updated row's kind of key: `a` for an address ('a' keys), `u` for an
 * account ('u'); cast, since PostgreSQL cannot type a parameter inside a CASE. */
#define BY_KIND(a, u)                                                                              \
    "(CASE WHEN substr(t.key, 1, 1) = 'a' THEN CAST(" a " AS BIGINT) ELSE CAST(" u                 \
    " AS BIGINT) END)"
/* ?3 now; ?4 / ?5 forget before; ?6 / ?7 free failures; ?8 / ?9 first wait; ?10 / ?11 cap. */
#define FORGOTTEN "t.last_us < " BY_KIND("?4", "?5")
#define NEW_FAILS "(CASE WHEN " FORGOTTEN " THEN 1 ELSE t.fails + 1 END)"
#define OVER      "(" NEW_FAILS " - " BY_KIND("?6", "?7") ")"
/* first << (over - 1), the shift bounded so that it cannot overflow before the cap applies */
#define DOUBLED                                                                                    \
    "(" BY_KIND("?8", "?9") " << CAST(CASE WHEN " OVER " > 21 THEN 20 ELSE " OVER                  \
                            " - 1 END AS INTEGER))"
#define CAP    BY_KIND("?10", "?11")
#define CAPPED "(CASE WHEN " DOUBLED " > " CAP " THEN " CAP " ELSE " DOUBLED " END)"

static const char SQL_WAITS[] =
    "SELECT key, last_us, until_us FROM login_throttle WHERE key IN (?1, ?2)";
/* A key waiting (until_us in the future, not forgotten) is left alone and not returned. */
static const char SQL_COUNT[] =
    "INSERT INTO login_throttle AS t(key, fails, last_us, until_us)"
    " VALUES (?1, 1, ?3, 0), (?2, 1, ?3, 0)"
    " ON CONFLICT(key) DO UPDATE SET fails = " NEW_FAILS ", last_us = ?3,"
    " until_us = CASE WHEN " OVER " > 0 THEN ?3 + " CAPPED " ELSE 0 END"
    " WHERE t.until_us <= ?3 OR " FORGOTTEN " RETURNING key";
/* The account's failures are forgotten; the address's attempt counted in advance was none. */
static const char SQL_OK[] = "UPDATE login_throttle SET"
                             " fails = CASE WHEN key = ?2 THEN 0 ELSE fails - 1 END,"
                             " until_us = CASE WHEN key = ?2 THEN 0 ELSE until_us END"
                             " WHERE (key = ?1 AND fails > 0) OR key = ?2";
/* Old rows, and those older than the ?2 + 1st newest (no such row when there are fewer: NULL
 * deletes nothing). */
static const char SQL_PRUNE[] =
    "DELETE FROM login_throttle WHERE last_us < ?1 OR last_us < (SELECT last_us"
    " FROM login_throttle ORDER BY last_us DESC LIMIT 1 OFFSET ?2)";

/* "a" or "u", then the first 128 bits of SHA-256 of the text (case-folded) in hex. */
static void key_of(char kind, const char *text, char out[KEY_HEX + 2])
{
    crypto_hash_sha256_state h;
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&h);
    for (const char *p = text; *p; p++) {
        unsigned char c = (unsigned char)tolower((unsigned char)*p);
        crypto_hash_sha256_update(&h, &c, 1);
    }
    crypto_hash_sha256_final(&h, d);
    out[0] = kind;
    sodium_bin2hex(out + 1, KEY_HEX + 1, d, KEY_HEX / 2);
}

struct attempt {
    char ka[KEY_HEX + 2], ku[KEY_HEX + 2];
    const struct store_throttle_policy *pa, *pu;
    int64_t now, wait;
    int counted; /* keys the upsert counted */
};

static void bind_keys(struct store_stmt *s, void *arg)
{
    struct attempt *x = arg;
    store_bind_text(s, 1, x->ka);
    store_bind_text(s, 2, x->ku);
}

static int wait_row(void *arg, struct store_stmt *s, struct base_err *err)
{
    (void)err;
    struct attempt *x = arg;
    const struct store_throttle_policy *p = store_col_str(s, 0)[0] == 'a' ? x->pa : x->pu;
    int64_t last = store_col_i64(s, 1), until = store_col_i64(s, 2);
    if (last >= x->now - p->forget_us && until - x->now > x->wait)
        x->wait = until - x->now;
    return 0;
}

static void bind_count(struct store_stmt *s, void *arg)
{
    struct attempt *x = arg;
    bind_keys(s, x);
    store_bind_i64(s, 3, x->now);
    store_bind_i64(s, 4, x->now - x->pa->forget_us);
    store_bind_i64(s, 5, x->now - x->pu->forget_us);
    store_bind_int(s, 6, x->pa->free_fails);
    store_bind_int(s, 7, x->pu->free_fails);
    store_bind_i64(s, 8, x->pa->first_us);
    store_bind_i64(s, 9, x->pu->first_us);
    store_bind_i64(s, 10, x->pa->max_us);
    store_bind_i64(s, 11, x->pu->max_us);
}

static int counted_row(void *arg, struct store_stmt *s, struct base_err *err)
{
    (void)s, (void)err;
    ((struct attempt *)arg)->counted++;
    return 0;
}

static int read_waits(struct store *st, struct attempt *x, struct base_err *err)
{
    x->wait = 0;
    return store_read(st, SQL_WAITS, bind_keys, x, 0, wait_row, x, err);
}

int store_login_attempt(struct store *st, const char *address, const char *email,
                        const struct store_throttle_policy *by_address,
                        const struct store_throttle_policy *by_account, int64_t now_us,
                        int64_t *wait_us, struct base_err *err)
{
    struct attempt x = {.pa = by_address, .pu = by_account, .now = now_us};
    key_of('a', address, x.ka);
    key_of('u', email, x.ku);
    *wait_us = 0;
    if (read_waits(st, &x, err))
        return -1;
    if (x.wait > 0) {
        *wait_us = x.wait;
        return 0;
    }
    /* A RETURNING statement is read as rows; it writes in autocommit, one statement. */
    if (store_read(st, SQL_COUNT, bind_count, &x, 0, counted_row, &x, err))
        return -1;
    if (x.counted == 2)
        return 0;
    /* Another attempt made a key wait between the look and the count: this one waits too. */
    if (read_waits(st, &x, err))
        return -1;
    *wait_us = x.wait > 0 ? x.wait : 1;
    return 0;
}

int store_login_ok(struct store *st, const char *address, const char *email, struct base_err *err)
{
    struct attempt x = {0};
    key_of('a', address, x.ka);
    key_of('u', email, x.ku);
    return store_write_one(st, SQL_OK, bind_keys, &x, NULL, NULL, err);
}

static void bind_prune(struct store_stmt *s, void *arg)
{
    const int64_t *x = arg;
    store_bind_i64(s, 1, x[0]);
    store_bind_i64(s, 2, x[1]);
}

int store_login_prune(struct store *st, int64_t before_us, int64_t keep_rows, struct base_err *err)
{
    int64_t x[2] = {before_us, keep_rows > 1 ? keep_rows - 1 : 0};
    return store_write_one(st, SQL_PRUNE, bind_prune, x, NULL, NULL, err);
}
