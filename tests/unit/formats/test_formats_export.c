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
    if (export_list(&o, tasks, dest)) {
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

/* ---- stored tasks give the same files as the export shape's text ------------------------------
 */

static const char stored_config[] =
    "<View><Image name=\"image\" value=\"$image\"/><RectangleLabels name=\"label\" "
    "toName=\"image\"><Label value=\"cat\"/><Label value=\"dog\"/></RectangleLabels>"
    "<PolygonLabels name=\"poly\" toName=\"image\"><Label value=\"cat\"/></PolygonLabels>"
    "<Choices name=\"q\" toName=\"image\"><Choice value=\"yes\"/></Choices></View>";

static const char stored_rect[] =
    "[{\"id\": \"a\", \"from_name\": \"label\", \"to_name\": \"image\", \"type\": "
    "\"rectanglelabels\", \"original_width\": 640, \"original_height\": 480, \"value\": {\"x\": "
    "6.709037684790573, \"y\": 30.31842005301349, \"width\": 13.600868220562788, \"height\": 18.5, "
    "\"rotation\": 30, \"rectanglelabels\": [\"dog\"]}}, {\"from_name\": \"q\", \"to_name\": "
    "\"image\", \"type\": \"choices\", \"value\": {\"choices\": [\"yes\"]}}]";
static const char stored_poly[] =
    "[{\"from_name\": \"poly\", \"to_name\": \"image\", \"type\": \"polygonlabels\", "
    "\"original_width\": 100, \"original_height\": 50, \"value\": {\"points\": [[1, 2], [30.5, "
    "4e0], [10, 40]], \"polygonlabels\": [\"cat\"]}}, {\"from_name\": \"label\", \"to_name\": "
    "\"image\", \"type\": \"rectanglelabels\", \"value\": {\"x\": 1, \"y\": 2, \"width\": 3, "
    "\"height\": 4, \"rectanglelabels\": [\"newcomer\"], \"original_width\": 320, "
    "\"original_height\": 240}}]";

static const struct formats_stored_annotation stored_anns[] = {
    {.id = 10,
     .completed_by = 2,
     .result = stored_rect,
     .created_at_us = 1600000000000000,
     .updated_at_us = 1600000000000001,
     .has_lead_time = 1,
     .lead_time = 12},
    {.id = 11,
     .result = stored_poly,
     .created_at_us = 1700000000123456,
     .has_lead_time = 1,
     .lead_time = 2.5},
    {.id = 12, .completed_by = 4, .result = "[]", .was_cancelled = 1, .has_lead_time = 1},
    {.id = 13, .completed_by = 3, .has_lead_time = 1, .lead_time = INFINITY},
    {.id = 14, .result = stored_rect}, /* no user, times or lead time: nulls */
};

static const struct formats_stored_task stored_tasks[] = {
    {.id = 1,
     .data = "{\"image\": \"/data/upload/1/a.jpg\", \"n\": 2.5}",
     .annotations = stored_anns,
     .nannotations = 3},
    {.id = 2,
     .data = "{\"$undefined$\": \"/data/upload/1/b.jpg\"}",
     .annotations = stored_anns + 3,
     .nannotations = 2},
    {.id = 3, .data = "{\"image\": \"c.jpg\"}"},
};

static void put_time(struct base_buf *b, const char *key, int64_t us)
{
    char iso[32];
    base_time_iso(us, iso);
    base_buf_printf(b, NULL, us ? ",\"%s\":\"%s\"" : ",\"%s\":null", key, iso);
}

/* The spec 1.2 text of a stored task, as api_task_export_text writes it. */
static void stored_text(const struct formats_stored_task *t, struct base_buf *b)
{
    base_buf_printf(b, NULL, "{\"id\":%lld,\"annotations\":[", (long long)t->id);
    for (size_t i = 0; i < t->nannotations; i++) {
        const struct formats_stored_annotation *a = &t->annotations[i];
        char num[32];
        base_buf_printf(b, NULL, "%s{\"id\":%lld,\"completed_by\":", i ? "," : "",
                        (long long)a->id);
        base_buf_printf(b, NULL, a->completed_by > 0 ? "%lld" : "null", (long long)a->completed_by);
        base_buf_printf(b, NULL, ",\"result\":%s,\"was_cancelled\":%s,\"ground_truth\":false",
                        a->result ? a->result : "null", a->was_cancelled ? "true" : "false");
        put_time(b, "created_at", a->created_at_us);
        put_time(b, "updated_at", a->updated_at_us);
        if (!a->has_lead_time)
            base_buf_puts(b, ",\"lead_time\":null", NULL);
        else if (isfinite(a->lead_time))
            base_buf_printf(b, NULL, ",\"lead_time\":%.*s", base_fmt_double(a->lead_time, num),
                            num);
        base_buf_puts(b, ",\"prediction\":{},\"result_count\":0}", NULL);
    }
    base_buf_printf(b, NULL, "],\"file_upload\":null,\"data\":%s,\"meta\":{}}", t->data);
}

/* Exports the stored tasks (as_text: their text) and returns the file's bytes. */
static char *export_stored(const struct formats_config *c, enum formats_kind kind, int as_text,
                           const char *dir, size_t *len)
{
    struct formats_export_opts o = {.kind = kind, .config = c, .now_us = SEED_NOW_US};
    char *dest = base_path_join(dir, as_text ? "text.out" : "stored.out"), *data = NULL;
    struct formats_export *e = NULL;
    struct base_err err = {0};
    struct base_buf b;
    base_buf_init(&b, 1 << 20);
    int rc = formats_export_open(&o, dest, &e, &err);
    for (size_t i = 0; i < sizeof stored_tasks / sizeof stored_tasks[0] && !rc; i++) {
        struct formats_stored_task t = stored_tasks[i];
        t.data_len = strlen(t.data);
        struct formats_stored_annotation a[3];
        for (size_t k = 0; k < t.nannotations; k++) {
            a[k] = t.annotations[k];
            a[k].result_len = a[k].result ? strlen(a[k].result) : 0;
        }
        t.annotations = a;
        base_buf_reset(&b);
        stored_text(&t, &b);
        rc = as_text ? formats_export_add_text(e, b.data, b.len, &err)
                     : formats_export_add_stored(e, &t, &err);
    }
    rc = rc ? (formats_export_abort(e), -1) : formats_export_commit(e, &err);
    if (rc || base_file_read(dest, 1 << 24, &data, len, &err))
        fprintf(stderr, "export %s: %s\n", formats_kind_name(kind), err.msg);
    base_buf_release(&b);
    base_free(dest);
    return data;
}

static void test_stored_same_as_text(void)
{
    struct formats_config *c = config_from(stored_config);
    char *dir = temp_dir();
    for (int k = 0; k < FORMATS_NKINDS; k++) {
        CHECK_EQ_INT(formats_export_wants_text((enum formats_kind)k), k == FORMATS_JSON);
        if (k == FORMATS_JSON)
            continue;
        size_t n1 = 0, n2 = 0;
        char *stored = export_stored(c, (enum formats_kind)k, 0, dir, &n1);
        char *text = export_stored(c, (enum formats_kind)k, 1, dir, &n2);
        CHECK(stored && text && n1 > 0 && n1 == n2 && !memcmp(stored, text, n1));
        base_free(stored), base_free(text);
    }
    struct formats_export_opts o = {.kind = FORMATS_JSON, .config = c};
    struct formats_export *e = NULL;
    struct base_err err;
    char *dest = base_path_join(dir, "x.json");
    CHECK(formats_export_open(&o, dest, &e, &err) == 0);
    CHECK(formats_export_add_stored(e, &stored_tasks[2], &err) == -1);
    CHECK_EQ_INT(err.status, BASE_E_UNSUPPORTED);
    formats_export_abort(e);
    base_remove_tree(dir, &err);
    base_free(dir), base_free(dest);
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
          TEST_CASE(test_geometry_and_categories), TEST_CASE(test_stored_same_as_text),
          TEST_CASE(test_unsupported))
