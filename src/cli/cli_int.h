/* Shared between the command files of src/cli: the command table entry and option helpers. */
#ifndef LL_CLI_INT_H
#define LL_CLI_INT_H

#include <stdint.h>

struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

/* Prints "labelloop: <message>" to stderr and returns exit status 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True for -h / --help. */
int cli_is_help(const char *arg);

/* What `serve` runs with (cli_serve.c); 0 means the default for the limits. */
struct cli_serve_opts {
    const char *data_dir, *host, *admin_email, *admin_password;
    const char *db; /* --db: a PostgreSQL URL or SQLite file (NULL: the data dir's) */
    int port, threads;
    int64_t max_body_mb, session_ttl_s, task_lock_ttl_s;
    /* limits against abuse (docs/security.md); 0 = the default */
    int64_t max_json_mb, max_image_mpix, max_inflight_mb, max_conns_per_ip, header_timeout_s;
    int trust_proxy;
    /* the training loop */
    int worker_threads, worker_nice, no_training, no_zoo;
    double max_train_s;
    const char *arch; /* --arch: the loop's architecture (NULL: det's default) */
};
struct api;
struct http_server;
struct base_err;
/* The HTTP server `serve` puts in front of an api: admission from the headers, body limits,
 * upload spooling under <data_dir>/tmp and the slow-work pools. Used by serve and simulate. */
struct http_server *cli_start_http(struct api *api, const struct cli_serve_opts *o,
                                   struct base_err *err);

int cli_version(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_export(int argc, char **argv);

struct store;
/* The database a command opens: its --db value when given, else $LABELLOOP_DB when set and not
 * empty, else NULL (the data dir's SQLite file). A postgresql:// URL or a SQLite file's path. */
const char *cli_db_where(const char *flag);
/* The usage line of --db, shared by the commands that take it. */
#define CLI_DB_USAGE                                                                               \
    "  --db URL              the database: postgresql://user:password@host/dbname, or a\n"         \
    "                        SQLite file (default $LABELLOOP_DB, else labelloop.sqlite3 in\n"      \
    "                        the data dir); media and models stay in the data dir\n"
/* Creates the data directory (and media/upload) if needed and opens its database (db: a
 * PostgreSQL URL or SQLite file from cli_db_where; NULL: the data dir's SQLite file); prints the
 * error (a URL's password hidden) and returns NULL on failure. */
struct store *cli_open_store(const char *data_dir, const char *db);
/* The same for a database that must exist already (commands that read users or projects): NULL
 * after naming the folder or file when there is none, rather than creating an empty one. */
struct store *cli_open_existing_store(const char *data_dir, const char *db);
/* Sets the log level from its name; prints an error and returns 1 for an unknown one. */
int cli_set_log_level(const char *name);

#include <stddef.h>

/* ---- detector commands (cli_train.c, cli_predict.c, cli_eval.c; helpers in cli_det.c) ---- */

int cli_train(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_train_worker(int argc, char **argv);
int cli_simulate(int argc, char **argv);
int cli_ml_backend(int argc, char **argv);
struct store;
struct mlb_client;
/* The client that calls external ML backends, configured from Label Studio's environment
 * variables (ML_TIMEOUT_PREDICT, ...; cli_mlb.c). */
struct mlb_client *cli_ml_client(struct store *st, struct base_err *err);
int cli_model(int argc, char **argv);
int cli_db(int argc, char **argv);

enum cli_det_opt_kind { CLI_DET_STR, CLI_DET_INT, CLI_DET_DOUBLE };

/* One "--name value" option writing into *dst (const char *, int or double). */
struct cli_det_opt {
    const char *name;
    enum cli_det_opt_kind kind;
    void *dst;
};

/* Parses argv[1..] against the table; prints `usage` for --help. Returns 0 to go on, or the
 * exit status (0 after help, 2 for a bad option, with a message). */
int cli_det_parse(int argc, char **argv, const struct cli_det_opt *opts, size_t nopts,
                  const char *usage, int *exit_status);
struct det_dataset;
struct base_err;
/* Reads a COCO, YOLO or VOC data set (format NULL: guessed from the layout) into *out. An image
 * that is missing or not readable as an image is left out with a warning and counted in *skipped
 * (may be NULL): one bad file never stops a training or an evaluation. */
int cli_det_read(const char *path, const char *format, struct det_dataset **out, int *skipped,
                 struct base_err *err);
/* "skipped N image(s) (see warnings above)" into buf, or "" for none: what the detector
 * commands' summaries say about images they could not read. Returns buf. */
const char *cli_det_skipped(int skipped, char *buf, size_t size);

/* ---- a JSON client of a labelloop server (cli_http.c) ---- */

#include <jansson.h>

struct cli_http;
/* A client of the server at `base` ("http://127.0.0.1:8080") with an API token. */
struct cli_http *cli_http_new(const char *base, const char *token);
void cli_http_free(struct cli_http *h);
/* One request: `body` (may be NULL) sent as JSON, *status the HTTP status, *out the answer as JSON
 * (NULL when empty; new reference), *ms the round trip (may be NULL). Errors: BASE_E_IO when the
 * server cannot be reached, BASE_E_INVALID for an answer that is not JSON. Not thread-safe: one
 * client per thread. */
int cli_http_json(struct cli_http *h, const char *method, const char *path, const json_t *body,
                  long *status, json_t **out, double *ms, struct base_err *err);

/* ---- the loop simulator (cli_simulate.c drives it, cli_sim_report.c writes what it saw) ---- */

#include "loop/loop.h"

/* One task as the simulated annotator labeled it. */
struct cli_sim_step {
    int64_t task;
    int sample;       /* index into the data set */
    double start_s;   /* virtual time the annotator opened it */
    char version[64]; /* the model whose prediction it showed ("" for none) */
    char current[64]; /* the project's current model then ("" for none) */
    int shown, truth; /* predicted boxes shown, true boxes */
    struct loop_sim_actions a;
    double by_hand_s; /* the same task without any prediction */
};

/* One model version of the run. */
struct cli_sim_version {
    char name[64];
    int promoted;
    int64_t train_images, heldout_images;
    double ap, ap50, ap75; /* held-out, -1 when not measured */
    double cycle_s;        /* its job: start to end (train, evaluate, predict) */
    double train_s;
};

struct cli_sim_report {
    const struct cli_sim_step *steps;
    size_t nsteps;
    const struct cli_sim_version *versions;
    size_t nversions;
    const struct loop_costs *costs;
    double api_p99_ms, api_p50_ms;
    size_t api_calls;
    const char *sampling;
    int64_t min_labeled, retrain_every;
    const char *arch; /* the architecture the loop trained */
};

/* Writes steps.csv, versions.csv and curve.svg into dir and prints the summary line
 * ("simulate: saved_pct=... ..."). */
int cli_sim_write(const struct cli_sim_report *r, const char *dir, struct base_err *err);

#endif
