/* Unit tests of src/base: errors, buffers, arenas, files, time, random, number formatting. */
#include "base/base.h"
#include "test.h"

#include <pty.h>
#include <termios.h>
#include <unistd.h>

static void test_err(void)
{
    struct base_err err;
    base_err_clear(&err);
    CHECK_EQ_INT(base_err_set(&err, BASE_E_INVALID, "bad %s", "thing"), -1);
    CHECK_EQ_INT(err.status, BASE_E_INVALID);
    CHECK_EQ_STR(err.msg, "bad thing");
    base_err_prefix(&err, "%s: ", "file.json");
    CHECK_EQ_STR(err.msg, "file.json: bad thing");
    CHECK_EQ_STR(base_status_name(BASE_E_NOTFOUND), "not found");
    CHECK_EQ_INT(base_err_set(NULL, BASE_E_IO, "ignored"), -1);
}

static void test_buf_limit(void)
{
    struct base_buf b;
    struct base_err err;
    base_buf_init(&b, 10);
    CHECK_EQ_INT(base_buf_puts(&b, "hello", &err), 0);
    CHECK_EQ_INT(base_buf_printf(&b, &err, "%d", 1234), 0);
    CHECK_EQ_STR(b.data, "hello1234");
    CHECK_EQ_INT(base_buf_puts(&b, "xy", &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_TOOBIG);
    CHECK_EQ_INT(b.len, 9);
    size_t len;
    char *s = base_buf_steal(&b, &len);
    CHECK_EQ_INT(len, 9);
    CHECK_EQ_STR(s, "hello1234");
    base_free(s);
    base_buf_release(&b);
}

static void test_arena(void)
{
    struct base_arena *a = base_arena_new(1024);
    char *s = base_arena_strdup(a, "abc");
    void *big = base_arena_alloc(a, 10000);
    CHECK(((uintptr_t)big & 15) == 0);
    memset(big, 1, 10000);
    char *f = base_arena_printf(a, "%s-%d", s, 7);
    CHECK_EQ_STR(f, "abc-7");
    base_arena_reset(a);
    CHECK_EQ_STR(base_arena_strndup(a, "abcdef", 3), "abc");
    base_arena_free(a);
    base_arena_free(NULL);
}

static void test_files(void)
{
    struct base_err err;
    char dir[] = "/tmp/ll-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *sub = base_path_join(dir, "a/b/c");
    CHECK_EQ_INT(base_mkdirs(sub, &err), 0);
    char *path = base_path_join(sub, "f.txt");
    CHECK_EQ_INT(base_file_write_atomic(path, "data", 4, &err), 0);
    CHECK_EQ_INT(base_file_write_atomic(path, "newer", 5, &err), 0);
    char *data;
    size_t len;
    CHECK_EQ_INT(base_file_read(path, 100, &data, &len, &err), 0);
    CHECK_EQ_STR(data, "newer");
    base_free(data);
    CHECK_EQ_INT(base_file_read(path, 3, &data, &len, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_TOOBIG);
    CHECK_EQ_INT(base_file_read("/nonexistent/x", 3, &data, &len, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    struct base_afile *af = base_afile_open(path, &err);
    fputs("aborted", base_afile_stream(af));
    base_afile_abort(af);
    CHECK_EQ_INT(base_file_read(path, 100, &data, &len, &err), 0);
    CHECK_EQ_STR(data, "newer");
    base_free(data);
    CHECK_EQ_INT(base_remove_tree(dir, &err), 0);
    CHECK(!base_file_exists(dir));
    base_free(path);
    base_free(sub);
    char *j = base_path_join("/a/", "/b");
    CHECK_EQ_STR(j, "/a/b");
    base_free(j);
}

static void test_time(void)
{
    char out[32];
    int64_t us = 1669275305224656LL;
    base_time_iso(us, out);
    CHECK_EQ_STR(out, "2022-11-24T07:35:05.224656Z");
    base_time_sql(us, out);
    CHECK_EQ_STR(out, "2022-11-24 07:35:05.224656");
    base_time_iso(1669275305000000LL, out);
    CHECK_EQ_STR(out, "2022-11-24T07:35:05Z");
    int64_t back;
    CHECK_EQ_INT(base_time_parse("2022-11-24T07:35:05.224656Z", &back), 0);
    CHECK_EQ_INT(back, us);
    CHECK_EQ_INT(base_time_parse("2022-11-24 07:35:05.224656", &back), 0);
    CHECK_EQ_INT(back, us);
    CHECK_EQ_INT(base_time_parse("2022-11-24T07:35:05", &back), 0);
    CHECK_EQ_INT(back, 1669275305000000LL);
    CHECK_EQ_INT(base_time_parse("2022-13-24T07:35:05", &back), -1);
    CHECK_EQ_INT(base_time_parse("yesterday", &back), -1);
}

static void test_rng(void)
{
    struct base_rng a, b;
    base_rng_seed(&a, 42);
    base_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        CHECK(base_rng_next(&a) == base_rng_next(&b));
    double sum = 0;
    for (int i = 0; i < 10000; i++) {
        double u = base_rng_uniform(&a);
        CHECK(u >= 0 && u < 1);
        sum += u;
    }
    CHECK_NEAR(sum / 10000, 0.5, 0.02);
    int items[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    base_rng_shuffle(&a, items, 10, sizeof items[0]);
    int seen = 0;
    for (int i = 0; i < 10; i++)
        seen |= 1 << items[i];
    CHECK_EQ_INT(seen, 1023);
    char hex[33];
    CHECK_EQ_INT(base_random_hex(hex, 16, NULL), 0);
    CHECK_EQ_INT(strlen(hex), 32);
}

static void test_fmt_double(void)
{
    char out[32];
    const struct {
        double v;
        const char *s;
    } cases[] = {
        {42.37181091308594, "42.37181091308594"},
        {1.0, "1.0"},
        {0.1, "0.1"},
        {100.0, "100.0"},
        {1e-05, "1e-05"},
        {0.0001, "0.0001"},
        {1e16, "1e+16"},
        {1e15, "1000000000000000.0"},
        {-2.5, "-2.5"},
        {0.49918874753754694, "0.49918874753754694"},
        {83.13779830932617, "83.13779830932617"},
        {1.5e-07, "1.5e-07"},
        {0.0, "0.0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        base_fmt_double(cases[i].v, out);
        CHECK_EQ_STR(out, cases[i].s);
    }
    int64_t v;
    CHECK_EQ_INT(base_parse_i64("123", &v), 0);
    CHECK_EQ_INT(v, 123);
    CHECK_EQ_INT(base_parse_i64("12x", &v), -1);
    CHECK_EQ_INT(base_parse_i64("", &v), -1);
    CHECK_EQ_INT(base_parse_i64("99999999999999999999", &v), -1);
}

/* stderr is not a TTY here, so the bar prints one plain line per tenth. */
static void test_progress(void)
{
    char path[] = "/tmp/ll-test-progress.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    CHECK(saved >= 0 && dup2(fd, STDERR_FILENO) == STDERR_FILENO);
    struct base_progress *p = base_progress_new("test", 20, "img");
    /* The first update has no elapsed time to measure a rate from (the trainer's bar is made
     * after its first step): no rate and no ETA rather than a made-up one. */
    base_progress_update(p, 1, "loss 0.5");
    for (int i = 2; i <= 20; i++) {
        usleep(1000);
        base_progress_update(p, (uint64_t)i, "loss 0.5");
    }
    base_progress_finish(p, "done");
    base_progress_finish(NULL, NULL);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char text[4096] = "";
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    close(fd);
    unlink(path);
    CHECK(n > 0);
    text[n > 0 ? n : 0] = 0;
    CHECK(strstr(text, "test [#>......................]   5% 1/20 -- img/s eta --:--  loss 0.5\n"));
    /* later lines measure from the first update: a rate and an ETA, and the last says "in" */
    const char *nl = strchr(text, '\n');
    CHECK(nl && strstr(nl + 1, "10% 2/20 ") && !strstr(nl + 1, "-- img/s"));
    CHECK(strstr(text, "100% 20/20 ") && strstr(text, "img/s in 00:00  done\n"));
}

static void test_fmt_int(void)
{
    static const struct {
        int64_t v;
        const char *text;
    } cases[] = {{0, "0"},
                 {7, "7"},
                 {-1, "-1"},
                 {1234567890123, "1234567890123"},
                 {INT64_MAX, "9223372036854775807"},
                 {INT64_MIN, "-9223372036854775808"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[24];
        int n = base_fmt_int(cases[i].v, out);
        out[n] = 0;
        CHECK_EQ_STR(out, cases[i].text);
    }
}

/* On a terminal the bar redraws one line without ending it; a warning logged meanwhile first
 * erases that line, so it is not glued to the bar's end, and the bar comes back below it. */
static void test_progress_tty_log(void)
{
    int master, slave;
    if (openpty(&master, &slave, NULL, NULL, NULL)) {
        fprintf(stderr, "no pseudo-terminal here: test_progress_tty_log not run\n");
        return;
    }
    struct termios t;
    tcgetattr(slave, &t);
    cfmakeraw(&t); /* bytes as written, no \r added to \n */
    tcsetattr(slave, TCSANOW, &t);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(slave, STDERR_FILENO);
    struct base_progress *p = base_progress_new("bar", 4, "img");
    base_progress_update(p, 1, NULL);
    BASE_WARN("skipping unreadable image x.jpg");
    usleep(120000); /* past the bar's redraw throttle */
    base_progress_update(p, 2, NULL);
    base_progress_finish(p, NULL);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(slave);
    char text[4096];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof text - 1 && (r = read(master, text + n, sizeof text - 1 - n)) > 0) {
        n += (size_t)r;
        if (memmem(text, n, "in ", 3) && text[n - 1] == '\n')
            break;
    }
    close(master);
    text[n] = 0;
    const char *bar = strstr(text, "bar [");
    const char *warn = strstr(text, "\r\033[K20");
    CHECK(bar && warn && bar < warn); /* the warning starts by erasing the bar's line */
    CHECK(warn && strstr(warn, "warn  skipping unreadable image x.jpg\n\r\033[Kbar ["));
}

/* RFC 1321's test suite, and a long input fed in odd pieces. */
static void test_md5(void)
{
    static const char *const cases[][2] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    char hex[33];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct base_md5 m;
        base_md5_init(&m);
        base_md5_update(&m, cases[i][0], strlen(cases[i][0]));
        base_md5_final(&m, hex);
        CHECK_EQ_STR(hex, cases[i][1]);
    }
    struct base_md5 m, whole;
    char all[16000], hex2[33];
    size_t n = 0;
    base_md5_init(&m);
    for (int i = 0; i < 1000; i++) {
        size_t len = 1 + (size_t)(i % 23);
        base_md5_update(&m, "0123456789abcdefghijklm", len);
        memcpy(all + n, "0123456789abcdefghijklm", len);
        n += len;
    }
    base_md5_final(&m, hex);
    base_md5_init(&whole);
    base_md5_update(&whole, all, n);
    base_md5_final(&whole, hex2);
    CHECK_EQ_STR(hex, hex2);
}

TEST_MAIN(TEST_CASE(test_md5), TEST_CASE(test_err), TEST_CASE(test_buf_limit),
          TEST_CASE(test_arena), TEST_CASE(test_files), TEST_CASE(test_time), TEST_CASE(test_rng),
          TEST_CASE(test_fmt_double), TEST_CASE(test_fmt_int), TEST_CASE(test_progress),
          TEST_CASE(test_progress_tty_log))
