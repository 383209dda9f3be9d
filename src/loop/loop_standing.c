/* The standing worker (`labelloop train-worker` without --job, on this machine or another): it
 * claims queued jobs from the database itself, holds each under a lease that a thread of its own
 * renews, keeps the job's log from its own stderr, and hands a running job back when it is told
 * to stop. The job itself runs as in a worker the server started (loop_worker.c). */
#include "loop_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the standing worker ---- */

/* The lease of the job a standing worker runs, renewed by a thread of its own while the job
 * runs on the caller's; `cancel` is the job's stop flag: set when a cancel was asked for through
 * the job row, when the lease was lost, or when the worker itself stops (`handed_back`). */
/* The worker's stderr while a job runs: through a pipe, copied on to the real stderr and kept in
 * a tail for the job row (the log a server keeps of the workers it starts). */
struct capture {
    int rd, saved; /* the pipe's read end; the real stderr (-1: not capturing) */
    pthread_mutex_t mu;
    struct loop_tail tail;
    pthread_t th;
};

static void *pump(void *arg)
{
    struct capture *c = arg;
    char buf[4096];
    for (;;) {
        ssize_t n = read(c->rd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        for (ssize_t done = 0, w; done < n; done += w)
            if ((w = write(c->saved, buf + done, (size_t)(n - done))) <= 0)
                break; /* the real stderr is gone: the tail still gets it */
        pthread_mutex_lock(&c->mu);
        loop_tail_feed(&c->tail, buf, (size_t)n);
        pthread_mutex_unlock(&c->mu);
    }
}

static void capture_start(struct capture *c)
{
    memset(c, 0, sizeof *c);
    c->saved = -1;
    pthread_mutex_init(&c->mu, NULL);
    int p[2];
    fflush(stderr);
    if (pipe(p))
        return;
    c->rd = p[0];
    c->saved = dup(STDERR_FILENO);
    if (c->saved < 0 || dup2(p[1], STDERR_FILENO) < 0 || pthread_create(&c->th, NULL, pump, c)) {
        if (c->saved >= 0)
            dup2(c->saved, STDERR_FILENO), close(c->saved);
        close(p[0]);
        c->saved = -1;
    }
    close(p[1]);
}

/* Puts stderr back and reads what is left in the pipe. */
static void capture_stop(struct capture *c)
{
    if (c->saved >= 0) {
        fflush(stderr);
        dup2(c->saved, STDERR_FILENO); /* the pipe's last writer is gone: pump sees its end */
        close(c->saved);
        pthread_join(c->th, NULL);
        close(c->rd);
    }
    loop_tail_end(&c->tail);
    pthread_mutex_destroy(&c->mu);
}

static void save_log(struct store *st, int64_t job, struct capture *c)
{
    char *text;
    pthread_mutex_lock(&c->mu);
    text = base_strdup(c->tail.text);
    pthread_mutex_unlock(&c->mu);
    struct base_err e = {0};
    if (store_job_set_log(st, job, text, &e))
        BASE_WARN("loop: job %lld: cannot save its log: %s", (long long)job, e.msg);
    base_free(text);
}

struct lease {
    struct store *st;
    const struct loop_worker_opts *o;
    int64_t job;
    struct capture *out;
    volatile int cancel, handed_back, done;
};

/* The lease a standing worker takes (o->lease_s, else LOOP_LEASE_S) and how often it renews it:
 * LOOP_LEASE_RENEW_S, or a third of a shorter lease. */
static double lease_s(const struct loop_worker_opts *o)
{
    return o->lease_s > 0 ? o->lease_s : LOOP_LEASE_S;
}

static double renew_s(const struct loop_worker_opts *o)
{
    return lease_s(o) / 3 < LOOP_LEASE_RENEW_S ? lease_s(o) / 3 : LOOP_LEASE_RENEW_S;
}

static void nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static void *keep_lease(void *arg)
{
    struct lease *l = arg;
    double renewed = base_now();
    while (!l->done) {
        nap(0.1);
        if (*l->o->cancel && !l->cancel)
            l->handed_back = l->cancel = 1;
        if (base_now() - renewed < renew_s(l->o) || l->handed_back)
            continue;
        int owned = 1, cancel = 0;
        struct base_err e = {0};
        renewed = base_now(); /* a failed renewal is tried again at the next turn, not at once */
        if (store_job_renew(l->st, l->job, l->o->owner, loop_lease_end(lease_s(l->o)), &owned,
                            &cancel, &e))
            BASE_WARN("loop: job %lld: cannot renew its lease: %s", (long long)l->job, e.msg);
        save_log(l->st, l->job, l->out);
        if (!owned || cancel) {
            if (!owned)
                BASE_WARN("loop: job %lld: lease lost (another worker runs it now)",
                          (long long)l->job);
            l->cancel = 1;
        }
    }
    return NULL;
}

static void serve_one(struct store *st, const struct loop_worker_opts *o, int64_t job)
{
    struct capture out;
    capture_start(&out);
    struct lease l = {st, o, job, &out, 0, 0, 0};
    struct loop_worker_opts jo = *o;
    jo.cancel = &l.cancel;
    pthread_t th;
    int threaded = pthread_create(&th, NULL, keep_lease, &l) == 0;
    fprintf(stderr, "job %lld claimed by %s\n", (long long)job, o->owner);
    struct base_err e = {0};
    if (!threaded)
        BASE_WARN("loop: job %lld: no lease thread: the lease may lapse", (long long)job);
    loop_worker_job(st, &jo, job, &l.handed_back, &e);
    l.done = 1;
    if (threaded)
        pthread_join(th, NULL);
    capture_stop(&out);
    save_log(st, job, &out);
}

int loop_worker_serve(const struct loop_worker_opts *o, struct base_err *err)
{
    struct store *st = loop_worker_open(o, err);
    if (!st)
        return -1;
    double poll = o->poll_s > 0 ? o->poll_s : 2.0, recovered = 0;
    fprintf(stderr, "worker %s: waiting for jobs\n", o->owner);
    while (!*o->cancel) {
        struct base_err e = {0};
        int64_t id = 0;
        if (base_now() - recovered > LOOP_RECOVER_S) {
            recovered = base_now();
            if (loop_jobs_recover(st, &e))
                BASE_WARN("loop: cannot look for expired leases: %s", e.msg);
        }
        if (store_job_claim(st, o->owner, loop_lease_end(lease_s(o)), &id, &e))
            BASE_WARN("loop: cannot claim a job (retrying in %.0f s): %s", poll, e.msg);
        if (id) {
            serve_one(st, o, id);
            continue;
        }
        for (double t = 0; t < poll && !*o->cancel; t += 0.1)
            nap(0.1);
    }
    store_close(st);
    return 0;
}
