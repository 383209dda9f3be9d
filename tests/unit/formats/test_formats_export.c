/* Unit tests of the exporters: every format on the seed project's task 17 compared byte for byte
 * with the shapes of spec 5 (fixtures under data/), plus item extraction rules (cancelled and
 * multiple annotations, $undefined$ renaming, CSV quoting, rotation, polygons, categories). */
#include "formats/formats.h"
#include "formats_test_util.h"
#include "test.h"

#include <string.h>
#include <zip.h>

#define SEED_NOW_US 1669308914436317LL

static struct formats_config *config_from(const char *xml)
{
    struct formats_config *c = NULL;
    struct base_err err;
    if (formats_config_parse(xml, strlen(xml), &c, &err))
        fprintf(stderr, "config: %s\n", err.msg);
    return c;
}

static struct formats_config *seed_config(void)
{
    size_t len;
    char *xml = fixture("seed_config.xml", &len);
    struct formats_config *c = NULL;
    struct base_err err;
    formats_config_parse(xml, len, &c, &err);
    base_free(xml);
    return c;
}

/* Exports `tasks` (a JSON array) and returns the output path (base_alloc'd) or NULL. */
static char *export_tasks(const struct formats_config *c, enum formats_kind kind,
                          const json_t *tasks, const char *dir)
{
    struct formats_export_opts o = {.kind = kind, .config = c, .now_us = SEED_NOW_US};
    char name[64];
    snprintf(name, sizeof name, "out-%s.%s", formats_kind_name(kind), formats_export_ext(kind));
    char *dest = base_path_join(dir, name);
    struct formats_export *e = NULL;
    struct base_err err = {0};
    size_t i;
    json_t *t;
    int rc = formats_export_open(&o, dest, &e, &err);
    json_array_foreach(tasks, i, t) if (!rc) rc = formats_export_add(e, t, &err);
    if (rc)
        formats_export_abort(e);
    else
        rc = formats_export_commit(e, &err);
    if (rc) {
        fprintf(stderr, "export %s: %s\n", formats_kind_name(kind), err.msg);
        base_free(dest);
        return NULL;
    }
    return dest;
}

static char *read_all(const char *path)
{
    char *data = NULL;
    size_t n;
    struct base_err err;
    if (!path || base_file_read(path, 1 << 26, &data, &n, &err))
        return NULL;
    return data;
}

static char *zip_entry(const char *zip_path, const char *name)
{
    int zerr;
    zip_t *z = zip_path ? zip_open(zip_path, ZIP_RDONLY, &zerr) : NULL;
    if (!z)
        return NULL;
    zip_stat_t st;
    char *out = NULL;
    zip_file_t *f = zip_stat(z, name, 0, &st) ? NULL : zip_fopen(z, name, 0);
    if (f) {
        out = base_alloc(st.size + 1);
        zip_int64_t n = zip_fread(f, out, st.size);
        out[n < 0 ? 0 : n] = '\0';
        zip_fclose(f);
    }
    zip_close(z);
    return out;
}

static void check_text(const char *got, const char *want)
{
    CHECK(got != NULL);
    if (got && strcmp(got, want)) {
        fprintf(stderr, "--- got\n%s\n--- want\n%s\n", got, want);
        CHECK(0);
    }
}

static json_t *seed_tasks(void)
{
    char *text = fixture("seed_task.json", NULL);
    json_t *task = json_loads(text, 0, NULL);
    base_free(text);
    return json_pack("[o]", task);
}

static char *temp_dir(void)
{
    char tmpl[] = "/tmp/ll-export-XXXXXX";
    CHECK(mkdtemp(tmpl) != NULL);
    return base_strdup(tmpl);
}

/* Exports and returns the output text (single-file formats). */
static char *export_text(const struct formats_config *c, enum formats_kind kind,
                         const json_t *tasks, const char *dir)
{
    char *path = export_tasks(c, kind, tasks, dir);
    char *text = read_all(path);
    base_free(path);
    return text;
}

static void test_seed_golden(void)
{
    struct formats_config *c = seed_config();
    json_t *tasks = seed_tasks();
    char *dir = temp_dir();
    const struct {
        enum formats_kind kind;
        const char *entry, *golden;
    } cases[] = {
        {FORMATS_JSON_MIN, NULL, "seed_json_min.json"},
        {FORMATS_CSV, NULL, "seed.csv"},
        {FORMATS_COCO, "result.json", "seed_coco.json"},
        {FORMATS_VOC, "Annotations/50233092-000003.xml", "seed_voc.xml"},
        {FORMATS_YOLO, "notes.json", "seed_notes.json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = export_tasks(c, cases[i].kind, tasks, dir);
        char *got = cases[i].entry ? zip_entry(out, cases[i].entry) : read_all(out);
        char *want = fixture(cases[i].golden, NULL);
        check_text(got, want);
        base_free(out), base_free(got), base_free(want);
    }
    char *zip = export_tasks(c, FORMATS_YOLO, tasks, dir);
    char *label = zip_entry(zip, "labels/50233092-000003.txt");
    check_text(label, "0 0.49918874753754694 0.40467723387286014 0.15094127681337585 "
                      "0.43737500205746926\n");
    char *classes = zip_entry(zip, "classes.txt");
    check_text(classes, "face\n");
    base_free(label), base_free(classes), base_free(zip);
    /* JSON: the task list itself, unchanged */
    char *json = export_text(c, FORMATS_JSON, tasks, dir);
    json_t *back = json ? json_loads(json, 0, NULL) : NULL;
    CHECK(json_equal(back, tasks));
    CHECK(json && !strncmp(json, "[{\"id\": 17, \"annotations\": [{\"id\": 22, ", 38));
    json_decref(back);
    base_free(json);
    struct base_err err;
    base_remove_tree(dir, &err);
    base_free(dir);
    json_decref(tasks);
    formats_config_free(c);
}

static void test_items_and_csv(void)
{
    struct formats_config *c = config_from(
        "<View><Image name=\"image\" value=\"$image\"/><Choices name=\"q\" toName=\"image\">"
        "<Choice value=\"yes\"/><Choice value=\"no, really\"/></Choices></View>");
    json_t *tasks = json_loads(
        "[{\"id\": 1, \"data\": {\"$undefined$\": \"/data/upload/1/a.jpg\"}, \"annotations\": ["
        "{\"id\": 10, \"completed_by\": 2, \"was_cancelled\": false, \"created_at\": "
        "\"2022-01-01T00:00:00Z\","
        " \"result\": [{\"from_name\": \"q\", \"to_name\": \"image\", \"type\": \"choices\", "
        "\"value\": "
        "{\"choices\": [\"yes\"]}}]},"
        "{\"id\": 11, \"completed_by\": {\"id\": 3, \"email\": \"b@x.org\"}, \"created_at\": "
        "\"2022-02-01T00:00:00Z\", \"result\": [{\"from_name\": \"q\", \"to_name\": \"image\", "
        "\"type\": \"choices\", \"value\": {\"choices\": [\"no, really\"]}}]},"
        "{\"id\": 12, \"was_cancelled\": true, \"created_at\": \"2022-03-01T00:00:00Z\", "
        "\"result\": []}]},"
        "{\"id\": 2, \"data\": {\"image\": \"b \\\"q\\\".jpg\", \"extra\": {\"k\": [1, 2.5]}}, "
        "\"annotations\": []},"
        "{\"id\": 3, \"data\": {\"image\": \"c.jpg\"}, \"annotations\": [{\"id\": 13, "
        "\"was_cancelled\": true, "
        "\"result\": []}]}]",
        0, NULL);
    CHECK(tasks != NULL);
    char *dir = temp_dir();
    char *csv = export_text(c, FORMATS_CSV, tasks, dir);
    check_text(csv, "image,id,q,annotator,annotation_id,created_at,updated_at,lead_time,extra\n"
                    "/data/upload/1/a.jpg,1,\"no, really\",b@x.org,11,2022-02-01T00:00:00Z,,,\n"
                    "/data/upload/1/a.jpg,1,yes,2,10,2022-01-01T00:00:00Z,,,\n"
                    "\"b \"\"q\"\".jpg\",2,,,,,,,\"{\"\"k\"\": [1, 2.5]}\"\n");
    char *tsv = export_text(c, FORMATS_TSV, tasks, dir);
    CHECK(tsv && strstr(tsv, "/data/upload/1/a.jpg\t1\tno, really\tb@x.org\t11\t") != NULL);
    char *min = export_text(c, FORMATS_JSON_MIN, tasks, dir);
    json_t *recs = min ? json_loads(min, 0, NULL) : NULL;
    CHECK_EQ_INT(json_array_size(recs), 3);
    json_t *r0 = json_array_get(recs, 0);
    CHECK_EQ_STR(json_string_value(json_object_get(r0, "q")), "no, really");
    CHECK_EQ_STR(json_string_value(json_object_get(r0, "annotator")), "b@x.org");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(recs, 1), "annotator")), 2);
    CHECK(json_is_null(json_object_get(json_array_get(recs, 2), "annotation_id")));
    char *json = export_text(c, FORMATS_JSON, tasks, dir);
    CHECK(json && strstr(json, "\"data\": {\"image\": \"/data/upload/1/a.jpg\"}") != NULL);
    json_decref(recs);
    base_free(csv), base_free(tsv), base_free(min), base_free(json);
    struct base_err err;
    base_remove_tree(dir, &err);
    base_free(dir);
    json_decref(tasks);
    formats_config_free(c);
}

static void test_geometry_and_categories(void)
{
    struct formats_config *c =
        config_from("<View><Image name=\"img\" value=\"$img\"/>"
                    "<RectangleLabels name=\"box\" toName=\"img\"><Label value=\"zebra\"/>"
                    "<Label value=\"ant\"/><Label value=\"cat\" category=\"0\"/></RectangleLabels>"
                    "<PolygonLabels name=\"poly\" toName=\"img\"><Label "
                    "value=\"ant\"/></PolygonLabels></View>");
    json_t *tasks = json_loads(
        "[{\"id\": 5, \"data\": {\"img\": \"/x/p.png\"}, \"annotations\": [{\"id\": 1, \"result\": "
        "["
        "{\"from_name\": \"box\", \"to_name\": \"img\", \"type\": \"rectanglelabels\", "
        "\"original_width\": 200, \"original_height\": 100, \"value\": {\"x\": 10, \"y\": 10, "
        "\"width\": 20, \"height\": 40, \"rotation\": 90, \"rectanglelabels\": [\"zebra\", "
        "\"ant\"]}},"
        "{\"from_name\": \"poly\", \"to_name\": \"img\", \"type\": \"polygonlabels\", "
        "\"original_width\": 200, \"original_height\": 100, \"value\": {\"points\": [[0, 0], [50, "
        "0], "
        "[50, 50]], \"polygonlabels\": [\"ant\"]}},"
        "{\"from_name\": \"box\", \"to_name\": \"img\", \"type\": \"rectanglelabels\", "
        "\"value\": {\"x\": 0, \"y\": 0, \"width\": 1, \"height\": 1, \"rectanglelabels\": "
        "[\"newcomer\"]}}"
        "]}]}]",
        0, NULL);
    char *dir = temp_dir();
    char *zip = export_tasks(c, FORMATS_COCO, tasks, dir);
    char *text = zip_entry(zip, "result.json");
    json_t *coco = text ? json_loads(text, 0, NULL) : NULL;
    /* cat keeps its explicit id 0; ant, zebra sorted from 1; unknown labels appended */
    json_t *cats = json_object_get(coco, "categories");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(cats, 0), "name")), "cat");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(cats, 1), "name")), "ant");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(cats, 2), "id")), 2);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(cats, 3), "name")), "newcomer");
    json_t *anns = json_object_get(coco, "annotations");
    CHECK_EQ_INT(json_array_size(anns), 3);
    /* rotated 90 deg clockwise about (20, 10): 40x40 box becomes x in [-20, 20], y in [10, 50] */
    json_t *bbox = json_object_get(json_array_get(anns, 0), "bbox");
    CHECK_EQ_INT(json_integer_value(json_array_get(bbox, 0)), -20);
    CHECK_EQ_INT(json_integer_value(json_array_get(bbox, 1)), 10);
    CHECK_EQ_INT(json_integer_value(json_array_get(bbox, 2)), 40);
    CHECK_EQ_INT(json_integer_value(json_array_get(bbox, 3)), 40);
    json_t *poly = json_array_get(anns, 2); /* regions grouped by control: box, box, poly */
    CHECK_NEAR(json_real_value(json_object_get(poly, "area")), 0.5 * 100 * 50, 1e-9);
    CHECK_NEAR(json_number_value(
                   json_array_get(json_array_get(json_object_get(poly, "segmentation"), 0), 2)),
               100, 1e-9);
    CHECK_EQ_INT(json_integer_value(json_object_get(poly, "category_id")), 1);
    /* YOLO: one line per label of a multi-label region, rotated box clamped to the image */
    char *yzip = export_tasks(c, FORMATS_YOLO, tasks, dir);
    char *label = zip_entry(yzip, "labels/p.txt");
    check_text(label, "2 0.05 0.3 0.1 0.4\n1 0.05 0.3 0.1 0.4\n3 0.005 0.005 0.01 0.01\n");
    json_decref(coco);
    base_free(zip), base_free(text), base_free(yzip), base_free(label);
    struct base_err err;
    base_remove_tree(dir, &err);
    base_free(dir);
    json_decref(tasks);
    formats_config_free(c);
}

static void test_unsupported(void)
{
    struct formats_config *c =
        config_from("<View><Image name=\"i\" value=\"$i\"/><Choices name=\"c\" toName=\"i\">"
                    "<Choice value=\"a\"/></Choices></View>");
    struct formats_export_opts o = {.kind = FORMATS_YOLO, .config = c};
    struct formats_export *e = NULL;
    struct base_err err;
    CHECK_EQ_INT(formats_export_open(&o, "/tmp/never-written.zip", &e, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_UNSUPPORTED);
    CHECK(!base_file_exists("/tmp/never-written.zip"));
    formats_config_free(c);
}

TEST_MAIN(TEST_CASE(test_seed_golden), TEST_CASE(test_items_and_csv),
          TEST_CASE(test_geometry_and_categories), TEST_CASE(test_unsupported))
