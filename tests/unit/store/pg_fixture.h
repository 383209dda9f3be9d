/* The `pg` ctest fixture's throw-away PostgreSQL for the store's unit tests: its URL (from the
 * file LL_PG_URL_FILE names) and a new, empty database on it per call. */
#ifndef LL_TEST_PG_FIXTURE_H
#define LL_TEST_PG_FIXTURE_H

#include "store/store.h"
#include "store_int.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads the fixture's URL into url; 0 when LL_PG_URL_FILE is not set or unreadable. */
static inline int pg_fixture_url(char *url, size_t size)
{
    const char *file = getenv("LL_PG_URL_FILE");
    FILE *f = file ? fopen(file, "r") : NULL;
    int ok = f && fgets(url, (int)size, f);
    if (f)
        fclose(f);
    if (ok)
        url[strcspn(url, "\n")] = 0;
    return ok;
}

/* Database `name` on the fixture's server, dropped and created anew, opened as a store. */
static inline struct store *pg_fixture_store(const char *url, const char *name)
{
    const char *q = strstr(url, "/postgres?");
    CHECK(q != NULL);
    struct base_err err = {0};
    struct store_conn *c = store_pg_ops.open(url, &err);
    CHECK(c != NULL);
    /* room for any name the tests build (at most 127 bytes): gcc's -Wformat-truncation at -O2
     * checks it */
    char sql[192], where[600];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
    CHECK_EQ_INT(store_exec(c, sql, &err), 0);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    CHECK_EQ_INT(store_exec(c, sql, &err), 0);
    store_pg_ops.close(c);
    snprintf(where, sizeof where, "%.*s/%s%s", (int)(q - url), url, name, q + strlen("/postgres"));
    struct store *st = store_open(where, &err);
    if (!st)
        fprintf(stderr, "store_open %s: %s\n", where, err.msg);
    CHECK(st != NULL);
    return st;
}

#endif
