/* Helpers shared by the formats unit tests: fixture files under tests/unit/formats/data/. */
#ifndef LL_FORMATS_TEST_UTIL_H
#define LL_FORMATS_TEST_UTIL_H

#include "base/base.h"

#include <stdlib.h>

/* Reads tests/unit/formats/data/<name> (LL_SOURCE is set by ctest); aborts the test if missing. */
static inline char *fixture(const char *name, size_t *len)
{
    const char *src = getenv("LL_SOURCE");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/unit/formats/data/%s", src ? src : ".", name);
    char *data = NULL;
    size_t n = 0;
    struct base_err err;
    if (base_file_read(path, 1 << 24, &data, &n, &err)) {
        fprintf(stderr, "fixture %s: %s\n", path, err.msg);
        abort();
    }
    if (len)
        *len = n;
    return data;
}

#endif
