/* api: labelloop's REST API in Label Studio's shapes (spec sections 1, 2, 6): projects, tasks,
 * import, annotations, predictions, uploaded media, browser sessions and the embedded UI. One
 * route table (api_routes.c) maps {method, path pattern} to handler functions, one file per
 * resource. Built on http (transport) and store (persistence). */
#ifndef LL_API_H
#define LL_API_H

#include "base/base.h"
#include "http/http.h"
#include "store/store.h"

struct api;

struct api_config {
    const char *data_dir;  /* uploads go to <data_dir>/media/upload/<project>/ */
    const char *version;   /* labelloop version, reported by /api/version and in errors */
    uint64_t seed;         /* seeds the uniform-sampling order of /next */
    int64_t session_ttl_s; /* browser session lifetime; 0 = 14 days (Django's default) */
};

/* The API over an open store (borrowed: it must outlive the api). Thread-safe after creation. */
struct api *api_new(struct store *st, const struct api_config *cfg, struct base_err *err);
void api_free(struct api *api);

/* The request handler to give http_server_new with the api as ctx. */
void api_handle(void *ctx, struct http_request *req, struct http_response *resp);

/* Called after each file of api_import_files with the number done so far. */
typedef void (*api_progress_fn)(void *ctx, size_t done, size_t total, const char *name);

/* Imports image files from the local disk into a project as `labelloop import` does: each file
 * is checked by its magic bytes (JPEG, PNG, WebP), copied to the project's upload folder (temp
 * name, fsync, rename) and becomes one task, all in one transaction; files not matching are
 * skipped and counted in *skipped. On failure nothing is imported and copied files are removed.
 * Errors: BASE_E_NOTFOUND (project), BASE_E_IO. */
int api_import_files(struct api *api, int64_t project, int64_t user, const char *const *paths,
                     size_t npaths, api_progress_fn progress, void *progress_ctx,
                     struct store_import_result *res, size_t *skipped, struct base_err *err);

#endif
