/* Users as Label Studio's /api/users answers them (list, read, and create for administrators,
 * the SDK's get_users / create_user), and POST /user/login with a form: the classic SDK logs in
 * with an email and password that way, then reads its token with the session cookie. Password
 * hashing runs on the hashing pool, throttled like /api/auth/login. */
#include "api_int.h"

#include <string.h>
#include <strings.h>

static int append_user(void *ctx, const struct store_user *u, struct base_err *err)
{
    (void)err;
    json_array_append_new(ctx, api_user_json(u));
    return 0;
}

/* GET /api/users */
int api_users_list(struct api_req *r, struct base_err *err)
{
    json_t *out = json_array();
    if (store_user_each(r->api->store, append_user, out, err)) {
        json_decref(out);
        return -1;
    }
    return api_reply_json(r, 200, out);
}

int api_user_get(struct api_req *r, struct base_err *err)
{
    struct store_user u;
    struct base_err e = {0};
    if (store_user_get(r->api->store, r->m.ids[0], &u, &e))
        return e.status == BASE_E_NOTFOUND ? base_err_set(err, BASE_E_NOTFOUND, "Not found.")
                                           : (*err = e, -1);
    return api_reply_json(r, 200, api_user_json(&u));
}

static const char *str_field(struct api_req *r, json_t *body, const char *key, int *bad,
                             struct base_err *err)
{
    json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v))
        return "";
    if (json_is_string(v) && json_string_length(v) <= STORE_NAME_MAX)
        return json_string_value(v);
    *bad = 1;
    api_invalid(r, err, key, "Not a valid string (at most %d characters).", STORE_NAME_MAX);
    return "";
}

/* On the hashing pool: the user with a hashed password (a random one when none is given: the
 * user cannot log in until an administrator sets one) and the names. */
static int create_user(struct api_req *r, struct base_err *err)
{
    json_t *body = api_body_object(r, err);
    int bad = 0, rc = -1;
    if (!body)
        return -1;
    const char *email = json_string_value(json_object_get(body, "email"));
    const char *pass = json_string_value(json_object_get(body, "password"));
    const char *username = str_field(r, body, "username", &bad, err);
    const char *first = str_field(r, body, "first_name", &bad, err);
    const char *last = str_field(r, body, "last_name", &bad, err);
    char random[33], token[STORE_TOKEN_LEN + 1];
    struct store_user u;
    struct base_err e = {0};
    if (!email || !*email)
        bad = 1, api_invalid(r, err, "email", "This field is required.");
    if (bad)
        goto out;
    if (!pass && base_random_hex(random, 16, err))
        goto out;
    if (store_user_create(r->api->store, email, pass ? pass : random, 0, &u, token, &e)) {
        if (e.status == BASE_E_CONFLICT)
            api_invalid(r, err, "email", "user with this email already exists.");
        else if (e.status == BASE_E_INVALID)
            api_invalid(r, err, strstr(e.msg, "password") ? "password" : "email", "%s", e.msg);
        else
            *err = e;
        goto out;
    }
    if (store_user_set_names(r->api->store, u.id, *username ? username : email, first, last, err) ||
        store_user_get(r->api->store, u.id, &u, err))
        goto out;
    rc = api_reply_json(r, 201, api_user_json(&u));
out:
    json_decref(body);
    return rc;
}

/* POST /api/users: administrators only. */
int api_users_create(struct api_req *r, struct base_err *err)
{
    if (!r->user.is_superuser)
        return base_err_set(err, BASE_E_FORBIDDEN,
                            "You do not have permission to perform this action.");
    return api_defer(r, API_POOL_HASH, create_user, err);
}

/* ---- POST /api/current-user/password ---------------------------------------------------------
 */

/* On the hashing pool: the current password is checked (a wrong one stays counted against the
 * login throttle, as api_login_admit counted it), then the new one is hashed and stored. */
static int change_password(struct api_req *r, struct base_err *err)
{
    json_t *body = api_body_object(r, err);
    if (!body)
        return -1;
    const char *old = json_string_value(json_object_get(body, "old_password"));
    const char *pw = json_string_value(json_object_get(body, "new_password"));
    struct store_user u;
    struct base_err e = {0};
    int rc = -1;
    if (!old || !*old)
        api_invalid(r, err, "old_password", "This field is required.");
    if (!pw || !*pw)
        api_invalid(r, err, "new_password", "This field is required.");
    if (!old || !*old || !pw || !*pw)
        goto out;
    if (store_user_login(r->api->store, r->user.email, old, &u, &e)) {
        if (e.status != BASE_E_AUTH) {
            *err = e;
            goto out;
        }
        api_invalid(r, err, "old_password", "The current password is not right.");
        goto out;
    }
    if (store_user_set_password(r->api->store, r->user.id, pw, &e)) {
        if (e.status == BASE_E_INVALID)
            api_invalid(r, err, "new_password", "%s", e.msg);
        else
            *err = e;
        goto out;
    }
    rc = api_reply_json(r, 200, json_pack("{ss}", "detail", "Password changed."));
out:
    json_decref(body);
    return rc;
}

/* POST /api/current-user/password {"old_password", "new_password"}: a labelloop extension (Label
 * Studio changes it on a Django form page). Throttled as logins are. */
int api_current_user_password(struct api_req *r, struct base_err *err)
{
    if (api_login_admit(r, r->user.email, err))
        return -1;
    return api_defer(r, API_POOL_HASH, change_password, err);
}

/* ---- POST /user/login (a form) --------------------------------------------------------------- */

/* email and password of an application/x-www-form-urlencoded body (or a JSON one). */
static int form_credentials(struct api_req *r, const char **email, const char **password,
                            struct base_err *err)
{
    size_t len;
    const char *body = http_request_body(r->http, &len);
    const char *ctype = http_request_header(r->http, "Content-Type");
    *email = *password = NULL;
    if (ctype && !strncasecmp(ctype, "application/json", 16)) {
        json_t *j = api_body_object(r, err);
        if (!j)
            return -1;
        const char *e = json_string_value(json_object_get(j, "email"));
        const char *p = json_string_value(json_object_get(j, "password"));
        *email = e ? base_arena_strdup(r->arena, e) : NULL;
        *password = p ? base_arena_strdup(r->arena, p) : NULL;
        json_decref(j);
    } else {
        struct http_query_pair *pairs;
        size_t n;
        char *path;
        char *target = base_arena_alloc(r->arena, len + 3);
        memcpy(target, "/?", 2);
        memcpy(target + 2, body ? body : "", len);
        target[len + 2] = '\0';
        if (memchr(target, '\0', len + 2) ||
            http_url_parse(target, r->arena, &path, &pairs, &n, 16, NULL))
            return api_invalid(r, err, "non_field_errors", "expected a login form");
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(pairs[i].name, "email") || !strcmp(pairs[i].name, "username"))
                *email = pairs[i].value;
            else if (!strcmp(pairs[i].name, "password"))
                *password = pairs[i].value;
        }
    }
    if (!*email || !**email)
        api_invalid(r, err, "email", "This field is required.");
    if (!*password || !**password)
        api_invalid(r, err, "password", "This field is required.");
    return *email && **email && *password && **password ? 0 : -1;
}

static int form_login_check(struct api_req *r, struct base_err *err)
{
    const char *email, *password;
    if (form_credentials(r, &email, &password, err) || api_login_check(r, email, password, err))
        return -1;
    /* as Django's login view: on to the application */
    http_response_header(r->resp, "Location", "/");
    return api_reply_empty(r, 302);
}

int api_user_login_form(struct api_req *r, struct base_err *err)
{
    const char *email, *password;
    if (form_credentials(r, &email, &password, err) || api_login_admit(r, email, err))
        return -1;
    return api_defer(r, API_POOL_HASH, form_login_check, err);
}
