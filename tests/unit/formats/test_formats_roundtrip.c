/* Round trips on the shared data sets: raccoon (VOC) and seed-faces16 (COCO and YOLO) are read,
 * turned into Label Studio tasks, exported in every format, read back from each importable
 * format (JSON, COCO, YOLO, VOC) and compared box by box with a tolerance of 1 pixel. */
#include "formats/formats.h"
#include "formats_test_util.h"
#include "test.h"

#include <string.h>
#include <unistd.h>
#include <zip.h>

static struct formats_config *config_for(const struct formats_dataset *d)
{
    struct base_buf b;
    struct base_err err;
    base_buf_init(&b, 1 << 20);
    base_buf_puts(&b,
                  "<View><Image name=\"image\" value=\"$image\"/>"
                  "<RectangleLabels name=\"label\" toName=\"image\">",
                  &err);
    for (size_t i = 0; i < d->nclasses; i++)
        base_buf_printf(&b, &err, "<Label value=\"%s\"/>", d->classes[i]);
    base_buf_puts(&b, "</RectangleLabels></View>", &err);
    struct formats_config *c = NULL;
    formats_config_parse(b.data, b.len, &c, &err);
    base_buf_release(&b);
    return c;
}

/* Tasks in the export shape, as the store would hand them over. */
static json_t *to_tasks(const struct formats_dataset *d, const struct formats_config *c)
{
    struct formats_import_opts o = {.config = c};
    struct base_err err;
    CHECK_EQ_INT(formats_import_check(d, &o, &err), 0);
    json_t *tasks = json_array();
    for (size_t i = 0; i < d->nsamples; i++) {
        json_t *t = formats_import_task(d, i, d->samples[i].path, &o);
        json_t *a = json_array_get(json_object_get(t, "annotations"), 0);
        json_object_set_new(t, "id", json_integer((json_int_t)i + 1));
        json_object_set_new(a, "id", json_integer((json_int_t)i + 1000));
        json_object_set_new(a, "completed_by", json_integer(1));
        json_object_set_new(a, "was_cancelled", json_false());
        json_object_set_new(a, "created_at", json_string("2024-05-01T10:00:00.5Z"));
        json_array_append_new(tasks, t);
    }
    return tasks;
}

static int export_all(const struct formats_config *c, enum formats_kind kind, const json_t *tasks,
                      const char *dest)
{
    struct formats_export_opts o = {.kind = kind, .config = c};
    return export_list(&o, tasks, dest);
}

static void unzip_to(const char *zip_path, const char *dir)
{
    int zerr;
    zip_t *z = zip_open(zip_path, ZIP_RDONLY, &zerr);
    CHECK(z != NULL);
    struct base_err err;
    for (zip_int64_t i = 0; z && i < zip_get_num_entries(z, 0); i++) {
        zip_stat_t st;
        zip_stat_index(z, (zip_uint64_t)i, 0, &st);
        size_t n = strlen(st.name);
        char *path = base_path_join(dir, st.name);
        if (n && st.name[n - 1] == '/') {
            base_mkdirs(path, &err);
        } else {
            char *buf = base_alloc(st.size + 1), *slash = strrchr(path, '/');
            zip_file_t *f = zip_fopen_index(z, (zip_uint64_t)i, 0);
            zip_int64_t got = zip_fread(f, buf, st.size);
            zip_fclose(f);
            *slash = '\0';
            base_mkdirs(path, &err);
            *slash = '/';
            base_file_write_atomic(path, buf, got < 0 ? 0 : (size_t)got, &err);
            base_free(buf);
        }
        base_free(path);
    }
    if (z)
        zip_close(z);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static const struct formats_sample *find(const struct formats_dataset *d, const char *name)
{
    for (size_t i = 0; i < d->nsamples; i++)
        if (!strcmp(base_name(d->samples[i].file), name))
            return &d->samples[i];
    return NULL;
}

/* Same images, same boxes in the same order, same class names, within 1 pixel. */
static void compare(const struct formats_dataset *a, const struct formats_dataset *b,
                    const char *what)
{
    size_t boxes = 0, bad = 0;
    CHECK_EQ_INT(a->nsamples, b->nsamples);
    for (size_t i = 0; i < a->nsamples; i++) {
        const struct formats_sample *s = &a->samples[i];
        const struct formats_sample *t = find(b, base_name(s->file));
        if (!t || t->nboxes != s->nboxes || t->width != s->width || t->height != s->height) {
            bad++;
            continue;
        }
        for (size_t k = 0; k < s->nboxes; k++, boxes++) {
            const struct formats_box *p = &s->boxes[k], *q = &t->boxes[k];
            if (fabs(p->x0 - q->x0) > 1 || fabs(p->y0 - q->y0) > 1 || fabs(p->x1 - q->x1) > 1 ||
                fabs(p->y1 - q->y1) > 1 || strcmp(a->classes[p->cls], b->classes[q->cls]))
                bad++;
        }
    }
    if (bad)
        fprintf(stderr, "%s: %zu mismatches\n", what, bad);
    CHECK_EQ_INT(bad, 0);
    CHECK(boxes > 0);
}

static void roundtrip(const struct formats_dataset *d0, const char *images_dir)
{
    struct formats_config *c = config_for(d0);
    json_t *tasks = to_tasks(d0, c);
    char tmpl[] = "/tmp/ll-roundtrip-XXXXXX";
    char *dir = mkdtemp(tmpl);
    static const enum formats_kind kinds[] = {FORMATS_COCO, FORMATS_YOLO, FORMATS_VOC};
    struct base_err err = {0};
    for (size_t i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s", formats_kind_name(kinds[i]));
        char *zip = base_path_join(dir, "out.zip"), *sub = base_path_join(dir, name);
        char *link = base_path_join(sub, "images");
        CHECK_EQ_INT(export_all(c, kinds[i], tasks, zip), 0);
        unzip_to(zip, sub);
        rmdir(link); /* the empty images/ of an export without resources */
        CHECK_EQ_INT(symlink(images_dir, link), 0);
        struct formats_dataset *d1 = NULL;
        if (formats_dataset_read(sub, kinds[i], &d1, &err))
            fprintf(stderr, "re-read %s: %s\n", name, err.msg);
        if (d1)
            compare(d0, d1, name);
        CHECK(d1 != NULL);
        formats_dataset_free(d1);
        base_free(zip), base_free(sub), base_free(link);
    }
    /* JSON back through the task parser */
    char *path = base_path_join(dir, "out.json"), *text = NULL;
    size_t len;
    json_t *back = NULL;
    CHECK_EQ_INT(export_all(c, FORMATS_JSON, tasks, path), 0);
    CHECK_EQ_INT(base_file_read(path, 1 << 28, &text, &len, &err), 0);
    CHECK_EQ_INT(formats_tasks_parse(text, len, &back, NULL, &err), 0);
    struct formats_dataset *d1 = formats_dataset_new();
    CHECK_EQ_INT(formats_dataset_add_tasks(d1, back, 0, NULL, NULL, &err), 0);
    compare(d0, d1, "JSON");
    formats_dataset_free(d1);
    json_decref(back);
    base_free(text);
    /* JSON_MIN and CSV carry the same boxes: one record per task */
    CHECK_EQ_INT(export_all(c, FORMATS_JSON_MIN, tasks, path), 0);
    base_file_read(path, 1 << 28, &text, &len, &err);
    json_t *recs = json_loads(text, 0, NULL);
    CHECK_EQ_INT(json_array_size(recs), d0->nsamples);
    json_decref(recs);
    base_free(text), base_free(path);
    base_remove_tree(dir, &err);
    json_decref(tasks);
    formats_config_free(c);
}

static void test_raccoon_voc(void)
{
    char *root = base_path_join(test_shared_dir(), "datasets/raccoon");
    char *images = base_path_join(root, "images");
    struct formats_dataset *d = NULL;
    struct base_err err;
    CHECK_EQ_INT(formats_dataset_read(root, FORMATS_VOC, &d, &err), 0);
    if (d)
        roundtrip(d, images);
    formats_dataset_free(d);
    base_free(root), base_free(images);
}

static void test_faces_coco_and_yolo(void)
{
    char *root = base_path_join(test_shared_dir(), "datasets/seed-faces16");
    char *images = base_path_join(root, "images");
    struct base_err err;
    static const enum formats_kind kinds[] = {FORMATS_COCO, FORMATS_YOLO};
    for (size_t i = 0; i < 2; i++) {
        struct formats_dataset *d = NULL;
        CHECK_EQ_INT(formats_dataset_read(root, kinds[i], &d, &err), 0);
        if (d)
            roundtrip(d, images);
        formats_dataset_free(d);
    }
    base_free(root), base_free(images);
}

static void test_tasks_parse_errors(void)
{
    json_t *t = NULL;
    struct base_err err;
    CHECK_EQ_INT(formats_tasks_parse("[{\"data\": {\"image\": \"a\"}", 24, &t, NULL, &err), -1);
    CHECK(strstr(err.msg, "line 1, column") != NULL);
    const char *bad =
        "[{\"data\": {\"image\": \"a\"}}, {\"data\": {}, \"annotations\": [{\"result\": 3}]}]";
    CHECK_EQ_INT(formats_tasks_parse(bad, strlen(bad), &t, NULL, &err), -1);
    CHECK_EQ_STR(err.msg, "tasks[1].annotations[0].result: expected a list");
    const char *flat = "{\"image\": \"a.jpg\"}";
    size_t skipped = 9;
    CHECK_EQ_INT(formats_tasks_parse(flat, strlen(flat), &t, &skipped, &err), 0);
    CHECK_EQ_INT(skipped, 0);
    CHECK_EQ_STR(
        json_string_value(json_object_get(json_object_get(json_array_get(t, 0), "data"), "image")),
        "a.jpg");
    json_decref(t);
    /* Label Studio's own export lists predictions as ids: they are dropped, the rest is kept */
    const char *exported =
        "[{\"id\": 17, \"data\": {\"image\": \"a.jpg\"}, \"predictions\": [78, 86],"
        " \"annotations\": [{\"result\": [], \"lead_time\": 32.928}]}]";
    CHECK_EQ_INT(formats_tasks_parse(exported, strlen(exported), &t, &skipped, &err), 0);
    CHECK_EQ_INT(skipped, 2);
    CHECK_EQ_INT(json_array_size(json_object_get(json_array_get(t, 0), "predictions")), 0);
    CHECK_EQ_INT(json_array_size(json_object_get(json_array_get(t, 0), "annotations")), 1);
    json_decref(t);
}

static json_t *cell(json_t *tasks, size_t i, const char *key)
{
    return json_object_get(json_object_get(json_array_get(tasks, i), "data"), key);
}

static void test_csv_tasks(void)
{
    json_t *t = NULL;
    struct base_err err;
    const char *csv = "\xef\xbb\xbfimage,n,score,ok,label\r\n"
                      "a.jpg,1,0.5,True,\"one, two\"\r\n"
                      "\r\n"
                      "\"b \"\"x\"\".jpg\",2,1,false,\"multi\nline\"\n"
                      "c.jpg,,7,,\n";
    CHECK_EQ_INT(formats_csv_tasks(csv, strlen(csv), ',', &t, &err), 0);
    CHECK_EQ_INT(json_array_size(t), 3);
    CHECK_EQ_STR(json_string_value(cell(t, 1, "image")), "b \"x\".jpg");
    CHECK(json_is_integer(cell(t, 0, "n")) && json_integer_value(cell(t, 0, "n")) == 1);
    CHECK_EQ_STR(json_string_value(cell(t, 2, "n")), "");
    CHECK(json_is_real(cell(t, 1, "score")) && json_real_value(cell(t, 1, "score")) == 1.0);
    CHECK(json_is_true(cell(t, 0, "ok")) && json_is_false(cell(t, 1, "ok")));
    CHECK_EQ_STR(json_string_value(cell(t, 0, "label")), "one, two");
    CHECK_EQ_STR(json_string_value(cell(t, 1, "label")), "multi\nline");
    json_decref(t);
    const char *tsv = "image\tlabel\nx.jpg\ta,b\n";
    CHECK_EQ_INT(formats_csv_tasks(tsv, strlen(tsv), '\t', &t, &err), 0);
    CHECK_EQ_STR(json_string_value(cell(t, 0, "label")), "a,b");
    json_decref(t);
    const char *bad[] = {"", "a,b\n1,2,3\n", "a,a\n1,2\n", "a,\n1,2\n", "a\n\"open\n", "a\n\xff\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = NULL;
        CHECK_EQ_INT(formats_csv_tasks(bad[i], strlen(bad[i]), ',', &t, &err), -1);
        CHECK(t == NULL && err.status == BASE_E_INVALID);
    }
    const char *txt = " a.jpg \r\n\n b.jpg";
    CHECK_EQ_INT(formats_txt_tasks(txt, strlen(txt), &t, &err), 0);
    CHECK_EQ_INT(json_array_size(t), 2);
    CHECK_EQ_STR(json_string_value(cell(t, 1, "$undefined$")), "b.jpg");
    json_decref(t);
}

TEST_MAIN(TEST_CASE(test_raccoon_voc), TEST_CASE(test_faces_coco_and_yolo),
          TEST_CASE(test_tasks_parse_errors), TEST_CASE(test_csv_tasks))
