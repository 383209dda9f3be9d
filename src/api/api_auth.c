/* Browser sessions and the current user: POST /api/auth/login sets an HttpOnly, SameSite=Strict
 * session cookie that authenticates like an API token (logins are throttled, and their password
 * hashes run on a pool of their own); whoami, token and reset-token as in Label Studio (spec
 * 2.1). */
#include "api_int.h"

#include <math.h>
#include <string.h>

static void set_cookie(struct api_req *r, const char *value, int64_t max_age)
{
    char *c = base_arena_printf(r->arena,
                                "sessionid=%s; HttpOnly; SameSite=Strict; Path=/; "
                                "Max-Age=%lld",
                                value, (long long)max_age);
    http_response_header(r->resp, "Set-Cookie", c);
}

/* Email and password of a login body (*body: decref it), or 400 naming what is missing. */
static int credentials(struct api_req *r, json_t **body, const char **email, const char **password,
                       struct base_err *err)
{
    if (!(*body = api_body_object(r, err)))
        return -1;
    *email = json_string_value(json_object_get(*body, "email"));
    *password = json_string_value(json_object_get(*body, "password"));
    if (!*email || !**email)
        api_invalid(r, err, "email", "This field is required.");
    if (!*password || !**password)
        api_invalid(r, err, "password", "This field is required.");
    return *email && **email && *password && **password ? 0 : -1;
}

int api_login_check(struct api_req *r, const char *email, const char *password,
                    struct base_err *err)
{
    char key[STORE_SESSION_KEY_LEN + 1];
    if (store_user_login(r->api->store, email, password, &r->user, err)) {
        if (err->status == BASE_E_AUTH)
            r->www_authenticate = "Session";
        return -1;
    }
    api_throttle_login_ok(r->api, api_client_address(r), email);
    if (store_session_create(r->api->store, r->user.id, r->api->session_ttl_us, key, err))
        return -1;
    set_cookie(r, key, r->api->session_ttl_us / 1000000);
    return 0;
}

/* On the hashing pool: the Argon2 check, then the session. */
static int login_check(struct api_req *r, struct base_err *err)
{
    json_t *body = NULL;
    const char *email = NULL, *password = NULL;
    int rc = -1;
    if (!credentials(r, &body, &email, &password, err) && !api_login_check(r, email, password, err))
        rc = api_reply_json(r, 200, api_user_json(&r->user));
    json_decref(body);
    return rc;
}

int api_login_admit(struct api_req *r, const char *email, struct base_err *err)
{
    double wait = 0;
    if (api_throttle_login(r->api, api_client_address(r), email, base_time_us(), &wait, err))
        return -1;
    if (wait <= 0)
        return 0;
    char after[32];
    snprintf(after, sizeof after, "%.0f", ceil(wait));
    http_response_header(r->resp, "Retry-After", after);
    r->status_override = 429;
    return base_err_set(err, BASE_E_BUSY,
                        "Too many failed login attempts: try again in %s seconds.", after);
}

/* Throttled by client address and account before any password is hashed; the hash itself runs
 * on its own bounded pool, so a flood of logins never holds up other requests. */
int api_auth_login(struct api_req *r, struct base_err *err)
{
    json_t *body = NULL;
    const char *email = NULL, *password = NULL;
    int rc = credentials(r, &body, &email, &password, err) || api_login_admit(r, email, err);
    json_decref(body);
    return rc ? -1 : api_defer(r, API_POOL_HASH, login_check, err);
}

int api_auth_logout(struct api_req *r, struct base_err *err)
{
    const char *key = http_request_cookie(r->http, "sessionid");
    if (key && *key && store_session_delete(r->api->store, key, err))
        return -1;
    set_cookie(r, "", 0);
    return api_reply_empty(r, 204);
}

int api_whoami(struct api_req *r, struct base_err *err)
{
    (void)err;
    return api_reply_json(r, 200, api_user_json(&r->user));
}

int api_token_get(struct api_req *r, struct base_err *err)
{
    char token[STORE_TOKEN_LEN + 1];
    if (store_user_token(r->api->store, r->user.id, token, err))
        return -1;
    return api_reply_json(r, 200, json_pack("{ss}", "token", token));
}

int api_token_reset(struct api_req *r, struct base_err *err)
{
    char token[STORE_TOKEN_LEN + 1];
    if (store_user_reset_token(r->api->store, r->user.id, token, err))
        return -1;
    return api_reply_json(r, 200, json_pack("{ss}", "token", token));
}
