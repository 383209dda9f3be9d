/* `labelloop predict`: runs a trained model over a folder of images and writes the boxes in
 * the original pictures' pixels as Label Studio pre-annotations (ls-json), a COCO file, or YOLO
 * label files. An image that cannot be read is skipped with a warning and left out of the
 * output; the summary says how many were. */
#include "cli_int.h"

#include "det/det.h"
#include "nn/nn.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: labelloop predict --model MODEL --images DIR [options]\n\n"
    "Detects objects in every JPEG, PNG and WebP image of DIR (or in one image file). An image\n"
    "that cannot be read is skipped with a warning and left out of the output.\n\n"
    "  --model MODEL      model file written by `labelloop train`, or a zoo model:\n"
    "                     zoo:centernet-coco (COCO's 80 classes, zero-shot),\n"
    "                     zoo:faceboxes (faces), zoo:centernet-coco+faceboxes (both);\n"
    "                     zoo:blazeface-back, zoo:centernet-coco+blazeface-back (the\n"
    "                     earlier face detector)\n"
    "  --images DIR       folder of images, or one image\n"
    "  --format F         ls-json (Label Studio tasks with predictions, default), coco or yolo\n"
    "  --out PATH         output file (ls-json, coco; default stdout) or folder (yolo)\n"
    "  --score-thr X      keep boxes scoring at least X (default 0.05)\n"
    "  --max-det N        at most N boxes per image (default 100)\n"
    "  --from-name NAME   ls-json: the RectangleLabels tag's name (default label)\n"
    "  --to-name NAME     ls-json: the Image tag's name (default image)\n"
    "  --threads N        CPU threads (default: all cores)\n";

#define CHUNK 32

static int is_image_name(const char *name)
{
    static const char *const ext[] = {".jpg", ".jpeg", ".png", ".webp"};
    const char *dot = strrchr(name, '.');
    if (!dot || name[0] == '.')
        return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (!strcasecmp(dot, ext[i]))
            return 1;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The image files of dir, sorted, or dir itself when it is a file. */
static char **list_images(const char *dir, int *n, struct base_err *err)
{
    struct stat st;
    *n = 0;
    if (stat(dir, &st)) {
        base_err_set(err, BASE_E_NOTFOUND, "%s: no such file or folder", dir);
        return NULL;
    }
    char **v = base_alloc(sizeof *v);
    if (!S_ISDIR(st.st_mode)) {
        v[(*n)++] = base_strdup(dir);
        return v;
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!is_image_name(e->d_name))
            continue;
        v = base_realloc(v, ((size_t)*n + 1) * sizeof *v);
        v[(*n)++] = base_path_join(dir, e->d_name);
    }
    if (d)
        closedir(d);
    qsort(v, (size_t)*n, sizeof *v, by_name);
    return v;
}

struct predict_args {
    const char *model, *images, *format, *out, *from_name, *to_name;
    double score_thr;
    int max_det, threads;
};

/* ---- output formats ------------------------------------------------------------------------- */

struct results {
    int n;
    char **paths;
    struct det_box **boxes;
    int *counts; /* -1: unreadable, left out */
    struct image_info *infos;
    const struct det_model_info *model;
    const char *version;
};

static json_t *ls_region(const struct predict_args *a, const struct results *r, int i, int k)
{
    const struct det_box *b = &r->boxes[i][k];
    double w = r->infos[i].width, h = r->infos[i].height;
    char id[16];
    snprintf(id, sizeof id, "r%d", k);
    json_t *labels = json_array();
    json_array_append_new(labels, json_string(r->model->classes[b->label]));
    json_t *value =
        json_pack("{s:f, s:f, s:f, s:f, s:i, s:o}", "x", b->x0 / w * 100.0, "y", b->y0 / h * 100.0,
                  "width", (b->x1 - b->x0) / w * 100.0, "height", (b->y1 - b->y0) / h * 100.0,
                  "rotation", 0, "rectanglelabels", labels);
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:o, s:f}", "id", id, "from_name",
                     a->from_name, "to_name", a->to_name, "type", "rectanglelabels",
                     "original_width", r->infos[i].width, "original_height", r->infos[i].height,
                     "image_rotation", 0, "value", value, "score", (double)b->score);
}

static json_t *ls_json(const struct predict_args *a, const struct results *r)
{
    json_t *tasks = json_array();
    for (int i = 0; i < r->n; i++) {
        if (r->counts[i] < 0)
            continue;
        json_t *result = json_array();
        double score = 0;
        for (int k = 0; k < r->counts[i]; k++) {
            json_array_append_new(result, ls_region(a, r, i, k));
            score += r->boxes[i][k].score;
        }
        json_t *pred = json_pack("{s:s, s:f, s:o}", "model_version", r->version, "score",
                                 r->counts[i] ? score / r->counts[i] : 0.0, "result", result);
        json_t *preds = json_array();
        json_array_append_new(preds, pred);
        /* the full path, so that `labelloop import --format json` finds the image from anywhere */
        char *full = realpath(r->paths[i], NULL);
        json_array_append_new(tasks, json_pack("{s:{s:s}, s:o}", "data", "image",
                                               full ? full : r->paths[i], "predictions", preds));
        free(full);
    }
    return tasks;
}

static json_t *coco_json(const struct results *r)
{
    json_t *images = json_array(), *cats = json_array(), *anns = json_array();
    for (int k = 0; k < r->model->nclasses; k++)
        json_array_append_new(cats, json_pack("{s:i, s:s}", "id", k, "name", r->model->classes[k]));
    int id = 0;
    for (int i = 0; i < r->n; i++) {
        if (r->counts[i] < 0)
            continue;
        const char *slash = strrchr(r->paths[i], '/');
        json_array_append_new(images, json_pack("{s:i, s:s, s:i, s:i}", "id", i, "file_name",
                                                slash ? slash + 1 : r->paths[i], "width",
                                                r->infos[i].width, "height", r->infos[i].height));
        for (int k = 0; k < r->counts[i]; k++) {
            const struct det_box *b = &r->boxes[i][k];
            double w = b->x1 - b->x0, h = b->y1 - b->y0;
            json_array_append_new(anns,
                                  json_pack("{s:i, s:i, s:i, s:[f,f,f,f], s:f, s:i, s:f}", "id",
                                            id++, "image_id", i, "category_id", b->label, "bbox",
                                            (double)b->x0, (double)b->y0, w, h, "area", w * h,
                                            "iscrowd", 0, "score", (double)b->score));
        }
    }
    return json_pack("{s:o, s:o, s:o}", "images", images, "categories", cats, "annotations", anns);
}

static int write_json(json_t *j, const char *out, struct base_err *err)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(j);
    if (!text)
        return base_err_set(err, BASE_E_INTERNAL, "cannot encode the results");
    int rc = 0;
    if (out)
        rc = base_file_write_atomic(out, text, strlen(text), err);
    else
        printf("%s\n", text);
    free(text);
    return rc;
}

static int write_yolo_file(const struct results *r, int i, const char *dir, struct base_err *err)
{
    const char *slash = strrchr(r->paths[i], '/'), *base = slash ? slash + 1 : r->paths[i];
    const char *dot = strrchr(base, '.');
    int stem = (int)(dot ? dot - base : (long)strlen(base)), rc = 0;
    double w = r->infos[i].width, h = r->infos[i].height;
    struct base_buf b;
    base_buf_init(&b, (size_t)64 << 20);
    for (int k = 0; k < r->counts[i] && !rc; k++) {
        const struct det_box *x = &r->boxes[i][k];
        rc = base_buf_printf(&b, err, "%d %.6f %.6f %.6f %.6f %.4f\n", x->label,
                             (x->x0 + x->x1) / 2 / w, (x->y0 + x->y1) / 2 / h, (x->x1 - x->x0) / w,
                             (x->y1 - x->y0) / h, x->score);
    }
    char *path = base_alloc(strlen(dir) + (size_t)stem + 16);
    sprintf(path, "%s/labels/%.*s.txt", dir, stem, base);
    if (!rc)
        rc = base_file_write_atomic(path, b.data ? b.data : "", b.len, err);
    base_free(path);
    base_buf_release(&b);
    return rc;
}

/* YOLO: DIR/classes.txt and DIR/labels/<stem>.txt with "class cx cy w h score" per box. */
static int write_yolo(const struct results *r, const char *dir, struct base_err *err)
{
    if (!dir)
        return base_err_set(err, BASE_E_INVALID, "yolo output needs --out DIR");
    char *labels = base_path_join(dir, "labels"), *classes = base_path_join(dir, "classes.txt");
    struct base_buf b;
    base_buf_init(&b, (size_t)16 << 20);
    int rc = base_mkdirs(labels, err);
    for (int k = 0; k < r->model->nclasses && !rc; k++)
        rc = base_buf_printf(&b, err, "%s\n", r->model->classes[k]);
    if (!rc)
        rc = base_file_write_atomic(classes, b.data, b.len, err);
    for (int i = 0; i < r->n && !rc; i++)
        if (r->counts[i] >= 0)
            rc = write_yolo_file(r, i, dir, err);
    base_buf_release(&b);
    base_free(labels);
    base_free(classes);
    return rc;
}

static const struct {
    const char *name;
    int kind; /* 0 ls-json, 1 coco, 2 yolo */
} formats[] = {{"ls-json", 0}, {"json", 0}, {"coco", 1}, {"yolo", 2}};

static int write_results(const struct predict_args *a, const struct results *r,
                         struct base_err *err)
{
    const char *f = a->format ? a->format : "ls-json";
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (strcmp(f, formats[i].name))
            continue;
        if (formats[i].kind == 2)
            return write_yolo(r, a->out, err);
        return write_json(formats[i].kind ? coco_json(r) : ls_json(a, r), a->out, err);
    }
    return base_err_set(err, BASE_E_INVALID, "unknown output format '%s'", f);
}

/* ---- the command ------------------------------------------------------------------------------
 */

/* The bar's last line is the summary: how many images were skipped and left out. */
static int predict_all(struct det_predictor *p, const struct predict_args *a, struct results *r,
                       struct base_err *err)
{
    struct det_predict_opts o = {.score_thr = (float)a->score_thr, .max_det = a->max_det};
    struct base_progress *bar = base_progress_new("predict", (uint64_t)r->n, "images");
    int rc = 0, skipped = 0;
    for (int i = 0; i < r->n && !rc; i += CHUNK) {
        int k = r->n - i < CHUNK ? r->n - i : CHUNK;
        rc = det_predict_files(p, (const char *const *)r->paths + i, k, &o, r->boxes + i,
                               r->counts + i, r->infos + i, err);
        base_progress_update(bar, (uint64_t)(i + k), NULL);
    }
    for (int i = 0; i < r->n && !rc; i++)
        skipped += r->counts[i] < 0;
    char note[80], detail[120] = "";
    if (skipped)
        snprintf(detail, sizeof detail, "%s, left out of the output",
                 cli_det_skipped(skipped, note, sizeof note));
    base_progress_finish(bar, detail);
    if (!rc && skipped == r->n)
        rc = base_err_set(err, BASE_E_INVALID, "no readable images (%d skipped)", skipped);
    return rc;
}

static int run(const struct predict_args *a, struct base_err *err)
{
    struct results r = {0};
    struct det_predictor *p = det_predictor_open(a->model, err);
    if (!p)
        return -1;
    r.paths = list_images(a->images, &r.n, err);
    int rc = r.paths ? 0 : -1;
    if (!rc && r.n == 0)
        rc = base_err_set(err, BASE_E_INVALID, "%s: no JPEG, PNG or WebP images", a->images);
    struct det_model *m = det_predictor_acquire(p);
    const char *slash = strrchr(a->model, '/');
    r.model = det_model_info(m);
    r.version = slash ? slash + 1 : a->model;
    r.boxes = base_calloc((size_t)r.n + 1, sizeof *r.boxes);
    r.counts = base_calloc((size_t)r.n + 1, sizeof *r.counts);
    r.infos = base_calloc((size_t)r.n + 1, sizeof *r.infos);
    if (!rc)
        rc = predict_all(p, a, &r, err);
    if (!rc)
        rc = write_results(a, &r, err);
    for (int i = 0; i < r.n; i++) {
        base_free(r.paths[i]);
        base_free(r.boxes[i]);
    }
    base_free(r.paths);
    base_free(r.boxes);
    base_free(r.counts);
    base_free(r.infos);
    det_predictor_release(p, m);
    det_predictor_free(p);
    return rc;
}

int cli_predict(int argc, char **argv)
{
    struct predict_args a = {.from_name = "label", .to_name = "image"};
    const struct cli_det_opt opts[] = {
        {"--model", CLI_DET_STR, &a.model},
        {"--images", CLI_DET_STR, &a.images},
        {"--format", CLI_DET_STR, &a.format},
        {"--out", CLI_DET_STR, &a.out},
        {"--score-thr", CLI_DET_DOUBLE, &a.score_thr},
        {"--max-det", CLI_DET_INT, &a.max_det},
        {"--from-name", CLI_DET_STR, &a.from_name},
        {"--to-name", CLI_DET_STR, &a.to_name},
        {"--threads", CLI_DET_INT, &a.threads},
    };
    int status;
    if (cli_det_parse(argc, argv, opts, sizeof opts / sizeof opts[0], usage, &status))
        return status;
    if (!a.model || !a.images)
        return cli_fail("predict: --model and --images are required (see --help)") + 1;
    if (a.threads > 0)
        nn_set_num_threads(a.threads);
    struct base_err err = {0};
    if (run(&a, &err))
        return cli_fail("predict: %s", err.msg);
    return 0;
}
