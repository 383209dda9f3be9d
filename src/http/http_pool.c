/* Work pools: a few threads and a bounded queue for work too slow for the server threads. MHD
 * serves each connection from one server thread, so a 100 ms password hash or a large image
 * decode there stalls every other connection of that thread; here it only waits for a place. */
#include "http_int.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct http_job {
    struct http_job *next;
    http_pool_job_fn fn;
    void *arg;
};

struct http_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv, idle;
    struct http_job *head, *tail;
    int places; /* reserved, queued or running */
    int max_places;
    int closed; /* no new places */
    int stopping;
    int nice;
    pthread_t *threads;
    int nthreads;
};

static void *worker(void *arg)
{
    struct http_pool *p = arg;
    if (p->nice) /* Linux keeps a niceness per thread */
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
                    getpriority(PRIO_PROCESS, 0) + p->nice);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        struct http_job *j = p->head;
        if (!j)
            break; /* stopping with nothing left */
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        j->fn(j->arg);
        base_free(j);
        pthread_mutex_lock(&p->mu);
        if (--p->places == 0)
            pthread_cond_broadcast(&p->idle);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct http_pool *http_pool_new(const struct http_pool_config *cfg, struct base_err *err)
{
    if (cfg->threads < 1 || cfg->queue < 1) {
        base_err_set(err, BASE_E_INVALID, "work pool needs at least one thread and one place");
        return NULL;
    }
    struct http_pool *p = base_calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->idle, NULL);
    p->max_places = cfg->queue;
    p->nice = cfg->nice;
    p->threads = base_calloc((size_t)cfg->threads, sizeof *p->threads);
    for (; p->nthreads < cfg->threads; p->nthreads++) {
        if (pthread_create(&p->threads[p->nthreads], NULL, worker, p)) {
            http_pool_free(p);
            base_err_set(err, BASE_E_IO, "cannot start a work pool thread");
            return NULL;
        }
    }
    return p;
}

void http_pool_free(struct http_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->idle);
    pthread_mutex_destroy(&p->mu);
    base_free(p->threads);
    base_free(p);
}

void http_pool_drain(struct http_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->closed = 1;
    while (p->places > 0)
        pthread_cond_wait(&p->idle, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

int http_pool_reserve(struct http_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int ok = !p->closed && p->places < p->max_places;
    p->places += ok;
    pthread_mutex_unlock(&p->mu);
    return ok ? 0 : -1;
}

void http_pool_submit(struct http_pool *p, http_pool_job_fn fn, void *arg)
{
    struct http_job *j = base_calloc(1, sizeof *j);
    j->fn = fn;
    j->arg = arg;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
