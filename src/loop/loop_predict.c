/* Predicting one task's picture as the loop does it: decoded once at the model's size, run
 * together with its mirror image (the disagreement of the two is one sign of uncertainty), boxes
 * back in the displayed image's pixels, then written as a Label Studio prediction. */
#include "loop_int.h"

#include <string.h>

static void mirror(const struct image *src, struct image *dst)
{
    size_t row = (size_t)src->width * 3;
    for (int y = 0; y < src->height; y++) {
        const uint8_t *s = src->pixels + (size_t)y * row;
        uint8_t *d = dst->pixels + (size_t)y * row + row - 3;
        for (int x = 0; x < src->width; x++, s += 3, d -= 3)
            memcpy(d, s, 3);
    }
}

static int load(struct det_predictor *p, const char *path, struct image *img,
                struct image_info *info, struct base_err *err)
{
    struct det_model *m = det_predictor_acquire(p);
    int size = det_model_info(m)->input_size;
    det_predictor_release(p, m);
    char *data = NULL;
    size_t len = 0;
    int rc = base_file_read(path, IMAGE_MAX_FILE_BYTES, &data, &len, err);
    if (!rc)
        rc = image_load_fit(data, len, size, 0, img, info, err);
    base_free(data);
    return rc ? base_err_prefix(err, "%s: ", path) : 0;
}

static void to_displayed(struct det_box *b, int n, float sx, float sy, int mirrored, int width)
{
    for (int k = 0; k < n; k++) {
        if (mirrored) {
            float x0 = (float)width - b[k].x1;
            b[k].x1 = (float)width - b[k].x0;
            b[k].x0 = x0;
        }
        b[k].x0 *= sx, b[k].x1 *= sx, b[k].y0 *= sy, b[k].y1 *= sy;
    }
}

int loop_predict_file(struct det_predictor *p, const char *path, float thr, struct loop_shot *out,
                      struct base_err *err)
{
    memset(out, 0, sizeof *out);
    struct image img = {0}, flip = {0};
    struct image_info info;
    struct det_box *boxes[2] = {NULL, NULL};
    int counts[2] = {0, 0};
    int rc = load(p, path, &img, &info, err);
    if (!rc)
        rc = image_alloc(&flip, img.width, img.height, err);
    if (!rc) {
        mirror(&img, &flip);
        const struct image *both[2] = {&img, &flip};
        struct det_predict_opts o = {.score_thr = 0.05f, .max_det = 100};
        rc = det_predict(p, both, 2, &o, boxes, counts, err);
    }
    if (!rc) {
        float sx = (float)info.width / (float)img.width,
              sy = (float)info.height / (float)img.height;
        to_displayed(boxes[0], counts[0], sx, sy, 0, img.width);
        to_displayed(boxes[1], counts[1], sx, sy, 1, img.width);
        out->uncertainty = loop_uncertainty(boxes[0], counts[0], boxes[1], counts[1], thr);
        out->boxes = boxes[0];
        out->n = counts[0];
        out->width = info.width;
        out->height = info.height;
        boxes[0] = NULL;
    }
    base_free(boxes[0]);
    base_free(boxes[1]);
    image_release(&img);
    image_release(&flip);
    return rc;
}

void loop_shot_release(struct loop_shot *s)
{
    if (!s)
        return;
    base_free(s->boxes);
    memset(s, 0, sizeof *s);
}

static int known_label(const struct loop_target *t, const char *name)
{
    for (int k = 0; k < t->nclasses; k++)
        if (!strcmp(t->classes[k], name))
            return 1;
    return 0;
}

static json_t *result_item(const struct loop_shot *s, const struct det_box *b,
                           const struct loop_target *t, const char *label, int64_t task, int k)
{
    char id[48];
    snprintf(id, sizeof id, "p%lld_%d", (long long)task, k);
    double w = s->width, h = s->height;
    json_t *value = json_pack("{s:f, s:f, s:f, s:f, s:i, s:[s]}", "x", b->x0 / w * 100.0, "y",
                              b->y0 / h * 100.0, "width", (b->x1 - b->x0) / w * 100.0, "height",
                              (b->y1 - b->y0) / h * 100.0, "rotation", 0, "rectanglelabels", label);
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:o, s:f}", "id", id, "type",
                     "rectanglelabels", "from_name", t->from_name, "to_name", t->to_name,
                     "original_width", s->width, "original_height", s->height, "image_rotation", 0,
                     "value", value, "score", (double)b->score);
}

void loop_shot_prediction(const struct loop_shot *s, const struct loop_target *t,
                          const struct det_model_info *model, const char *version, float thr,
                          int64_t task, struct store_prediction *p)
{
    memset(p, 0, sizeof *p);
    p->task = task;
    p->result = json_array();
    float floor = thr < LOOP_STORE_MIN_SCORE ? thr : LOOP_STORE_MIN_SCORE;
    for (int k = 0; k < s->n && json_array_size(p->result) < LOOP_STORE_MAX_BOXES; k++) {
        const struct det_box *b = &s->boxes[k];
        const char *label =
            b->label >= 0 && b->label < model->nclasses ? model->classes[b->label] : NULL;
        if (b->score < floor || !label || !known_label(t, label))
            continue; /* a label removed from the config since the model learned it */
        json_array_append_new(p->result, result_item(s, b, t, label, task, k));
    }
    p->has_score = 1;
    p->score = 1.0 - s->uncertainty;
    snprintf(p->model_version, sizeof p->model_version, "%s", version);
}
