/* Shared by the formats fuzz targets: a temp folder with two small PNG headers (images/a.png,
 * images/b.png, 100x50) that fuzzed annotation files can refer to. Made once per process. */
#ifndef LL_FUZZ_FORMATS_UTIL_H
#define LL_FUZZ_FORMATS_UTIL_H

#include "formats/formats.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_root_[64];

static void fuzz_root_remove(void)
{
    struct base_err err;
    base_remove_tree(fuzz_root_, &err);
}

static inline const char *fuzz_image_root(void)
{
    char *root = fuzz_root_;
    if (root[0])
        return root;
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
                                        'I',  'H', 'D', 'R', 0,    0,    0,    100,  0, 0, 0, 50,
                                        8,    2,   0,   0,   0,    0,    0,    0,    0, 0, 0, 0,
                                        0,    'I', 'E', 'N', 'D',  0,    0,    0,    0};
    snprintf(root, sizeof fuzz_root_, "/tmp/ll-fuzz-formats-%d", (int)getpid());
    atexit(fuzz_root_remove);
    char path[128];
    struct base_err err;
    snprintf(path, sizeof path, "%s/images", root);
    base_mkdirs(path, &err);
    snprintf(path, sizeof path, "%s/images/a.png", root);
    base_file_write_atomic(path, png, sizeof png, &err);
    snprintf(path, sizeof path, "%s/images/b.png", root);
    base_file_write_atomic(path, png, sizeof png, &err);
    return root;
}

/* A NUL-terminated, writable copy of the fuzz input. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *t = base_alloc(size + 1);
    memcpy(t, data, size);
    t[size] = '\0';
    return t;
}

#endif
