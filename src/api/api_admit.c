/* Admission: what is decided from a request's headers alone, before its body is read. The route
 * is found, the user authenticated (API token or session cookie) and a cookie-authenticated
 * write checked against cross-site request forgery, so that a request without valid
 * credentials never costs the server memory for its body; the route's flags then give the body
 * limit. The handler finds the outcome again through http_request_data. */
#include "api_int.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#define API_SESSION_COOKIE "sessionid"
/* Public routes (login, config validation) take small bodies only: a labeling config or a
 * password is far below this. */
#define API_PUBLIC_BODY_MAX ((size_t)1 << 20)

/* What admission found, kept in the request arena for the handler. */
struct api_admitted {
    const struct api_route *route;
    struct http_route_match m;
    int authed;
    struct store_user user;
};

/* ---- route and user -------------------------------------------------------------------------- */

static int has_prefix(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return !strncmp(path, prefix, n) && (path[n] == '\0' || path[n] == '/');
}

/* Paths that belong to the server and never fall back to the UI's index.html. */
static int server_path(const char *path)
{
    return has_prefix(path, "/api") || has_prefix(path, "/data") || has_prefix(path, "/health") ||
           has_prefix(path, "/version");
}

static const struct api_route *find_route(struct api_req *r, int *method_mismatch)
{
    *method_mismatch = 0;
    for (size_t i = 0; i < api_nroutes; i++) {
        struct http_route_match m;
        if (!http_route_match(api_routes[i].pattern, r->path, &m))
            continue;
        if (strcmp(api_routes[i].method, r->method)) {
            *method_mismatch = 1;
            continue;
        }
        r->m = m;
        return &api_routes[i];
    }
    return NULL;
}

static int authenticate(struct api_req *r, struct base_err *err)
{
    const char *auth = http_request_header(r->http, "Authorization");
    if (auth) {
        size_t n = strcspn(auth, " ");
        const char *key = auth + n + strspn(auth + n, " ");
        if ((n != 5 || strncasecmp(auth, "Token", 5)) || !*key || strchr(key, ' '))
            return base_err_set(err, BASE_E_AUTH, "Invalid token header.");
        return store_user_by_token(r->api->store, key, &r->user, err);
    }
    const char *session = http_request_cookie(r->http, API_SESSION_COOKIE);
    if (session && *session)
        return store_session_user(r->api->store, session, &r->user, err);
    return base_err_set(err, BASE_E_AUTH, "Authentication credentials were not provided.");
}

/* ---- cross-site request forgery ------------------------------------------------------------- */

/* Whether an Origin header ("https://host:port") names the host the request was sent to. */
static int same_origin(struct api_req *r, const char *origin)
{
    const char *p = strstr(origin, "://");
    if (!p || strchr(p + 3, '/'))
        return 0;
    const char *host = http_request_header(r->http, "Host");
    const char *fwd =
        r->api->limits.trust_proxy ? http_request_header(r->http, "X-Forwarded-Host") : NULL;
    return (host && !strcasecmp(p + 3, host)) || (fwd && !strcasecmp(p + 3, fwd));
}

static int has_body(struct api_req *r)
{
    const char *cl = http_request_header(r->http, "Content-Length");
    return (cl && strcmp(cl, "0")) || http_request_header(r->http, "Transfer-Encoding");
}

/* A browser sends Origin (or at least Sec-Fetch-Site) with every write, and a page of another
 * origin cannot forge either; SameSite cookies alone do not stop a page on another port of the
 * same host. Token-authenticated calls carry no ambient credentials and are not checked. A
 * cookie-authenticated body must also be JSON or a multipart upload, which a plain cross-site
 * form cannot send without Origin. */
static int check_forgery(struct api_req *r, const struct api_route *route, struct base_err *err)
{
    if (!strcmp(r->method, "GET") || http_request_header(r->http, "Authorization"))
        return 0;
    const char *origin = http_request_header(r->http, "Origin");
    const char *site = http_request_header(r->http, "Sec-Fetch-Site");
    int cookie = route && !(route->flags & API_PUBLIC) && r->authed;
    if (origin && !same_origin(r, origin))
        return base_err_set(err, BASE_E_FORBIDDEN,
                            "CSRF check failed: the request comes from another origin (%.100s).",
                            origin);
    if (!origin && site && strcmp(site, "same-origin"))
        return base_err_set(err, BASE_E_FORBIDDEN,
                            "CSRF check failed: the request comes from another site.");
    if (!origin && !site && cookie)
        return base_err_set(err, BASE_E_FORBIDDEN,
                            "CSRF check failed: a session-authenticated write needs an Origin "
                            "header (scripts use Authorization: Token).");
    const char *ctype = http_request_header(r->http, "Content-Type");
    if (cookie && has_body(r) &&
        !(ctype && (!strncasecmp(ctype, "application/json", 16) ||
                    !strncasecmp(ctype, "multipart/form-data", 19))))
        return base_err_set(err, BASE_E_UNSUPPORTED,
                            "Unsupported media type \"%.100s\" in request: send "
                            "application/json or multipart/form-data.",
                            ctype ? ctype : "");
    return 0;
}

/* ---- resolution and admission ---------------------------------------------------------------- */

static int resolve(struct api_req *r, const struct api_route **route, struct base_err *err)
{
    int mismatch;
    *route = find_route(r, &mismatch);
    if (!*route && !strcmp(r->method, "GET") && !server_path(r->path))
        return 0;
    if (!*route && mismatch) {
        r->status_override = 405;
        return base_err_set(err, BASE_E_INVALID, "Method \"%s\" not allowed.", r->method);
    }
    if (!*route)
        return base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    if (!((*route)->flags & API_PUBLIC)) {
        if (authenticate(r, err))
            return -1;
        r->authed = 1;
    }
    return check_forgery(r, *route, err);
}

int api_route_resolve(struct api_req *r, const struct api_route **route, struct base_err *err)
{
    const struct api_admitted *a = http_request_data(r->http);
    if (!a) {
        if (resolve(r, route, err))
            return -1;
        struct api_admitted *keep = base_arena_calloc(r->arena, 1, sizeof *keep);
        *keep = (struct api_admitted){*route, r->m, r->authed, r->user};
        http_request_set_data(r->http, keep);
        return 0;
    }
    *route = a->route;
    r->m = a->m;
    r->authed = a->authed;
    r->user = a->user;
    return 0;
}

int api_admit(void *ctx, struct http_request *req, struct http_response *resp,
              struct http_admission *adm)
{
    struct api_req r;
    api_req_init(&r, ctx, req, resp);
    struct base_err err = {0};
    const struct api_route *route = NULL;
    if (api_route_resolve(&r, &route, &err)) {
        api_reply_error(&r, &err);
        json_decref(r.validation_errors);
        return 1;
    }
    unsigned flags = route ? route->flags : API_PUBLIC;
    adm->untrusted = !r.authed;
    adm->spool = (flags & API_UPLOAD) != 0;
    adm->max_body = flags & API_UPLOAD   ? 0
                    : flags & API_PUBLIC ? API_PUBLIC_BODY_MAX
                                         : r.api->limits.max_json;
    return 0;
}

/* ---- client address -------------------------------------------------------------------------- */

const char *api_client_address(struct api_req *r)
{
    const char *peer = http_request_peer(r->http);
    const char *fwd =
        r->api->limits.trust_proxy ? http_request_header(r->http, "X-Forwarded-For") : NULL;
    if (fwd && *fwd) { /* the proxy appends the address it saw last */
        const char *last = strrchr(fwd, ',');
        last = last ? last + 1 : fwd;
        last += strspn(last, " \t");
        peer = base_arena_strndup(r->arena, last, strcspn(last, " \t"));
    }
    unsigned char a6[16];
    char text[INET6_ADDRSTRLEN];
    if (strchr(peer, ':') && inet_pton(AF_INET6, peer, a6) == 1) {
        memset(a6 + 8, 0, 8); /* one host usually holds a whole /64 */
        if (inet_ntop(AF_INET6, a6, text, sizeof text))
            peer = base_arena_printf(r->arena, "%s/64", text);
    }
    return peer;
}
