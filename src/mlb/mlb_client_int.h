/* Shared by the client files of src/mlb (mlb_client.c: queue, breaker, calls; mlb_client_work.c:
 * what each queued piece of work does). */
#ifndef LL_MLB_CLIENT_INT_H
#define LL_MLB_CLIENT_INT_H

#include "mlb_int.h"

#define MLB_CLIENT_QUEUE_MAX 4096
#define MLB_CLIENT_BACKENDS  64

enum mlb_work_kind { MLB_WORK_REFRESH, MLB_WORK_PREDICT, MLB_WORK_EVENT, MLB_WORK_TRAIN };

struct mlb_work {
    struct mlb_node node;
    enum mlb_work_kind kind;
    int64_t backend; /* REFRESH, TRAIN */
    int64_t project; /* PREDICT, EVENT */
    int64_t *tasks;  /* PREDICT: these tasks (NULL: every task lacking a prediction) */
    size_t ntasks;
    char action[32]; /* EVENT */
    int64_t annotation, task;
};

struct mlb_breaker {
    int64_t backend;
    int failures;
    double open_until;
    char last[BASE_ERR_MSG];
    char
        op_error[BASE_ERR_MSG]; /* the last /predict, /webhook or /train failure, until one works */
};

struct mlb_client {
    struct store *st;
    struct mlb_client_config cfg;
    pthread_mutex_t mu; /* guards the queue, breakers and hostname */
    pthread_cond_t cv;
    struct mlb_queue queue; /* of struct mlb_work */
    int stop, started;
    pthread_t thread;
    char *hostname;
    struct mlb_breaker breakers[MLB_CLIENT_BACKENDS];
};

int mlb_client_push(struct mlb_client *c, struct mlb_work *w);
void mlb_work_free(struct mlb_work *w);
int mlb_client_sleep(struct mlb_client *c, double s);
/* POST (GET for "health") <url>/<endpoint> with the breaker, timeout and retries. A failure
 * counts towards the breaker; a success resets it only for the work endpoints (predict, webhook,
 * train), not for health and setup, which a backend may answer while its predictions fail. */
int mlb_client_call(struct mlb_client *c, const struct store_ml_backend *b, const char *endpoint,
                    const json_t *body, double timeout, int retries, json_t **out,
                    struct base_err *err);
void mlb_client_set_state(struct mlb_client *c, struct store_ml_backend *b, const char *state,
                          const char *error);
/* A work call failed (error) or worked (NULL): the state shows ER with it until one works. */
void mlb_client_op_result(struct mlb_client *c, struct store_ml_backend *b, const char *error);
/* /setup's body for b's project (NULL when the project is gone). */
json_t *mlb_client_setup_body(struct mlb_client *c, const struct store_ml_backend *b);
void *mlb_client_main(void *arg);

#endif
