/* `labelloop ml-backend`: labelloop's detector as a Label Studio ML backend (spec 3). Reads the
 * environment a label-studio-ml backend reads (LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY,
 * LOCAL_FILES_DOCUMENT_ROOT, MODEL_DIR), serves until SIGINT/SIGTERM, then stops cleanly. */
#include "cli_int.h"

#include "mlb/mlb.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: labelloop ml-backend [--host H] [--port 9090] [--model-dir DIR] [options]\n\n"
    "Serves Label Studio's ML backend protocol (/, /health, /setup, /predict, /train,\n"
    "/webhook, /versions, /metrics) with labelloop's detector: add http://HOST:PORT as a\n"
    "model in a Label Studio project. One folder per Label Studio project under the model\n"
    "directory (<dir>/<project uid>/<version>/), its state in <dir>/.labelloop.\n\n"
    "options:\n"
    "  --host HOST            address to listen on (default 127.0.0.1; 0.0.0.0 for all)\n"
    "  --port PORT            port (default 9090; 0 picks a free one)\n"
    "  --model-dir DIR        models and state (default $MODEL_DIR or ./ml-backend-models)\n"
    "  --db URL               the state's database: postgresql://user:password@host/dbname\n"
    "                         or a SQLite file (default $LABELLOOP_DB, else in the model\n"
    "                         directory's .labelloop)\n"
    "  --label-studio-url U   Label Studio's address when /setup sends none\n"
    "                         (default $LABEL_STUDIO_URL)\n"
    "  --api-key KEY          its API token when /setup sends none ($LABEL_STUDIO_API_KEY)\n"
    "  --local-files-root D   LOCAL_FILES_DOCUMENT_ROOT: /data/local-files/?d= paths are read\n"
    "                         under it (default $LOCAL_FILES_DOCUMENT_ROOT; unset: downloaded)\n"
    "  --max-media-mb N       largest image downloaded (default 64)\n"
    "  --media-timeout-s S    per download (default 30)\n"
    "  --min-labeled K        first training once K tasks are labeled (default 10)\n"
    "  --retrain-every N      then after N new or changed annotations (default 20)\n"
    "  --worker-threads N     CPU threads of the training worker (default: all cores)\n"
    "  --max-train-s S        cap on one training cycle in seconds (default: by size)\n"
    "  --arch NAME            architecture the loop trains (default: labelloop train's)\n"
    "  --threads N            HTTP threads (default 8)\n"
    "  --no-training          never start training jobs (they stay queued; for tests)\n"
    "  --log-level LEVEL      debug, info, warn or error (default info)\n";

static const char *env2(const char *a, const char *b)
{
    const char *v = getenv(a);
    return v && v[0] ? v : getenv(b);
}

/* Takes the flags without a value out of argv (cli_det_parse knows only "--name value"). */
static int take_flag(int *argc, char **argv, const char *flag)
{
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], flag))
            continue;
        memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i - 1) * sizeof *argv);
        (*argc)--;
        return 1;
    }
    return 0;
}

int cli_ml_backend(int argc, char **argv)
{
    struct mlb_config c = {.port = 9090, .model_dir = getenv("MODEL_DIR")};
    c.ls_url = env2("LABEL_STUDIO_URL", "LABEL_STUDIO_HOST");
    c.ls_token = env2("LABEL_STUDIO_API_KEY", "LABEL_STUDIO_ACCESS_TOKEN");
    c.local_root = env2("LOCAL_FILES_DOCUMENT_ROOT", "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT");
    const char *level = NULL;
    int mb = 64, min_labeled = 10, every = 20, threads = 8, wthreads = 0;
    c.no_training = take_flag(&argc, argv, "--no-training");
    const struct cli_det_opt opts[] = {{"--host", CLI_DET_STR, &c.host},
                                       {"--port", CLI_DET_INT, &c.port},
                                       {"--model-dir", CLI_DET_STR, &c.model_dir},
                                       {"--db", CLI_DET_STR, &c.db},
                                       {"--label-studio-url", CLI_DET_STR, &c.ls_url},
                                       {"--api-key", CLI_DET_STR, &c.ls_token},
                                       {"--local-files-root", CLI_DET_STR, &c.local_root},
                                       {"--max-media-mb", CLI_DET_INT, &mb},
                                       {"--media-timeout-s", CLI_DET_DOUBLE, &c.media_timeout_s},
                                       {"--min-labeled", CLI_DET_INT, &min_labeled},
                                       {"--retrain-every", CLI_DET_INT, &every},
                                       {"--worker-threads", CLI_DET_INT, &wthreads},
                                       {"--max-train-s", CLI_DET_DOUBLE, &c.max_train_s},
                                       {"--arch", CLI_DET_STR, &c.arch},
                                       {"--threads", CLI_DET_INT, &threads},
                                       {"--log-level", CLI_DET_STR, &level}};
    int status = 0;
    if (cli_det_parse(argc, argv, opts, sizeof opts / sizeof opts[0], usage, &status))
        return status;
    if (level && cli_set_log_level(level))
        return 2;
    if (c.port < 0 || c.port > 65535 || mb < 1 || min_labeled < 1 || every < 0 || threads < 1)
        return cli_fail("ml-backend: an option is out of range (see --help)");
    c.model_dir = c.model_dir ? c.model_dir : "./ml-backend-models";
    c.db = cli_db_where(c.db);
    c.max_media_bytes = (size_t)mb << 20;
    c.min_labeled = min_labeled, c.retrain_every = every, c.threads = threads;
    c.worker_threads = wthreads;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct base_err err = {0};
    struct mlb_server *s = mlb_server_new(&c, &err);
    if (!s)
        return cli_fail("ml-backend: %s", err.msg);
    printf("labelloop: ML backend serving on http://%s:%d (models in %s)\n",
           c.host ? c.host : "127.0.0.1", mlb_server_port(s), c.model_dir);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    printf("labelloop: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    mlb_server_free(s);
    return 0;
}

/* A number from Label Studio's environment: LABEL_STUDIO_<X>, HEARTEX_<X> or <X> (spec 3.2). */
static double env_number(const char *name)
{
    static const char *const prefixes[] = {"LABEL_STUDIO_", "HEARTEX_", ""};
    for (size_t i = 0; i < 3; i++) {
        char key[96];
        snprintf(key, sizeof key, "%s%s", prefixes[i], name);
        const char *v = getenv(key);
        double d;
        if (v && *v && !base_parse_double(v, &d) && d >= 0)
            return d;
    }
    return 0;
}

struct mlb_client *cli_ml_client(struct store *st, struct base_err *err)
{
    struct mlb_client_config c = {
        .connect_s = env_number("ML_CONNECTION_TIMEOUT"),
        .health_s = env_number("ML_TIMEOUT_HEALTH"),
        .setup_s = env_number("ML_TIMEOUT_SETUP"),
        .predict_s = env_number("ML_TIMEOUT_PREDICT"),
        .webhook_s = env_number("WEBHOOK_TIMEOUT"),
        .retries = (int)env_number("LABELLOOP_ML_RETRIES"),
        .backoff_s = env_number("LABELLOOP_ML_BACKOFF_S"),
        .breaker_failures = (int)env_number("LABELLOOP_ML_BREAKER_FAILURES"),
        .breaker_open_s = env_number("LABELLOOP_ML_BREAKER_OPEN_S"),
        .poll_s = env_number("LABELLOOP_ML_POLL_S"),
        .batch = (int)env_number("LABELLOOP_ML_BATCH"),
    };
    return mlb_client_new(st, &c, err);
}
