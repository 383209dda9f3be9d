/* Model files: safetensors (through nn's checkpoints) whose metadata says what the weights are:
 * format, architecture, input size, class names, normalisation, training data fingerprint,
 * epoch and validation metrics. Loading rebuilds the declared architecture and requires every
 * tensor to match it, so a file of another architecture or program is an error, not garbage. */
#include "det_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_KEY   "labelloop.format"
#define FORMAT_VALUE "fcos/1"

static char *json_text(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(v);
    return s;
}

static char *floats_json(const float *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return json_text(a);
}

int det_model_save(const struct det_model *m, const char *path, struct base_err *err)
{
    const struct det_model_info *in = &m->info;
    json_t *cls = json_array();
    for (int i = 0; i < in->nclasses; i++)
        json_array_append_new(cls, json_string(in->classes[i]));
    char size[16], epoch[16], images[16], ap[32], ap50[32], when[32];
    snprintf(size, sizeof size, "%d", in->input_size);
    snprintf(epoch, sizeof epoch, "%d", in->epoch);
    snprintf(images, sizeof images, "%d", in->train_images);
    base_fmt_double(in->val_ap, ap);
    base_fmt_double(in->val_ap50, ap50);
    base_time_iso(base_time_us(), when);
    char *classes = json_text(cls), *mean = floats_json(in->mean, 3),
         *std = floats_json(in->std, 3);
    const struct nn_meta meta[] = {
        {FORMAT_KEY, FORMAT_VALUE},
        {"arch", in->arch},
        {"input_size", size},
        {"classes", classes},
        {"mean", mean},
        {"std", std},
        {"data_fingerprint", in->data_fingerprint},
        {"epoch", epoch},
        {"train_images", images},
        {"val_ap", ap},
        {"val_ap50", ap50},
        {"created", when},
    };
    int rc = classes && mean && std
                 ? nn_model_save(m->nn, path, meta, sizeof meta / sizeof meta[0], err)
                 : base_err_set(err, BASE_E_INVALID, "model: class names are not valid UTF-8");
    free(classes);
    free(mean);
    free(std);
    return rc;
}

/* ---- reading the metadata ---------------------------------------------------------------------
 */

struct header {
    const struct det_arch *arch;
    int size;
    char **classes;
    int nclasses;
    float mean[3], std[3];
};

static void header_release(struct header *h)
{
    for (int i = 0; i < h->nclasses; i++)
        base_free(h->classes[i]);
    base_free(h->classes);
    memset(h, 0, sizeof *h);
}

static const char *need(const struct nn_ckpt *c, const char *key, struct base_err *err)
{
    const char *v = nn_ckpt_meta(c, key);
    if (!v)
        base_err_set(err, BASE_E_INVALID, "model file: metadata '%s' missing", key);
    return v;
}

static int parse_classes(const char *text, struct header *h, struct base_err *err)
{
    json_error_t je;
    json_t *a = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    int rc = 0;
    if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > 10000) {
        rc = base_err_set(err, BASE_E_INVALID, "model file: 'classes' is not a list of names");
        goto out;
    }
    h->classes = base_calloc(json_array_size(a), sizeof *h->classes);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s) {
            rc = base_err_set(err, BASE_E_INVALID, "model file: class %zu is not a string", i);
            goto out;
        }
        h->classes[h->nclasses++] = base_strdup(s);
    }
out:
    json_decref(a);
    return rc;
}

static int parse_floats(const char *text, float *out, int n, const char *key, struct base_err *err)
{
    json_error_t je;
    json_t *a = json_loads(text, 0, &je);
    int ok = json_is_array(a) && json_array_size(a) == (size_t)n;
    for (int i = 0; ok && i < n; i++) {
        json_t *v = json_array_get(a, (size_t)i);
        ok = json_is_number(v);
        out[i] = ok ? (float)json_number_value(v) : 0.0f;
    }
    json_decref(a);
    return ok ? 0 : base_err_set(err, BASE_E_INVALID, "model file: bad '%s'", key);
}

static int read_header(const struct nn_ckpt *c, struct header *h, struct base_err *err)
{
    memset(h, 0, sizeof *h);
    const char *fmt = nn_ckpt_meta(c, FORMAT_KEY), *v;
    int64_t size;
    if (!fmt || strcmp(fmt, FORMAT_VALUE))
        return base_err_set(err, BASE_E_UNSUPPORTED, "not a labelloop detector model");
    if (!(v = need(c, "arch", err)))
        return -1;
    if (!(h->arch = det_find_arch(v)))
        return base_err_set(err, BASE_E_UNSUPPORTED, "model file: unknown architecture '%.64s'", v);
    if (!(v = need(c, "input_size", err)))
        return -1;
    if (base_parse_i64(v, &size) || size < DET_MIN_SIZE || size > DET_MAX_SIZE || size % 32)
        return base_err_set(err, BASE_E_INVALID, "model file: bad input size '%.32s'", v);
    h->size = (int)size;
    if (!(v = need(c, "classes", err)) || parse_classes(v, h, err))
        return -1;
    if (!(v = need(c, "mean", err)) || parse_floats(v, h->mean, 3, "mean", err))
        return -1;
    if (!(v = need(c, "std", err)) || parse_floats(v, h->std, 3, "std", err))
        return -1;
    for (int i = 0; i < 3; i++)
        if (!(h->std[i] > 1e-6f && h->std[i] < 1e6f))
            return base_err_set(err, BASE_E_INVALID, "model file: bad 'std'");
    return 0;
}

static void read_facts(const struct nn_ckpt *c, struct det_model *m)
{
    const char *v;
    int64_t i;
    double d;
    if ((v = nn_ckpt_meta(c, "data_fingerprint")))
        snprintf(m->fingerprint, sizeof m->fingerprint, "%s", v);
    if ((v = nn_ckpt_meta(c, "epoch")) && !base_parse_i64(v, &i) && i >= 0 && i < 1000000)
        m->info.epoch = (int)i;
    if ((v = nn_ckpt_meta(c, "train_images")) && !base_parse_i64(v, &i) && i >= 0 && i < 1000000000)
        m->info.train_images = (int)i;
    if ((v = nn_ckpt_meta(c, "val_ap")) && !base_parse_double(v, &d))
        m->info.val_ap = d;
    if ((v = nn_ckpt_meta(c, "val_ap50")) && !base_parse_double(v, &d))
        m->info.val_ap50 = d;
}

static struct det_model *from_ckpt(const struct nn_ckpt *c, struct base_err *err)
{
    struct header h;
    struct det_model *m = NULL;
    if (read_header(c, &h, err))
        goto out;
    m = det_model_create(h.arch, (const char *const *)h.classes, h.nclasses, h.size, 0, err);
    if (!m)
        goto out;
    memcpy(m->info.mean, h.mean, sizeof h.mean);
    memcpy(m->info.std, h.std, sizeof h.std);
    if (nn_model_load(m->nn, c, NN_LOAD_STRICT, NULL, err)) {
        base_err_prefix(err, "model file does not match architecture %s: ", h.arch->name);
        det_model_free(m);
        m = NULL;
        goto out;
    }
    read_facts(c, m);
out:
    header_release(&h);
    return m;
}

struct det_model *det_model_load(const char *path, struct base_err *err)
{
    struct nn_ckpt *c = nn_ckpt_open(path, err);
    struct det_model *m = c ? from_ckpt(c, err) : NULL;
    nn_ckpt_free(c);
    if (!m)
        base_err_prefix(err, "%s: ", path);
    return m;
}

struct det_model *det_model_load_mem(const void *data, size_t len, struct base_err *err)
{
    struct nn_ckpt *c = nn_ckpt_parse(data, len, err);
    struct det_model *m = c ? from_ckpt(c, err) : NULL;
    nn_ckpt_free(c);
    return m;
}

/* ---- warm start -------------------------------------------------------------------------------
 */

/* Loads what matches, then redoes the class rows by name: the load may have filled them in the
 * file's class order when the counts happened to agree. */
static int warm_classes(struct det_model *m, const struct nn_ckpt *c, const struct header *h,
                        struct base_err *err)
{
    static const char *const rows[] = {"head.cls_out.weight", "head.cls_out.bias"};
    int n = m->info.nclasses, rc = 0;
    float *saved[2];
    size_t sz[2];
    for (int k = 0; k < 2; k++) {
        struct nn_param p;
        nn_model_param(m->nn, nn_model_find(m->nn, rows[k]), &p);
        sz[k] = p.numel * sizeof(float);
        saved[k] = base_alloc(sz[k]);
        memcpy(saved[k], p.data, sz[k]);
    }
    int *map = base_alloc((size_t)n * sizeof *map);
    for (int i = 0; i < n; i++) {
        map[i] = -1;
        for (int j = 0; j < h->nclasses; j++)
            if (!strcmp(m->classes[i], h->classes[j]))
                map[i] = j;
    }
    rc = nn_model_load(m->nn, c, NN_LOAD_SKIP_MISMATCH, NULL, err);
    for (int k = 0; k < 2 && !rc; k++) {
        struct nn_param p;
        nn_model_param(m->nn, nn_model_find(m->nn, rows[k]), &p);
        memcpy(p.data, saved[k], sz[k]);
        rc = nn_param_copy_rows(m->nn, c, rows[k], map, err);
    }
    nn_model_touch(m->nn);
    base_free(map);
    base_free(saved[0]);
    base_free(saved[1]);
    return rc;
}

int det_model_warm_start(struct det_model *m, const char *path, struct base_err *err)
{
    struct header h;
    memset(&h, 0, sizeof h);
    struct nn_ckpt *c = nn_ckpt_open(path, err);
    int rc = c ? read_header(c, &h, err) : -1;
    if (!rc && h.arch != m->arch)
        rc = base_err_set(err, BASE_E_INVALID, "architecture %s cannot seed a %s model",
                          h.arch->name, m->arch->name);
    if (!rc)
        rc = warm_classes(m, c, &h, err);
    header_release(&h);
    nn_ckpt_free(c);
    return rc ? base_err_prefix(err, "%s: ", path) : 0;
}
