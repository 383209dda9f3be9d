/* Label Studio's cloud and local storages (/api/storages/...: S3, GCS, Azure, Redis, local
 * files) are not part of labelloop. Scripts that connect one get a 404 that says so and what to
 * do instead, rather than a bare "Not found.". */
#include "api_int.h"

int api_storages_none(struct api_req *r, struct base_err *err)
{
    (void)r;
    return base_err_set(err, BASE_E_NOTFOUND,
                        "labelloop has no cloud or local storages: import the files with POST "
                        "/api/projects/{id}/import or `labelloop import`");
}
