/* `labelloop serve`: opens the data directory, creates the admin user on first start (printing
 * its credentials once), serves the API and UI until SIGINT/SIGTERM, then lets in-flight
 * requests finish and closes the database cleanly. */
#include "cli_int.h"

#include "api/api.h"
#include "det/det.h"
#include "http/http.h"
#include "loop/loop.h"
#include "mlb/mlb.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void serve_usage(FILE *out)
{
    fprintf(out,
            "usage: labelloop serve [options]\n\n"
            "Runs the labeling server: the REST API (Label Studio compatible), uploaded media and\n"
            "the browser UI. The first start creates an admin user and prints its password and\n"
            "API token. Stops cleanly on Ctrl-C (SIGINT) or SIGTERM.\n\n"
            "options:\n"
            "  --data-dir DIR        database and media (default ./labelloop-data)\n" CLI_DB_USAGE
            "  --host HOST           address to listen on (default 127.0.0.1; 0.0.0.0 for all)\n"
            "  --port PORT           port (default 8080; 0 picks a free one)\n"
            "  --threads N           worker threads (default 4)\n"
            "  --max-body-mb N       largest upload (import) body in MiB (default 250), spooled\n"
            "                        to disk; larger gets 413\n"
            "  --max-json-mb N       largest body of the other API calls in MiB (default 16)\n"
            "  --max-image-mpix N    uploaded images over N million pixels are refused\n"
            "                        (default 100)\n"
            "  --max-inflight-mb N   request bodies held in memory at once, in MiB (default\n"
            "                        256; unauthenticated ones over 64 KiB: 16); more gets 503\n"
            "  --max-conns-per-ip N  open connections per client address (default 128; 0: none)\n"
            "  --header-timeout-s N  idle seconds allowed before a request's headers are\n"
            "                        complete (default 10)\n"
            "  --trust-proxy         behind a reverse proxy: take the client address from\n"
            "                        X-Forwarded-For and accept X-Forwarded-Host as this origin\n"
            "  --admin-email EMAIL   email of the admin user made on first start\n"
            "                        (default $LABELLOOP_ADMIN_EMAIL or admin@localhost)\n"
            "  --admin-password PW   its password (default $LABELLOOP_ADMIN_PASSWORD, or\n"
            "                        generated and printed)\n"
            "  --session-ttl-s N     browser login lifetime in seconds (default 14 days)\n"
            "  --task-lock-ttl-s N   how long the task /next hands out stays locked for the\n"
            "                        others, unless annotated or skipped (default 1 day)\n"
            "  --worker-threads N    CPU threads of the training worker (default: all cores)\n"
            "  --worker-nice N       niceness of the training worker, 1..19 (default 10)\n"
            "  --max-train-s S       cap on one training cycle in seconds (default: by size)\n"
            "  --arch NAME           architecture of the models the loop trains (default\n"
            "                        " DET_DEFAULT_ARCH "; see labelloop train --help)\n"
            "  --no-training         never start training or prediction jobs (they stay queued\n"
            "                        for standing workers: labelloop train-worker --server)\n"
            "  --no-zoo              no zero-shot pre-labels: a project whose labels are COCO\n"
            "                        classes or face waits for its first trained model\n"
            "  --log-level LEVEL     debug, info, warn or error (default info)\n");
}

/* The limits among the options: a number in a range each (0 switches the per-address cap off). */
static int parse_limit(int c, const char *arg, struct cli_serve_opts *o)
{
    static const struct {
        int c;
        const char *name;
        int64_t min, max;
    } limits[] = {{'J', "--max-json-mb", 1, 1 << 20},
                  {'P', "--max-image-mpix", 1, 120},
                  {'I', "--max-inflight-mb", 16, 1 << 20},
                  {'C', "--max-conns-per-ip", 0, 4096},
                  {'T', "--header-timeout-s", 1, 3600}};
    int64_t *out[] = {&o->max_json_mb, &o->max_image_mpix, &o->max_inflight_mb,
                      &o->max_conns_per_ip, &o->header_timeout_s};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        int64_t n;
        if (limits[i].c != c)
            continue;
        if (base_parse_i64(arg, &n) || n < limits[i].min || n > limits[i].max)
            return cli_fail("%s: expected %lld..%lld, got '%s'", limits[i].name,
                            (long long)limits[i].min, (long long)limits[i].max, arg);
        *out[i] = n;
    }
    return 0;
}

static int parse_serve(int argc, char **argv, struct cli_serve_opts *o)
{
    static const struct option longs[] = {{"data-dir", required_argument, 0, 'd'},
                                          {"host", required_argument, 0, 'H'},
                                          {"port", required_argument, 0, 'p'},
                                          {"threads", required_argument, 0, 't'},
                                          {"max-body-mb", required_argument, 0, 'm'},
                                          {"admin-email", required_argument, 0, 'e'},
                                          {"admin-password", required_argument, 0, 'w'},
                                          {"log-level", required_argument, 0, 'l'},
                                          {"session-ttl-s", required_argument, 0, 's'},
                                          {"task-lock-ttl-s", required_argument, 0, 'L'},
                                          {"worker-threads", required_argument, 0, 'W'},
                                          {"worker-nice", required_argument, 0, 'N'},
                                          {"max-train-s", required_argument, 0, 'M'},
                                          {"no-training", no_argument, 0, 'Y'},
                                          {"no-zoo", no_argument, 0, 'Z'},
                                          {"arch", required_argument, 0, 'A'},
                                          {"max-json-mb", required_argument, 0, 'J'},
                                          {"max-image-mpix", required_argument, 0, 'P'},
                                          {"max-inflight-mb", required_argument, 0, 'I'},
                                          {"max-conns-per-ip", required_argument, 0, 'C'},
                                          {"header-timeout-s", required_argument, 0, 'T'},
                                          {"trust-proxy", no_argument, 0, 'X'},
                                          {"db", required_argument, 0, 'D'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    int c;
    int64_t n;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->data_dir = optarg;
            break;
        case 'H':
            o->host = optarg;
            break;
        case 'D':
            o->db = optarg;
            break;
        case 'e':
            o->admin_email = optarg;
            break;
        case 'w':
            o->admin_password = optarg;
            break;
        case 'p':
            if (base_parse_i64(optarg, &n) || n < 0 || n > 65535)
                return cli_fail("--port: expected 0..65535, got '%s'", optarg);
            o->port = (int)n;
            break;
        case 't':
            if (base_parse_i64(optarg, &n) || n < 1 || n > 256)
                return cli_fail("--threads: expected 1..256, got '%s'", optarg);
            o->threads = (int)n;
            break;
        case 'm':
            if (base_parse_i64(optarg, &n) || n < 1 || n > 1 << 20)
                return cli_fail("--max-body-mb: expected a positive number, got '%s'", optarg);
            o->max_body_mb = n;
            break;
        case 's':
            if (base_parse_i64(optarg, &n) || n < 1)
                return cli_fail("--session-ttl-s: expected a positive number, got '%s'", optarg);
            o->session_ttl_s = n;
            break;
        case 'L':
            if (base_parse_i64(optarg, &n) || n < 1 || n > 365 * 24 * 3600)
                return cli_fail("--task-lock-ttl-s: expected 1..31536000, got '%s'", optarg);
            o->task_lock_ttl_s = n;
            break;
        case 'l':
            if (cli_set_log_level(optarg))
                return 1;
            break;
        case 'W':
            if (base_parse_i64(optarg, &n) || n < 1 || n > 256)
                return cli_fail("--worker-threads: expected 1..256, got '%s'", optarg);
            o->worker_threads = (int)n;
            break;
        case 'N':
            if (base_parse_i64(optarg, &n) || n < 1 || n > 19)
                return cli_fail("--worker-nice: expected 1..19, got '%s'", optarg);
            o->worker_nice = (int)n;
            break;
        case 'M':
            if (base_parse_double(optarg, &o->max_train_s) || !(o->max_train_s > 0))
                return cli_fail("--max-train-s: expected a positive number, got '%s'", optarg);
            break;
        case 'Y':
            o->no_training = 1;
            break;
        case 'Z':
            o->no_zoo = 1;
            break;
        case 'A':
            if (!det_arch_known(optarg))
                return cli_fail("--arch: unknown architecture '%s'", optarg);
            o->arch = optarg;
            break;
        case 'J':
        case 'P':
        case 'I':
        case 'C':
        case 'T':
            if (parse_limit(c, optarg, o))
                return 1;
            break;
        case 'X':
            o->trust_proxy = 1;
            break;
        case 'h':
            serve_usage(stdout);
            return -1;
        default:
            serve_usage(stderr);
            return 2;
        }
    }
    if (optind < argc)
        return cli_fail("serve: unexpected argument '%s'", argv[optind]);
    return 0;
}

/* Checked before anything is written: a server that cannot listen must not create the admin
 * user (and print its one-time password) first. 0 when host:port can be bound now. */
static int check_port(const char *host, int port)
{
    if (port == 0)
        return 0;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE},
                    *res = NULL;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai)
        return cli_fail("cannot listen on %s:%d: %s", host, port, gai_strerror(gai));
    int err = 0;
    for (struct addrinfo *a = res; a && !err; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol), one = 1;
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* as the server does */
        if (bind(fd, a->ai_addr, a->ai_addrlen))
            err = errno;
        close(fd);
    }
    freeaddrinfo(res);
    if (err == EADDRINUSE)
        return cli_fail("cannot listen on %s:%d: the port is in use (is another server running? "
                        "choose another with --port)",
                        host, port);
    if (err)
        return cli_fail("cannot listen on %s:%d: %s", host, port, strerror(err));
    return 0;
}

/* Later starts print the first administrator's token again (the password cannot be). */
static int show_admin_token(struct store *st)
{
    struct store_user u;
    char token[STORE_TOKEN_LEN + 1];
    if (!store_user_get(st, 1, &u, NULL) && u.is_superuser && u.is_active &&
        !store_user_token(st, u.id, token, NULL))
        printf("labelloop: admin %s, API token %s\n", u.email, token);
    return 0;
}

static int first_start(struct store *st, const struct cli_serve_opts *o)
{
    int64_t users;
    struct base_err err = {0};
    if (store_user_count(st, &users, &err))
        return cli_fail("%s", err.msg);
    if (users > 0)
        return show_admin_token(st);
    char password[25], token[STORE_TOKEN_LEN + 1];
    if (!o->admin_password && base_random_hex(password, 12, &err))
        return cli_fail("%s", err.msg);
    const char *pw = o->admin_password ? o->admin_password : password;
    struct store_user u;
    if (store_user_create(st, o->admin_email, pw, 1, &u, token, &err))
        return cli_fail("cannot create the admin user: %s", err.msg);
    printf("labelloop: first start, created the admin user (the password is shown only now):\n"
           "  email:    %s\n  password: %s\n  token:    %s\n",
           u.email, pw, token);
    return 0;
}

/* Files a crash left in the media folder go before anything is served. */
static int sweep(struct api *api)
{
    struct base_err err = {0};
    size_t removed = 0;
    if (api_sweep_uploads(api, &removed, &err))
        return cli_fail("%s", err.msg);
    if (removed)
        printf("labelloop: removed %zu upload file%s left without a record by a crash\n", removed,
               removed == 1 ? "" : "s");
    return 0;
}

struct http_server *cli_start_http(struct api *api, const struct cli_serve_opts *o,
                                   struct base_err *err)
{
    char *spool = base_path_join(o->data_dir, "tmp");
    struct http_server_config hcfg = {
        .host = o->host,
        .port = o->port,
        .threads = o->threads,
        .max_body = (size_t)o->max_body_mb << 20,
        .timeout_s = 60,
        .admit = api_admit,
        .max_inflight = (size_t)o->max_inflight_mb << 20,
        .spool_dir = spool,
        .max_conns_per_ip = (int)o->max_conns_per_ip,
        .header_timeout_s = (int)o->header_timeout_s,
        .pools = api_pools,
        .npools = API_NPOOLS,
    };
    struct http_server *srv = http_server_new(&hcfg, api_handle, api, err);
    base_free(spool);
    return srv;
}

static int run_server(struct store *st, const struct cli_serve_opts *o)
{
    struct base_err err = {0};
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread made below inherits the mask */
    signal(SIGPIPE, SIG_IGN);
    struct loop_config lcfg = {.data_dir = o->data_dir,
                               .worker_threads = o->worker_threads,
                               .worker_nice = o->worker_nice,
                               .max_train_s = o->max_train_s,
                               .arch = o->arch,
                               .no_workers = o->no_training,
                               .no_zoo = o->no_zoo};
    struct loop *loop = loop_new(st, &lcfg, &err);
    if (!loop)
        return cli_fail("%s", err.msg);
    struct mlb_client *mlb = cli_ml_client(st, &err);
    if (!mlb) {
        loop_free(loop);
        return cli_fail("%s", err.msg);
    }
    struct api_config acfg = {.data_dir = o->data_dir,
                              .version = LL_VERSION,
                              .seed = (uint64_t)base_time_us(),
                              .session_ttl_s = o->session_ttl_s,
                              .task_lock_ttl_s = o->task_lock_ttl_s,
                              .loop = loop,
                              .mlb = mlb,
                              .limits = {.max_json = (size_t)o->max_json_mb << 20,
                                         .max_image_pixels = (uint64_t)o->max_image_mpix * 1000000,
                                         .trust_proxy = o->trust_proxy}};
    struct api *api = api_new(st, &acfg, &err);
    struct http_server *srv = NULL;
    int rc = !api || sweep(api) || !(srv = cli_start_http(api, o, &err));
    if (rc) {
        api_free(api);
        mlb_client_free(mlb);
        loop_free(loop);
        return err.status ? cli_fail("%s", err.msg) : 1;
    }
    const char *shown = !strcmp(o->host, "0.0.0.0") ? "localhost" : o->host;
    char db[512];
    store_where_shown(store_where(st), db, sizeof db);
    printf("labelloop: serving on http://%s:%d (data in %s, database %s)\n", shown,
           http_server_port(srv), o->data_dir, db);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    printf("labelloop: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    fflush(stdout);
    http_server_free(srv, 2.0);
    api_free(api);
    mlb_client_free(mlb); /* calls still queued are redone by the next start's refresh */
    loop_free(loop);      /* a running job is queued again at the next start */
    return 0;
}

int cli_serve(int argc, char **argv)
{
    struct cli_serve_opts o = {.data_dir = "./labelloop-data",
                               .host = "127.0.0.1",
                               .admin_email = "admin@localhost",
                               .port = 8080,
                               .threads = 4,
                               .max_body_mb = 250,
                               .max_conns_per_ip = 128};
    const char *env_email = getenv("LABELLOOP_ADMIN_EMAIL");
    const char *env_password = getenv("LABELLOOP_ADMIN_PASSWORD");
    if (env_email && *env_email)
        o.admin_email = env_email;
    if (env_password && *env_password)
        o.admin_password = env_password;
    int rc = parse_serve(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (check_port(o.host, o.port))
        return 1;
    o.db = cli_db_where(o.db);
    struct store *st = cli_open_store(o.data_dir, o.db);
    if (!st)
        return 1;
    rc = first_start(st, &o);
    if (rc == 0)
        rc = run_server(st, &o);
    store_close(st);
    if (rc == 0)
        printf("labelloop: stopped\n");
    return rc;
}
