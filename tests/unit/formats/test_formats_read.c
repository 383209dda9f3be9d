/* Unit tests of the data set readers and the image header probe: the shared raccoon (VOC) and
 * seed-faces16 (COCO and YOLO) sets, and small broken data sets built in a temp folder, each of
 * which must fail with an error naming the file and line or field. */
#include "formats/formats.h"
#include "formats_test_util.h"
#include "test.h"

#include <string.h>

static char *shared_path(const char *rel)
{
    return base_path_join(test_shared_dir(), rel);
}

static void test_probe_shared(void)
{
    char *p = shared_path("datasets/seed-faces16/images/000003.jpg");
    struct formats_image_info info;
    struct base_err err;
    CHECK_EQ_INT(formats_image_probe(p, &info, &err), 0);
    CHECK_EQ_INT(info.width, 500);
    CHECK_EQ_INT(info.height, 281);
    CHECK_EQ_INT(info.channels, 3);
    base_free(p);
    CHECK_EQ_INT(formats_image_probe("/nonexistent.jpg", &info, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
}

static void test_probe_headers(void)
{
    struct formats_image_info info;
    struct base_err err;
    /* PNG: signature + IHDR 640x480 RGBA */
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
                                        'I',  'H', 'D', 'R', 0,    0,    2,    0x80, 0, 0, 1, 0xe0,
                                        8,    6,   0,   0,   0,    0,    0,    0,    0, 0, 0, 0,
                                        0,    'I', 'E', 'N', 'D',  0,    0,    0,    0};
    CHECK_EQ_INT(formats_image_probe_mem(png, sizeof png, &info, &err), 0);
    CHECK_EQ_INT(info.width, 640);
    CHECK_EQ_INT(info.height, 480);
    CHECK_EQ_INT(info.channels, 3);
    /* JPEG with EXIF orientation 6 (rotated 90): 300x200 stored, 200x300 displayed */
    static const unsigned char jpg[] = {
        0xff, 0xd8, 0xff, 0xe1, 0, 32,   'E',  'x', 'i', 'f', 0,    0, 'M', 'M',  0, 42, 0,
        0,    0,    8,    0,    1, 0x01, 0x12, 0,   3,   0,   0,    0, 1,   0,    6, 0,  0,
        0,    0,    0xff, 0xc0, 0, 11,   8,    0,   200, 1,   0x2c, 3, 1,   0x22, 0};
    CHECK_EQ_INT(formats_image_probe_mem(jpg, sizeof jpg, &info, &err), 0);
    CHECK_EQ_INT(info.orientation, 6);
    CHECK_EQ_INT(info.width, 200);
    CHECK_EQ_INT(info.height, 300);
    CHECK_EQ_INT(formats_image_probe_mem(jpg, 20, &info, &err), -1);
    CHECK_EQ_STR(err.msg, "jpeg: truncated header");
    CHECK_EQ_INT(formats_image_probe_mem("GIF89a", 6, &info, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_UNSUPPORTED);
}

static size_t total_boxes(const struct formats_dataset *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->nsamples; i++)
        n += d->samples[i].nboxes;
    return n;
}

static void test_read_raccoon_voc(void)
{
    char *root = shared_path("datasets/raccoon");
    struct formats_dataset *d = NULL;
    struct base_err err = {0};
    CHECK_EQ_INT(formats_dataset_read(root, FORMATS_VOC, &d, &err), 0);
    if (!d) {
        fprintf(stderr, "%s\n", err.msg);
        base_free(root);
        return;
    }
    CHECK_EQ_INT(d->nsamples, 200);
    CHECK_EQ_INT(total_boxes(d), 217);
    CHECK_EQ_INT(d->nclasses, 1);
    CHECK_EQ_STR(d->classes[0], "raccoon");
    /* raccoon-1.xml: 650x417, box 81 88 522 408 (files sort as raccoon-1, raccoon-10, ...) */
    CHECK_EQ_STR(d->samples[0].file, "images/raccoon-1.jpg");
    CHECK_EQ_INT(d->samples[0].width, 650);
    CHECK_EQ_INT(d->samples[0].height, 417);
    CHECK_NEAR(d->samples[0].boxes[0].x0, 81, 0);
    CHECK_NEAR(d->samples[0].boxes[0].y1, 408, 0);
    formats_dataset_free(d);
    base_free(root);
}

static void test_read_faces_coco_yolo(void)
{
    char *root = shared_path("datasets/seed-faces16");
    struct formats_dataset *coco = NULL, *yolo = NULL;
    struct base_err err = {0};
    CHECK_EQ_INT(formats_dataset_read(root, FORMATS_COCO, &coco, &err), 0);
    if (!coco)
        fprintf(stderr, "coco: %s\n", err.msg);
    CHECK_EQ_INT(formats_dataset_read(root, FORMATS_YOLO, &yolo, &err), 0);
    if (!yolo)
        fprintf(stderr, "yolo: %s\n", err.msg);
    if (!coco || !yolo)
        goto out;
    CHECK_EQ_INT(coco->nsamples, 16);
    CHECK_EQ_INT(yolo->nsamples, 16);
    CHECK_EQ_INT(total_boxes(coco), 16);
    CHECK_EQ_INT(total_boxes(yolo), 16);
    CHECK_EQ_STR(coco->classes[0], "face");
    CHECK_EQ_STR(yolo->classes[0], "face");
    for (size_t i = 0; i < 16; i++) {
        const struct formats_sample *a = &coco->samples[i], *b = &yolo->samples[i];
        CHECK_EQ_INT(a->width, b->width);
        CHECK_EQ_INT(a->height, b->height);
        CHECK_NEAR(a->boxes[0].x0, b->boxes[0].x0, 1);
        CHECK_NEAR(a->boxes[0].y0, b->boxes[0].y0, 1);
        CHECK_NEAR(a->boxes[0].x1, b->boxes[0].x1, 1);
        CHECK_NEAR(a->boxes[0].y1, b->boxes[0].y1, 1);
    }
    /* 000001.jpg: bbox [95, 71, 226, 313] */
    CHECK_NEAR(coco->samples[0].boxes[0].x0, 95, 1e-9);
    CHECK_NEAR(coco->samples[0].boxes[0].x1, 321, 1e-9);
out:
    formats_dataset_free(coco);
    formats_dataset_free(yolo);
    base_free(root);
}

/* ---- broken data sets ---------------------------------------------------------------------- */

static void put(const char *dir, const char *rel, const char *text)
{
    char *p = base_path_join(dir, rel);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    struct base_err err;
    base_mkdirs(p, &err);
    *slash = '/';
    base_file_write_atomic(p, text, strlen(text), &err);
    base_free(p);
}

/* A PNG header of 100x50 pixels: enough for the probe. */
static void put_png(const char *dir, const char *rel)
{
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
                                        'I',  'H', 'D', 'R', 0,    0,    0,    100,  0, 0, 0, 50,
                                        8,    2,   0,   0,   0,    0,    0,    0,    0, 0, 0, 0,
                                        0,    'I', 'E', 'N', 'D',  0,    0,    0,    0};
    char text[sizeof png + 1];
    memcpy(text, png, sizeof png);
    char *p = base_path_join(dir, rel);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    struct base_err err;
    base_mkdirs(p, &err);
    *slash = '/';
    base_file_write_atomic(p, text, sizeof png, &err);
    base_free(p);
}

static void expect_read_error(const char *dir, enum formats_kind kind, const char *needle)
{
    struct formats_dataset *d = NULL;
    struct base_err err = {0};
    CHECK_EQ_INT(formats_dataset_read(dir, kind, &d, &err), -1);
    CHECK(d == NULL);
    if (!strstr(err.msg, needle)) {
        fprintf(stderr, "  got \"%s\"\n  want \"%s\"\n", err.msg, needle);
        CHECK(0);
    }
}

static char *temp_dir(void)
{
    char tmpl[] = "/tmp/ll-formats-XXXXXX";
    CHECK(mkdtemp(tmpl) != NULL);
    return base_strdup(tmpl);
}

static void test_bad_coco(void)
{
    char *dir = temp_dir();
    struct base_err err;
    put_png(dir, "images/a.png");
    put(dir, "result.json", "{\"images\": [{\"id\": 1, \"file_name\": \"images/a.png\"}],");
    expect_read_error(dir, FORMATS_COCO, "result.json: line 1, column");
    put(dir, "result.json",
        "{\"images\": [{\"id\": 1, \"file_name\": \"images/a.png\", \"width\": 100, \"height\": "
        "50}], \"categories\": [{\"id\": 0, \"name\": \"x\"}], \"annotations\": [{\"id\": 0, "
        "\"image_id\": 1, \"category_id\": 3, \"bbox\": [1, 1, 5, 5]}]}");
    expect_read_error(dir, FORMATS_COCO, "annotations[0].category_id: unknown category 3");
    put(dir, "result.json",
        "{\"images\": [{\"id\": 1, \"file_name\": \"images/a.png\"}], \"categories\": [{\"id\": "
        "0, \"name\": \"x\"}], \"annotations\": [{\"id\": 0, \"image_id\": 1, \"category_id\": "
        "0, \"bbox\": [90, 10, 20, 5]}]}");
    expect_read_error(dir, FORMATS_COCO, "annotations[0]: box [90, 10, 110, 15] is outside");
    put(dir, "result.json",
        "{\"images\": [{\"id\": 1, \"file_name\": \"images/missing.png\"}], \"categories\": [], "
        "\"annotations\": []}");
    expect_read_error(dir, FORMATS_COCO, "images[0]: image \"images/missing.png\" not found");
    put(dir, "result.json",
        "{\"images\": [{\"id\": 1, \"file_name\": \"images/a.png\", \"width\": 200, \"height\": "
        "50}], \"categories\": [], \"annotations\": []}");
    expect_read_error(dir, FORMATS_COCO, "images[0]: width/height 200x50 differ");
    base_remove_tree(dir, &err);
    base_free(dir);
}

static void test_bad_yolo(void)
{
    char *dir = temp_dir();
    struct base_err err;
    put_png(dir, "images/a.png");
    put(dir, "classes.txt", "cat\ndog\n");
    put(dir, "labels/a.txt", "0 0.5 0.5 0.2 0.2\n2 0.5 0.5 0.1 0.1\n");
    expect_read_error(dir, FORMATS_YOLO, "labels/a.txt:2: class 2 not in classes.txt (2 classes)");
    put(dir, "labels/a.txt", "0 0.5 0.5 0.2\n");
    expect_read_error(dir, FORMATS_YOLO, "labels/a.txt:1: expected \"class cx cy w h\"");
    put(dir, "labels/a.txt", "1 0.95 0.5 0.2 0.2");
    expect_read_error(dir, FORMATS_YOLO, "labels/a.txt:1: box [85, 20, 105, 30] is outside");
    put(dir, "labels/a.txt", "1 0.5 0.5 0.2 0.2");
    put(dir, "labels/b.txt", "1 0.5 0.5 0.2 0.2");
    expect_read_error(dir, FORMATS_YOLO, "labels/b.txt: no image images/b.*");
    char *b = base_path_join(dir, "labels/b.txt");
    remove(b);
    base_free(b);
    struct formats_dataset *d = NULL;
    CHECK_EQ_INT(formats_dataset_read(dir, FORMATS_YOLO, &d, &err), 0);
    if (d) {
        CHECK_EQ_INT(d->nsamples, 1);
        CHECK_EQ_INT(d->samples[0].boxes[0].cls, 1);
        CHECK_NEAR(d->samples[0].boxes[0].x0, 40, 1e-9);
        CHECK_NEAR(d->samples[0].boxes[0].y1, 30, 1e-9);
    }
    formats_dataset_free(d);
    base_remove_tree(dir, &err);
    base_free(dir);
}

static void test_bad_voc(void)
{
    char *dir = temp_dir();
    struct base_err err;
    put_png(dir, "images/a.png");
    put(dir, "Annotations/a.xml",
        "<!DOCTYPE a [<!ENTITY x \"y\">]><annotation><filename>a.png</filename></annotation>");
    expect_read_error(dir, FORMATS_VOC, "a.xml: line 1, column");
    put(dir, "Annotations/a.xml",
        "<annotation><filename>a.png</filename>\n<object><name>cat</name><bndbox><xmin>1</xmin>"
        "<ymin>2</ymin><xmax>x</xmax><ymax>4</ymax></bndbox></object></annotation>");
    expect_read_error(dir, FORMATS_VOC, "a.xml:2: <bndbox><xmax> missing or not a number");
    put(dir, "Annotations/a.xml",
        "<annotation><filename>a</filename><object><name>cat</name>"
        "<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4"
        "</ymax></bndbox></object></annotation>");
    struct formats_dataset *d = NULL;
    CHECK_EQ_INT(formats_dataset_read(dir, FORMATS_VOC, &d, &err), 0);
    if (d)
        CHECK_EQ_STR(d->samples[0].file, "images/a.png");
    formats_dataset_free(d);
    base_remove_tree(dir, &err);
    base_free(dir);
}

static void test_kinds(void)
{
    enum formats_kind k;
    CHECK_EQ_INT(formats_kind_parse("json_min", &k), 0);
    CHECK_EQ_INT(k, FORMATS_JSON_MIN);
    CHECK_EQ_INT(formats_kind_parse("coco", &k), 0);
    CHECK_EQ_STR(formats_kind_name(k), "COCO");
    CHECK_EQ_INT(formats_kind_parse("xml", &k), -1);
    size_t len;
    char *xml = fixture("seed_config.xml", &len);
    struct formats_config *c = NULL;
    struct base_err err;
    CHECK_EQ_INT(formats_config_parse(xml, len, &c, &err), 0);
    for (int i = 0; i < FORMATS_NKINDS; i++)
        CHECK(formats_kind_supported(c, (enum formats_kind)i));
    formats_config_free(c);
    const char *choices = "<View><Image name=\"i\" value=\"$i\"/><Choices name=\"c\" toName=\"i\">"
                          "<Choice value=\"a\"/></Choices></View>";
    CHECK_EQ_INT(formats_config_parse(choices, strlen(choices), &c, &err), 0);
    CHECK(formats_kind_supported(c, FORMATS_CSV));
    CHECK(!formats_kind_supported(c, FORMATS_COCO));
    CHECK(!formats_kind_supported(c, FORMATS_YOLO));
    formats_config_free(c);
    base_free(xml);
}

TEST_MAIN(TEST_CASE(test_probe_shared), TEST_CASE(test_probe_headers),
          TEST_CASE(test_read_raccoon_voc), TEST_CASE(test_read_faces_coco_yolo),
          TEST_CASE(test_bad_coco), TEST_CASE(test_bad_yolo), TEST_CASE(test_bad_voc),
          TEST_CASE(test_kinds))
