/* COCO export (spec 5.6): result.json + images/ in a zip. Image and annotation entries are
 * spooled to temporary files as items arrive and stitched together at commit, so memory does not
 * grow with the number of tasks. Choices made where versions differ (see docs/formats.md):
 * file_name is "images/<file>" (the fixed converter); rectangle bbox and area are integers as in
 * 0.0.44 (see formats_trunc_px), a rotated rectangle exports its axis-aligned bounds (current
 * converter); polygons are floats; a keypoint exports as a one-point COCO keypoint annotation. */
#include "formats_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct coco_state {
    FILE *images, *anns;
    json_int_t nimages, nanns;
};

static int coco_open(struct formats_export *e, struct base_err *err)
{
    struct coco_state *s = base_calloc(1, sizeof *s);
    e->st = s;
    formats_export_categories(e);
    s->images = tmpfile();
    s->anns = tmpfile();
    if (!s->images || !s->anns)
        return base_err_set(err, BASE_E_IO, "cannot create a temporary file");
    return e->zip ? formats_zip_dir(e->zip, "images", err) : 0;
}

/* ---- entries written as text, as formats_json_write(indent 2, level 2) writes them: the
 * members of an entry at 6 spaces, array elements at 8 (10 inside a nested array). A real that is
 * not finite is left out, as jansson's json_real refuses it (its array element or member is
 * missing from the tree the writer used to get). */

static void put(struct base_buf *b, const char *s)
{
    struct base_err ignored;
    base_buf_puts(b, s, &ignored);
}

static void put_int(struct base_buf *b, long long v)
{
    char s[24];
    struct base_err ignored;
    base_buf_append(b, s, (size_t)base_fmt_int(v, s), &ignored);
}

static void put_real(struct base_buf *b, double v)
{
    char s[32];
    struct base_err ignored;
    base_buf_append(b, s, (size_t)base_fmt_double(v, s), &ignored);
}

/* The next member of an entry ("key": ...). */
static void member(struct base_buf *b, const char *key)
{
    put(b, ",\n      \"");
    put(b, key);
    put(b, "\": ");
}

/* An array of n numbers (reals, or integers when ints) whose elements sit at `pad` spaces. */
static void numbers(struct base_buf *b, const double *v, size_t n, int ints, int pad)
{
    static const char spaces[] = "            ";
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ints && !isfinite(v[i]))
            continue;
        put(b, k++ ? ",\n" : "[\n");
        put(b, spaces + (sizeof spaces - 1 - (size_t)pad));
        if (ints)
            put_int(b, (long long)v[i]);
        else
            put_real(b, v[i]);
    }
    if (!k) {
        put(b, "[]");
        return;
    }
    put(b, "\n");
    put(b, spaces + (sizeof spaces + 1 - (size_t)pad));
    put(b, "]");
}

/* Starts an entry in the spool buffer: {"id": .., "image_id": .., "category_id": ..}. */
static void ann_head(struct base_buf *b, json_int_t n, json_int_t id, json_int_t image_id,
                     json_int_t category_id)
{
    put(b, n ? ",\n    {\n      \"id\": " : "\n    {\n      \"id\": ");
    put_int(b, id);
    member(b, "image_id");
    put_int(b, image_id);
    member(b, "category_id");
    put_int(b, category_id);
}

/* "ignore": 0, "iscrowd": 0 */
static void ann_flags(struct base_buf *b)
{
    put(b, ",\n      \"ignore\": 0,\n      \"iscrowd\": 0");
}

static int is_number(const struct formats_jv *v)
{
    return v && (v->type == FORMATS_JV_INT || v->type == FORMATS_JV_REAL);
}

/* Size of the item's image: its file (path, may be NULL) when we have it, else the first region's
 * original size. */
static int image_size(const char *path, const struct formats_jv *first, int *w, int *h)
{
    struct formats_image_info info;
    struct base_err ignored;
    if (path && !formats_image_probe(path, &info, &ignored)) {
        *w = info.width, *h = info.height;
        return 0;
    }
    const struct formats_jv *ow = first ? formats_region_get(first, "original_width") : NULL;
    const struct formats_jv *oh = first ? formats_region_get(first, "original_height") : NULL;
    double fw = formats_jv_num(ow), fh = formats_jv_num(oh);
    if (!is_number(ow) || !is_number(oh) || !(fw >= 1 && fw <= 1e6) || !(fh >= 1 && fh <= 1e6))
        return -1;
    *w = (int)fw, *h = (int)fh;
    return 0;
}

/* Axis-aligned bounds of a rectangle rotated clockwise by deg about its top-left corner. */
void formats_rotated_bounds(double x, double y, double w, double h, double deg, double out[4])
{
    double t = deg * M_PI / 180, c = cos(t), s = sin(t);
    if (fmod(deg, 90) == 0) { /* exact quarter turns, without cos(pi/2) noise */
        static const double qc[4] = {1, 0, -1, 0}, qs[4] = {0, 1, 0, -1};
        int q = (int)fmod(fmod(deg / 90, 4) + 4, 4);
        c = qc[q], s = qs[q];
    }
    double xs[4] = {x, x + w * c, x + w * c - h * s, x - h * s};
    double ys[4] = {y, y + w * s, y + w * s + h * c, y + h * c};
    out[0] = out[2] = xs[0], out[1] = out[3] = ys[0];
    for (int i = 1; i < 4; i++) {
        out[0] = fmin(out[0], xs[i]), out[2] = fmax(out[2], xs[i]);
        out[1] = fmin(out[1], ys[i]), out[3] = fmax(out[3], ys[i]);
    }
}

static void rect_ann(const struct formats_jv *r, int W, int H, struct base_buf *b)
{
    double x = formats_region_num(r, "x") / 100 * W;
    double y = formats_region_num(r, "y") / 100 * H;
    double w = formats_region_num(r, "width") / 100 * W;
    double h = formats_region_num(r, "height") / 100 * H;
    double rot = formats_region_num(r, "rotation");
    if (rot != 0) {
        double bb[4];
        formats_rotated_bounds(x, y, w, h, rot, bb);
        x = bb[0], y = bb[1], w = bb[2] - bb[0], h = bb[3] - bb[1];
    }
    long long bx = formats_trunc_px(x), by = formats_trunc_px(y);
    long long bw = formats_trunc_px(w), bh = formats_trunc_px(h);
    member(b, "segmentation");
    put(b, "[]");
    member(b, "bbox");
    put(b, "[\n        ");
    put_int(b, bx);
    put(b, ",\n        ");
    put_int(b, by);
    put(b, ",\n        ");
    put_int(b, bw);
    put(b, ",\n        ");
    put_int(b, bh);
    put(b, "\n      ]");
    ann_flags(b);
    member(b, "area");
    put_int(b, bw * bh);
}

/* Element i of an array, or NULL. */
static const struct formats_jv *jv_at(const struct formats_jv *a, size_t i)
{
    return a->type == FORMATS_JV_ARRAY && i < a->n ? &a->kids[i].v : NULL;
}

static void poly_ann(const struct formats_jv *r, int W, int H, struct base_buf *b)
{
    const struct formats_jv *points = formats_region_get(r, "points");
    double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY, area = 0;
    size_t n = points && points->type == FORMATS_JV_ARRAY ? points->n : 0;
    member(b, "segmentation");
    put(b, "[\n        ");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct formats_jv *p = &points->kids[i].v, *q = &points->kids[(i + 1) % n].v;
        double xy[2] = {formats_jv_num(jv_at(p, 0)) / 100 * W,
                        formats_jv_num(jv_at(p, 1)) / 100 * H};
        double x2 = formats_jv_num(jv_at(q, 0)) / 100 * W;
        double y2 = formats_jv_num(jv_at(q, 1)) / 100 * H;
        area += xy[0] * y2 - x2 * xy[1];
        for (int c = 0; c < 2; c++)
            if (isfinite(xy[c])) {
                put(b, k++ ? ",\n          " : "[\n          ");
                put_real(b, xy[c]);
            }
        minx = fmin(minx, xy[0]), maxx = fmax(maxx, xy[0]);
        miny = fmin(miny, xy[1]), maxy = fmax(maxy, xy[1]);
    }
    put(b, k ? "\n        ]\n      ]" : "[]\n      ]");
    double bbox[4] = {minx, miny, maxx - minx, maxy - miny};
    member(b, "bbox");
    numbers(b, n ? bbox : (double[4]){0, 0, 0, 0}, 4, 0, 8);
    ann_flags(b);
    if (isfinite(fabs(area) / 2)) {
        member(b, "area");
        put_real(b, fabs(area) / 2);
    }
}

static void point_ann(const struct formats_jv *r, int W, int H, struct base_buf *b)
{
    double x = formats_region_num(r, "x") / 100 * W;
    double y = formats_region_num(r, "y") / 100 * H;
    double bbox[4] = {x, y, 0, 0};
    member(b, "segmentation");
    put(b, "[]");
    member(b, "bbox");
    numbers(b, bbox, 4, 0, 8);
    ann_flags(b);
    member(b, "area");
    put(b, "0.0");
    if (isfinite(x) && isfinite(y)) {
        member(b, "keypoints");
        numbers(b, (double[2]){x, y}, 2, 0, 8);
        b->len -= 8; /* "\n      ]" -> the integer 2, then close */
        put(b, ",\n        2\n      ]");
    }
    member(b, "num_keypoints");
    put(b, "1");
}

static const struct {
    const char *key;
    void (*build)(const struct formats_jv *r, int W, int H, struct base_buf *b);
} region_kinds[] = {
    {"rectanglelabels", rect_ann},
    {"polygonlabels", poly_ann},
    {"keypointlabels", point_ann},
    {"labels", rect_ann},
};

static void region(struct formats_export *e, struct coco_state *s, const struct formats_jv *r,
                   json_int_t image_id, int W, int H)
{
    for (size_t k = 0; k < sizeof region_kinds / sizeof region_kinds[0]; k++) {
        const struct formats_jv *labels = formats_region_get(r, region_kinds[k].key);
        const char *name = labels && labels->type == FORMATS_JV_ARRAY && labels->n
                               ? formats_jv_cstr(e, &labels->kids[0].v)
                               : NULL;
        if (!name)
            continue;
        if (!strcmp(region_kinds[k].key, "labels") && !formats_region_get(r, "width"))
            return;
        struct base_buf *b = &e->out;
        base_buf_reset(b);
        ann_head(b, s->nanns, s->nanns, image_id, formats_export_category(e, name));
        region_kinds[k].build(r, W, H, b);
        put(b, "\n    }");
        fwrite(b->data, 1, b->len, s->anns);
        s->nanns++;
        return;
    }
}

static int coco_item(struct formats_export *e, const struct formats_litem *it, struct base_err *err)
{
    struct coco_state *s = e->st;
    const char *url = formats_litem_image(e, it);
    const struct formats_jv **regions;
    size_t n = formats_litem_regions(e, it, &regions);
    int W, H;
    char *path = formats_export_image_path(e, url);
    if (!url || image_size(path, n ? regions[0] : NULL, &W, &H)) {
        base_free(path);
        return 0; /* the converter warns and skips such items */
    }
    char *base = formats_export_image_name(url), *file = base_path_join("images", base);
    json_int_t image_id = s->nimages;
    struct base_buf *b = &e->out;
    base_buf_reset(b);
    put(b, s->nimages++ ? ",\n    {\n      \"width\": " : "\n    {\n      \"width\": ");
    put_int(b, W);
    member(b, "height");
    put_int(b, H);
    member(b, "id");
    put_int(b, image_id);
    member(b, "file_name");
    formats_json_string_buf(b, file, strlen(file));
    put(b, "\n    }");
    fwrite(b->data, 1, b->len, s->images);
    base_free(base), base_free(file);
    for (size_t i = 0; i < n; i++)
        region(e, s, regions[i], image_id, W, H);
    int rc =
        path ? formats_export_zip_image(e, url, path, err) : 0; /* not found: nothing to copy */
    base_free(path);
    return rc;
}

static json_t *coco_info(int64_t now_us)
{
    time_t t = (time_t)(now_us / 1000000);
    struct tm tm;
    char when[64];
    localtime_r(&t, &tm);
    size_t n = strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    if (now_us % 1000000)
        snprintf(when + n, sizeof when - n, ".%06d", (int)(now_us % 1000000));
    return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s}", "year", tm.tm_year + 1900, "version", "1.0",
                     "description", "", "contributor", "Label Studio", "url", "", "date_created",
                     when);
}

/* The text after the images (last: false) or after the annotations (true): categories and info
 * are final only at commit. free() it. */
static char *coco_text(struct formats_export *e, int last, size_t *len)
{
    struct coco_state *s = e->st;
    char *text = NULL;
    FILE *m = open_memstream(&text, len);
    if (!m)
        return NULL;
    if (!last) {
        fputs(s->nimages ? "\n  ],\n  \"categories\": " : "],\n  \"categories\": ", m);
        formats_json_write(m, e->categories, 2, 1);
        fputs(",\n  \"annotations\": [", m);
    } else {
        fputs(s->nanns ? "\n  ],\n  \"info\": " : "],\n  \"info\": ", m);
        json_t *info = coco_info(e->o.now_us);
        formats_json_write(m, info, 2, 1);
        json_decref(info);
        fputs("\n}", m);
    }
    if (fclose(m)) {
        free(text);
        return NULL;
    }
    return text;
}

/* Bytes of result.json: into the zip, or the file itself when it is written alone. */
static int out_write(struct formats_export *e, const void *p, size_t n, struct base_err *err)
{
    if (e->zip)
        return formats_zip_write(e->zip, p, n, err);
    return fwrite(p, 1, n, e->f) == n ? 0
                                      : base_err_set(err, BASE_E_IO, "%s: write failed", e->dest);
}

static int copy_spool(struct formats_export *e, FILE *from, struct base_err *err)
{
    char buf[65536];
    size_t n;
    rewind(from);
    while ((n = fread(buf, 1, sizeof buf, from)) > 0)
        if (out_write(e, buf, n, err))
            return -1;
    return ferror(from) ? base_err_set(err, BASE_E_IO, "temporary file: read failed") : 0;
}

static off_t spool_len(FILE *f)
{
    return fflush(f) || ferror(f) || fseeko(f, 0, SEEK_END) ? -1 : ftello(f);
}

/* result.json: {"images": [spool], "categories": .., "annotations": [spool], "info": ..} streamed
 * into the zip. */
static int coco_commit(struct formats_export *e, struct base_err *err)
{
    static const char head[] = "{\n  \"images\": [";
    struct coco_state *s = e->st;
    size_t mid_len = 0, tail_len = 0;
    char *mid = coco_text(e, 0, &mid_len), *tail = coco_text(e, 1, &tail_len);
    off_t ni = spool_len(s->images), na = spool_len(s->anns);
    int rc;
    if (!mid || !tail || ni < 0 || na < 0) {
        rc = base_err_set(err, BASE_E_IO, "temporary file: write failed");
        goto out;
    }
    uint64_t size = sizeof head - 1 + (uint64_t)ni + mid_len + (uint64_t)na + tail_len;
    rc = (e->zip && formats_zip_begin(e->zip, "result.json", size, err)) ||
                 out_write(e, head, sizeof head - 1, err) || copy_spool(e, s->images, err) ||
                 out_write(e, mid, mid_len, err) || copy_spool(e, s->anns, err) ||
                 out_write(e, tail, tail_len, err) || (e->zip && formats_zip_end(e->zip, err))
             ? -1
             : 0;
out:
    free(mid), free(tail);
    return rc;
}

static void coco_release(struct formats_export *e)
{
    struct coco_state *s = e->st;
    if (!s)
        return;
    if (s->images)
        fclose(s->images);
    if (s->anns)
        fclose(s->anns);
    base_free(s);
}

const struct formats_writer formats_writer_coco = {.zipped = 1,
                                                   .open = coco_open,
                                                   .litem = coco_item,
                                                   .commit = coco_commit,
                                                   .release = coco_release};
