/* /health and /version (and their /api/ twins): liveness and versions, without authentication
 * as in Label Studio. */
#include "api_int.h"

int api_health(struct api_req *r, struct base_err *err)
{
    (void)err;
    return api_reply_json(r, 200, json_pack("{ss}", "status", "UP"));
}

int api_version(struct api_req *r, struct base_err *err)
{
    (void)err;
    const char *v = r->api->version;
    json_t *body =
        json_pack("{ss s{ss ss ss so sb} s{ss} s{ss}}", "release", v, "label-studio-os-package",
                  "version", "1.6.0", "short_version", "1.6", "latest_version_from_pypi", "1.6.0",
                  "latest_version_upload_time", json_null(), "current_version_is_outdated", 0,
                  "labelloop", "version", v, "label-studio-converter", "version", "0.0.44");
    return api_reply_json(r, 200, body);
}
