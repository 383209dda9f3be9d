/* bench/export: streams N synthetic tasks (3 rectangles each, one annotation) through one
 * exporter, as the store iterator would, and prints "<format> wall_s cpu_s peak_rss_mb". run.sh
 * runs it once per format so each peak RSS is that format's own. Format GEN only builds the
 * tasks: the cost the store's iterator would have, included in every format's time. */
#include "formats/formats.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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
        char id[48];
        snprintf(id, sizeof id, "r%ld_%d", i, b);
        json_array_append_new(
            result,
            json_pack("{s:i, s:i, s:i, s:{s:f, s:f, s:f, s:f, s:i, s:[s]}, s:s, s:s, s:s, s:s, "
                      "s:s}",
                      "original_width", 640, "original_height", 480, "image_rotation", 0, "value",
                      "x", x, "y", y, "width", base_rng_uniform(rng) * 20, "height",
                      base_rng_uniform(rng) * 20, "rotation", 0, "rectanglelabels",
                      labels[base_rng_below(rng, 3)], "id", id, "from_name", "label", "to_name",
                      "image", "type", "rectanglelabels", "origin", "manual"));
    }
    char url[96];
    snprintf(url, sizeof url, "/data/upload/1/%08lx-img%ld.jpg", (unsigned long)i * 2654435761u, i);
    return json_pack(
        "{s:I, s:[{s:I, s:i, s:o, s:b, s:b, s:s, s:s, s:f, s:{}, s:i, s:I, s:n, s:n}], s:n, "
        "s:[], s:[], s:{s:s}, s:{}, s:s, s:s, s:I, s:i, s:i, s:i, s:i, s:i, s:n, s:i, s:n, s:[]}",
        "id", (json_int_t)i, "annotations", "id", (json_int_t)i, "completed_by", 1, "result",
        result, "was_cancelled", 0, "ground_truth", 0, "created_at", "2024-05-01T10:00:00.123456Z",
        "updated_at", "2024-05-01T10:00:00.123456Z", "lead_time", 12.5, "prediction",
        "result_count", 0, "task", (json_int_t)i, "parent_prediction", "parent_annotation",
        "file_upload", "drafts", "predictions", "data", "image", url, "meta", "created_at",
        "2024-05-01T09:00:00Z", "updated_at", "2024-05-01T10:00:00Z", "inner_id", (json_int_t)i,
        "total_annotations", 1, "cancelled_annotations", 0, "total_predictions", 0, "comment_count",
        0, "unresolved_comment_count", 0, "last_comment_updated_at", "project", 1, "updated_by",
        "comment_authors");
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_export FORMAT NTASKS OUT\n");
        return 2;
    }
    enum formats_kind kind = FORMATS_JSON;
    struct formats_config *c = NULL;
    struct formats_export *e = NULL;
    struct base_err err;
    int gen_only = !strcmp(argv[1], "GEN");
    if ((!gen_only && formats_kind_parse(argv[1], &kind)) ||
        formats_config_parse(config_xml, strlen(config_xml), &c, &err))
        return 2;
    long n = atol(argv[2]);
    struct base_rng rng;
    base_rng_seed(&rng, 42);
    struct formats_export_opts o = {.kind = kind, .config = c};
    double t0 = base_now();
    int rc = gen_only ? 0 : formats_export_open(&o, argv[3], &e, &err);
    for (long i = 1; i <= n && !rc; i++) {
        json_t *t = make_task(&rng, i);
        rc = gen_only ? 0 : formats_export_add(e, t, &err);
        json_decref(t);
    }
    if (!gen_only)
        rc = rc ? (formats_export_abort(e), -1) : formats_export_commit(e, &err);
    double secs = base_now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    formats_config_free(c);
    if (rc) {
        fprintf(stderr, "bench_export %s: %s\n", argv[1], err.msg);
        return 1;
    }
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    printf("%s %.3f %.3f %.1f\n", gen_only ? "GEN" : formats_kind_name(kind), secs, cpu,
           ru.ru_maxrss / 1024.0);
    return 0;
}
