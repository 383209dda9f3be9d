/* api: labelloop's REST API in Label Studio's shapes (spec sections 1, 2, 6): projects, tasks,
 * import, annotations, predictions, uploaded media, browser sessions and the embedded UI. One
 * route table (api_routes.c) maps {method, path pattern} to handler functions, one file per
 * resource. Built on http (transport) and store (persistence). */
#ifndef LL_API_H
#define LL_API_H

#include "base/base.h"
#include "formats/formats.h"
#include "http/http.h"
#include "loop/loop.h"
#include "store/store.h"

struct api;

/* Limits against clients that do not play fair (docs/security.md); zero means the default. */
struct api_limits {
    size_t max_json;           /* body limit of routes other than uploads; 0 = 16 MiB */
    uint64_t max_image_pixels; /* uploaded images with more pixels are refused; 0 = 100 million */
    int trust_proxy;           /* client address from X-Forwarded-For: behind a reverse proxy */
};

struct mlb_client;

struct api_config {
    const char *data_dir;    /* uploads go to <data_dir>/media/upload/<project>/ */
    const char *version;     /* labelloop version, reported by /api/version and in errors */
    uint64_t seed;           /* seeds the uniform-sampling order of /next */
    int64_t session_ttl_s;   /* browser session lifetime; 0 = 14 days (Django's default) */
    int64_t task_lock_ttl_s; /* how long /next's task lock lasts; 0 = one day (Label Studio's
                                TASK_LOCK_TTL default) */
    struct loop *loop;       /* the training loop (borrowed; NULL: none, the /api/ml routes 404) */
    struct mlb_client *mlb;  /* external ML backends (borrowed; NULL: /api/ml lists none) */
    struct api_limits limits;
};

/* The API over an open store (borrowed: it must outlive the api). Thread-safe after creation. */
struct api *api_new(struct store *st, const struct api_config *cfg, struct base_err *err);
void api_free(struct api *api);

/* The request handler to give http_server_new with the api as ctx. */
void api_handle(void *ctx, struct http_request *req, struct http_response *resp);
/* The admission callback to give http_server_new (http_server_config.admit) with the api as
 * ctx: finds the route and authenticates from the headers alone, so that requests without valid
 * credentials, to unknown routes or forged cross-site are answered before their body is read;
 * sets the route's body limit (public routes 1 MiB, uploads spooled to disk). */
int api_admit(void *ctx, struct http_request *req, struct http_response *resp,
              struct http_admission *adm);

/* The work pools the handlers defer slow work to, for http_server_config.pools/npools: password
 * hashing (one thread: Argon2 takes 64 MiB), image decoding (thumbnails) and storage syncs (one
 * at a time). */
enum { API_POOL_HASH, API_POOL_IMAGE, API_POOL_STORAGE, API_NPOOLS };
extern const struct http_pool_config api_pools[API_NPOOLS];

/* Removes what a crash can leave in the media folder: upload files without an upload record
 * (written before a transaction that never committed), their temporary files and the folders
 * of interrupted data-set imports. For `serve` before it starts serving (not while another
 * process imports into the same data directory). *removed (may be NULL) counts the files. */
int api_sweep_uploads(struct api *api, size_t *removed, struct base_err *err);

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

/* A data set or Label Studio JSON file to import (`labelloop import --format`). */
struct api_dataset_import {
    int64_t project, user;  /* user: completed_by of the annotations (0 = none) */
    const char *path;       /* COCO/YOLO/VOC folder (or COCO json), or a Label Studio JSON file */
    enum formats_kind kind; /* FORMATS_COCO, FORMATS_YOLO, FORMATS_VOC or FORMATS_JSON */
    int as_predictions;     /* boxes (or a JSON file's annotations) become predictions */
    const char *model_version; /* of those predictions */
    api_progress_fn progress;  /* once per image (may be NULL) */
    void *progress_ctx;
    int64_t *ids_skipped; /* out (may be NULL): JSON entries that were ids, not objects */
    /* JSON: a task's image named by a file path ("pimgs/a.jpg", what `labelloop predict`
     * writes) is copied in as an upload. It is looked for in the JSON file's folder and its
     * images/ folder by name; with local_files also at the path itself (absolute, or relative
     * to the JSON file or the working directory). Only the command line sets local_files: a
     * server must never read paths an upload names. */
    int local_files;
    /* JSON: add the file's predictions to the tasks the project has already (matched by image
     * file name, else by task id) instead of creating tasks; a task matching none is an error. */
    int match_existing;
};

/* Imports a data set into a project in one transaction, all or nothing: COCO/YOLO/VOC images are
 * copied into the project's uploads (as api_import_files does) and their boxes become one
 * annotation (or prediction) per image, in percent of the real image size; a Label Studio JSON
 * file's tasks keep their data, annotations and predictions (not their ids). Errors name the
 * file and line or field: BASE_E_INVALID (bad input, labels not in the labeling config),
 * BASE_E_NOTFOUND (project, files), BASE_E_IO. */
int api_import_dataset(struct api *api, const struct api_dataset_import *o,
                       struct store_import_result *res, struct base_err *err);

/* What `labelloop export` and GET /api/projects/{id}/export produce. */
struct api_export_opts {
    int64_t project;
    enum formats_kind kind;
    int all_tasks;          /* download_all_tasks: also tasks without annotations */
    int download_resources; /* COCO/YOLO/VOC: uploaded images go into the zip */
    int json_only;          /* COCO without images: the JSON file itself, not a zip of it */
    const int64_t *ids;     /* optional restriction to these task ids */
    size_t nids;
    const char *dest;         /* NULL: <data_dir>/export/project-<id>-at-<time>-<hex>.<ext> */
    api_progress_fn progress; /* called once per task (may be NULL) */
    void *progress_ctx;
};

/* Streams the project's tasks (spec 1.2 export shape, in id order) through the exporter of
 * o->kind and writes the file atomically; *path (base_free) names it. Only images under the
 * data dir's uploads are ever copied into an archive. Memory stays bounded whatever the project
 * size. Errors: BASE_E_NOTFOUND (project), BASE_E_UNSUPPORTED (format not possible with the
 * project's labeling config), BASE_E_IO. Thread-safe. */
int api_export_project(struct api *api, const struct api_export_opts *o, char **path,
                       struct base_err *err);

#endif
