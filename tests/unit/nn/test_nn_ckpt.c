/* Checkpoints: bit-exact round trip with metadata, every kind of damaged or foreign file rejected
 * with a clear error, load flags, and the warm start of a classifier that gained rows. */
#include "nn_test_util.h"

#include <stdlib.h>
#include <unistd.h>

static struct nn_model *make_model(int classes, uint64_t seed)
{
    struct nn_model *m = nn_model_new(seed);
    struct nn_graph *g = nn_graph_new(m);
    int x = nn_input(g, 1, 3, 8, 8);
    x = nn_batch_norm(
        g, "bn", nn_conv2d(g, "stem", x, &(struct nn_conv2d_cfg){4, 3, 1, 1, 1, 1, 0, 0, 0}), 0, 0);
    nn_output(g, nn_conv2d(g, "cls", x, &(struct nn_conv2d_cfg){classes, 3, 1, 1, 1, 1, 1, 0, 0}));
    BASE_ASSERT(nn_graph_compile(g, NN_INFER, NN_BACKEND_REF, NULL) == 0);
    nn_graph_free(g);
    struct base_rng rng;
    base_rng_seed(&rng, seed);
    for (int i = 0; i < nn_model_param_count(m); i++) {
        struct nn_param p;
        nn_model_param(m, i, &p);
        fill_uniform_f(&rng, p.data, p.numel, -1, 1);
    }
    return m;
}

static char tmp_path[256];

static const char *tmp_file(void)
{
    snprintf(tmp_path, sizeof tmp_path, "/tmp/ll_nn_ckpt_%d.safetensors", (int)getpid());
    return tmp_path;
}

static void test_round_trip(void)
{
    struct nn_model *a = make_model(3, 1), *b = make_model(3, 2);
    struct base_err err;
    struct nn_meta meta[] = {{"architecture", "fcos-tiny"}, {"classes", "[\"cat\",\"dög\"]"}};
    CHECK(nn_model_save(a, tmp_file(), meta, 2, &err) == 0);
    struct nn_ckpt *c = nn_ckpt_open(tmp_file(), &err);
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK_EQ_STR(nn_ckpt_meta(c, "architecture"), "fcos-tiny");
    CHECK_EQ_STR(nn_ckpt_meta(c, "classes"), "[\"cat\",\"dög\"]");
    CHECK(nn_ckpt_meta(c, "nope") == NULL);
    CHECK_EQ_INT(nn_ckpt_meta_count(c), 2);
    CHECK_EQ_INT(nn_ckpt_tensor_count(c), nn_model_param_count(a));
    struct nn_load_report rep;
    CHECK(nn_model_load(b, c, NN_LOAD_STRICT, &rep, &err) == 0);
    CHECK_EQ_INT(rep.loaded, nn_model_param_count(a));
    for (int i = 0; i < nn_model_param_count(a); i++) {
        struct nn_param pa, pb;
        nn_model_param(a, i, &pa);
        nn_model_param(b, i, &pb);
        CHECK(memcmp(pa.data, pb.data, pa.numel * 4) == 0);
    }
    struct nn_param t;
    nn_ckpt_tensor(c, nn_ckpt_find(c, "stem.weight"), &t);
    CHECK(t.ndim == 4 && t.shape[0] == 4 && t.shape[1] == 3 && ((uintptr_t)t.data & 3) == 0);
    nn_ckpt_free(c);
    unlink(tmp_file());
    nn_model_free(a);
    nn_model_free(b);
}

static char *file_bytes(size_t *len)
{
    char *d = NULL;
    BASE_ASSERT(base_file_read(tmp_file(), 1 << 20, &d, len, NULL) == 0);
    return d;
}

static int rejects(const void *d, size_t len, const char *needle)
{
    struct base_err err = {0};
    struct nn_ckpt *c = nn_ckpt_parse(d, len, &err);
    nn_ckpt_free(c);
    if (c == NULL && needle && !strstr(err.msg, needle))
        fprintf(stderr, "message '%s' lacks '%s'\n", err.msg, needle);
    return c == NULL && err.msg[0] && (!needle || strstr(err.msg, needle));
}

/* A hand-written file: header JSON (padded), then data_len bytes. */
static size_t craft(char *out, const char *json, size_t data_len)
{
    size_t h = strlen(json);
    for (int i = 0; i < 8; i++)
        out[i] = (char)((uint64_t)h >> (8 * i));
    memcpy(out + 8, json, h);
    memset(out + 8 + h, 0, data_len);
    return 8 + h + data_len;
}

static void test_corrupt_files(void)
{
    struct nn_model *a = make_model(2, 1);
    CHECK(nn_model_save(a, tmp_file(), NULL, 0, NULL) == 0);
    size_t len;
    char *d = file_bytes(&len);
    int all = 1;
    for (size_t cut = 0; cut < len; cut += (cut < 64 ? 1 : 7))
        all &= rejects(d, cut, NULL); /* every truncation */
    CHECK(all);
    CHECK(rejects(d, len - 1, "truncated"));
    char *bad = malloc(len + 16);
    memcpy(bad, d, len);
    memset(bad + len, 0, 16);
    CHECK(rejects(bad, len + 4, "truncated or padded"));
    memcpy(bad, d, len);
    bad[7] = 0x10; /* absurd header length */
    CHECK(rejects(bad, len, "header length"));
    memcpy(bad, d, len);
    bad[8] = '[';
    CHECK(rejects(bad, len, "JSON"));
    CHECK(rejects("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, "not a safetensors"));
    free(bad);
    free(d);

    char buf[512];
    CHECK(rejects(buf,
                  craft(buf, "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4),
                  "F16 not supported"));
    CHECK(rejects(buf,
                  craft(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8),
                  "8 bytes for 3 floats"));
    CHECK(rejects(buf,
                  craft(buf,
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                        12),
                  "overlaps"));
    CHECK(rejects(
        buf, craft(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8),
        "bad shape"));
    CHECK(rejects(
        buf,
        craft(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,2],\"data_offsets\":[0,8]}}", 8),
        "dimensions"));
    CHECK(rejects(buf, craft(buf, "{\"__metadata__\":{\"k\":3}}", 0), "not a string"));
    CHECK(rejects(buf,
                  craft(buf,
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                        8),
                  "JSON"));
    CHECK(rejects(
        buf,
        craft(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4),
        "exactly"));
    CHECK(rejects(
        buf,
        craft(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[9999999999],\"data_offsets\":[0,4]}}", 4),
        "bad shape"));
    /* a valid empty file parses */
    struct nn_ckpt *c = nn_ckpt_parse(buf, craft(buf, "{}", 0), NULL);
    CHECK(c && nn_ckpt_tensor_count(c) == 0);
    nn_ckpt_free(c);
    struct base_err err;
    CHECK(nn_ckpt_open("/nonexistent/x.safetensors", &err) == NULL);
    unlink(tmp_file());
    nn_model_free(a);
}

static void test_load_flags_and_warm_start(void)
{
    struct nn_model *old = make_model(2, 1), *grown = make_model(3, 2);
    struct base_err err;
    CHECK(nn_model_save(old, tmp_file(), NULL, 0, NULL) == 0);
    struct nn_ckpt *c = nn_ckpt_open(tmp_file(), &err);
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK(nn_model_load(grown, c, NN_LOAD_STRICT, NULL, &err) < 0);
    CHECK(strstr(err.msg, "cls.weight") != NULL);
    struct nn_param before, after, src;
    nn_model_param(grown, nn_model_find(grown, "stem.weight"), &before);
    float first = before.data[0];
    CHECK(first != 0.0f);
    struct nn_load_report rep;
    CHECK(nn_model_load(grown, c, NN_LOAD_SKIP_MISMATCH, &rep, &err) == 0);
    CHECK(rep.mismatched == 2 && rep.loaded == nn_model_param_count(grown) - 2);
    CHECK_EQ_INT(nn_ckpt_match(c, grown, nn_model_find(grown, "cls.bias")), -1);
    CHECK_EQ_INT(nn_ckpt_match(c, grown, nn_model_find(grown, "stem.weight")), 1);
    nn_model_param(grown, nn_model_find(grown, "cls.bias"), &after);
    float kept = after.data[2];
    /* new class list: [new, old1, old0] */
    int map[3] = {-1, 1, 0};
    CHECK(nn_param_copy_rows(grown, c, "cls.bias", map, &err) == 0);
    CHECK(nn_param_copy_rows(grown, c, "cls.weight", map, &err) == 0);
    nn_ckpt_tensor(c, nn_ckpt_find(c, "cls.bias"), &src);
    CHECK(after.data[1] == src.data[1] && after.data[2] == src.data[0]);
    CHECK(after.data[0] != src.data[0] || kept == src.data[0]);
    nn_model_param(grown, nn_model_find(grown, "cls.weight"), &after);
    nn_ckpt_tensor(c, nn_ckpt_find(c, "cls.weight"), &src);
    CHECK(memcmp(after.data + 2 * 36, src.data, 36 * 4) == 0);
    int badmap[3] = {5, 0, 0};
    CHECK(nn_param_copy_rows(grown, c, "cls.bias", badmap, &err) < 0);
    nn_ckpt_free(c);

    /* missing and unused */
    struct nn_model *small = nn_model_new(1);
    struct nn_graph *g = nn_graph_new(small);
    nn_output(g, nn_conv2d(g, "stem", nn_input(g, 1, 3, 8, 8),
                           &(struct nn_conv2d_cfg){4, 3, 1, 1, 1, 1, 0, 0, 0}));
    nn_graph_compile(g, NN_INFER, NN_BACKEND_REF, NULL);
    nn_graph_free(g);
    CHECK(nn_model_save(small, tmp_file(), NULL, 0, NULL) == 0);
    c = nn_ckpt_open(tmp_file(), &err);
    CHECK(nn_model_load(old, c, NN_LOAD_STRICT, NULL, &err) < 0 && strstr(err.msg, "lacks"));
    CHECK(nn_model_load(old, c, NN_LOAD_ALLOW_MISSING, &rep, &err) == 0 && rep.missing > 0);
    nn_ckpt_free(c);
    CHECK(nn_model_save(old, tmp_file(), NULL, 0, NULL) == 0);
    c = nn_ckpt_open(tmp_file(), &err);
    CHECK(nn_model_load(small, c, NN_LOAD_STRICT, NULL, &err) < 0 &&
          strstr(err.msg, "not a parameter"));
    CHECK(nn_model_load(small, c, NN_LOAD_ALLOW_UNUSED, &rep, &err) == 0 && rep.unused > 0);
    nn_ckpt_free(c);
    unlink(tmp_file());
    nn_model_free(small);
    nn_model_free(old);
    nn_model_free(grown);
}

TEST_MAIN(TEST_CASE(test_round_trip), TEST_CASE(test_corrupt_files),
          TEST_CASE(test_load_flags_and_warm_start))
