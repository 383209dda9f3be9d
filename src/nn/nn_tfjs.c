/* Reading the weights of a TensorFlow.js graph model (model.json's weightsManifest and the weight
 * files it names) into a model of named float32 tensors, so that pretrained networks published
 * on npm can seed ours. Only the weights are read, never the graph: the architecture that uses
 * them is written in C (src/det). The files come from outside, so every field is checked and a
 * bad file is an error that names the problem, never a crash. */
#include "nn_int.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

#define TFJS_MAX_JSON    ((size_t)64 << 20)
#define TFJS_MAX_WEIGHTS ((size_t)1 << 30)

/* IEEE half to float, subnormals, infinities and NaN included. */
static float half_to_float(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (exp == 0)
        v = ldexpf((float)man, -24);
    else if (exp == 31)
        v = man ? NAN : INFINITY;
    else
        v = ldexpf((float)(man | 0x400), exp - 25);
    return sign ? -v : v;
}

enum tfjs_kind { TFJS_F32, TFJS_F16, TFJS_U8, TFJS_U16, TFJS_SKIP };

struct tfjs_entry {
    const char *name;
    int ndim;
    int64_t shape[NN_MAX_DIMS];
    size_t numel;
    enum tfjs_kind kind;
    size_t bytes; /* in the weight data */
    float scale, min;
};

static int entry_kind(json_t *w, struct tfjs_entry *e, struct base_err *err)
{
    const char *dtype = json_string_value(json_object_get(w, "dtype"));
    json_t *q = json_object_get(w, "quantization");
    if (!dtype)
        return base_err_set(err, BASE_E_INVALID, "weight '%s': no dtype", e->name);
    int is_float = !strcmp(dtype, "float32");
    size_t elem = !strcmp(dtype, "bool") ? 1 : 4; /* int32, float32 */
    e->kind = is_float ? TFJS_F32 : TFJS_SKIP;
    if (strcmp(dtype, "float32") && strcmp(dtype, "int32") && strcmp(dtype, "bool"))
        return base_err_set(err, BASE_E_UNSUPPORTED, "weight '%s': dtype '%s' not supported",
                            e->name, dtype);
    if (q) {
        const char *qd = json_string_value(json_object_get(q, "dtype"));
        if (!json_is_object(q) || !qd)
            return base_err_set(err, BASE_E_INVALID, "weight '%s': bad quantization", e->name);
        if (!strcmp(qd, "float16"))
            e->kind = TFJS_F16, elem = 2;
        else if (!strcmp(qd, "uint8") || !strcmp(qd, "uint16")) {
            json_t *sc = json_object_get(q, "scale"), *mn = json_object_get(q, "min");
            if (!json_is_number(sc) || !json_is_number(mn))
                return base_err_set(err, BASE_E_INVALID,
                                    "weight '%s': quantization without "
                                    "scale and min",
                                    e->name);
            e->kind = qd[4] == '8' ? TFJS_U8 : TFJS_U16;
            elem = e->kind == TFJS_U8 ? 1 : 2;
            e->scale = (float)json_number_value(sc);
            e->min = (float)json_number_value(mn);
        } else
            return base_err_set(err, BASE_E_UNSUPPORTED,
                                "weight '%s': quantization '%s' not "
                                "supported",
                                e->name, qd);
        if (!is_float)
            e->kind = TFJS_SKIP;
    }
    e->bytes = e->numel * elem;
    return 0;
}

static int entry_parse(json_t *w, struct tfjs_entry *e, struct base_err *err)
{
    memset(e, 0, sizeof *e);
    json_t *shape = json_object_get(w, "shape");
    e->name = json_string_value(json_object_get(w, "name"));
    if (!json_is_object(w) || !e->name || !*e->name)
        return base_err_set(err, BASE_E_INVALID, "weights manifest: an entry without a name");
    if (strlen(e->name) >= NN_NAME_MAX)
        return base_err_set(err, BASE_E_INVALID, "weight name too long: '%.40s...'", e->name);
    if (!json_is_array(shape) || json_array_size(shape) > NN_MAX_DIMS)
        return base_err_set(err, BASE_E_INVALID, "weight '%s': shape missing or over %d dims",
                            e->name, NN_MAX_DIMS);
    e->ndim = (int)json_array_size(shape);
    e->numel = 1;
    for (int d = 0; d < e->ndim; d++) {
        json_t *v = json_array_get(shape, (size_t)d);
        json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
        if (n <= 0 || n > ((json_int_t)1 << 30) || e->numel > (TFJS_MAX_WEIGHTS / (size_t)n))
            return base_err_set(err, BASE_E_INVALID, "weight '%s': bad shape", e->name);
        e->shape[d] = n;
        e->numel *= (size_t)n;
    }
    if (e->ndim == 0) { /* a scalar: kept as one element */
        e->ndim = 1;
        e->shape[0] = 1;
    }
    return entry_kind(w, e, err);
}

static void entry_convert(const struct tfjs_entry *e, const unsigned char *src, float *dst)
{
    for (size_t k = 0; k < e->numel; k++) {
        switch (e->kind) {
        case TFJS_F32:
            memcpy(&dst[k], src + 4 * k, 4);
            break;
        case TFJS_F16: {
            uint16_t h;
            memcpy(&h, src + 2 * k, 2);
            dst[k] = half_to_float(h);
            break;
        }
        case TFJS_U8:
            dst[k] = src[k] * e->scale + e->min;
            break;
        case TFJS_U16: {
            uint16_t q;
            memcpy(&q, src + 2 * k, 2);
            dst[k] = q * e->scale + e->min;
            break;
        }
        case TFJS_SKIP:
            break;
        }
    }
}

/* Entries of every manifest group, in order: the weight data is their concatenation. */
static struct tfjs_entry *manifest_entries(json_t *manifest, int *count, struct base_err *err)
{
    size_t n = 0, gi, wi;
    json_t *grp, *w;
    json_array_foreach(manifest, gi, grp) n += json_array_size(json_object_get(grp, "weights"));
    struct tfjs_entry *es = base_calloc(n + 1, sizeof *es);
    size_t k = 0;
    json_array_foreach(manifest, gi, grp)
    {
        json_t *ws = json_object_get(grp, "weights");
        if (!json_is_array(ws)) {
            base_err_set(err, BASE_E_INVALID, "weights manifest group %zu: no weights list", gi);
            base_free(es);
            return NULL;
        }
        json_array_foreach(ws, wi, w)
        {
            if (entry_parse(w, &es[k], err)) {
                base_free(es);
                return NULL;
            }
            for (size_t j = 0; j < k; j++)
                if (!strcmp(es[j].name, es[k].name)) {
                    base_err_set(err, BASE_E_INVALID, "weight '%s' listed twice", es[k].name);
                    base_free(es);
                    return NULL;
                }
            k++;
        }
    }
    *count = (int)k;
    return es;
}

static struct nn_model *build_model(const struct tfjs_entry *es, int n, const unsigned char *data,
                                    size_t len, struct base_err *err)
{
    size_t need = 0;
    for (int i = 0; i < n; i++)
        need += es[i].bytes;
    if (need != len) {
        base_err_set(err, BASE_E_INVALID, "weight data is %zu bytes but the manifest describes %zu",
                     len, need);
        return NULL;
    }
    struct nn_model *m = nn_model_new(0);
    for (int i = 0; i < n; i++)
        if (es[i].kind != TFJS_SKIP &&
            nn_model_declare(m, es[i].name, es[i].ndim, es[i].shape, NN_PARAM_BUFFER, NN_INIT_CONST,
                             0.0f, err) < 0) {
            nn_model_free(m);
            return NULL;
        }
    if (nn_model_alloc(m, err)) {
        nn_model_free(m);
        return NULL;
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        if (es[i].kind != TFJS_SKIP)
            entry_convert(&es[i], data + off, nn_model_data(m, nn_model_find(m, es[i].name)));
        off += es[i].bytes;
    }
    return m;
}

struct nn_model *nn_tfjs_parse(const char *json, size_t json_len, const void *weights,
                               size_t weights_len, struct base_err *err)
{
    json_error_t je;
    json_t *root = json_loadb(json, json_len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        base_err_set(err, BASE_E_INVALID, "model.json: line %d: %s", je.line, je.text);
        return NULL;
    }
    struct nn_model *m = NULL;
    json_t *manifest = json_object_get(root, "weightsManifest");
    int n = 0;
    struct tfjs_entry *es = NULL;
    if (!json_is_array(manifest) || !json_array_size(manifest))
        base_err_set(err, BASE_E_INVALID, "model.json: no weightsManifest (not a TF.js model)");
    else if ((es = manifest_entries(manifest, &n, err)))
        m = build_model(es, n, weights, weights_len, err);
    base_free(es);
    json_decref(root);
    return m;
}

/* A manifest path names a file next to model.json: no directories, no "..". */
static int safe_name(const char *s)
{
    return s && *s && !strchr(s, '/') && !strchr(s, '\\') && strcmp(s, ".") && strcmp(s, "..");
}

/* Reads every weight file the manifest names, concatenated in order. */
static int read_weights(const char *json_path, json_t *manifest, char **out, size_t *out_len,
                        struct base_err *err)
{
    char *dir = base_strdup(json_path), *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = 0;
    else
        dir[0] = 0;
    size_t gi, pi, len = 0;
    json_t *grp, *path;
    char *buf = NULL;
    int rc = 0;
    json_array_foreach(manifest, gi, grp)
    {
        json_t *paths = json_object_get(grp, "paths");
        json_array_foreach(paths, pi, path)
        {
            const char *name = json_string_value(path);
            if (!safe_name(name)) {
                rc = base_err_set(err, BASE_E_INVALID,
                                  "%s: weight file name '%s' is not a plain "
                                  "file name",
                                  json_path, name ? name : "(not a string)");
                goto out;
            }
            char *full = base_path_join(*dir ? dir : ".", name), *data;
            size_t n;
            rc = base_file_read(full, TFJS_MAX_WEIGHTS - len, &data, &n, err);
            base_free(full);
            if (rc)
                goto out;
            buf = base_realloc(buf, len + n + 1);
            memcpy(buf + len, data, n);
            len += n;
            base_free(data);
        }
    }
out:
    base_free(dir);
    if (rc) {
        base_free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

struct nn_model *nn_tfjs_load(const char *json_path, char **generated_by, struct base_err *err)
{
    char *json = NULL, *weights = NULL;
    size_t jlen, wlen = 0;
    if (base_file_read(json_path, TFJS_MAX_JSON, &json, &jlen, err))
        return NULL;
    json_t *root = json_loadb(json, jlen, JSON_REJECT_DUPLICATES, NULL);
    json_t *manifest = root ? json_object_get(root, "weightsManifest") : NULL;
    struct nn_model *m = NULL;
    if (json_is_array(manifest) && read_weights(json_path, manifest, &weights, &wlen, err)) {
        base_err_prefix(err, "%s: ", json_path);
        goto out;
    }
    m = nn_tfjs_parse(json, jlen, weights, wlen, err);
    if (!m)
        base_err_prefix(err, "%s: ", json_path);
    if (m && generated_by) {
        const char *g = json_string_value(json_object_get(root, "generatedBy"));
        *generated_by = base_strdup(g ? g : "");
    }
out:
    json_decref(root);
    base_free(json);
    base_free(weights);
    return m;
}
