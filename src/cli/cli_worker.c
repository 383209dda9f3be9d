/* `labelloop train-worker --data-dir DIR --job N`: the child process the server starts for each
 * job of the loop. It runs the job to its end and records the outcome in the job row; SIGTERM
 * or SIGINT (a cancel) stops it cleanly between steps. Not meant to be run by hand, though it can
 * be, to re-run a queued job in the foreground while debugging. */
#include "cli_int.h"

#include "loop/loop.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stop_requested;
static volatile int cancel_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    cancel_flag = 1;
}

static const char usage[] =
    "usage: labelloop train-worker --data-dir DIR --job N [--threads N] [--max-train-s S]\n"
    "                             [--arch NAME]\n\n"
    "Runs one job of the loop (train or predict) and records its end in the job table. The\n"
    "server starts it as a child process, niced; SIGTERM cancels it cleanly. The database is\n"
    "$LABELLOOP_DB (the server sets it: a postgresql:// URL or a SQLite file), else the data\n"
    "dir's labelloop.sqlite3.\n";

int cli_train_worker(int argc, char **argv)
{
    const char *data_dir = NULL, *arch = NULL;
    int job = 0, threads = 0;
    double max_s = 0;
    const struct cli_det_opt opts[] = {{"--data-dir", CLI_DET_STR, &data_dir},
                                       {"--job", CLI_DET_INT, &job},
                                       {"--threads", CLI_DET_INT, &threads},
                                       {"--max-train-s", CLI_DET_DOUBLE, &max_s},
                                       {"--arch", CLI_DET_STR, &arch}};
    int status = 0;
    if (cli_det_parse(argc, argv, opts, sizeof opts / sizeof opts[0], usage, &status))
        return status;
    if (!data_dir || job <= 0)
        return cli_fail("train-worker: --data-dir and --job are required");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct loop_worker_opts o = {.data_dir = data_dir,
                                 .db = cli_db_where(NULL),
                                 .job = job,
                                 .threads = threads,
                                 .max_train_s = max_s,
                                 .arch = arch,
                                 .cancel = &cancel_flag};
    struct base_err err = {0};
    return loop_worker_run(&o, &err) ? 1 : 0;
}
