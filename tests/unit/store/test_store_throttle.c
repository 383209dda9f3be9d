/* Unit tests of the login throttle's counts in the store (store_throttle.c): a burst of parallel
 * attempts through two stores on one database (two servers) lets exactly the free failures and
 * one more through, the policy's numbers hold per kind of key, and pruning deletes counts. Run
 * twice by ctest: on SQLite, and on the pg fixture's PostgreSQL (LL_PG_URL_FILE set). */
#include "pg_fixture.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S(x)   ((int64_t)(x)*1000000)
#define RACERS 16

static char dir[64], pg_url[512];

static const struct store_throttle_policy by_address = {10, S(1), S(900), S(3600)};
static const struct store_throttle_policy by_account = {5, S(1), S(300), S(3600)};

static struct store *fresh(void)
{
    static int n;
    char path[128];
    if (pg_url[0]) {
        snprintf(path, sizeof path, "ll_test_throttle_%d", n++);
        return pg_fixture_store(pg_url, path);
    }
    snprintf(path, sizeof path, "%s/db%d.sqlite3", dir, n++);
    return store_open(path, NULL);
}

/* The wait (microseconds) before an attempt at `now`, which counted it when 0. */
static int64_t attempt(struct store *st, const char *address, const char *email, int64_t now)
{
    int64_t wait = -1;
    struct base_err err = {0};
    int rc = store_login_attempt(st, address, email, &by_address, &by_account, now, &wait, &err);
    if (rc)
        fprintf(stderr, "store_login_attempt: %s\n", err.msg);
    CHECK_EQ_INT(rc, 0);
    return wait;
}

struct racer {
    struct store *st;
    pthread_barrier_t *start;
    int n;
    int64_t wait;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    char address[32];
    snprintf(address, sizeof address, "10.1.0.%d", r->n);
    pthread_barrier_wait(r->start);
    r->wait = attempt(r->st, address, "Victim@Example.com", S(1000));
    return NULL;
}

static void test_burst_across_stores(void)
{
    struct store *a = fresh(), *b = store_open(store_where(a), NULL);
    CHECK(b != NULL);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, RACERS);
    struct racer r[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct racer){i % 2 ? b : a, &start, i, -1};
        pthread_create(&th[i], NULL, race, &r[i]);
    }
    int through = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        CHECK(r[i].wait >= 0);
        through += r[i].wait == 0;
    }
    pthread_barrier_destroy(&start);
    /* five free failures and the sixth, after which the account waits a second */
    CHECK_EQ_INT(through, by_account.free_fails + 1);
    CHECK_EQ_INT(attempt(b, "10.2.0.1", "victim@example.com", S(1000)), S(1));
    CHECK_EQ_INT(attempt(a, "10.2.0.1", "victim@example.com", S(1000) + 300000), 700000);
    CHECK_EQ_INT(attempt(a, "10.2.0.1", "victim@example.com", S(1001)), 0); /* the seventh */
    CHECK_EQ_INT(attempt(b, "10.2.0.2", "victim@example.com", S(1001)), S(2));
    /* a success on one forgets the account on the other, and uncounts the address's attempt */
    CHECK_EQ_INT(store_login_ok(b, "10.2.0.1", "VICTIM@example.com", NULL), 0);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(attempt(a, "10.2.0.3", "victim@example.com", S(1002)), 0);
    store_close(b);
    store_close(a);
}

static void test_policy_per_kind(void)
{
    struct store *st = fresh();
    /* an address: ten free failures over any accounts, then 1, 2, 4 ... up to 900 s */
    for (int i = 0; i < 10; i++) {
        char email[32];
        snprintf(email, sizeof email, "u%d@x", i);
        CHECK_EQ_INT(attempt(st, "10.9.9.9", email, S(100)), 0);
    }
    for (int i = 0; i < 12; i++) {
        int64_t t = S(200) + i * S(1000);
        char email[32];
        snprintf(email, sizeof email, "v%d@x", i);
        CHECK_EQ_INT(attempt(st, "10.9.9.9", email, t), 0);
        CHECK_EQ_INT(attempt(st, "10.9.9.9", "probe@x", t), i < 10 ? S(1) << i : S(900));
    }
    /* an hour's quiet forgets */
    CHECK_EQ_INT(attempt(st, "10.9.9.9", "w@x", S(200) + 11 * S(1000) + S(3601)), 0);
    store_close(st);
}

static void test_prune(void)
{
    struct store *st = fresh();
    for (int i = 0; i < 6; i++)
        CHECK_EQ_INT(attempt(st, "10.3.0.1", "p@x", S(50)), 0);
    CHECK(attempt(st, "10.3.0.1", "p@x", S(50)) > 0);
    CHECK_EQ_INT(store_login_prune(st, S(50), 2, NULL), 0); /* keeps rows touched at 50 s */
    CHECK(attempt(st, "10.3.0.1", "p@x", S(50)) > 0);
    CHECK_EQ_INT(store_login_prune(st, S(50) + 1, 2, NULL), 0);
    CHECK_EQ_INT(attempt(st, "10.3.0.1", "p@x", S(50)), 0); /* the counts are gone */
    /* past the newest rows kept, the stalest go */
    for (int i = 0; i < 6; i++) {
        CHECK_EQ_INT(attempt(st, "10.3.0.2", "q@x", S(60)), 0);
        CHECK_EQ_INT(attempt(st, "10.3.0.3", "r@x", S(70)), 0);
    }
    CHECK_EQ_INT(store_login_prune(st, 0, 2, NULL), 0); /* keeps the two rows of 70 s */
    CHECK(attempt(st, "10.3.0.4", "r@x", S(70)) > 0);
    CHECK_EQ_INT(attempt(st, "10.3.0.5", "q@x", S(70)), 0);
    store_close(st);
}

static void setup(void) __attribute__((constructor));
static void setup(void)
{
    if (!pg_fixture_url(pg_url, sizeof pg_url))
        pg_url[0] = 0;
    snprintf(dir, sizeof dir, "/tmp/ll-test-store-throttle-XXXXXX");
    if (!mkdtemp(dir))
        abort();
}

static void teardown(void) __attribute__((destructor));
static void teardown(void)
{
    base_remove_tree(dir, NULL);
}

TEST_MAIN(TEST_CASE(test_burst_across_stores), TEST_CASE(test_policy_per_kind),
          TEST_CASE(test_prune))
