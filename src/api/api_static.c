/* The browser UI: files embedded from web/dist at build time, served at / with index.html for
 * every other path the server does not own (client-side routing), long caching for the
 * content-hashed files under /assets/ and revalidation for the rest. */
#include "api_int.h"

#include <string.h>

int api_static(struct api_req *r, struct base_err *err)
{
    const struct http_asset *a = http_asset_find(r->path);
    if (!a && !strncmp(r->path, "/assets/", 8))
        return base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    if (!a)
        a = http_asset_find("/index.html");
    if (!a)
        return base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    http_response_header(r->resp, "Cache-Control", http_asset_cache_control(a->path));
    http_response_header(r->resp, "X-Content-Type-Options", "nosniff");
    http_response_static(r->resp, 200, http_content_type(a->path), a->data, a->len);
    return 0;
}
