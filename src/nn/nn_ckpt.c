/* Checkpoints in the safetensors format: an 8-byte little-endian header length, a JSON header
 * (tensor name -> dtype, shape, data offsets; "__metadata__" -> string map), then raw tensors.
 * Written atomically; read with every field validated, since model files come from outside. */
#include "nn_int.h"

#include <jansson.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this file assumes a little-endian host"
#endif

#define HEADER_MAX ((size_t)100 << 20)

struct ck_tensor {
    char *name;
    int ndim;
    int64_t shape[NN_MAX_DIMS];
    size_t numel;
    size_t begin, end; /* byte offsets into the data section */
    float *data;
};

struct nn_ckpt {
    struct ck_tensor *t;
    int n;
    char **key, **val;
    int n_meta;
    unsigned char *blob; /* the data section, 64-byte aligned */
};

void nn_ckpt_free(struct nn_ckpt *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        base_free(c->t[i].name);
    for (int i = 0; i < c->n_meta; i++) {
        base_free(c->key[i]);
        base_free(c->val[i]);
    }
    base_free(c->t);
    base_free(c->key);
    base_free(c->val);
    nn_free_buffer(c->blob);
    base_free(c);
}

static int parse_meta(struct nn_ckpt *c, json_t *obj, struct base_err *err)
{
    if (!json_is_object(obj))
        return base_err_set(err, BASE_E_INVALID, "checkpoint: __metadata__ is not an object");
    size_t n = json_object_size(obj);
    c->key = base_calloc(n + 1, sizeof *c->key);
    c->val = base_calloc(n + 1, sizeof *c->val);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (!json_is_string(v))
            return base_err_set(err, BASE_E_INVALID, "checkpoint: metadata '%.64s' is not a string",
                                k);
        c->key[c->n_meta] = base_strdup(k);
        c->val[c->n_meta++] = base_strndup(json_string_value(v), json_string_length(v));
    }
    return 0;
}

static int parse_shape(struct ck_tensor *t, json_t *shape, struct base_err *err)
{
    if (!json_is_array(shape) || json_array_size(shape) > NN_MAX_DIMS)
        return base_err_set(err, BASE_E_UNSUPPORTED,
                            "checkpoint: tensor '%.64s': shape must be an array of at most %d "
                            "dimensions",
                            t->name, NN_MAX_DIMS);
    t->ndim = (int)json_array_size(shape);
    t->numel = 1;
    for (int d = 0; d < t->ndim; d++) {
        json_t *v = json_array_get(shape, (size_t)d);
        json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
        if (x < 0 || x > ((json_int_t)1 << 31) ||
            base_mul_overflow(t->numel, (size_t)x, &t->numel) || t->numel > ((size_t)1 << 40))
            return base_err_set(err, BASE_E_INVALID, "checkpoint: tensor '%.64s': bad shape",
                                t->name);
        t->shape[d] = x;
    }
    return 0;
}

static int parse_tensor(struct ck_tensor *t, json_t *obj, struct base_err *err)
{
    json_t *dtype = json_object_get(obj, "dtype"), *shape = json_object_get(obj, "shape");
    json_t *offs = json_object_get(obj, "data_offsets");
    if (!json_is_object(obj) || json_object_size(obj) != 3 || !json_is_string(dtype) || !shape ||
        !json_is_array(offs) || json_array_size(offs) != 2)
        return base_err_set(err, BASE_E_INVALID,
                            "checkpoint: tensor '%.64s': needs exactly dtype, shape and "
                            "data_offsets",
                            t->name);
    if (strcmp(json_string_value(dtype), "F32"))
        return base_err_set(err, BASE_E_UNSUPPORTED,
                            "checkpoint: tensor '%.64s': dtype %.16s not supported (F32 only)",
                            t->name, json_string_value(dtype));
    if (parse_shape(t, shape, err))
        return -1;
    json_t *b = json_array_get(offs, 0), *e = json_array_get(offs, 1);
    if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0 ||
        json_integer_value(e) < json_integer_value(b))
        return base_err_set(err, BASE_E_INVALID, "checkpoint: tensor '%.64s': bad data_offsets",
                            t->name);
    t->begin = (size_t)json_integer_value(b);
    t->end = (size_t)json_integer_value(e);
    if (t->end - t->begin != t->numel * sizeof(float))
        return base_err_set(err, BASE_E_INVALID,
                            "checkpoint: tensor '%.64s': %zu bytes for %zu floats", t->name,
                            t->end - t->begin, t->numel);
    return 0;
}

static int by_begin(const void *a, const void *b)
{
    const struct ck_tensor *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* The tensors must tile the data section exactly: no gaps, no overlaps, nothing left over. */
static int check_layout(struct nn_ckpt *c, size_t data_len, struct base_err *err)
{
    qsort(c->t, (size_t)c->n, sizeof *c->t, by_begin);
    size_t pos = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->t[i].begin != pos)
            return base_err_set(err, BASE_E_INVALID,
                                "checkpoint: tensor '%.64s' data overlaps or leaves a gap",
                                c->t[i].name);
        pos = c->t[i].end;
    }
    if (pos != data_len)
        return base_err_set(err, BASE_E_INVALID,
                            "checkpoint: data section is %zu bytes, tensors cover %zu (truncated "
                            "or padded file)",
                            data_len, pos);
    return 0;
}

static int parse_header(struct nn_ckpt *c, json_t *root, size_t data_len, struct base_err *err)
{
    if (!json_is_object(root))
        return base_err_set(err, BASE_E_INVALID, "checkpoint: header is not a JSON object");
    c->t = base_calloc(json_object_size(root) + 1, sizeof *c->t);
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (!strcmp(k, "__metadata__")) {
            if (parse_meta(c, v, err))
                return -1;
            continue;
        }
        size_t len = strlen(k);
        if (!len || len >= NN_NAME_MAX || len != strnlen(k, NN_NAME_MAX))
            return base_err_set(err, BASE_E_INVALID, "checkpoint: bad tensor name '%.64s'", k);
        struct ck_tensor *t = &c->t[c->n++];
        t->name = base_strdup(k);
        if (parse_tensor(t, v, err))
            return -1;
    }
    return check_layout(c, data_len, err);
}

static int load_bytes(struct nn_ckpt *c, const unsigned char *d, size_t len, struct base_err *err)
{
    if (len < 8)
        return base_err_set(err, BASE_E_INVALID, "checkpoint: file too short (%zu bytes)", len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | d[i];
    if (hlen < 2 || hlen > HEADER_MAX || hlen > len - 8)
        return base_err_set(err, BASE_E_INVALID,
                            "checkpoint: not a safetensors file or truncated (header length %llu, "
                            "file %zu bytes)",
                            (unsigned long long)hlen, len);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)d + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return base_err_set(err, BASE_E_INVALID, "checkpoint: header JSON: %s at byte %d",
                            jerr.text, jerr.position);
    size_t data_len = len - 8 - (size_t)hlen;
    int rc = parse_header(c, root, data_len, err);
    json_decref(root);
    if (rc)
        return -1;
    c->blob = nn_alloc_buffer(data_len + 1);
    memcpy(c->blob, d + 8 + hlen, data_len);
    for (int i = 0; i < c->n; i++)
        c->t[i].data = (float *)(void *)(c->blob + c->t[i].begin);
    return 0;
}

struct nn_ckpt *nn_ckpt_parse(const void *data, size_t len, struct base_err *err)
{
    struct nn_ckpt *c = base_calloc(1, sizeof *c);
    if (len > NN_CKPT_MAX_BYTES) {
        base_err_set(err, BASE_E_TOOBIG, "checkpoint: larger than %zu bytes", NN_CKPT_MAX_BYTES);
        nn_ckpt_free(c);
        return NULL;
    }
    if (load_bytes(c, data, len, err)) {
        nn_ckpt_free(c);
        return NULL;
    }
    return c;
}

struct nn_ckpt *nn_ckpt_open(const char *path, struct base_err *err)
{
    char *data = NULL;
    size_t len = 0;
    if (base_file_read(path, NN_CKPT_MAX_BYTES, &data, &len, err))
        return NULL;
    struct nn_ckpt *c = nn_ckpt_parse(data, len, err);
    base_free(data);
    if (!c)
        base_err_prefix(err, "%s: ", path);
    return c;
}

const char *nn_ckpt_meta(const struct nn_ckpt *c, const char *key)
{
    for (int i = 0; i < c->n_meta; i++)
        if (!strcmp(c->key[i], key))
            return c->val[i];
    return NULL;
}

int nn_ckpt_meta_count(const struct nn_ckpt *c)
{
    return c->n_meta;
}

void nn_ckpt_meta_at(const struct nn_ckpt *c, int i, const char **key, const char **value)
{
    BASE_ASSERT(i >= 0 && i < c->n_meta);
    *key = c->key[i];
    *value = c->val[i];
}

int nn_ckpt_tensor_count(const struct nn_ckpt *c)
{
    return c->n;
}

int nn_ckpt_find(const struct nn_ckpt *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->t[i].name, name))
            return i;
    return -1;
}

void nn_ckpt_tensor(const struct nn_ckpt *c, int i, struct nn_param *t)
{
    BASE_ASSERT(i >= 0 && i < c->n);
    memset(t, 0, sizeof *t);
    t->name = c->t[i].name;
    t->ndim = c->t[i].ndim;
    memcpy(t->shape, c->t[i].shape, sizeof t->shape);
    t->numel = c->t[i].numel;
    t->data = c->t[i].data;
}

int nn_ckpt_match(const struct nn_ckpt *c, const struct nn_model *m, int i)
{
    int j = nn_ckpt_find(c, m->p[i].name);
    if (j < 0)
        return 0;
    if (c->t[j].ndim != m->p[i].ndim)
        return -1;
    for (int d = 0; d < c->t[j].ndim; d++)
        if (c->t[j].shape[d] != m->p[i].shape[d])
            return -1;
    return 1;
}

/* Checks flags against the file before anything is copied. */
static int check_load(struct nn_model *m, const struct nn_ckpt *c, unsigned flags,
                      struct nn_load_report *rep, struct base_err *err)
{
    memset(rep, 0, sizeof *rep);
    for (int i = 0; i < m->n; i++) {
        int r = nn_ckpt_match(c, m, i);
        if (r == 0 && !(flags & NN_LOAD_ALLOW_MISSING))
            return base_err_set(err, BASE_E_INVALID, "checkpoint lacks parameter '%s'",
                                m->p[i].name);
        if (r < 0 && !(flags & NN_LOAD_SKIP_MISMATCH))
            return base_err_set(err, BASE_E_INVALID,
                                "checkpoint parameter '%s' has another shape than the model's",
                                m->p[i].name);
        rep->loaded += r > 0;
        rep->missing += r == 0;
        rep->mismatched += r < 0;
    }
    for (int j = 0; j < c->n; j++)
        if (nn_model_find(m, c->t[j].name) < 0) {
            if (!(flags & NN_LOAD_ALLOW_UNUSED))
                return base_err_set(err, BASE_E_INVALID,
                                    "checkpoint tensor '%s' is not a parameter of this model",
                                    c->t[j].name);
            rep->unused++;
        }
    return 0;
}

int nn_model_load(struct nn_model *m, const struct nn_ckpt *c, unsigned flags,
                  struct nn_load_report *rep, struct base_err *err)
{
    struct nn_load_report local;
    if (!rep)
        rep = &local;
    if (nn_model_alloc(m, err) || check_load(m, c, flags, rep, err))
        return -1;
    for (int i = 0; i < m->n; i++)
        if (nn_ckpt_match(c, m, i) > 0)
            memcpy(nn_model_data(m, i), c->t[nn_ckpt_find(c, m->p[i].name)].data,
                   m->p[i].numel * sizeof(float));
    nn_model_touch(m);
    return 0;
}

int nn_param_copy_rows(struct nn_model *m, const struct nn_ckpt *c, const char *name,
                       const int *row_map, struct base_err *err)
{
    int i = nn_model_find(m, name), j = nn_ckpt_find(c, name);
    if (i < 0 || j < 0 || !m->allocated)
        return base_err_set(err, BASE_E_NOTFOUND, "copy rows: '%s' missing in model or file", name);
    const struct nn_pdecl *p = &m->p[i];
    const struct ck_tensor *t = &c->t[j];
    int ok = p->ndim == t->ndim && p->ndim >= 1;
    for (int d = 1; ok && d < p->ndim; d++)
        ok = p->shape[d] == t->shape[d];
    if (!ok)
        return base_err_set(err, BASE_E_INVALID, "copy rows: '%s' shapes differ beyond dim 0",
                            name);
    for (int64_t r = 0; r < p->shape[0]; r++)
        if (row_map[r] >= t->shape[0])
            return base_err_set(err, BASE_E_INVALID, "copy rows: '%s' row %d out of range", name,
                                row_map[r]);
    size_t row = p->shape[0] ? p->numel / (size_t)p->shape[0] : 0;
    for (int64_t r = 0; r < p->shape[0]; r++)
        if (row_map[r] >= 0)
            memcpy(nn_model_data(m, i) + (size_t)r * row, t->data + (size_t)row_map[r] * row,
                   row * sizeof(float));
    nn_model_touch(m);
    return 0;
}

static int utf8_ok(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

static json_t *build_header(const struct nn_model *m, const struct nn_meta *meta, size_t n_meta)
{
    json_t *root = json_object(), *md = json_object();
    for (size_t i = 0; i < n_meta; i++)
        json_object_set_new(md, meta[i].key, json_string(meta[i].value));
    json_object_set_new(root, "__metadata__", md);
    size_t off = 0;
    for (int i = 0; i < m->n; i++) {
        const struct nn_pdecl *p = &m->p[i];
        json_t *t = json_object(), *shape = json_array();
        for (int d = 0; d < p->ndim; d++)
            json_array_append_new(shape, json_integer(p->shape[d]));
        json_object_set_new(t, "dtype", json_string("F32"));
        json_object_set_new(t, "shape", shape);
        json_object_set_new(
            t, "data_offsets",
            json_pack("[II]", (json_int_t)off, (json_int_t)(off + p->numel * sizeof(float))));
        json_object_set_new(root, p->name, t);
        off += p->numel * sizeof(float);
    }
    return root;
}

int nn_model_save(const struct nn_model *m, const char *path, const struct nn_meta *meta,
                  size_t n_meta, struct base_err *err)
{
    if (!m->allocated)
        return base_err_set(err, BASE_E_INVALID, "save: model parameters not allocated");
    for (size_t i = 0; i < n_meta; i++)
        if (!meta[i].key || !meta[i].value || !utf8_ok(meta[i].key) || !utf8_ok(meta[i].value))
            return base_err_set(err, BASE_E_INVALID, "save: metadata must be UTF-8 strings");
    json_t *root = build_header(m, meta, n_meta);
    char *js = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    size_t jlen = strlen(js), hlen = (jlen + 7) & ~(size_t)7;
    struct base_afile *f = base_afile_open(path, err);
    if (!f) {
        free(js);
        return -1;
    }
    FILE *fp = base_afile_stream(f);
    unsigned char lenb[8];
    for (int i = 0; i < 8; i++)
        lenb[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    fwrite(lenb, 1, 8, fp);
    fwrite(js, 1, jlen, fp);
    for (size_t i = jlen; i < hlen; i++)
        fputc(' ', fp);
    free(js);
    for (int i = 0; i < m->n; i++)
        fwrite(nn_model_data(m, i), sizeof(float), m->p[i].numel, fp);
    return base_afile_commit(f, err);
}
