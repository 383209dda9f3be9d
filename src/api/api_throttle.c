/* Login throttling. Failed logins are counted per client address and per account; past a few
 * free failures each one doubles the wait before the next attempt (up to a cap, counted from the
 * attempt), and a quiet hour forgets them. An attempt is counted before its password is checked,
 * so a burst of parallel guesses is cut off as soon as the count is reached. The counts live in
 * the store (one write per attempt), so every server sharing the database holds a client to the
 * same count; rows an hour quiet, and the stalest past 100,000, are pruned once a minute by
 * whichever server looks. */
#include "api_int.h"

#include <pthread.h>

#define PRUNE_EVERY_US ((int64_t)60 * 1000000)
/* Rows kept at most (about 10 MB), so that guesses from ever new addresses and accounts cannot
 * fill the disk; past it the stalest counts are dropped, as the in-memory table once did. */
#define KEEP_ROWS 100000

/* An office behind one address makes more honest mistakes than one person; an account is locked
 * for at most five minutes, so that an attacker cannot lock its owner out for long. */
static const struct store_throttle_policy by_address = {10, 1000000, 900 * (int64_t)1000000,
                                                        3600 * (int64_t)1000000};
static const struct store_throttle_policy by_account = {5, 1000000, 300 * (int64_t)1000000,
                                                        3600 * (int64_t)1000000};

struct api_throttle {
    pthread_mutex_t mu;
    int64_t pruned_at;
};

struct api_throttle *api_throttle_new(void)
{
    struct api_throttle *t = base_calloc(1, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void api_throttle_free(struct api_throttle *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    base_free(t);
}

/* Deletes the rows both policies have forgotten, at most once a minute per server; a failure
 * only delays it. */
static void prune(struct api *api, int64_t now)
{
    struct api_throttle *t = api->throttle;
    pthread_mutex_lock(&t->mu);
    int due = now - t->pruned_at >= PRUNE_EVERY_US;
    if (due)
        t->pruned_at = now;
    pthread_mutex_unlock(&t->mu);
    if (!due)
        return;
    int64_t forget =
        by_address.forget_us > by_account.forget_us ? by_address.forget_us : by_account.forget_us;
    struct base_err err = {0};
    if (store_login_prune(api->store, now - forget, KEEP_ROWS, &err))
        BASE_WARN("login throttle: pruning: %s", err.msg);
}

int api_throttle_login(struct api *api, const char *address, const char *email, int64_t now,
                       double *wait_s, struct base_err *err)
{
    int64_t wait = 0;
    prune(api, now);
    if (store_login_attempt(api->store, address, email, &by_address, &by_account, now, &wait, err))
        return -1;
    *wait_s = (double)wait / 1e6;
    return 0;
}

void api_throttle_login_ok(struct api *api, const char *address, const char *email)
{
    struct base_err err = {0};
    if (store_login_ok(api->store, address, email, &err))
        BASE_WARN("login throttle: %s", err.msg);
}
