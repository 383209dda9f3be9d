/* The ML backend's pure pieces: query values of media URLs and the confinement of local files to
 * LOCAL_FILES_DOCUMENT_ROOT (dot-dot, absolute paths, symlinks out of the root, encodings). */
#include "mlb/mlb.h"
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

static void test_url_query(void)
{
    char *v = mlb_url_query("/data/local-files/?d=a%2Fb%20c.jpg", "d");
    CHECK_EQ_STR(v, "a/b c.jpg");
    base_free(v);
    v = mlb_url_query("/data/x?foo=1&d=%2e%2e/y&z=2", "d");
    CHECK_EQ_STR(v, "../y");
    base_free(v);
    v = mlb_url_query("/data/x?dd=1", "d");
    CHECK(v == NULL);
    CHECK(mlb_url_query("/data/x?d=a%00b", "d") == NULL);
    v = mlb_url_query("/data/x?d=100%", "d"); /* a lone % stays */
    CHECK_EQ_STR(v, "100%");
    base_free(v);
    v = mlb_url_query("/data/x?d=a+b", "d");
    CHECK_EQ_STR(v, "a+b");
    base_free(v);
}

static void test_local_path(void)
{
    char root[] = "/tmp/mlbroot-XXXXXX", out[] = "/tmp/mlbout-XXXXXX";
    CHECK(mkdtemp(root) && mkdtemp(out));
    char *sub = base_path_join(root, "sub"), *file = base_path_join(sub, "a.jpg");
    char *secret = base_path_join(out, "s.jpg"), *link = base_path_join(sub, "l.jpg");
    CHECK(base_mkdirs(sub, NULL) == 0);
    CHECK(base_file_write_atomic(file, "x", 1, NULL) == 0);
    CHECK(base_file_write_atomic(secret, "x", 1, NULL) == 0);
    CHECK(symlink(secret, link) == 0);
    struct base_err err = {0};
    char *p = mlb_local_path(root, "sub/a.jpg", &err);
    CHECK(p && !strcmp(p + strlen(p) - 9, "sub/a.jpg"));
    base_free(p);
    p = mlb_local_path(root, "/sub/a.jpg", &err); /* absolute: under the root, as LS does */
    CHECK(p != NULL);
    base_free(p);
    p = mlb_local_path(root, "sub/../sub/./a.jpg", &err);
    CHECK(p != NULL);
    base_free(p);
    char rel[256];
    snprintf(rel, sizeof rel, "../%s/s.jpg", strrchr(out, '/') + 1);
    CHECK(mlb_local_path(root, rel, &err) == NULL && err.status == BASE_E_FORBIDDEN);
    CHECK(mlb_local_path(root, "sub/l.jpg", &err) == NULL && err.status == BASE_E_FORBIDDEN);
    CHECK(mlb_local_path(root, "..", &err) == NULL && err.status == BASE_E_FORBIDDEN);
    CHECK(mlb_local_path(root, "sub/none.jpg", &err) == NULL && err.status == BASE_E_NOTFOUND);
    CHECK(mlb_local_path(root, "", &err) == NULL && err.status == BASE_E_INVALID);
    CHECK(mlb_local_path(root, secret, &err) == NULL && err.status == BASE_E_NOTFOUND);
    /* a root that is a prefix of a sibling's name: /tmp/mlbroot-X vs /tmp/mlbroot-Xevil */
    char sib[300];
    snprintf(sib, sizeof sib, "../%sevil", strrchr(root, '/') + 1);
    char *sibdir = base_alloc(strlen(root) + 8);
    sprintf(sibdir, "%sevil", root);
    CHECK(base_mkdirs(sibdir, NULL) == 0);
    CHECK(mlb_local_path(root, sib, &err) == NULL && err.status == BASE_E_FORBIDDEN);
    base_remove_tree(sibdir, NULL);
    base_remove_tree(root, NULL);
    base_remove_tree(out, NULL);
    base_free(sibdir);
    base_free(sub), base_free(file), base_free(secret), base_free(link);
}

TEST_MAIN(TEST_CASE(test_url_query), TEST_CASE(test_local_path))
