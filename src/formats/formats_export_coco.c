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

/* ---- entries written as text through base's emitter in result.json's layout (indent 2): an
 * entry is an element at level 2, its members at 6 spaces, array elements at 8 (10 inside a
 * nested array). A real that is not finite is left out, as jansson's json_real refuses it (its
 * array element or member is missing from the tree the writer used to get). */

/* The next member of an entry (, "key": ). */
static void member(struct base_jw *w, const char *key)
{
    base_jw_sep(w, 1, 2);
    base_jw_key(w, key, strlen(key));
}

/* Starts entry n of a list: {"<key>": <first>, the rest by member(). */
static void entry_head(struct base_jw *w, json_int_t n, const char *key, json_int_t first)
{
    base_jw_sep(w, (size_t)n, 1);
    BASE_JW_LIT(w, "{");
    base_jw_sep(w, 0, 2);
    base_jw_key(w, key, strlen(key));
    base_jw_int(w, first);
}

/* A member's array of n reals (the non-finite left out). */
static void reals(struct base_jw *w, const double *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        base_jw_put(w, "[", !k);
        base_jw_sep(w, k++, 3);
        base_jw_real(w, v[i]);
    }
    if (k)
        base_jw_close(w, ']', 3);
    else
        BASE_JW_LIT(w, "[]");
}

/* Starts an annotation entry: {"id": .., "image_id": .., "category_id": ... */
static void ann_head(struct base_jw *w, json_int_t n, json_int_t id, json_int_t image_id,
                     json_int_t category_id)
{
    entry_head(w, n, "id", id);
    member(w, "image_id");
    base_jw_int(w, image_id);
    member(w, "category_id");
    base_jw_int(w, category_id);
}

/* "ignore": 0, "iscrowd": 0 */
static void ann_flags(struct base_jw *w)
{
    member(w, "ignore");
    BASE_JW_LIT(w, "0");
    member(w, "iscrowd");
    BASE_JW_LIT(w, "0");
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

static void rect_ann(const struct formats_jv *r, int W, int H, struct base_jw *w)
{
    double b[4] = {formats_region_num(r, "x") / 100 * W, formats_region_num(r, "y") / 100 * H,
                   formats_region_num(r, "width") / 100 * W,
                   formats_region_num(r, "height") / 100 * H};
    double rot = formats_region_num(r, "rotation");
    if (rot != 0) {
        double bb[4];
        formats_rotated_bounds(b[0], b[1], b[2], b[3], rot, bb);
        b[0] = bb[0], b[1] = bb[1], b[2] = bb[2] - bb[0], b[3] = bb[3] - bb[1];
    }
    member(w, "segmentation");
    BASE_JW_LIT(w, "[]");
    member(w, "bbox");
    long long px[4];
    for (size_t i = 0; i < 4; i++) {
        px[i] = formats_trunc_px(b[i]);
        base_jw_put(w, "[", !i);
        base_jw_sep(w, i, 3);
        base_jw_int(w, px[i]);
    }
    base_jw_close(w, ']', 3);
    ann_flags(w);
    member(w, "area");
    base_jw_int(w, px[2] * px[3]);
}

/* Element i of an array, or NULL. */
static const struct formats_jv *jv_at(const struct formats_jv *a, size_t i)
{
    return a->type == FORMATS_JV_ARRAY && i < a->n ? &a->kids[i].v : NULL;
}

static void poly_ann(const struct formats_jv *r, int W, int H, struct base_jw *w)
{
    const struct formats_jv *points = formats_region_get(r, "points");
    double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY, area = 0;
    size_t n = points && points->type == FORMATS_JV_ARRAY ? points->n : 0;
    member(w, "segmentation");
    BASE_JW_LIT(w, "[");
    base_jw_sep(w, 0, 3);
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
                base_jw_put(w, "[", !k);
                base_jw_sep(w, k++, 4);
                base_jw_real(w, xy[c]);
            }
        minx = fmin(minx, xy[0]), maxx = fmax(maxx, xy[0]);
        miny = fmin(miny, xy[1]), maxy = fmax(maxy, xy[1]);
    }
    if (k)
        base_jw_close(w, ']', 4);
    else
        BASE_JW_LIT(w, "[]");
    base_jw_close(w, ']', 3);
    double bbox[4] = {minx, miny, maxx - minx, maxy - miny};
    member(w, "bbox");
    reals(w, n ? bbox : (double[4]){0, 0, 0, 0}, 4);
    ann_flags(w);
    if (isfinite(fabs(area) / 2)) {
        member(w, "area");
        base_jw_real(w, fabs(area) / 2);
    }
}

static void point_ann(const struct formats_jv *r, int W, int H, struct base_jw *w)
{
    double x = formats_region_num(r, "x") / 100 * W;
    double y = formats_region_num(r, "y") / 100 * H;
    double bbox[4] = {x, y, 0, 0};
    member(w, "segmentation");
    BASE_JW_LIT(w, "[]");
    member(w, "bbox");
    reals(w, bbox, 4);
    ann_flags(w);
    member(w, "area");
    BASE_JW_LIT(w, "0.0");
    if (isfinite(x) && isfinite(y)) { /* [x, y, 2] */
        member(w, "keypoints");
        BASE_JW_LIT(w, "[");
        base_jw_sep(w, 0, 3);
        base_jw_real(w, x);
        base_jw_sep(w, 1, 3);
        base_jw_real(w, y);
        base_jw_sep(w, 2, 3);
        BASE_JW_LIT(w, "2");
        base_jw_close(w, ']', 3);
    }
    member(w, "num_keypoints");
    BASE_JW_LIT(w, "1");
}

static const struct {
    const char *key;
    void (*build)(const struct formats_jv *r, int W, int H, struct base_jw *w);
} region_kinds[] = {
    {"rectanglelabels", rect_ann},
    {"polygonlabels", poly_ann},
    {"keypointlabels", point_ann},
    {"labels", rect_ann},
};

/* Spools an entry's text (in e->out) into f. */
static int spool(struct formats_export *e, struct base_jw *w, FILE *f, struct base_err *err)
{
    if (base_jw_end(w, err))
        return -1;
    if (fwrite(e->out.data, 1, e->out.len, f) != e->out.len)
        return base_err_set(err, BASE_E_IO, "temporary file: write failed");
    return 0;
}

static int region(struct formats_export *e, struct coco_state *s, const struct formats_jv *r,
                  json_int_t image_id, int W, int H, struct base_err *err)
{
    for (size_t k = 0; k < sizeof region_kinds / sizeof region_kinds[0]; k++) {
        const struct formats_jv *labels = formats_region_get(r, region_kinds[k].key);
        const char *name = labels && labels->type == FORMATS_JV_ARRAY && labels->n
                               ? formats_jv_cstr(e, &labels->kids[0].v)
                               : NULL;
        if (!name)
            continue;
        if (!strcmp(region_kinds[k].key, "labels") && !formats_region_get(r, "width"))
            return 0;
        struct base_jw w;
        base_buf_reset(&e->out);
        base_jw_init_buf(&w, &e->out, BASE_JSON_PYTHON, 2);
        ann_head(&w, s->nanns, s->nanns, image_id, formats_export_category(e, name));
        region_kinds[k].build(r, W, H, &w);
        base_jw_close(&w, '}', 2);
        s->nanns++;
        return spool(e, &w, s->anns, err);
    }
    return 0;
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
    struct base_jw w;
    base_buf_reset(&e->out);
    base_jw_init_buf(&w, &e->out, BASE_JSON_PYTHON, 2);
    entry_head(&w, s->nimages++, "width", W);
    member(&w, "height");
    base_jw_int(&w, H);
    member(&w, "id");
    base_jw_int(&w, image_id);
    member(&w, "file_name");
    base_jw_string(&w, file, strlen(file));
    base_jw_close(&w, '}', 2);
    base_free(base), base_free(file);
    int rc = spool(e, &w, s->images, err);
    for (size_t i = 0; i < n && !rc; i++)
        rc = region(e, s, regions[i], image_id, W, H, err);
    if (!rc && path) /* not found: nothing to copy */
        rc = formats_export_zip_image(e, url, path, err);
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

/* The text after the images (last: false) or after the annotations (true), appended to b:
 * categories and info are final only at commit. */
static int coco_text(struct formats_export *e, int last, struct base_buf *b, struct base_err *err)
{
    struct coco_state *s = e->st;
    struct base_jw w;
    base_jw_init_buf(&w, b, BASE_JSON_PYTHON, 2);
    if (last ? s->nanns : s->nimages)
        base_jw_close(&w, ']', 1);
    else /* "[]" */
        BASE_JW_LIT(&w, "]");
    if (!last) {
        BASE_JW_LIT(&w, ",\n  \"categories\": ");
        base_jw_value(&w, e->categories, 1);
        BASE_JW_LIT(&w, ",\n  \"annotations\": [");
    } else {
        BASE_JW_LIT(&w, ",\n  \"info\": ");
        json_t *info = coco_info(e->o.now_us);
        base_jw_value(&w, info, 1);
        json_decref(info);
        BASE_JW_LIT(&w, "\n}");
    }
    return base_jw_end(&w, err);
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
    struct base_buf mid, tail;
    base_buf_init(&mid, FORMATS_TEXT_MAX), base_buf_init(&tail, FORMATS_TEXT_MAX);
    int rc = coco_text(e, 0, &mid, err) || coco_text(e, 1, &tail, err) ? -1 : 0;
    off_t ni = spool_len(s->images), na = spool_len(s->anns);
    if (!rc && (ni < 0 || na < 0))
        rc = base_err_set(err, BASE_E_IO, "temporary file: write failed");
    uint64_t size = sizeof head - 1 + (uint64_t)ni + mid.len + (uint64_t)na + tail.len;
    if (!rc)
        rc = (e->zip && formats_zip_begin(e->zip, "result.json", size, err)) ||
                     out_write(e, head, sizeof head - 1, err) || copy_spool(e, s->images, err) ||
                     out_write(e, mid.data, mid.len, err) || copy_spool(e, s->anns, err) ||
                     out_write(e, tail.data, tail.len, err) ||
                     (e->zip && formats_zip_end(e->zip, err))
                 ? -1
                 : 0;
    base_buf_release(&mid), base_buf_release(&tail);
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
