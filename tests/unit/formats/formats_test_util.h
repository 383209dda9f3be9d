/* Helpers shared by the formats unit tests: fixture files under tests/unit/formats/data/. */
#ifndef LL_FORMATS_TEST_UTIL_H
#define LL_FORMATS_TEST_UTIL_H

#include "base/base.h"
#include "formats/formats.h"

#include <jansson.h>
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

/* Exports `tasks` (a JSON array) into dest with options o: 0, or -1 with the error printed. */
static inline int export_list(const struct formats_export_opts *o, const json_t *tasks,
                              const char *dest)
{
    struct formats_export *e = NULL;
    struct base_err err = {0};
    size_t i;
    json_t *t;
    int rc = formats_export_open(o, dest, &e, &err);
    json_array_foreach(tasks, i, t) if (!rc) rc = formats_export_add(e, t, &err);
    rc = rc ? (formats_export_abort(e), -1) : formats_export_commit(e, &err);
    if (rc)
        fprintf(stderr, "export %s: %s\n", formats_kind_name(o->kind), err.msg);
    return rc;
}

#endif
