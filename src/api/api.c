/* The dispatcher: resolves the route and the user (api_admit.c), runs the handler and turns an
 * error into Label Studio's JSON error wrapper. Also the small helpers every handler uses to read
 * input and write replies. */
#include "api_int.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>

struct api *api_new(struct store *st, const struct api_config *cfg, struct base_err *err)
{
    if (!cfg->data_dir || !*cfg->data_dir) {
        base_err_set(err, BASE_E_INVALID, "no data directory");
        return NULL;
    }
    struct api *api = base_calloc(1, sizeof *api);
    api->store = st;
    api->loop = cfg->loop;
    api->mlb = cfg->mlb;
    api->data_dir = base_strdup(cfg->data_dir);
    api->media_dir = base_path_join(cfg->data_dir, "media");
    api->version = base_strdup(cfg->version ? cfg->version : "0");
    api->session_ttl_us =
        (cfg->session_ttl_s > 0 ? cfg->session_ttl_s : 14 * 24 * 3600) * (int64_t)1000000;
    api->task_lock_ttl_us =
        (cfg->task_lock_ttl_s > 0 ? cfg->task_lock_ttl_s : 24 * 3600) * (int64_t)1000000;
    pthread_mutex_init(&api->rng_lock, NULL);
    base_rng_seed(&api->rng, cfg->seed);
    api->limits = cfg->limits;
    if (!api->limits.max_json)
        api->limits.max_json = (size_t)16 << 20;
    if (!api->limits.max_image_pixels)
        api->limits.max_image_pixels = (uint64_t)100 * 1000 * 1000;
    api->throttle = api_throttle_new();
    return api;
}

void api_free(struct api *api)
{
    if (!api)
        return;
    pthread_mutex_destroy(&api->rng_lock);
    api_throttle_free(api->throttle);
    base_free(api->data_dir);
    base_free(api->media_dir);
    base_free(api->version);
    base_free(api);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static const int status_table[] = {
    [BASE_OK] = 200,          [BASE_E_INVALID] = 400,     [BASE_E_NOTFOUND] = 404,
    [BASE_E_CONFLICT] = 409,  [BASE_E_TOOBIG] = 413,      [BASE_E_AUTH] = 401,
    [BASE_E_FORBIDDEN] = 403, [BASE_E_UNSUPPORTED] = 415, [BASE_E_IO] = 500,
    [BASE_E_NOMEM] = 500,     [BASE_E_CANCELLED] = 500,   [BASE_E_BUSY] = 503,
    [BASE_E_INTERNAL] = 500,
};

int api_http_status(enum base_status status)
{
    if ((size_t)status < sizeof status_table / sizeof status_table[0] && status_table[status])
        return status_table[status];
    return 500;
}

static void uuid4(char out[37])
{
    unsigned char b[16];
    if (base_random_bytes(b, sizeof b, NULL))
        memset(b, 0, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

void api_reply_error(struct api_req *r, const struct base_err *err)
{
    int status = r->status_override ? r->status_override : api_http_status(err->status);
    char id[37];
    uuid4(id);
    json_t *body = json_object();
    json_object_set_new(body, "id", json_string(id));
    json_object_set_new(body, "status_code", json_integer(status));
    json_object_set_new(body, "version", json_string(r->api->version));
    json_object_set_new(body, "detail", json_string(err->msg[0] ? err->msg : "Error"));
    json_object_set_new(body, "exc_info", json_null());
    if (r->validation_errors && err->status == BASE_E_INVALID)
        json_object_set(body, "validation_errors", r->validation_errors);
    if (status == 401)
        http_response_header(r->resp, "WWW-Authenticate",
                             r->www_authenticate ? r->www_authenticate : "Token");
    if (status >= 500)
        BASE_ERROR("api: %s %s: %s", r->method, r->path, err->msg);
    api_reply_json(r, status, body);
}

int api_invalid(struct api_req *r, struct base_err *err, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!r->validation_errors)
        r->validation_errors = json_object();
    json_t *list = json_object_get(r->validation_errors, field);
    if (!list) {
        list = json_array();
        json_object_set_new(r->validation_errors, field, list);
    }
    json_array_append_new(list, json_string(msg));
    return base_err_set(err, BASE_E_INVALID, "Validation error");
}

/* ---- replies --------------------------------------------------------------------------------- */

int api_reply_json(struct api_req *r, int status, json_t *body)
{
    size_t len;
    char *text = base_json_dumps(body, BASE_JSON_COMPACT, &len);
    json_decref(body);
    http_response_take(r->resp, status, "application/json", text, len);
    return 0;
}

int api_reply_empty(struct api_req *r, int status)
{
    http_response_static(r->resp, status, NULL, "", 0);
    return 0;
}

/* ---- input ----------------------------------------------------------------------------------- */

json_t *api_body_json(struct api_req *r, struct base_err *err)
{
    size_t len;
    const char *body = http_request_body(r->http, &len);
    if (len == 0) {
        base_err_set(err, BASE_E_INVALID, "JSON parse error - the request body is empty");
        return NULL;
    }
    return base_json_parse(body, len, err);
}

json_t *api_body_object(struct api_req *r, struct base_err *err)
{
    json_t *v = api_body_json(r, err);
    if (v && !json_is_object(v)) {
        json_decref(v);
        base_err_set(err, BASE_E_INVALID, "expected a JSON object in the request body");
        return NULL;
    }
    return v;
}

int api_query_int(struct api_req *r, const char *name, int64_t def, int64_t min, int64_t max,
                  int64_t *out, struct base_err *err)
{
    const char *v = http_request_query(r->http, name);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    int64_t n;
    if (base_parse_i64(v, &n) || n < min || n > max)
        return api_invalid(r, err, name, "A valid integer between %lld and %lld is required.",
                           (long long)min, (long long)max);
    *out = n;
    return 0;
}

int api_query_bool(struct api_req *r, const char *name, int def)
{
    const char *v = http_request_query(r->http, name);
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; v && i < 4; i++) {
        if (!strcasecmp(v, yes[i]))
            return 1;
        if (!strcasecmp(v, no[i]))
            return 0;
    }
    return def;
}

const char *api_base_url(struct api_req *r)
{
    const char *host = http_request_header(r->http, "Host");
    return base_arena_printf(r->arena, "http://%s", host ? host : "localhost");
}

/* ---- dispatch -------------------------------------------------------------------------------- */

static int dispatch(struct api_req *r, struct base_err *err)
{
    enum base_status st = http_request_status(r->http);
    if (st == BASE_E_TOOBIG)
        return base_err_set(err, BASE_E_TOOBIG, "Request body is larger than the server's limit.");
    if (st == BASE_E_BUSY || st == BASE_E_IO) {
        http_response_header(r->resp, "Retry-After", "5");
        return base_err_set(err, BASE_E_BUSY, "The server is busy: try again in a moment.");
    }
    if (st != BASE_OK)
        return base_err_set(err, BASE_E_INVALID, "Malformed request URL.");
    const struct api_route *route;
    if (api_route_resolve(r, &route, err))
        return -1;
    return route ? route->fn(r, err) : api_static(r, err);
}

void api_req_init(struct api_req *r, struct api *api, struct http_request *http,
                  struct http_response *resp)
{
    *r = (struct api_req){.api = api, .http = http, .resp = resp};
    r->arena = http_request_arena(http);
    r->path = http_request_path(http);
    r->method = http_request_method(http);
    if (!strcmp(r->method, "HEAD"))
        r->method = "GET";
}

void api_handle(void *ctx, struct http_request *req, struct http_response *resp)
{
    struct api_req r;
    api_req_init(&r, ctx, req, resp);
    struct base_err err = {0};
    double t0 = base_now();
    if (dispatch(&r, &err)) {
        if (!err.msg[0])
            base_err_set(&err, BASE_E_INTERNAL, "internal error");
        api_reply_error(&r, &err);
    }
    json_decref(r.validation_errors);
    BASE_DEBUG("api: %s %s -> %d (%.1f ms)", http_request_method(req), r.path,
               http_response_code(resp), (base_now() - t0) * 1e3);
}
