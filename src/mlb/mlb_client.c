/* labelloop calling external Label Studio ML backends (spec 3.2) without ever letting one block
 * labeling: every call but the check when a backend is added runs on the client's own thread from
 * a bounded queue; calls have Label Studio's timeouts, are retried with back-off, and a backend
 * that keeps failing trips a circuit breaker that skips it for a while. State letters and the
 * last error go to the backend's row, where /api/ml and the UI show them. */
#include "mlb_client_int.h"

#include <curl/curl.h>
#include <string.h>
#include <time.h>

static void defaults(struct mlb_client_config *c)
{
    struct {
        double *v, d;
    } t[] = {{&c->connect_s, 1},       {&c->health_s, 1},  {&c->setup_s, 3},
             {&c->predict_s, 100},     {&c->webhook_s, 1}, {&c->backoff_s, 0.5},
             {&c->breaker_open_s, 30}, {&c->poll_s, 60}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (*t[i].v <= 0)
            *t[i].v = t[i].d;
    c->retries = c->retries < 0 ? 0 : c->retries ? c->retries : 2;
    c->breaker_failures = c->breaker_failures > 0 ? c->breaker_failures : 3;
    c->batch = c->batch > 0 ? c->batch : 32;
}

struct mlb_client *mlb_client_new(struct store *st, const struct mlb_client_config *cfg,
                                  struct base_err *err)
{
    struct mlb_client *c = base_calloc(1, sizeof *c);
    c->st = st;
    c->cfg = *cfg;
    defaults(&c->cfg);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (pthread_create(&c->thread, NULL, mlb_client_main, c)) {
        mlb_client_free(c);
        base_err_set(err, BASE_E_INTERNAL, "cannot start the ML backend client thread");
        return NULL;
    }
    c->started = 1;
    return c;
}

void mlb_client_free(struct mlb_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->started)
        pthread_join(c->thread, NULL);
    struct mlb_work *w;
    while ((w = mlb_queue_pop(&c->queue)))
        mlb_work_free(w);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    base_free(c->hostname);
    base_free(c);
    curl_global_cleanup();
}

void mlb_client_set_hostname(struct mlb_client *c, const char *url)
{
    pthread_mutex_lock(&c->mu);
    if (!c->hostname || strcmp(c->hostname, url)) {
        base_free(c->hostname);
        c->hostname = base_strdup(url);
    }
    pthread_mutex_unlock(&c->mu);
}

int mlb_client_push(struct mlb_client *c, struct mlb_work *w)
{
    pthread_mutex_lock(&c->mu);
    if (c->queue.n >= MLB_CLIENT_QUEUE_MAX || c->stop) {
        pthread_mutex_unlock(&c->mu);
        BASE_WARN("ml backends: %d calls are waiting: one dropped", MLB_CLIENT_QUEUE_MAX);
        mlb_work_free(w);
        return -1;
    }
    mlb_queue_push(&c->queue, w);
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

void mlb_work_free(struct mlb_work *w)
{
    if (!w)
        return;
    base_free(w->tasks);
    base_free(w);
}

/* ---- the circuit breaker ---- */

static struct mlb_breaker *breaker(struct mlb_client *c, int64_t backend)
{
    struct mlb_breaker *free_slot = NULL;
    for (int i = 0; i < MLB_CLIENT_BACKENDS; i++) {
        if (c->breakers[i].backend == backend)
            return &c->breakers[i];
        if (!c->breakers[i].backend && !free_slot)
            free_slot = &c->breakers[i];
    }
    if (!free_slot)
        free_slot = &c->breakers[backend % MLB_CLIENT_BACKENDS];
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->backend = backend;
    return free_slot;
}

void mlb_client_status(struct mlb_client *c, int64_t backend, json_t *into)
{
    pthread_mutex_lock(&c->mu);
    struct mlb_breaker *b = breaker(c, backend);
    double left = b->open_until - base_now();
    json_object_set_new(into, "circuit",
                        json_pack("{s:b, s:i, s:f}", "open", left > 0, "failures", b->failures,
                                  "retry_in_s", left > 0 ? left : 0.0));
    pthread_mutex_unlock(&c->mu);
}

/* Whether calls to backend may go out now; fills why when not. */
static int breaker_allows(struct mlb_client *c, int64_t backend, struct base_err *why)
{
    pthread_mutex_lock(&c->mu);
    struct mlb_breaker *b = breaker(c, backend);
    double left = b->open_until - base_now();
    if (left > 0)
        base_err_set(why, BASE_E_BUSY,
                     "skipped for %.0f s more after %d failed calls in a row (circuit breaker);"
                     " last error: %s",
                     left, b->failures, b->last);
    pthread_mutex_unlock(&c->mu);
    return left <= 0;
}

static void breaker_record(struct mlb_client *c, int64_t backend, const struct base_err *e,
                           int probe)
{
    pthread_mutex_lock(&c->mu);
    struct mlb_breaker *b = breaker(c, backend);
    if (!e && probe) {
        /* health and setup answering says nothing about predictions */
    } else if (!e) {
        b->failures = 0;
        b->open_until = 0;
    } else {
        b->failures++;
        snprintf(b->last, sizeof b->last, "%s", e->msg);
        if (b->failures >= c->cfg.breaker_failures)
            b->open_until = base_now() + c->cfg.breaker_open_s;
    }
    pthread_mutex_unlock(&c->mu);
}

/* Sleeps s seconds unless the client stops; returns 1 when it is stopping. */
int mlb_client_sleep(struct mlb_client *c, double s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double t = (double)ts.tv_sec + ts.tv_nsec / 1e9 + s;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    pthread_mutex_lock(&c->mu);
    while (!c->stop && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0) {
    }
    int stop = c->stop;
    pthread_mutex_unlock(&c->mu);
    return stop;
}

/* One attempt: the backend's answer as JSON, or -1 with err. */
static int attempt(struct mlb_client *c, const char *url, const char *method, const char *body,
                   double timeout, json_t **out, long *status, struct base_err *err)
{
    struct mlb_call call = {.method = method,
                            .url = url,
                            .body = body,
                            .connect_s = c->cfg.connect_s,
                            .total_s = timeout,
                            .max_bytes = (size_t)256 << 20};
    struct base_buf buf;
    base_buf_init(&buf, call.max_bytes);
    int rc = mlb_http(&call, status, &buf, err);
    if (rc == 0 && (*status < 200 || *status > 299)) {
        rc = base_err_set(err, *status >= 500 ? BASE_E_IO : BASE_E_INVALID,
                          "%s %s: HTTP %ld: %.200s", method, url, *status, buf.data);
    } else if (rc == 0 &&
               !(*out = base_json_parse(buf.len ? buf.data : "{}", buf.len ? buf.len : 2, err))) {
        base_err_prefix(err, "%s %s: the answer is not JSON: ", method, url);
        rc = -1;
    }
    base_buf_release(&buf);
    return rc;
}

int mlb_client_call(struct mlb_client *c, const struct store_ml_backend *b, const char *endpoint,
                    const json_t *body, double timeout, int retries, json_t **out,
                    struct base_err *err)
{
    *out = NULL;
    if (!breaker_allows(c, b->id, err))
        return -1;
    size_t n = strlen(b->url);
    char *url = base_alloc(n + strlen(endpoint) + 2);
    sprintf(url, "%s%s%s", b->url, n && b->url[n - 1] == '/' ? "" : "/", endpoint);
    char *text = body ? base_json_dumps(body, BASE_JSON_COMPACT, NULL) : base_strdup("{}");
    const char *method = body || strcmp(endpoint, "health") ? "POST" : "GET";
    double wait = c->cfg.backoff_s;
    int rc = -1;
    for (int i = 0; i <= retries; i++) {
        long status = 0;
        rc = attempt(c, url, method, !strcmp(method, "GET") ? NULL : text, timeout, out, &status,
                     err);
        /* a 4xx or an answer that is not JSON will not get better by asking again */
        if (rc == 0 || err->status == BASE_E_INVALID || i == retries || mlb_client_sleep(c, wait))
            break;
        wait *= 2;
    }
    int probe = !strcmp(endpoint, "health") || !strcmp(endpoint, "setup");
    breaker_record(c, b->id, rc ? err : NULL, probe);
    base_free(url);
    base_free(text);
    return rc;
}

/* ---- state ---- */

void mlb_client_set_state(struct mlb_client *c, struct store_ml_backend *b, const char *state,
                          const char *error)
{
    snprintf(b->state, sizeof b->state, "%s", state);
    snprintf(b->error_message, sizeof b->error_message, "%s", error ? error : "");
    struct base_err e = {0};
    if (b->id && store_ml_backend_set_state(c->st, b, &e) && e.status != BASE_E_NOTFOUND)
        BASE_WARN("ml backends: backend %lld: state not saved: %s", (long long)b->id, e.msg);
}

void mlb_client_op_result(struct mlb_client *c, struct store_ml_backend *b, const char *error)
{
    pthread_mutex_lock(&c->mu);
    struct mlb_breaker *k = breaker(c, b->id);
    snprintf(k->op_error, sizeof k->op_error, "%s", error ? error : "");
    pthread_mutex_unlock(&c->mu);
    if (error)
        mlb_client_set_state(c, b, "ER", error);
    else if (strcmp(b->state, "CO") || b->error_message[0])
        mlb_client_set_state(c, b, "CO", NULL);
}

/* The last failed work call of backend b into out ("" when the last one worked). */
static void op_error(struct mlb_client *c, int64_t backend, char *out, size_t size)
{
    pthread_mutex_lock(&c->mu);
    snprintf(out, size, "%s", breaker(c, backend)->op_error);
    pthread_mutex_unlock(&c->mu);
}

int mlb_client_connect(struct mlb_client *c, struct store_ml_backend *b, struct base_err *err)
{
    if (b->id && !breaker_allows(c, b->id, err)) {
        mlb_client_set_state(c, b, "ER", err->msg);
        return -1;
    }
    json_t *health = NULL, *setup = NULL, *body = mlb_client_setup_body(c, b);
    int rc = mlb_client_call(c, b, "health", NULL, c->cfg.health_s, 0, &health, err);
    char why[BASE_ERR_MSG];
    if (rc) {
        snprintf(why, sizeof why, "%s", err->msg);
        base_err_set(err, BASE_E_INVALID, "Can't connect to ML backend %s, health check failed: %s",
                     b->url, why);
        mlb_client_set_state(c, b, "DI", err->msg);
    } else if (!body) {
        rc = base_err_set(err, BASE_E_NOTFOUND, "project %lld not found", (long long)b->project);
    } else if ((rc = mlb_client_call(c, b, "setup", body, c->cfg.setup_s, 0, &setup, err))) {
        snprintf(why, sizeof why, "%s", err->msg);
        base_err_set(err, BASE_E_INVALID,
                     "Successfully connected to %s but it doesn't look like a valid ML backend."
                     " Reason: %s",
                     b->url, why);
        mlb_client_set_state(c, b, "ER", err->msg);
    } else {
        const char *v = json_string_value(json_object_get(setup, "model_version"));
        if (v && (b->auto_update || !b->model_version[0]))
            snprintf(b->model_version, sizeof b->model_version, "%s", v);
        b->legacy_train = !json_object_get(health, "model_class");
        char last[BASE_ERR_MSG];
        op_error(c, b->id, last, sizeof last);
        mlb_client_set_state(c, b, last[0] ? "ER" : "CO", last); /* keep a failure visible */
    }
    json_decref(health);
    json_decref(setup);
    json_decref(body);
    return rc;
}
