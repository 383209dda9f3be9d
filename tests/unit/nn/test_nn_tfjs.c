/* The TF.js weights reader: float16, uint8-quantized and float32 tensors by hand-computed values,
 * integer constants left out, and every kind of bad manifest rejected with a message. */
#include "nn_test_util.h"

#include <string.h>
#include <unistd.h>

static const char manifest[] =
    "{\"generatedBy\": \"t\", \"weightsManifest\": [{\"paths\": [\"a.bin\"], \"weights\": ["
    "{\"name\": \"conv/w\", \"shape\": [1, 1, 2, 2], \"dtype\": \"float32\","
    " \"quantization\": {\"dtype\": \"float16\", \"original_dtype\": \"float32\"}},"
    "{\"name\": \"idx\", \"shape\": [2], \"dtype\": \"int32\"},"
    "{\"name\": \"q\", \"shape\": [3], \"dtype\": \"float32\","
    " \"quantization\": {\"dtype\": \"uint8\", \"scale\": 0.5, \"min\": -1}},"
    "{\"name\": \"k\", \"shape\": [], \"dtype\": \"float32\"}]}]}";

/* float16: 1, -2.5, 65504 (largest), 2^-24 (smallest subnormal); int32 3, 4; uint8 0, 1, 255;
 * float32 0.25 */
static size_t weights(unsigned char *w)
{
    const uint16_t h[4] = {0x3c00, 0xc100, 0x7bff, 0x0001};
    const int32_t i[2] = {3, 4};
    const unsigned char q[3] = {0, 1, 255};
    const float f = 0.25f;
    memcpy(w, h, 8);
    memcpy(w + 8, i, 8);
    memcpy(w + 16, q, 3);
    memcpy(w + 19, &f, 4);
    return 23;
}

static const float *data_of(struct nn_model *m, const char *name, struct nn_param *p)
{
    int i = nn_model_find(m, name);
    CHECK(i >= 0);
    if (i < 0)
        return NULL;
    nn_model_param(m, i, p);
    return p->data;
}

static void test_values(void)
{
    unsigned char w[64];
    size_t n = weights(w);
    struct base_err err;
    struct nn_model *m = nn_tfjs_parse(manifest, strlen(manifest), w, n, &err);
    CHECK(m != NULL);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK(nn_model_param_count(m) == 3); /* idx left out */
    struct nn_param p;
    const float *v = data_of(m, "conv/w", &p);
    CHECK(p.ndim == 4 && p.shape[2] == 2 && p.shape[3] == 2 && (p.flags & NN_PARAM_BUFFER));
    CHECK(v && v[0] == 1.0f && v[1] == -2.5f && v[2] == 65504.0f && v[3] == 0x1p-24f);
    v = data_of(m, "q", &p);
    CHECK(v && v[0] == -1.0f && v[1] == -0.5f && v[2] == 126.5f);
    v = data_of(m, "k", &p);
    CHECK(v && p.ndim == 1 && p.shape[0] == 1 && v[0] == 0.25f);
    nn_model_free(m);
}

static void expect_error(const char *json, size_t wlen, const char *what)
{
    unsigned char w[64];
    weights(w);
    struct base_err err;
    struct nn_model *m = nn_tfjs_parse(json, strlen(json), w, wlen, &err);
    CHECK(m == NULL);
    if (m)
        nn_model_free(m);
    else if (!strstr(err.msg, what))
        fprintf(stderr, "expected '%s' in: %s\n", what, err.msg);
    CHECK(m == NULL && strstr(err.msg, what));
}

static void test_errors(void)
{
    expect_error(manifest, 22, "describes 23");
    expect_error(manifest, 24, "describes 23");
    expect_error("{\"weightsManifest\": [", 0, "model.json");
    expect_error("{\"modelTopology\": {}}", 0, "no weightsManifest");
    expect_error("{\"weightsManifest\": [{\"weights\": 3}]}", 0, "no weights list");
    expect_error("{\"weightsManifest\": [{\"weights\": [{\"shape\": [1], \"dtype\": "
                 "\"float32\"}]}]}",
                 4, "without a name");
    expect_error("{\"weightsManifest\": [{\"weights\": [{\"name\": \"a\", \"shape\": [0], "
                 "\"dtype\": \"float32\"}]}]}",
                 0, "bad shape");
    expect_error("{\"weightsManifest\": [{\"weights\": [{\"name\": \"a\", \"shape\": [1,1,1,1,1], "
                 "\"dtype\": \"float32\"}]}]}",
                 4, "over 4 dims");
    expect_error("{\"weightsManifest\": [{\"weights\": [{\"name\": \"a\", \"shape\": [1], "
                 "\"dtype\": \"complex64\"}]}]}",
                 8, "not supported");
    expect_error("{\"weightsManifest\": [{\"weights\": [{\"name\": \"a\", \"shape\": [1], "
                 "\"dtype\": \"float32\", \"quantization\": {\"dtype\": \"uint8\"}}]}]}",
                 1, "scale and min");
    expect_error("{\"weightsManifest\": [{\"weights\": [{\"name\": \"a\", \"shape\": [1], "
                 "\"dtype\": \"float32\"}, {\"name\": \"a\", \"shape\": [1], \"dtype\": "
                 "\"float32\"}]}]}",
                 8, "listed twice");
    expect_error("{\"weightsManifest\": [{\"weights\": [{\"name\": \"a\", \"shape\": "
                 "[1073741824, 4], \"dtype\": \"float32\"}]}]}",
                 8, "bad shape");
}

/* A file path in the manifest must be a plain name next to model.json. */
static void test_paths(void)
{
    char dir[] = "/tmp/ll-test-tfjs.XXXXXX", path[128];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/model.json", dir);
    const char *bad = "{\"weightsManifest\": [{\"paths\": [\"../x.bin\"], \"weights\": []}]}";
    struct base_err err;
    CHECK(base_file_write_atomic(path, bad, strlen(bad), &err) == 0);
    struct nn_model *m = nn_tfjs_load(path, NULL, &err);
    CHECK(m == NULL && strstr(err.msg, "not a plain file name"));
    unsigned char w[64];
    size_t n = weights(w);
    char bin[128];
    snprintf(bin, sizeof bin, "%s/a.bin", dir);
    CHECK(base_file_write_atomic(path, manifest, strlen(manifest), &err) == 0);
    CHECK(base_file_write_atomic(bin, w, n, &err) == 0);
    char *gen = NULL;
    m = nn_tfjs_load(path, &gen, &err);
    CHECK(m != NULL && gen && !strcmp(gen, "t"));
    nn_model_free(m);
    base_free(gen);
    unlink(bin);
    m = nn_tfjs_load(path, NULL, &err); /* the weight file is gone */
    CHECK(m == NULL && strstr(err.msg, "a.bin"));
    unlink(path);
    rmdir(dir);
}

TEST_MAIN(TEST_CASE(test_values), TEST_CASE(test_errors), TEST_CASE(test_paths))
