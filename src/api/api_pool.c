/* Slow work off the server threads: a handler hands the rest of a request to one of the API's
 * work pools (password hashing, image decoding) with api_defer. The pools are bounded, so a
 * flood of logins or of image bombs waits for a place or gets 503, while every other request
 * keeps being served. Storage syncs (S3 listings and downloads) run on their own pool too. */
#include "api_int.h"

/* Argon2id takes 64 MiB and a core for ~50 ms a hash: one at a time. Decodes of large images
 * take a core and tens of MB each: two at a time. Both yield the CPU to the server threads. */
const struct http_pool_config api_pools[API_NPOOLS] = {
    [API_POOL_HASH] = {.threads = 1, .queue = 32, .nice = 10},
    [API_POOL_IMAGE] = {.threads = 2, .queue = 64, .nice = 5},
    /* Storage syncs wait on S3 and write tasks: one at a time, so two syncs of one storage never
     * import the same object twice (the second finds the first one's links). */
    [API_POOL_STORAGE] = {.threads = 1, .queue = 16, .nice = 5},
};

struct api_deferred {
    struct api_req r;
    api_handler_fn fn;
};

static void run_deferred(void *arg, struct http_request *req, struct http_response *resp)
{
    struct api_deferred *d = arg;
    d->r.http = req;
    d->r.resp = resp;
    struct base_err err = {0};
    if (d->fn(&d->r, &err)) {
        if (!err.msg[0])
            base_err_set(&err, BASE_E_INTERNAL, "internal error");
        api_reply_error(&d->r, &err);
    }
    json_decref(d->r.validation_errors);
    d->r.validation_errors = NULL;
}

int api_defer(struct api_req *r, int pool, api_handler_fn fn, struct base_err *err)
{
    struct api_deferred *d = base_arena_alloc(r->arena, sizeof *d);
    d->r = *r;
    d->r.validation_errors = NULL;
    d->fn = fn;
    if (http_request_defer(r->http, (size_t)pool, run_deferred, d)) {
        http_response_header(r->resp, "Retry-After", "1");
        return base_err_set(err, BASE_E_BUSY, "The server is busy: try again in a moment.");
    }
    return 0;
}
