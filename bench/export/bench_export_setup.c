/* bench/export setup: builds the data directory `labelloop export` reads in the benchmark — one
 * project with N tasks, each with one annotation of 3 rectangles — through the store's bulk
 * import, as an import of a Label Studio JSON file would. Prints "setup_s tasks". */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 2000

static const char *config_xml =
    "<View><Image name=\"image\" value=\"$image\"/><RectangleLabels name=\"label\" "
    "toName=\"image\"><Label value=\"cat\"/><Label value=\"dog\"/><Label value=\"bird\"/>"
    "</RectangleLabels></View>";

static json_t *make_task(struct base_rng *rng, long i)
{
    static const char *const labels[] = {"cat", "dog", "bird"};
    json_t *result = json_array();
    for (int b = 0; b < 3; b++) {
        double x = base_rng_uniform(rng) * 80, y = base_rng_uniform(rng) * 80;
        double w = base_rng_uniform(rng) * 20, h = base_rng_uniform(rng) * 20;
        char id[48];
        snprintf(id, sizeof id, "r%ld_%d", i, b);
        json_array_append_new(
            result,
            json_pack("{s:i, s:i, s:i, s:{s:f, s:f, s:f, s:f, s:i, s:[s]}, s:s, s:s, s:s, s:s, "
                      "s:s}",
                      "original_width", 640, "original_height", 480, "image_rotation", 0, "value",
                      "x", x, "y", y, "width", w, "height", h, "rotation", 0, "rectanglelabels",
                      labels[base_rng_below(rng, 3)], "id", id, "from_name", "label", "to_name",
                      "image", "type", "rectanglelabels", "origin", "manual"));
    }
    char url[96];
    snprintf(url, sizeof url, "/data/upload/1/%08lx-img%ld.jpg", (unsigned long)i * 2654435761u, i);
    return json_pack("{s:{s:s}, s:[{s:o, s:f}]}", "data", "image", url, "annotations", "result",
                     result, "lead_time", 12.5);
}

static int fill(struct store *st, int64_t project, int64_t user, long n, struct base_err *err)
{
    struct base_rng rng;
    base_rng_seed(&rng, 42);
    struct store_import *imp = store_import_begin(st, project, user, err);
    if (!imp)
        return -1;
    for (long i = 1; i <= n;) {
        json_t *batch = json_array();
        for (long k = 0; k < BATCH && i <= n; k++, i++)
            json_array_append_new(batch, make_task(&rng, i));
        int rc = store_import_add(imp, batch, err);
        json_decref(batch);
        if (rc) {
            store_import_abort(imp);
            return -1;
        }
    }
    struct store_import_result res;
    return store_import_commit(imp, &res, err);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_export_setup DATA_DIR NTASKS\n");
        return 2;
    }
    struct base_err err = {0};
    struct store_user user;
    char token[STORE_TOKEN_LEN + 1];
    int64_t project = 0;
    base_log_set_level(BASE_LOG_WARN); /* no migration chatter in the benchmark's output */
    double t0 = base_now();
    char *media = base_path_join(argv[1], "media/upload");
    char *db = base_path_join(argv[1], "labelloop.sqlite3");
    struct store *st = base_mkdirs(media, &err) ? NULL : store_open(db, &err);
    json_t *fields = json_pack("{s:s, s:s}", "title", "bench", "label_config", config_xml);
    int rc = st ? 0 : -1;
    if (!rc)
        rc = store_user_create(st, "bench@example.com", "benchmark", 1, &user, token, &err);
    if (!rc)
        rc = store_project_create(st, fields, user.id, &project, &err);
    if (!rc)
        rc = fill(st, project, user.id, atol(argv[2]), &err);
    json_decref(fields);
    store_close(st);
    base_free(media);
    base_free(db);
    if (rc) {
        fprintf(stderr, "bench_export_setup: %s\n", err.msg);
        return 1;
    }
    printf("%.3f %lld\n", base_now() - t0, (long long)project);
    return 0;
}
