/* `labelloop export --project N --format F`: writes a project's export (the same file
 * GET /api/projects/{id}/export sends) with a progress bar, streaming from the database. */
#include "cli_int.h"

#include "api/api.h"
#include "store/store.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void export_usage(FILE *out)
{
    fprintf(out, "usage: labelloop export --project N --format F [options]\n\n"
                 "Exports project N as Label Studio does: F is JSON, JSON_MIN, CSV, TSV, COCO,\n"
                 "YOLO or VOC (COCO/YOLO/VOC are zips with the images).\n\n"
                 "options:\n"
                 "  --project N       the project\n"
                 "  --format F        the format (case does not matter)\n"
                 "  --out PATH        where to write (default: <data-dir>/export/\n"
                 "                    project-N-at-<time>-<hex>.<ext>)\n"
                 "  --all-tasks       also tasks without annotations (download_all_tasks)\n"
                 "  --no-images       leave the images out of COCO/YOLO/VOC zips (COCO with\n"
                 "                    --out NAME.json: the COCO JSON file alone, no zip)\n"
                 "  --data-dir DIR    database and media (default ./labelloop-data)\n"
                 "  --db URL          the database instead of the data dir's: postgresql://...\n"
                 "                    or a SQLite file (default $LABELLOOP_DB)\n");
}

static void on_task(void *ctx, size_t done, size_t total, const char *name)
{
    (void)name;
    base_progress_set_total(ctx, total);
    base_progress_update(ctx, done, NULL);
}

static int run_export(const char *data_dir, const char *db, struct api_export_opts *o)
{
    struct store *st = cli_open_existing_store(data_dir, db);
    if (!st)
        return 1;
    struct base_err err = {0};
    struct api_config cfg = {.data_dir = data_dir, .version = LL_VERSION};
    struct api *api = api_new(st, &cfg, &err);
    int rc = api ? 0 : cli_fail("%s", err.msg);
    char *path = NULL;
    if (!rc) {
        struct base_progress *p = base_progress_new("export", 0, "tasks");
        o->progress = on_task;
        o->progress_ctx = p;
        rc = api_export_project(api, o, &path, &err);
        base_progress_finish(p, rc ? "failed" : "done");
        if (rc)
            rc = cli_fail("export failed: %s", err.msg);
    }
    if (!rc)
        printf("%s\n", path);
    base_free(path);
    api_free(api);
    store_close(st);
    return rc;
}

int cli_export(int argc, char **argv)
{
    static const struct option longs[] = {{"project", required_argument, 0, 'p'},
                                          {"format", required_argument, 0, 'f'},
                                          {"out", required_argument, 0, 'o'},
                                          {"all-tasks", no_argument, 0, 'a'},
                                          {"no-images", no_argument, 0, 'n'},
                                          {"data-dir", required_argument, 0, 'd'},
                                          {"db", required_argument, 0, 'D'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    struct api_export_opts o = {.download_resources = 1};
    const char *data_dir = "./labelloop-data", *format = NULL, *db = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (base_parse_i64(optarg, &o.project) || o.project < 1)
                return cli_fail("--project: expected a project id, got '%s'", optarg);
            break;
        case 'f':
            format = optarg;
            break;
        case 'o':
            o.dest = optarg;
            break;
        case 'a':
            o.all_tasks = 1;
            break;
        case 'n':
            o.download_resources = 0;
            break;
        case 'd':
            data_dir = optarg;
            break;
        case 'D':
            db = optarg;
            break;
        case 'h':
            export_usage(stdout);
            return 0;
        default:
            export_usage(stderr);
            return 2;
        }
    }
    if (!o.project || !format)
        return cli_fail("export: --project and --format are required");
    if (formats_kind_parse(format, &o.kind))
        return cli_fail("export: unknown format '%s' (JSON, JSON_MIN, CSV, TSV, COCO, YOLO, VOC)",
                        format);
    if (optind < argc)
        return cli_fail("export: unexpected argument '%s'", argv[optind]);
    /* COCO without images named .json: the JSON itself, as the name says */
    size_t n = o.dest ? strlen(o.dest) : 0;
    o.json_only = n > 5 && !strcasecmp(o.dest + n - 5, ".json");
    return run_export(data_dir, cli_db_where(db), &o);
}
