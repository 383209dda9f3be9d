/* `labelloop train-worker`: runs jobs of the loop.
 * - With --job N it is the child process the server starts for each job: it runs that job to
 *   its end and records the outcome in the job row; SIGTERM or SIGINT (a cancel) stops it
 *   cleanly between steps.
 * - Without --job it is a standing worker, on this machine or another: it claims queued jobs from
 *   the database itself under a lease, fetches the task images it lacks from the server (--server,
 *   with the API token in $LABELLOOP_TOKEN) and keeps each model it trains in the database, so
 *   that nothing but the database and the server's HTTP API is shared. SIGTERM hands its running
 *   job back (another worker retries it at once) and stops. */
#include "cli_int.h"

#include "loop/loop.h"
#include "mlb/mlb.h"
#include "store/store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static volatile int cancel_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    cancel_flag = 1;
}

static const char usage[] =
    "usage: labelloop train-worker --data-dir DIR [--job N] [--server URL] [--db URL]\n"
    "                             [--name NAME] [--threads N] [--max-train-s S] [--arch NAME]\n\n"
    "Runs jobs of the loop (train or predict) and records their end in the job table.\n"
    "  --job N               run this one job (the server starts a worker per job this way,\n"
    "                        niced; SIGTERM cancels it cleanly)\n"
    "  (no --job)            a standing worker: claim queued jobs from the database until\n"
    "                        SIGTERM, which hands the running job back to be retried\n"
    "  --server URL          where task images come from when DIR does not hold them: the\n"
    "                        server's /data/upload/ URLs, with the API token in\n"
    "                        $LABELLOOP_TOKEN; DIR then caches them (media/remote)\n"
    "  --name NAME           the standing worker's name in the job rows (default\n"
    "                        worker@HOST:PID)\n"
    "  --lease-s S           how long a job it claimed stays its own without a renewal\n"
    "                        (default 30; renewed every 5 s or a third of it): the time\n"
    "                        before another worker retries the job of one that died\n" CLI_DB_USAGE
    "A standing worker, and any worker on PostgreSQL, keeps each model file it trains in the\n"
    "database too, so that servers on other machines can load it.\n";

struct remote {
    struct mlb_media *media;
    struct mlb_source src;
};

static char *fetch(void *ctx, const char *url, struct base_err *err)
{
    struct remote *r = ctx;
    return mlb_media_get(r->media, &r->src, url, err);
}

static int standing(struct loop_worker_opts *o, const char *server, const char *name)
{
    char owner[STORE_JOB_OWNER_MAX + 1], host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(owner, sizeof owner, "%s", name ? name : "");
    if (!name)
        snprintf(owner, sizeof owner, "worker@%.40s:%d", host, (int)getpid());
    struct remote r = {NULL, {server, getenv("LABELLOOP_TOKEN")}};
    struct loop_media m = {fetch, &r};
    struct base_err err = {0};
    if (server) {
        char *cache = base_path_join(o->data_dir, "media/remote");
        struct mlb_media_config mc = {.cache_dir = cache};
        r.media = mlb_media_new(&mc, &err);
        base_free(cache);
        if (!r.media)
            return cli_fail("train-worker: %s", err.msg);
        if (!r.src.token || !r.src.token[0])
            fprintf(stderr, "train-worker: $LABELLOOP_TOKEN is not set: the server will refuse"
                            " to send images\n");
        o->media = &m;
    }
    o->owner = owner;
    o->keep_files = 1;
    int rc = loop_worker_serve(o, &err);
    mlb_media_free(r.media);
    return rc ? cli_fail("train-worker: %s", err.msg) : 0;
}

int cli_train_worker(int argc, char **argv)
{
    const char *data_dir = NULL, *arch = NULL, *server = NULL, *name = NULL, *db = NULL;
    int job = 0, threads = 0;
    double max_s = 0, lease = 0;
    const struct cli_det_opt opts[] = {{"--data-dir", CLI_DET_STR, &data_dir},
                                       {"--job", CLI_DET_INT, &job},
                                       {"--server", CLI_DET_STR, &server},
                                       {"--name", CLI_DET_STR, &name},
                                       {"--db", CLI_DET_STR, &db},
                                       {"--threads", CLI_DET_INT, &threads},
                                       {"--max-train-s", CLI_DET_DOUBLE, &max_s},
                                       {"--arch", CLI_DET_STR, &arch},
                                       {"--lease-s", CLI_DET_DOUBLE, &lease}};
    int status = 0;
    if (cli_det_parse(argc, argv, opts, sizeof opts / sizeof opts[0], usage, &status))
        return status;
    if (!data_dir || job < 0)
        return cli_fail("train-worker: --data-dir is required (and --job N > 0 when given)");
    if (lease < 0 || (lease > 0 && lease < 1))
        return cli_fail("train-worker: --lease-s must be at least 1 second");
    if (name && strlen(name) > STORE_JOB_OWNER_MAX)
        return cli_fail("train-worker: --name is longer than %d bytes", STORE_JOB_OWNER_MAX);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    const char *where = cli_db_where(db);
    struct loop_worker_opts o = {.data_dir = data_dir,
                                 .db = where,
                                 .job = job,
                                 .keep_files = where && store_is_url(where),
                                 .threads = threads,
                                 .max_train_s = max_s,
                                 .lease_s = lease,
                                 .arch = arch,
                                 .cancel = &cancel_flag};
    if (!job)
        return standing(&o, server, name);
    struct base_err err = {0};
    return loop_worker_run(&o, &err) ? 1 : 0;
}
