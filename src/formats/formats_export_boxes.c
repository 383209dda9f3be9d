/* YOLO and Pascal VOC exports (spec 5.7, 5.8): one small text file per image, straight into the
 * zip. Items of one task come newest first and each rewrites the image's file, so the oldest
 * annotation wins, as in the converter. VOC boxes are integers like the converter's
 * (xmax = int(x) + int(width)), see formats_trunc_px for the one difference. */
#include "formats_int.h"

#include <math.h>
#include <string.h>
#include <time.h>

static char *label_file(const char *dir, const char *url, const char *ext)
{
    char *name = formats_export_image_name(url);
    char *dot = strrchr(name, '.');
    if (dot)
        *dot = '\0';
    char *path = base_strprintf("%s/%s%s", dir, name, ext);
    base_free(name);
    return path;
}

static double num(const struct formats_jv *r, const char *key)
{
    return formats_region_num(r, key);
}

/* A rectangle region's labels, or NULL when the region is not a rectangle. */
static const struct formats_jv *rect_labels(const struct formats_jv *r)
{
    const struct formats_jv *l = formats_region_get(r, "rectanglelabels");
    if (!l)
        l = formats_region_get(r, "labels");
    return l && l->type == FORMATS_JV_ARRAY && formats_region_get(r, "width") ? l : NULL;
}

/* ---- YOLO --------------------------------------------------------------------------------------
 */

static int yolo_open(struct formats_export *e, struct base_err *err)
{
    formats_export_categories(e);
    return formats_zip_dir(e->zip, "images", err) || formats_zip_dir(e->zip, "labels", err) ? -1
                                                                                            : 0;
}

/* x, y, width, height in percent; a rotated box becomes its bounds clamped to the image. */
static void yolo_box(const struct formats_jv *r, double v[4])
{
    v[0] = num(r, "x"), v[1] = num(r, "y"), v[2] = num(r, "width"), v[3] = num(r, "height");
    double rot = num(r, "rotation");
    double W = num(r, "original_width"), H = num(r, "original_height");
    if (rot == 0 || W <= 0 || H <= 0)
        return;
    double b[4];
    formats_rotated_bounds(v[0] * W / 100, v[1] * H / 100, v[2] * W / 100, v[3] * H / 100, rot, b);
    b[0] = fmax(b[0], 0), b[1] = fmax(b[1], 0), b[2] = fmin(b[2], W), b[3] = fmin(b[3], H);
    v[0] = b[0] / W * 100, v[1] = b[1] / H * 100;
    v[2] = (b[2] - b[0]) / W * 100, v[3] = (b[3] - b[1]) / H * 100;
}

static void yolo_lines(struct formats_export *e, const struct formats_jv *r, struct base_jw *w)
{
    const struct formats_jv *labels = rect_labels(r);
    double v[4];
    if (!labels)
        return;
    yolo_box(r, v);
    double out[4] = {(v[0] + v[2] / 2) / 100, (v[1] + v[3] / 2) / 100, v[2] / 100, v[3] / 100};
    for (size_t i = 0; i < labels->n; i++) {
        const char *l = formats_jv_cstr(e, &labels->kids[i].v);
        if (!l)
            continue;
        base_jw_int(w, formats_export_category(e, l));
        for (int k = 0; k < 4; k++) {
            BASE_JW_LIT(w, " ");
            base_jw_real(w, out[k]);
        }
        BASE_JW_LIT(w, "\n");
    }
}

static int yolo_item(struct formats_export *e, const struct formats_litem *it, struct base_err *err)
{
    const char *url = formats_litem_image(e, it);
    if (!url)
        return 0;
    const struct formats_jv **regions;
    size_t n = formats_litem_regions(e, it, &regions);
    struct base_buf *b = &e->out;
    struct base_jw w; /* the emitter as a number writer: the same forms as the JSON's */
    base_buf_reset(b);
    base_jw_init_buf(&w, b, BASE_JSON_COMPACT, -1);
    for (size_t i = 0; i < n; i++)
        yolo_lines(e, regions[i], &w);
    if (base_jw_end(&w, err))
        return -1;
    char *name = label_file("labels", url, ".txt");
    int rc = formats_zip_add(e->zip, name, b->data, b->len, 1, err);
    base_free(name);
    return rc ? rc : formats_export_zip_image(e, url, NULL, err);
}

static int yolo_commit(struct formats_export *e, struct base_err *err)
{
    struct base_buf classes, notes;
    base_buf_init(&classes, FORMATS_TEXT_MAX);
    base_buf_init(&notes, FORMATS_TEXT_MAX);
    size_t i;
    json_t *c;
    int rc = 0;
    json_array_foreach(e->categories, i, c) rc =
        rc || base_buf_printf(&classes, err, "%s\n", json_string_value(json_object_get(c, "name")));
    json_t *doc = json_pack("{s:O, s:{s:i, s:s, s:s}}", "categories", e->categories, "info", "year",
                            0, "version", "1.0", "contributor", "Label Studio");
    time_t t = (time_t)(e->o.now_us / 1000000);
    struct tm tm;
    localtime_r(&t, &tm);
    json_object_set_new(json_object_get(doc, "info"), "year", json_integer(tm.tm_year + 1900));
    rc = rc || formats_json_buf(&notes, doc, 2, err) ||
                 formats_zip_add(e->zip, "classes.txt", classes.data, classes.len, 0, err) ||
                 formats_zip_add(e->zip, "notes.json", notes.data, notes.len, 0, err)
             ? -1
             : 0;
    json_decref(doc);
    base_buf_release(&classes), base_buf_release(&notes);
    return rc;
}

const struct formats_writer formats_writer_yolo = {
    .zipped = 1, .open = yolo_open, .litem = yolo_item, .commit = yolo_commit};

/* ---- Pascal VOC --------------------------------------------------------------------------------
 */

static int voc_open(struct formats_export *e, struct base_err *err)
{
    return formats_zip_dir(e->zip, "images", err);
}

/* Text escaped as xml.dom.minidom writes it. */
static void xml_text(struct base_jw *w, const char *s)
{
    while (*s) {
        size_t run = strcspn(s, "&<>\"");
        base_jw_put(w, s, run);
        s += run;
        if (!*s)
            break;
        const char *ent = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : "&quot;";
        base_jw_put(w, ent, strlen(ent));
        s++;
    }
}

/* The file is mostly fixed text: written in a few pieces around the variable parts. */
static void voc_object(struct formats_export *e, struct base_jw *w, const struct formats_jv *r,
                       double W, double H)
{
    const struct formats_jv *labels = rect_labels(r);
    const char *name = labels && labels->n ? formats_jv_cstr(e, &labels->kids[0].v) : NULL;
    if (!name)
        return;
    double x = num(r, "x") / 100 * W, y = num(r, "y") / 100 * H;
    double bw = num(r, "width") / 100 * W, bh = num(r, "height") / 100 * H;
    long long x0 = formats_trunc_px(x), y0 = formats_trunc_px(y);
    BASE_JW_LIT(w, "<object>\n<name>");
    xml_text(w, name);
    BASE_JW_LIT(w, "</name>\n<pose>Unspecified</pose>\n<truncated>0</truncated>\n"
                   "<difficult>0</difficult>\n<bndbox>\n<xmin>");
    base_jw_int(w, x0);
    BASE_JW_LIT(w, "</xmin>\n<ymin>");
    base_jw_int(w, y0);
    BASE_JW_LIT(w, "</ymin>\n<xmax>");
    base_jw_int(w, x0 + formats_trunc_px(bw));
    BASE_JW_LIT(w, "</xmax>\n<ymax>");
    base_jw_int(w, y0 + formats_trunc_px(bh));
    BASE_JW_LIT(w, "</ymax>\n</bndbox>\n</object>\n");
}

static void voc_header(struct base_jw *w, const char *file, const char *annotator, double W,
                       double H)
{
    BASE_JW_LIT(w, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<annotation>\n"
                   "<folder>images</folder>\n<filename>");
    xml_text(w, file);
    BASE_JW_LIT(w, "</filename>\n<source>\n<database>MyDatabase</database>\n"
                   "<annotation>COCO2017</annotation>\n<image>flickr</image>\n"
                   "<flickrid>NULL</flickrid>\n<annotator>");
    xml_text(w, annotator);
    BASE_JW_LIT(w, "</annotator>\n</source>\n<owner>\n<flickrid>NULL</flickrid>\n"
                   "<name>Label Studio</name>\n</owner>\n<size>\n<width>");
    base_jw_int(w, (long long)W);
    BASE_JW_LIT(w, "</width>\n<height>");
    base_jw_int(w, (long long)H);
    BASE_JW_LIT(w, "</height>\n<depth>3</depth>\n</size>\n<segmented>0</segmented>\n");
}

static const char *annotator_text(struct formats_export *e, const struct formats_jv *ann)
{
    const struct formats_jv *by = formats_jv_get(ann, "completed_by");
    if (by && by->type == FORMATS_JV_OBJECT)
        by = formats_jv_get(by, "email");
    if (by && by->type == FORMATS_JV_STRING)
        return formats_jv_cstr(e, by);
    if (by && by->type == FORMATS_JV_INT) {
        char *s = base_arena_alloc(e->jp.arena, 24);
        s[base_fmt_int(by->i, s)] = '\0';
        return s;
    }
    return "None";
}

static int voc_item(struct formats_export *e, const struct formats_litem *it, struct base_err *err)
{
    const char *url = formats_litem_image(e, it);
    const struct formats_jv **regions;
    size_t n = formats_litem_regions(e, it, &regions);
    double W = n ? num(regions[0], "original_width") : 0;
    double H = n ? num(regions[0], "original_height") : 0;
    if (!url || !n || !(W >= 1 && W <= 1e6) || !(H >= 1 && H <= 1e6))
        return 0; /* the converter skips items without regions or image size */
    struct base_buf *b = &e->out;
    struct base_jw w;
    base_buf_reset(b);
    base_jw_init_buf(&w, b, BASE_JSON_COMPACT, -1);
    char *file = formats_export_image_name(url);
    voc_header(&w, file, annotator_text(e, it->annotation), W, H);
    for (size_t i = 0; i < n; i++)
        voc_object(e, &w, regions[i], W, H);
    BASE_JW_LIT(&w, "</annotation>\n");
    if (base_jw_end(&w, err)) {
        base_free(file);
        return -1;
    }
    char *name = label_file("Annotations", url, ".xml");
    int rc = formats_zip_add(e->zip, name, b->data, b->len, 1, err);
    base_free(name), base_free(file);
    return rc ? rc : formats_export_zip_image(e, url, NULL, err);
}

const struct formats_writer formats_writer_voc = {.zipped = 1, .open = voc_open, .litem = voc_item};
