/* Login throttling. Failed logins are counted per client address and per account; past a few
 * free failures each one doubles the wait before the next attempt (up to a cap, counted from the
 * failed answer), and a quiet hour forgets them. An attempt is counted before its password is
 * checked, so a burst of parallel guesses is cut off as soon as the count is reached. The table
 * has a fixed size: a new key takes the place of the stalest one near its hash. */
#include "api_int.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#define THROTTLE_SLOTS  4096
#define THROTTLE_WINDOW 32 /* slots probed from a key's hash */

struct throttle_policy {
    int free_fails;  /* failures before any wait */
    double first_s;  /* wait after the first failure past them, doubling */
    double max_s;    /* longest wait */
    double forget_s; /* failures older than this are forgotten */
};

/* An office behind one address makes more honest mistakes than one person; an account is locked
 * for at most five minutes, so that an attacker cannot lock its owner out for long. */
static const struct throttle_policy by_address = {10, 1.0, 900.0, 3600.0};
static const struct throttle_policy by_account = {5, 1.0, 300.0, 3600.0};

struct throttle_slot {
    uint64_t key; /* 0 = free */
    int fails;
    double last, until;
};

struct api_throttle {
    pthread_mutex_t mu;
    struct throttle_slot slots[THROTTLE_SLOTS];
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

/* FNV-1a of "kind:text", case-folded (emails are compared without case). */
static uint64_t key_of(char kind, const char *text)
{
    uint64_t h = 1469598103934665603ull;
    h = (h ^ (unsigned char)kind) * 1099511628211ull;
    for (const char *p = text; *p; p++)
        h = (h ^ (unsigned char)tolower((unsigned char)*p)) * 1099511628211ull;
    return h ? h : 1;
}

/* The slot of key, or the one to give it (free, or the stalest in the window) when `create`. */
static struct throttle_slot *slot_of(struct api_throttle *t, uint64_t key, int create)
{
    struct throttle_slot *stalest = NULL;
    for (size_t i = 0; i < THROTTLE_WINDOW; i++) {
        struct throttle_slot *s = &t->slots[(key + i) % THROTTLE_SLOTS];
        if (s->key == key)
            return s;
        if (!stalest || (stalest->key && (!s->key || s->last < stalest->last)))
            stalest = s;
    }
    if (!create)
        return NULL;
    *stalest = (struct throttle_slot){.key = key};
    return stalest;
}

static double wait_of(struct throttle_slot *s, const struct throttle_policy *p, double now)
{
    if (!s)
        return 0;
    if (now - s->last > p->forget_s)
        s->fails = 0, s->until = 0;
    return s->until > now ? s->until - now : 0;
}

/* The wait after the slot's failures, from `now`. */
static void set_wait(struct throttle_slot *s, const struct throttle_policy *p, double now)
{
    int over = s->fails - p->free_fails;
    s->last = now;
    if (over > 0)
        s->until = now + fmin(p->max_s, p->first_s * pow(2.0, over - 1));
}

static void count_fail(struct throttle_slot *s, const struct throttle_policy *p, double now)
{
    s->fails++;
    set_wait(s, p, now);
}

double api_throttle_login(struct api_throttle *t, const char *address, const char *email,
                          double now)
{
    uint64_t ka = key_of('a', address), ku = key_of('u', email);
    pthread_mutex_lock(&t->mu);
    double wait = fmax(wait_of(slot_of(t, ka, 0), &by_address, now),
                       wait_of(slot_of(t, ku, 0), &by_account, now));
    if (wait <= 0) {
        count_fail(slot_of(t, ka, 1), &by_address, now);
        count_fail(slot_of(t, ku, 1), &by_account, now);
    }
    pthread_mutex_unlock(&t->mu);
    return wait;
}

void api_throttle_login_failed(struct api_throttle *t, const char *address, const char *email,
                               double now)
{
    uint64_t ka = key_of('a', address), ku = key_of('u', email);
    pthread_mutex_lock(&t->mu);
    struct throttle_slot *a = slot_of(t, ka, 0), *u = slot_of(t, ku, 0);
    if (a)
        set_wait(a, &by_address, now);
    if (u)
        set_wait(u, &by_account, now);
    pthread_mutex_unlock(&t->mu);
}

void api_throttle_login_ok(struct api_throttle *t, const char *address, const char *email)
{
    uint64_t ka = key_of('a', address), ku = key_of('u', email);
    pthread_mutex_lock(&t->mu);
    struct throttle_slot *a = slot_of(t, ka, 0), *u = slot_of(t, ku, 0);
    if (a && a->fails > 0)
        a->fails--; /* the attempt counted in advance was no failure */
    if (u)
        *u = (struct throttle_slot){0};
    pthread_mutex_unlock(&t->mu);
}
