/* mlb: Label Studio's ML backend protocol (spec section 3), both ways. The server side is
 * `labelloop ml-backend`: it answers /health, /setup, /predict, /train, /webhook, /versions and
 * /metrics for a Label Studio, keeps one labelloop project per Label Studio project uid in its own
 * store, fetches task media from Label Studio (or local files, or plain URLs) into a cache, and
 * trains through the loop (policy, worker, held-out evaluation, promotion) unchanged. The media
 * resolver and the HTTP call underneath are public so that the client side and the tests share
 * them. Built on loop, store, http and base; the cli starts it. Design: src/mlb/README.md. */
#ifndef LL_MLB_H
#define LL_MLB_H

#include "base/base.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ---- one HTTP call (libcurl) ------------------------------------------------------------------
 */

struct mlb_call {
    const char *method;        /* "GET" (default when NULL), "POST", ... */
    const char *url;           /* absolute http(s) URL */
    const char *auth;          /* full Authorization value ("Token abc") or NULL */
    const char *body;          /* JSON text sent with Content-Type application/json, or NULL */
    double connect_s, total_s; /* limits; 0: 5 s and 30 s */
    size_t max_bytes;          /* answer body limit; 0: 64 MiB */
};
/* Performs the call; *status receives the HTTP status and `out` the body (whatever the status).
 * Errors (a message naming the URL and the reason): BASE_E_IO (cannot connect, DNS, reset),
 * BASE_E_BUSY (timed out), BASE_E_TOOBIG (answer over max_bytes), BASE_E_INVALID (bad URL).
 * Thread-safe. */
int mlb_http(const struct mlb_call *c, long *status, struct base_buf *out, struct base_err *err);

/* ---- task media ---------------------------------------------------------------------------- */

struct mlb_media;

struct mlb_media_config {
    const char *cache_dir;  /* downloaded files, one per URL ("<md5[:8]>__<name>") */
    const char *local_root; /* LOCAL_FILES_DOCUMENT_ROOT, or NULL when not set */
    size_t max_bytes;       /* largest file downloaded; 0: 64 MiB */
    double timeout_s;       /* per download; 0: 30 s */
};
struct mlb_media *mlb_media_new(const struct mlb_media_config *cfg, struct base_err *err);
void mlb_media_free(struct mlb_media *m);

/* Where Label Studio is, for one project: from /setup, else LABEL_STUDIO_URL and
 * LABEL_STUDIO_API_KEY (the caller resolves that). Either may be NULL or "". */
struct mlb_source {
    const char *host;  /* "http://localhost:8080" */
    const char *token; /* API token sent as "Authorization: Token <token>" to that host only */
};

/* The local file holding a task's media value `url` (base_alloc'd path):
 * - "/data/local-files/?d=<path>": <local_root>/<path> when local_root is set (never a file
 *   outside it: "..", symlinks and percent-encoding are resolved first), else downloaded from
 *   the host;
 * - "/data/upload/..." (also "upload/..."): downloaded from the host with the token;
 * - "http://..." / "https://...": downloaded (the token only goes to the Label Studio host);
 * - anything else (s3://, gs://, a bare path): BASE_E_UNSUPPORTED.
 * Downloads are cached: a URL is fetched once. Errors name the URL and the reason: BASE_E_AUTH
 * (token missing or refused), BASE_E_NOTFOUND, BASE_E_FORBIDDEN (outside the root), BASE_E_IO
 * (unreachable), BASE_E_BUSY (timed out), BASE_E_TOOBIG. Thread-safe. */
char *mlb_media_get(struct mlb_media *m, const struct mlb_source *src, const char *url,
                    struct base_err *err);
/* The last failure of mlb_media_get (into out, "" when none), for /health. */
void mlb_media_last_error(struct mlb_media *m, char *out, size_t size);

/* The percent-decoded value of query parameter `name` of a URL ("/data/local-files/?d=a%2Fb"
 * -> "a/b"; '+' stays '+', as Label Studio's unquote leaves it), base_alloc'd; NULL when absent or
 * when it decodes to a NUL byte. Pure. */
char *mlb_url_query(const char *url, const char *name);
/* The file a local-files `d` value names under `root` (both as given; d already URL-decoded):
 * the real path (base_alloc'd) if it exists inside the real root. BASE_E_FORBIDDEN when it
 * resolves outside the root, BASE_E_NOTFOUND when it does not exist, BASE_E_INVALID when empty.
 * Pure apart from reading the file system. */
char *mlb_local_path(const char *root, const char *d, struct base_err *err);

/* ---- the ML backend server ------------------------------------------------------------------ */

struct mlb_server;

struct mlb_config {
    const char *model_dir;  /* <model_dir>/<project uid>/<version>/ (state in .labelloop/) */
    const char *db;         /* its state's database: a PostgreSQL URL or SQLite file (NULL:
                             * <model_dir>/.labelloop/labelloop.sqlite3) */
    const char *host;       /* listen address (NULL: 127.0.0.1) */
    int port;               /* 0: any free port */
    int threads;            /* HTTP threads (0: 8) */
    const char *ls_url;     /* LABEL_STUDIO_URL (or NULL) */
    const char *ls_token;   /* LABEL_STUDIO_API_KEY (or NULL) */
    const char *local_root; /* LOCAL_FILES_DOCUMENT_ROOT (or NULL) */
    size_t max_media_bytes; /* 0: 64 MiB */
    double media_timeout_s; /* 0: 30 s */
    int worker_threads;     /* the loop's training worker (0: all cores) */
    double max_train_s;     /* cap on one training cycle (0: the loop's schedule) */
    const char *arch;       /* architecture the loop trains (NULL: det's default) */
    int no_training;        /* jobs stay queued (tests) */
    int64_t min_labeled;    /* first training after this many labeled tasks (0: 10) */
    int64_t retrain_every;  /* then after this many changed annotations (0: 20) */
};
struct mlb_server *mlb_server_new(const struct mlb_config *cfg, struct base_err *err);
int mlb_server_port(const struct mlb_server *s);
/* Stops serving, then the background work and the loop. Accepts NULL. */
void mlb_server_free(struct mlb_server *s);

/* ---- labelloop calling external ML backends (the client) ------------------------------------- */

struct store;
struct store_ml_backend;
struct mlb_client;

/* Timeouts as Label Studio's (spec 3.2; 0 takes the default in brackets), retries and the
 * circuit breaker. */
struct mlb_client_config {
    double connect_s;      /* [1] */
    double health_s;       /* [1] */
    double setup_s;        /* [3] */
    double predict_s;      /* [100] also /train and START_TRAINING */
    double webhook_s;      /* [1] annotation events */
    int retries;           /* [2] more attempts after a failed call; -1: none */
    double backoff_s;      /* [0.5] first wait between attempts, doubled each time */
    int breaker_failures;  /* [3] failed calls in a row that open the circuit */
    double breaker_open_s; /* [30] how long calls to that backend are then skipped */
    double poll_s;         /* [60] every backend's state is refreshed this often */
    int batch;             /* [32] tasks per /predict */
};
struct mlb_client *mlb_client_new(struct store *st, const struct mlb_client_config *cfg,
                                  struct base_err *err);
/* Stops the client thread (work still queued is dropped: it is redone from the store's state by
 * the next refresh). Accepts NULL. */
void mlb_client_free(struct mlb_client *c);
/* labelloop's own address, sent as /setup's hostname (the API sets it from its requests). */
void mlb_client_set_hostname(struct mlb_client *c, const char *url);
/* Health then setup now, on the caller's thread (at most connect + health + setup timeouts):
 * fills b's state ("CO", "ER" after a failed setup, "DI" after a failed health check),
 * error_message, model_version (when auto_update or unset) and legacy_train, and saves them when
 * b->id is set. -1 with err (BASE_E_INVALID) worded as Label Studio words it. Thread-safe. */
int mlb_client_connect(struct mlb_client *c, struct store_ml_backend *b, struct base_err *err);
/* Queued work, done on the client thread; never blocks, never fails the caller: */
void mlb_client_refresh(struct mlb_client *c, int64_t backend);
/* Predictions of the project's external backends for these tasks (n = 0: every task without a
 * prediction of the backend's model version), in batches. */
void mlb_client_predict(struct mlb_client *c, int64_t project, const int64_t *tasks, size_t n);
/* An annotation event ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED") sent
 * to the project's external backends as Label Studio's webhook. */
void mlb_client_event(struct mlb_client *c, int64_t project, const char *action, int64_t annotation,
                      int64_t task);
/* Training on demand: START_TRAINING to /webhook, or the seed-era POST /train. */
void mlb_client_train(struct mlb_client *c, int64_t backend);
/* Adds the circuit breaker's state of a backend to `into` ("circuit": {open, failures,
 * retry_in_s}). */
void mlb_client_status(struct mlb_client *c, int64_t backend, json_t *into);

#endif
