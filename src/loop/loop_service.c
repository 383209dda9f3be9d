/* The scheduler inside the server: one thread takes the next queued job (fairly across
 * projects), runs it in a child process of the same binary (`labelloop train-worker`, niced,
 * dying with the server), keeps the last lines it prints in the job row, and when it exits
 * without recording an end (a crash, SIGKILL, out of memory) marks the job failed with the
 * reason. The server itself never trains: a worker that dies takes nothing else with it. */
#include "loop_int.h"

#include "det/det.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KILL_GRACE_S 5.0

/* Queues again the jobs whose lease ran out (at start: also this data dir's jobs from before a
 * restart, whose lease the stopping server gave up). */
static int recover(struct loop *l, struct base_err *err)
{
    l->recovered_at = base_now();
    return loop_jobs_recover(l->st, err);
}

void loop_wake(struct loop *l)
{
    pthread_mutex_lock(&l->mu);
    l->wake = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

/* In the child between fork and exec: only async-signal-safe calls. */
static void exec_worker(const struct loop *l, int out, pid_t parent, char *const argv[])
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the server blocks SIGTERM/SIGINT in its threads */
    signal(SIGPIPE, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, 0);
    dup2(out, 1);
    dup2(out, 2);
    close_range(3, ~0u, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(125); /* the server died before the line above */
    setpriority(PRIO_PROCESS, 0, l->cfg.worker_nice > 0 ? l->cfg.worker_nice : 10);
    execve(l->exe, argv, l->envp);
    _exit(127);
}

static int spawn(struct loop *l, int64_t job, pid_t *pid, int *out, struct base_err *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC))
        return base_err_set(err, BASE_E_IO, "pipe: %s", strerror(errno));
    char id[24], threads[16], budget[32];
    snprintf(id, sizeof id, "%lld", (long long)job);
    snprintf(threads, sizeof threads, "%d", l->cfg.worker_threads);
    snprintf(budget, sizeof budget, "%g", l->cfg.max_train_s);
    char *argv[] = {l->exe,  "train-worker",  "--data-dir", l->data_dir, "--job", id,  "--threads",
                    threads, "--max-train-s", budget,       "--arch",    l->arch, NULL};
    if (!l->arch[0])
        argv[10] = NULL; /* the worker's own default */
    pid_t parent = getpid();
    *pid = fork();
    if (*pid == 0)
        exec_worker(l, fds[1], parent, argv);
    close(fds[1]);
    if (*pid < 0) {
        close(fds[0]);
        return base_err_set(err, BASE_E_IO, "fork: %s", strerror(errno));
    }
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    *out = fds[0];
    return 0;
}

/* Each line a worker prints goes to the server log too. */
static void log_line(void *ctx, const char *s, size_t n)
{
    BASE_INFO("loop: job %lld| %.*s", (long long)((struct loop *)ctx)->job, (int)n, s);
}

static void start_job(struct loop *l, int64_t id)
{
    struct base_err err = {0};
    struct store_job j = {0};
    pid_t pid = 0;
    int out = -1;
    if (store_job_get(l->st, id, &j, &err) || spawn(l, id, &pid, &out, &err)) {
        BASE_ERROR("loop: job %lld cannot start: %s", (long long)id, err.msg);
        store_job_finish(l->st, id, STORE_JOB_FAILED, err.msg, NULL, NULL);
        store_job_release(&j);
        return;
    }
    store_job_set_pid(l->st, id, pid, NULL);
    BASE_INFO("loop: job %lld (%s, project %lld, %s) started as process %d", (long long)id,
              store_job_kind_name(j.kind), (long long)j.project, j.reason, (int)pid);
    pthread_mutex_lock(&l->mu);
    l->pid = pid;
    l->job = id;
    l->job_project = j.project;
    l->job_kind = j.kind;
    l->job_version = j.version;
    l->out_fd = out;
    l->kill_at = 0;
    l->out = (struct loop_tail){.on_line = log_line, .ctx = l};
    l->tail_saved = l->lease_renewed = base_now();
    pthread_mutex_unlock(&l->mu);
    store_job_release(&j);
}

/* Reads what the worker printed (waiting up to `ms` for it); 1 at end of file. */
static int pump(struct loop *l, int ms)
{
    struct pollfd p = {l->out_fd, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0)
        return 0;
    char buf[4096];
    for (;;) {
        ssize_t n = read(l->out_fd, buf, sizeof buf);
        if (n > 0) {
            loop_tail_feed(&l->out, buf, (size_t)n);
            continue;
        }
        return n == 0 || (errno != EAGAIN && errno != EINTR);
    }
}

static void save_tail(struct loop *l)
{
    struct base_err e = {0};
    if (store_job_set_log(l->st, l->job, l->out.text, &e))
        BASE_WARN("loop: job %lld: cannot save its log: %s", (long long)l->job, e.msg);
    l->tail_saved = base_now();
}

static void describe_exit(int status, char *out, size_t size)
{
    if (WIFSIGNALED(status))
        snprintf(out, size, "the worker was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, size, "the worker exited with status %d", WEXITSTATUS(status));
}

/* The worker exited: its job must have an end; if it recorded none, it failed (or, when it was
 * asked to stop and had to be killed, was cancelled). */
static void finish(struct loop *l, int status)
{
    while (!pump(l, 0)) {
    }
    loop_tail_end(&l->out);
    save_tail(l);
    char why[160];
    describe_exit(status, why, sizeof why);
    struct store_job j = {0};
    if (store_job_get(l->st, l->job, &j, NULL) == 0 && j.state == STORE_JOB_RUNNING &&
        !strcmp(j.owner, l->owner)) {
        enum store_job_state end = j.cancel_requested ? STORE_JOB_CANCELLED : STORE_JOB_FAILED;
        size_t n;
        const char *last = loop_tail_last(&l->out, &n);
        char msg[BASE_ERR_MSG];
        snprintf(msg, sizeof msg, "%s%s%.*s", why, n ? ": " : "", (int)n, last);
        store_job_finish(l->st, l->job, end, msg, NULL, NULL);
        BASE_WARN("loop: job %lld %s: %s", (long long)l->job, store_job_state_name(end), msg);
    } else {
        BASE_INFO("loop: job %lld ended %s (%s)", (long long)l->job, store_job_state_name(j.state),
                  why);
    }
    store_job_release(&j);
    close(l->out_fd);
    pthread_mutex_lock(&l->mu);
    int64_t ended = l->job;
    l->pid = 0;
    l->job = l->job_project = 0;
    l->out_fd = -1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    if (l->cfg.job_ended)
        l->cfg.job_ended(l->cfg.user, ended);
}

/* Renews the running job's lease; stops the worker when another server asked for a cancel (the
 * flag in the job row) or when the job is no longer ours (our lease ran out and another server
 * took it: two workers must not write one job). */
static void renew(struct loop *l)
{
    int owned = 1, cancel = 0;
    struct base_err err = {0};
    l->lease_renewed = base_now();
    if (store_job_renew(l->st, l->job, l->owner, loop_lease_end(LOOP_LEASE_S), &owned, &cancel,
                        &err)) {
        BASE_WARN("loop: job %lld: cannot renew its lease: %s", (long long)l->job, err.msg);
        return;
    }
    pthread_mutex_lock(&l->mu);
    if (!owned) {
        BASE_WARN("loop: job %lld: lease lost to another server, stopping its worker",
                  (long long)l->job);
        kill(l->pid, SIGKILL);
    } else if (cancel && l->kill_at == 0) {
        kill(l->pid, SIGTERM);
        l->kill_at = base_now() + KILL_GRACE_S;
    }
    pthread_mutex_unlock(&l->mu);
}

static void watch(struct loop *l)
{
    int eof = pump(l, 200);
    if (base_now() - l->tail_saved > 2.0)
        save_tail(l);
    if (base_now() - l->lease_renewed > LOOP_LEASE_RENEW_S)
        renew(l);
    int status = 0;
    if (waitpid(l->pid, &status, WNOHANG) == l->pid) {
        finish(l, status);
        return;
    }
    if (eof)
        usleep(50 * 1000); /* output closed, process not yet reaped: do not spin */
    pthread_mutex_lock(&l->mu);
    if (l->kill_at > 0 && base_now() > l->kill_at) {
        kill(l->pid, SIGKILL);
        l->kill_at = 0;
    }
    pthread_mutex_unlock(&l->mu);
}

static void *scheduler(void *arg)
{
    struct loop *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        if (l->pid) {
            pthread_mutex_unlock(&l->mu);
            watch(l);
            pthread_mutex_lock(&l->mu);
            continue;
        }
        pthread_mutex_unlock(&l->mu);
        int64_t id = 0;
        struct base_err err = {0};
        if (base_now() - l->recovered_at > LOOP_RECOVER_S && recover(l, &err))
            BASE_WARN("loop: cannot look for jobs whose server stopped: %s", err.msg);
        if (store_job_claim(l->st, l->owner, loop_lease_end(LOOP_LEASE_S), &id, &err))
            BASE_WARN("loop: cannot take the next job: %s", err.msg);
        if (id)
            start_job(l, id);
        pthread_mutex_lock(&l->mu);
        if (!l->pid && !l->stop && !l->wake) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&l->cv, &l->mu, &ts);
        }
        l->wake = 0;
    }
    pthread_mutex_unlock(&l->mu);
    if (l->pid) { /* the job stays "running" with its lease given up: the next recovery, by this
                   * server's next start or another server, queues it again */
        kill(l->pid, SIGKILL);
        int status, owned, cancel;
        waitpid(l->pid, &status, 0);
        while (!pump(l, 0)) {
        }
        save_tail(l);
        close(l->out_fd);
        store_job_renew(l->st, l->job, l->owner, 0, &owned, &cancel, NULL);
        l->pid = 0;
    }
    return NULL;
}

int loop_stop_worker(struct loop *l, int64_t job, int64_t project, int hard, int wait)
{
    pthread_mutex_lock(&l->mu);
    int ours = l->pid && ((job && l->job == job) || (!job && l->job_project == project));
    if (ours) {
        kill(l->pid, hard ? SIGKILL : SIGTERM);
        if (!hard)
            l->kill_at = base_now() + KILL_GRACE_S;
        int64_t running = l->job;
        double deadline = base_now() + 10;
        while (wait && l->pid && l->job == running && base_now() < deadline) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000)
                ts.tv_sec++, ts.tv_nsec -= 1000000000;
            pthread_cond_timedwait(&l->cv, &l->mu, &ts);
        }
    }
    pthread_mutex_unlock(&l->mu);
    return ours;
}

/* The workers' environment: ours, with LABELLOOP_DB naming the database the server opened (a
 * URL's password travels here, never on the command line that ps shows). */
static char **worker_env(const char *db)
{
    extern char **environ;
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = base_calloc(n + 2, sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LABELLOOP_DB=", 13))
            envp[k++] = base_strdup(environ[i]);
    envp[k] = base_alloc(strlen(db) + 14);
    memcpy(envp[k], "LABELLOOP_DB=", 13);
    memcpy(envp[k] + 13, db, strlen(db) + 1);
    return envp;
}

static void env_free(char **envp)
{
    for (size_t i = 0; envp && envp[i]; i++)
        base_free(envp[i]);
    base_free(envp);
}

static char *self_exe(void)
{
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return base_strdup(buf);
}

struct loop *loop_new(struct store *st, const struct loop_config *cfg, struct base_err *err)
{
    struct loop *l = base_calloc(1, sizeof *l);
    l->st = st;
    l->cfg = *cfg;
    l->data_dir = base_strdup(cfg->data_dir);
    l->exe = cfg->exe ? base_strdup(cfg->exe) : self_exe();
    l->envp = worker_env(store_where(st));
    l->out_fd = -1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->cache_mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    char *models = base_path_join(l->data_dir, "models");
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(l->owner, sizeof l->owner, "%.32s:%d:%llx", host, (int)getpid(),
             (unsigned long long)base_time_us());
    snprintf(l->arch, sizeof l->arch, "%s", cfg->arch ? cfg->arch : "");
    int rc = !l->exe ? base_err_set(err, BASE_E_IO, "cannot find the labelloop binary")
             : cfg->arch && !det_arch_known(cfg->arch)
                 ? base_err_set(err, BASE_E_INVALID, "unknown architecture '%s'", cfg->arch)
             : base_mkdirs(models, err) ? -1
                                        : recover(l, err);
    base_free(models);
    if (rc) {
        loop_free(l);
        return NULL;
    }
    loop_sweep(l);
    if (!cfg->no_workers && pthread_create(&l->thread, NULL, scheduler, l) == 0)
        l->started = 1;
    return l;
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    if (l->started) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
    }
    loop_cache_release(l);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->cache_mu);
    base_free(l->data_dir);
    base_free(l->exe);
    env_free(l->envp);
    base_free(l);
}

/* ---- orphan files ---- */

struct kept {
    char **files;
    size_t n;
};

static int keep_file(void *ctx, const struct store_version *v, struct base_err *err)
{
    (void)err;
    struct kept *k = ctx;
    k->files = base_realloc(k->files, (k->n + 1) * sizeof *k->files);
    k->files[k->n++] = base_strdup(v->file);
    return 0;
}

static void sweep_project(struct loop *l, const char *name)
{
    int64_t project;
    struct store_project row = {0};
    char rel[300];
    snprintf(rel, sizeof rel, "models/%s", name);
    char *dir = loop_data_path(l->data_dir, rel);
    if (base_parse_i64(name, &project) || store_project_get(l->st, project, &row, NULL)) {
        BASE_INFO("loop: removing %s (its project is gone)", dir);
        base_remove_tree(dir, NULL);
        base_free(dir);
        return;
    }
    store_project_release(&row);
    struct kept k = {NULL, 0};
    store_version_each(l->st, project, keep_file, &k, NULL);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(rel, sizeof rel, "models/%s/%s", name, e->d_name);
        int used = 0;
        for (size_t i = 0; i < k.n && !used; i++)
            used = !strcmp(k.files[i], rel);
        if (!used) {
            char *path = loop_data_path(l->data_dir, rel);
            BASE_INFO("loop: removing %s (no model version points at it)", path);
            remove(path);
            base_free(path);
        }
    }
    if (d)
        closedir(d);
    for (size_t i = 0; i < k.n; i++)
        base_free(k.files[i]);
    base_free(k.files);
    base_free(dir);
}

void loop_sweep(struct loop *l)
{
    char *models = base_path_join(l->data_dir, "models");
    DIR *d = opendir(models);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            sweep_project(l, e->d_name);
    if (d)
        closedir(d);
    base_free(models);
}
