/* Unit tests of the export's zip writer (formats_zip.c): archives it writes are read back with
 * libzip under its strict consistency checks (ZIP_CHECKCONS): names, order, contents and
 * compression of every entry kind, names added again, Zip64 records (reached with a low
 * threshold, and through the entry count), and failures that must leave no file behind. */
#include "formats/formats_int.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#define NOW_US 1669308914436317LL

struct want {
    const char *name;
    const char *data; /* NULL: `len` bytes of pattern() */
    size_t len;
    int deflated;
};

static char *tmp_dir(void)
{
    char tmpl[] = "/tmp/ll-zip-XXXXXX";
    CHECK(mkdtemp(tmpl) != NULL);
    return base_strdup(tmpl);
}

/* Compressible bytes for the large entries. */
static char *pattern(size_t len)
{
    char *p = base_alloc(len + 1);
    for (size_t i = 0; i < len; i++)
        p[i] = "abcdefgh\n"[i % 9] + (char)(i / 4096 % 3);
    return p;
}

/* Opens the archive strictly and checks its entries against `want`, in order. */
static void check_archive(const char *path, const struct want *want, size_t n)
{
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    CHECK(z != NULL);
    if (!z) {
        fprintf(stderr, "zip_open %s: error %d\n", path, zerr);
        return;
    }
    CHECK_EQ_INT(zip_get_num_entries(z, 0), (long long)n);
    for (size_t i = 0; i < n && i < (size_t)zip_get_num_entries(z, 0); i++) {
        zip_stat_t st;
        CHECK(zip_stat_index(z, i, 0, &st) == 0);
        CHECK_EQ_STR(st.name, want[i].name);
        char *expect = want[i].data ? base_strdup(want[i].data) : pattern(want[i].len);
        size_t len = want[i].data ? strlen(want[i].data) : want[i].len;
        CHECK_EQ_INT(st.size, len);
        CHECK_EQ_INT(st.comp_method, want[i].deflated ? ZIP_CM_DEFLATE : ZIP_CM_STORE);
        char *got = base_alloc(len + 1);
        zip_file_t *f = zip_fopen_index(z, i, 0);
        CHECK(f && zip_fread(f, got, len) == (zip_int64_t)len && !memcmp(got, expect, len));
        if (f)
            zip_fclose(f);
        base_free(got), base_free(expect);
    }
    zip_discard(z);
}

/* Every kind of entry, in the order the exports add them. */
static int write_all_kinds(const char *path, uint64_t zip64_from, const char *file)
{
    struct base_err err = {0};
    struct formats_zip *z = formats_zip_open(path, NOW_US, zip64_from, &err);
    char *big = pattern(40000);
    int rc = !z || formats_zip_dir(z, "images", &err) || formats_zip_dir(z, "labels", &err) ||
             formats_zip_add(z, "labels/a.txt", "first a", 7, 1, &err) ||
             formats_zip_add(z, "labels/a.txt", "second a", 8, 1, &err) || /* held: replaced */
             formats_zip_add_file(z, "images/a.jpg", file, &err) ||
             formats_zip_add(z, "labels/b.txt", "b", 1, 1, &err) ||
             formats_zip_add(z, "labels/c.txt", "", 0, 1, &err) ||
             formats_zip_add(z, "labels/b.txt", "b again", 7, 1, &err) || /* written: replaced */
             formats_zip_begin(z, "result.json", 40000 + 2, &err) ||
             formats_zip_write(z, "[", 1, &err) || formats_zip_write(z, big, 40000, &err) ||
             formats_zip_write(z, "]", 1, &err) || formats_zip_end(z, &err) ||
             formats_zip_add(z, "big.txt", big, 40000, 0, &err) ||
             formats_zip_add(z, "classes.txt", "cat\n", 4, 0, &err) || formats_zip_commit(z, &err);
    if (rc && z)
        fprintf(stderr, "zip: %s\n", err.msg);
    base_free(big);
    return rc;
}

static void check_all_kinds(uint64_t zip64_from)
{
    char *dir = tmp_dir(), *path = base_path_join(dir, "out.zip");
    char *file = base_path_join(dir, "a.jpg");
    struct base_err err;
    CHECK(base_file_write_atomic(file, "jpeg bytes", 10, &err) == 0);
    CHECK(write_all_kinds(path, zip64_from, file) == 0);
    char *big = pattern(40000), *result = base_alloc(40003);
    result[0] = '[', memcpy(result + 1, big, 40000), memcpy(result + 40001, "]", 2);
    const struct want want[] = {{"images/", "", 0, 0},
                                {"labels/", "", 0, 0},
                                {"images/a.jpg", "jpeg bytes", 0, 0},
                                {"result.json", result, 40002, 1},
                                {"big.txt", NULL, 40000, 1},
                                {"classes.txt", "cat\n", 0, 0},
                                {"labels/a.txt", "second a", 0, 0},
                                {"labels/b.txt", "b again", 0, 0},
                                {"labels/c.txt", "", 0, 0}};
    check_archive(path, want, sizeof want / sizeof want[0]);
    base_free(big), base_free(result);
    base_remove_tree(dir, &err);
    base_free(dir), base_free(path), base_free(file);
}

static void test_zip_entries(void)
{
    check_all_kinds(FORMATS_ZIP64_FROM);
}

/* Every size and offset from 64 bytes on in Zip64 form (the same code paths as a 4 GB export). */
static void test_zip_zip64(void)
{
    check_all_kinds(64);
    check_all_kinds(1000); /* result.json: size in Zip64 form, compressed size not */
}

/* More than 65535 entries need the Zip64 end records whatever the sizes. */
static void test_zip_many_entries(void)
{
    char *dir = tmp_dir(), *path = base_path_join(dir, "many.zip");
    struct base_err err = {0};
    struct formats_zip *z = formats_zip_open(path, NOW_US, FORMATS_ZIP64_FROM, &err);
    int rc = z ? 0 : -1;
    char name[32];
    for (int i = 0; i < 70000 && !rc; i++) {
        snprintf(name, sizeof name, "labels/%d.txt", i);
        rc = formats_zip_add(z, name, name, strlen(name), 1, &err);
    }
    CHECK(rc == 0 && formats_zip_commit(z, &err) == 0);
    int zerr = 0;
    zip_t *r = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    CHECK(r != NULL);
    if (r) {
        CHECK_EQ_INT(zip_get_num_entries(r, 0), 70000);
        CHECK_EQ_STR(zip_get_name(r, 69999, 0), "labels/69999.txt");
        zip_discard(r);
    }
    base_remove_tree(dir, &err);
    base_free(dir), base_free(path);
}

/* A streamed entry that does not add up, or a missing file: an error, and no archive. */
static void test_zip_failures(void)
{
    char *dir = tmp_dir(), *path = base_path_join(dir, "bad.zip");
    struct base_err err = {0};
    struct formats_zip *z = formats_zip_open(path, NOW_US, FORMATS_ZIP64_FROM, &err);
    CHECK(z && formats_zip_begin(z, "short.txt", 10, &err) == 0);
    CHECK(formats_zip_write(z, "12345", 5, &err) == 0);
    CHECK(formats_zip_end(z, &err) == -1 && strstr(err.msg, "10 bytes announced"));
    formats_zip_abort(z);
    z = formats_zip_open(path, NOW_US, FORMATS_ZIP64_FROM, &err);
    CHECK(z && formats_zip_add_file(z, "images/x.jpg", "/nonexistent/x.jpg", &err) == -1);
    CHECK(err.status == BASE_E_IO && strstr(err.msg, "/nonexistent/x.jpg"));
    formats_zip_abort(z);
    CHECK(!base_file_exists(path));
    CHECK(formats_zip_open("/nonexistent/dir/a.zip", NOW_US, FORMATS_ZIP64_FROM, &err) == NULL);
    CHECK(err.status == BASE_E_IO);
    base_remove_tree(dir, &err);
    base_free(dir), base_free(path);
}

TEST_MAIN(TEST_CASE(test_zip_entries), TEST_CASE(test_zip_zip64), TEST_CASE(test_zip_many_entries),
          TEST_CASE(test_zip_failures))
