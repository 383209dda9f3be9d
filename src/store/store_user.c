/* Users, API tokens and browser sessions. Passwords are argon2id hashes (libsodium); session
 * keys are stored only as SHA-256 hashes, so a copy of the database does not log anyone in. */
#include "store_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define USER_COLS                                                                                  \
    "u.id, u.email, u.username, u.first_name, u.last_name, u.is_superuser, u.is_active, "          \
    "u.date_joined, u.last_activity"

static const char SQL_USER_INSERT[] =
    "INSERT INTO \"user\"(email, username, password, is_superuser, date_joined, last_activity)"
    " VALUES (?1, ?1, ?2, ?3, ?4, ?4) RETURNING id";
static const char SQL_TOKEN_INSERT[] = "INSERT INTO token(key, user_id, created) VALUES (?, ?, ?)";
static const char SQL_TOKEN_DELETE[] = "DELETE FROM token WHERE user_id = ?";
static const char SQL_TOKEN_GET[] = "SELECT key FROM token WHERE user_id = ?";
static const char SQL_USER_COUNT[] = "SELECT count(*) FROM \"user\"";
static const char SQL_USER_BY_ID[] = "SELECT " USER_COLS " FROM \"user\" u WHERE u.id = ?";
static const char SQL_USER_BY_EMAIL[] = "SELECT " USER_COLS ", u.password FROM \"user\" u"
                                        " WHERE lower(u.email) = lower(?)";
static const char SQL_USER_BY_TOKEN[] = "SELECT " USER_COLS " FROM token t"
                                        " JOIN \"user\" u ON u.id = t.user_id"
                                        " WHERE t.key = ? AND u.is_active <> 0";
static const char SQL_USER_SET_PASSWORD[] = "UPDATE \"user\" SET password = ? WHERE id = ?";
static const char SQL_SESSION_INSERT[] =
    "INSERT INTO session(key_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)";
static const char SQL_SESSION_GET[] = "SELECT " USER_COLS ", s.expires_at FROM session s"
                                      " JOIN \"user\" u ON u.id = s.user_id"
                                      " WHERE s.key_hash = ? AND u.is_active <> 0";
static const char SQL_SESSION_DELETE[] = "DELETE FROM session WHERE key_hash = ?";
static const char SQL_SESSION_PURGE[] = "DELETE FROM session WHERE expires_at < ?";

#define F(col, how, member) STORE_FIELD(col, how, struct store_user, member)
static const struct store_field USER_FIELDS[] = {
    F(0, I64, id),          F(1, TEXT, email),       F(2, TEXT, username),
    F(3, TEXT, first_name), F(4, TEXT, last_name),   F(5, INT, is_superuser),
    F(6, INT, is_active),   F(7, TIME, date_joined), F(8, TIME, last_activity),
};
#undef F

static void load_user(struct store_stmt *s, void *out)
{
    memset(out, 0, sizeof(struct store_user));
    store_load_fields(s, USER_FIELDS, sizeof USER_FIELDS / sizeof USER_FIELDS[0], out);
}

static int hash_password(const char *password, char out[crypto_pwhash_STRBYTES],
                         struct base_err *err)
{
    if (strlen(password) < 8)
        return base_err_set(err, BASE_E_INVALID, "password must have at least 8 characters");
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE))
        return base_err_set(err, BASE_E_NOMEM, "not enough memory to hash the password");
    return 0;
}

static int check_email(const char *email, struct base_err *err)
{
    size_t n = strlen(email);
    if (n == 0 || n > STORE_EMAIL_MAX || !strchr(email, '@'))
        return base_err_set(err, BASE_E_INVALID, "'%s' is not a valid email address", email);
    return 0;
}

static int insert_token(struct store_conn *c, int64_t user, char token[STORE_TOKEN_LEN + 1],
                        struct base_err *err)
{
    if (base_random_hex(token, STORE_TOKEN_LEN / 2, err))
        return -1;
    struct store_stmt *s = store_prepare(c, SQL_TOKEN_INSERT, err);
    if (!s)
        return -1;
    store_bind_text(s, 1, token);
    store_bind_i64(s, 2, user);
    store_bind_time(s, 3, base_time_us());
    return store_step_done(c, s, err);
}

static int user_insert(struct store_conn *c, const char *email, const char *hash, int superuser,
                       int64_t *id, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_USER_INSERT, err);
    if (!s)
        return -1;
    store_bind_text(s, 1, email);
    store_bind_text(s, 2, hash);
    store_bind_int(s, 3, superuser ? 1 : 0);
    store_bind_time(s, 4, base_time_us());
    int rc = store_step_returning(s, id);
    if (store_rc_constraint(c, rc))
        return base_err_set(err, BASE_E_CONFLICT, "a user with email '%s' already exists", email);
    return rc == STORE_DONE ? 0 : store_fail(c, rc, err);
}

struct create {
    const char *email, *hash;
    int superuser;
    int64_t id;
    char *token;
};

static int create_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct create *x = ctx;
    return user_insert(c, x->email, x->hash, x->superuser, &x->id, err) ||
                   insert_token(c, x->id, x->token, err)
               ? -1
               : 0;
}

int store_user_create(struct store *st, const char *email, const char *password, int superuser,
                      struct store_user *out, char token[STORE_TOKEN_LEN + 1], struct base_err *err)
{
    char hash[crypto_pwhash_STRBYTES];
    if (check_email(email, err) || hash_password(password, hash, err))
        return -1;
    struct create x = {email, hash, superuser, 0, token};
    int rc = store_tx(st, STORE_TX_WRITE, create_body, &x, err);
    return rc ? rc : store_user_get(st, x.id, out, err);
}

/* Runs a one-row user query with one text or integer parameter. */
static int user_query(struct store *st, const char *sql, const char *text, int64_t id,
                      struct store_user *out, enum base_status missing, const char *missing_msg,
                      struct base_err *err)
{
    struct store_one q = {.sql = sql, .key = id, .text = text, .load = load_user, .out = out};
    q.missing = missing, q.msg = missing_msg;
    return store_one(st, &q, err);
}

int store_user_get(struct store *st, int64_t id, struct store_user *out, struct base_err *err)
{
    return user_query(st, SQL_USER_BY_ID, NULL, id, out, BASE_E_NOTFOUND, "no such user", err);
}

int store_user_by_email(struct store *st, const char *email, struct store_user *out,
                        struct base_err *err)
{
    return user_query(st, SQL_USER_BY_EMAIL, email, 0, out, BASE_E_NOTFOUND, "no such user", err);
}

int store_user_by_token(struct store *st, const char *token, struct store_user *out,
                        struct base_err *err)
{
    return user_query(st, SQL_USER_BY_TOKEN, token, 0, out, BASE_E_AUTH, "Invalid token.", err);
}

static void load_count(struct store_stmt *s, void *count)
{
    *(int64_t *)count = store_col_i64(s, 0);
}

int store_user_count(struct store *st, int64_t *count, struct base_err *err)
{
    struct store_one q = {.sql = SQL_USER_COUNT, .load = load_count, .out = count};
    return store_one(st, &q, err);
}

int store_user_login(struct store *st, const char *email, const char *password,
                     struct store_user *out, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    char hash[crypto_pwhash_STRBYTES] = "";
    int found = 0, rc = -1;
    struct store_stmt *s = store_prepare(c, SQL_USER_BY_EMAIL, err);
    if (!s)
        goto out;
    store_bind_text(s, 1, email);
    int step = store_step(s);
    if (step == STORE_ROW) {
        load_user(s, out);
        store_col_copy(s, 9, hash, sizeof hash);
        found = out->is_active;
    } else if (step != STORE_DONE) {
        store_fail(c, step, err);
        goto out;
    }
    store_reset(s);
    if (found && crypto_pwhash_str_verify(hash, password, strlen(password)) == 0) {
        rc = 0;
        goto out;
    }
    /* The same work as a real check, so timing does not reveal who exists. */
    if (!found &&
        crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE))
        BASE_DEBUG("store: dummy password hash failed");
    base_err_set(err, BASE_E_AUTH, "Invalid email or password.");
out:
    store_conn_put(st, c);
    return rc;
}

struct password {
    const char *hash;
    int64_t user;
};

static void bind_password(struct store_stmt *s, void *arg)
{
    const struct password *p = arg;
    store_bind_text(s, 1, p->hash);
    store_bind_i64(s, 2, p->user);
}

int store_user_set_password(struct store *st, int64_t user, const char *password,
                            struct base_err *err)
{
    char hash[crypto_pwhash_STRBYTES];
    if (hash_password(password, hash, err))
        return -1;
    struct password p = {hash, user};
    return store_write_one(st, SQL_USER_SET_PASSWORD, bind_password, &p, "no such user", NULL, err);
}

static void load_token(struct store_stmt *s, void *token)
{
    store_col_copy(s, 0, token, STORE_TOKEN_LEN + 1);
}

int store_user_token(struct store *st, int64_t user, char token[STORE_TOKEN_LEN + 1],
                     struct base_err *err)
{
    char missing[64];
    snprintf(missing, sizeof missing, "user %lld has no token", (long long)user);
    struct store_one q = {
        .sql = SQL_TOKEN_GET, .key = user, .load = load_token, .out = token, .msg = missing};
    return store_one(st, &q, err);
}

struct reset {
    int64_t user;
    char *token;
};

static int reset_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct reset *r = ctx;
    return store_write_on(c, SQL_TOKEN_DELETE, store_bind_id_arg, &r->user, NULL, NULL, err) ||
                   insert_token(c, r->user, r->token, err)
               ? -1
               : 0;
}

int store_user_reset_token(struct store *st, int64_t user, char token[STORE_TOKEN_LEN + 1],
                           struct base_err *err)
{
    struct store_user u;
    if (store_user_get(st, user, &u, err))
        return -1;
    struct reset r = {user, token};
    return store_tx(st, STORE_TX_WRITE, reset_body, &r, err);
}

/* ---- sessions -------------------------------------------------------------------------------- */

static void key_hash(const char *key, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)key, strlen(key));
    sodium_bin2hex(out, 65, h, sizeof h);
}

struct session {
    const char *hash;
    int64_t user, now, ttl_us;
};

static void bind_purge(struct store_stmt *s, void *arg)
{
    store_bind_time(s, 1, ((const struct session *)arg)->now);
}

static void bind_session(struct store_stmt *s, void *arg)
{
    const struct session *x = arg;
    store_bind_text(s, 1, x->hash);
    store_bind_i64(s, 2, x->user);
    store_bind_time(s, 3, x->now);
    store_bind_time(s, 4, x->now + x->ttl_us);
}

static int session_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    return store_write_on(c, SQL_SESSION_PURGE, bind_purge, ctx, NULL, NULL, err) ||
                   store_write_on(c, SQL_SESSION_INSERT, bind_session, ctx, NULL, NULL, err)
               ? -1
               : 0;
}

int store_session_create(struct store *st, int64_t user, int64_t ttl_us,
                         char key[STORE_SESSION_KEY_LEN + 1], struct base_err *err)
{
    if (base_random_hex(key, STORE_SESSION_KEY_LEN / 2, err))
        return -1;
    char hash[65];
    key_hash(key, hash);
    struct session x = {hash, user, base_time_us(), ttl_us};
    return store_tx(st, STORE_TX_WRITE, session_body, &x, err);
}

/* The session's user and whether the session has expired. */
struct session_user {
    struct store_user *user;
    int expired;
};

static void load_session_user(struct store_stmt *s, void *arg)
{
    struct session_user *x = arg;
    load_user(s, x->user);
    x->expired = store_col_time(s, 9) <= base_time_us();
}

int store_session_user(struct store *st, const char *key, struct store_user *out,
                       struct base_err *err)
{
    char hash[65];
    key_hash(key, hash);
    struct session_user x = {out, 0};
    struct store_one q = {.sql = SQL_SESSION_GET,
                          .text = hash,
                          .load = load_session_user,
                          .out = &x,
                          .missing = BASE_E_AUTH,
                          .msg = "Invalid session."};
    if (store_one(st, &q, err))
        return -1;
    if (!x.expired)
        return 0;
    store_session_delete(st, key, NULL);
    return base_err_set(err, BASE_E_AUTH, "Session expired.");
}

static void bind_key(struct store_stmt *s, void *hash)
{
    store_bind_text(s, 1, hash);
}

int store_session_delete(struct store *st, const char *key, struct base_err *err)
{
    char hash[65];
    key_hash(key, hash);
    return store_write_one(st, SQL_SESSION_DELETE, bind_key, hash, NULL, NULL, err);
}

/* ---- listing and names (/api/users) ---------------------------------------------------------- */

static const char SQL_USER_ALL[] = "SELECT " USER_COLS " FROM \"user\" u ORDER BY u.id";
static const char SQL_USER_NAMES[] =
    "UPDATE \"user\" SET username = ?2, first_name = ?3, last_name = ?4 WHERE id = ?1";

STORE_EACH_ROW(user_row, struct store_user, store_user_fn, load_user, STORE_NO_RELEASE)

int store_user_each(struct store *st, store_user_fn fn, void *ctx, struct base_err *err)
{
    struct store_cb x = STORE_CB(fn, ctx);
    return store_read(st, SQL_USER_ALL, NULL, NULL, 0, user_row, &x, err);
}

struct names_args {
    int64_t user;
    const char *v[3];
};

static void bind_names(struct store_stmt *s, void *arg)
{
    const struct names_args *a = arg;
    store_bind_i64(s, 1, a->user);
    for (int i = 0; i < 3; i++)
        store_bind_text(s, i + 2, a->v[i]);
}

int store_user_set_names(struct store *st, int64_t user, const char *username,
                         const char *first_name, const char *last_name, struct base_err *err)
{
    struct names_args a = {user, {username, first_name, last_name}};
    for (int i = 0; i < 3; i++)
        if (strlen(a.v[i]) > STORE_NAME_MAX)
            return base_err_set(err, BASE_E_INVALID, "names have at most %d characters",
                                STORE_NAME_MAX);
    return store_write_one(st, SQL_USER_NAMES, bind_names, &a, "no such user", NULL, err);
}
