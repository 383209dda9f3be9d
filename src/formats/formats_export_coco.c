/* COCO export (spec 5.6): result.json + images/ in a zip. Image and annotation entries are
 * spooled to temporary files as items arrive and stitched together at commit, so memory does not
 * grow with the number of tasks. Choices made where versions differ (see docs/formats.md):
 * file_name is "images/<file>" (the fixed converter); rectangle bbox and area are integers as in
 * 0.0.44 (see formats_trunc_px), a rotated rectangle exports its axis-aligned bounds (current
 * converter); polygons are floats; a keypoint exports as a one-point COCO keypoint annotation. */
#include "formats_int.h"

#include <math.h>
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
    zip_dir_add(e->zip, "images", ZIP_FL_ENC_UTF_8);
    return 0;
}

static void spool(FILE *f, json_int_t n, json_t *v)
{
    fputs(n ? ",\n    " : "\n    ", f);
    formats_json_write(f, v, 2, 2);
    json_decref(v);
}

/* Size of the item's image: its file when we have it, else the first region's original size. */
static int image_size(struct formats_export *e, const char *url, const json_t *regions, int *w,
                      int *h)
{
    char *path = formats_export_image_path(e, url);
    struct formats_image_info info;
    struct base_err ignored;
    int ok = path && !formats_image_probe(path, &info, &ignored);
    base_free(path);
    if (ok) {
        *w = info.width, *h = info.height;
        return 0;
    }
    json_t *first = json_array_get(regions, 0);
    json_t *ow = json_object_get(first, "original_width"),
           *oh = json_object_get(first, "original_height");
    double fw = json_number_value(ow), fh = json_number_value(oh);
    if (!json_is_number(ow) || !json_is_number(oh) || !(fw >= 1 && fw <= 1e6) ||
        !(fh >= 1 && fh <= 1e6))
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

static json_t *reals(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

static json_t *rect_ann(const json_t *r, int W, int H, json_t *a)
{
    double x = formats_json_num(json_object_get(r, "x")) / 100 * W;
    double y = formats_json_num(json_object_get(r, "y")) / 100 * H;
    double w = formats_json_num(json_object_get(r, "width")) / 100 * W;
    double h = formats_json_num(json_object_get(r, "height")) / 100 * H;
    double rot = formats_json_num(json_object_get(r, "rotation"));
    if (rot != 0) {
        double b[4];
        formats_rotated_bounds(x, y, w, h, rot, b);
        x = b[0], y = b[1], w = b[2] - b[0], h = b[3] - b[1];
    }
    long long bx = formats_trunc_px(x), by = formats_trunc_px(y);
    long long bw = formats_trunc_px(w), bh = formats_trunc_px(h);
    json_object_set_new(a, "segmentation", json_array());
    json_object_set_new(
        a, "bbox",
        json_pack("[I, I, I, I]", (json_int_t)bx, (json_int_t)by, (json_int_t)bw, (json_int_t)bh));
    json_object_set_new(a, "ignore", json_integer(0));
    json_object_set_new(a, "iscrowd", json_integer(0));
    json_object_set_new(a, "area", json_integer((json_int_t)(bw * bh)));
    return a;
}

static json_t *poly_ann(const json_t *r, int W, int H, json_t *a)
{
    json_t *points = json_object_get(r, "points"), *seg = json_array(), *p;
    double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY, area = 0;
    size_t n = json_array_size(points), i;
    json_array_foreach(points, i, p)
    {
        double x = formats_json_num(json_array_get(p, 0)) / 100 * W;
        double y = formats_json_num(json_array_get(p, 1)) / 100 * H;
        const json_t *q = json_array_get(points, (i + 1) % n);
        double x2 = formats_json_num(json_array_get(q, 0)) / 100 * W;
        double y2 = formats_json_num(json_array_get(q, 1)) / 100 * H;
        area += x * y2 - x2 * y;
        json_array_append_new(seg, json_real(x));
        json_array_append_new(seg, json_real(y));
        minx = fmin(minx, x), maxx = fmax(maxx, x), miny = fmin(miny, y), maxy = fmax(maxy, y);
    }
    double bbox[4] = {minx, miny, maxx - minx, maxy - miny};
    json_object_set_new(a, "segmentation", json_pack("[o]", seg));
    json_object_set_new(a, "bbox", reals(n ? bbox : (double[4]){0, 0, 0, 0}, 4));
    json_object_set_new(a, "ignore", json_integer(0));
    json_object_set_new(a, "iscrowd", json_integer(0));
    json_object_set_new(a, "area", json_real(fabs(area) / 2));
    return a;
}

static json_t *point_ann(const json_t *r, int W, int H, json_t *a)
{
    double x = formats_json_num(json_object_get(r, "x")) / 100 * W;
    double y = formats_json_num(json_object_get(r, "y")) / 100 * H;
    double bbox[4] = {x, y, 0, 0};
    json_object_set_new(a, "segmentation", json_array());
    json_object_set_new(a, "bbox", reals(bbox, 4));
    json_object_set_new(a, "ignore", json_integer(0));
    json_object_set_new(a, "iscrowd", json_integer(0));
    json_object_set_new(a, "area", json_real(0));
    json_object_set_new(a, "keypoints", json_pack("[f, f, i]", x, y, 2));
    json_object_set_new(a, "num_keypoints", json_integer(1));
    return a;
}

static const struct {
    const char *key;
    json_t *(*build)(const json_t *r, int W, int H, json_t *a);
} region_kinds[] = {
    {"rectanglelabels", rect_ann},
    {"polygonlabels", poly_ann},
    {"keypointlabels", point_ann},
    {"labels", rect_ann},
};

static void region(struct formats_export *e, struct coco_state *s, const json_t *r,
                   json_int_t image_id, int W, int H)
{
    for (size_t k = 0; k < sizeof region_kinds / sizeof region_kinds[0]; k++) {
        const char *name =
            json_string_value(json_array_get(json_object_get(r, region_kinds[k].key), 0));
        if (!name)
            continue;
        if (!strcmp(region_kinds[k].key, "labels") && !json_object_get(r, "width"))
            return;
        json_t *a = json_pack("{s:I, s:I, s:I}", "id", s->nanns, "image_id", image_id,
                              "category_id", formats_export_category(e, name));
        spool(s->anns, s->nanns++, region_kinds[k].build(r, W, H, a));
        return;
    }
}

static int coco_item(struct formats_export *e, const struct formats_item *it, struct base_err *err)
{
    struct coco_state *s = e->st;
    const char *url = formats_item_image(e, it);
    json_t *regions = formats_item_regions(it);
    int W, H, rc = 0;
    if (!url || image_size(e, url, regions, &W, &H))
        goto out; /* the converter warns and skips such items */
    char *base = formats_export_image_name(url), *file = base_path_join("images", base);
    json_int_t image_id = s->nimages;
    spool(s->images, s->nimages++,
          json_pack("{s:i, s:i, s:I, s:s}", "width", W, "height", H, "id", image_id, "file_name",
                    file));
    base_free(base), base_free(file);
    size_t i;
    json_t *r;
    json_array_foreach(regions, i, r) region(e, s, r, image_id, W, H);
    rc = formats_export_zip_image(e, url, err);
out:
    json_decref(regions);
    return rc;
}

static void copy_stream(FILE *from, FILE *to)
{
    char buf[65536];
    size_t n;
    rewind(from);
    while ((n = fread(buf, 1, sizeof buf, from)) > 0)
        fwrite(buf, 1, n, to);
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

static int coco_commit(struct formats_export *e, struct base_err *err)
{
    struct coco_state *s = e->st;
    FILE *out = tmpfile();
    if (!out)
        return base_err_set(err, BASE_E_IO, "cannot create a temporary file");
    fputs("{\n  \"images\": [", out);
    copy_stream(s->images, out);
    fputs(s->nimages ? "\n  ],\n  \"categories\": " : "],\n  \"categories\": ", out);
    formats_json_write(out, e->categories, 2, 1);
    fputs(",\n  \"annotations\": [", out);
    copy_stream(s->anns, out);
    fputs(s->nanns ? "\n  ],\n  \"info\": " : "],\n  \"info\": ", out);
    json_t *info = coco_info(e->o.now_us);
    formats_json_write(out, info, 2, 1);
    json_decref(info);
    fputs("\n}", out);
    if (ferror(out) || ferror(s->images) || ferror(s->anns)) {
        fclose(out);
        return base_err_set(err, BASE_E_IO, "temporary file: write failed");
    }
    return formats_zip_add_file(e, "result.json", out, err);
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
                                                   .item = coco_item,
                                                   .commit = coco_commit,
                                                   .release = coco_release};
