/* `labelloop import --project N PATH...`: imports a folder (or files) of images into a project
 * as Label Studio's upload does, with a progress bar; one transaction for the whole import. */
#include "cli_int.h"

#include "api/api.h"
#include "store/store.h"

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define IMPORT_MAX_FILES 10000000

static void import_usage(FILE *out)
{
    fprintf(out, "usage: labelloop import --project N [options] PATH...\n\n"
                 "Imports image files (JPEG, PNG, WebP; checked by content) into project N: each\n"
                 "is copied to <data-dir>/media/upload/N/ and becomes one task. A PATH that is a\n"
                 "folder is walked recursively in name order; other files are skipped.\n\n"
                 "options:\n"
                 "  --project N      the project (see GET /api/projects)\n"
                 "  --data-dir DIR   database and media (default ./labelloop-data)\n"
                 "  --db URL         the database instead of the data dir's: postgresql://...\n"
                 "                   or a SQLite file (default $LABELLOOP_DB)\n"
                 "  --email EMAIL    the user the import is recorded for (default: the first\n"
                 "                   user)\n"
                 "  --format F       import one data set instead: coco (a COCO json, or a folder\n"
                 "                   with result.json / annotations.json / annotations/*.json\n"
                 "                   and images/), yolo (classes.txt, images/, labels/), voc\n"
                 "                   (Annotations/*.xml and images/) or json (a Label Studio\n"
                 "                   JSON task file, such as `labelloop predict` writes). Images\n"
                 "                   are copied in (a JSON task's image given as a file path\n"
                 "                   too); boxes become one annotation per image, in percent of\n"
                 "                   the real image size.\n"
                 "                   Bad input names the file and line; nothing is imported.\n"
                 "  --as-predictions the boxes become predictions (pre-annotations) instead\n"
                 "  --model-version V  model_version of those predictions\n"
                 "  --match-existing with --format json: add the file's predictions to the\n"
                 "                   project's tasks, matched by image file name or task id,\n"
                 "                   instead of creating tasks\n");
}

struct file_list {
    char **paths;
    size_t n, cap;
};

static void add_path(struct file_list *l, const char *path)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->paths = base_realloc(l->paths, l->cap * sizeof *l->paths);
    }
    l->paths[l->n++] = base_strdup(path);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(struct file_list *l, const char *path, int depth)
{
    struct stat st;
    if (stat(path, &st))
        return cli_fail("cannot read %s", path);
    if (!S_ISDIR(st.st_mode)) {
        if (l->n < IMPORT_MAX_FILES)
            add_path(l, path);
        return 0;
    }
    if (depth > 32)
        return 0;
    DIR *d = opendir(path);
    if (!d)
        return cli_fail("cannot open folder %s", path);
    struct file_list here = {0};
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            char *child = base_path_join(path, e->d_name);
            add_path(&here, child);
            base_free(child);
        }
    closedir(d);
    qsort(here.paths, here.n, sizeof *here.paths, by_name);
    int rc = 0;
    for (size_t i = 0; i < here.n; i++) {
        rc = rc ? rc : walk(l, here.paths[i], depth + 1);
        base_free(here.paths[i]);
    }
    base_free(here.paths);
    return rc;
}

static void on_progress(void *ctx, size_t done, size_t total, const char *name)
{
    base_progress_set_total(ctx, total);
    const char *slash = strrchr(name, '/');
    base_progress_update(ctx, done, slash ? slash + 1 : name);
}

/* Opens the store and an API to import as `email` (user 1 without one): 0, or 1 after saying
 * why (then *st and *api are whatever is open, for the caller to close). */
static int open_importer(const char *data_dir, const char *db, const char *email, struct store **st,
                         struct api **api, int64_t *user)
{
    *api = NULL;
    if (!(*st = cli_open_existing_store(data_dir, db)))
        return 1;
    struct base_err err = {0};
    struct store_user u = {0};
    if (email ? store_user_by_email(*st, email, &u, &err) : store_user_get(*st, 1, &u, &err))
        return cli_fail("no user %s (create one with `labelloop user create`)",
                        email ? email : "1");
    *user = u.id;
    struct api_config cfg = {.data_dir = data_dir, .version = LL_VERSION};
    if (!(*api = api_new(*st, &cfg, &err)))
        return cli_fail("%s", err.msg);
    return 0;
}

/* One import with a progress bar: opens the store and the API, runs `fn`, closes both. 0, or 1
 * after saying why. */
typedef int (*import_fn)(struct api *api, int64_t user, struct base_progress *p, void *ctx,
                         struct store_import_result *res, struct base_err *err);

static int import_with(const char *data_dir, const char *db, const char *email, size_t total,
                       const char *unit, import_fn fn, void *ctx, struct store_import_result *res)
{
    struct store *st;
    struct api *api;
    int64_t user = 0;
    struct base_err err = {0};
    int rc = open_importer(data_dir, db, email, &st, &api, &user);
    if (!rc) {
        struct base_progress *p = base_progress_new("import", total, unit);
        rc = fn(api, user, p, ctx, res, &err);
        base_progress_finish(p, rc ? "failed" : "done");
        if (rc)
            rc = cli_fail("import failed, nothing was imported: %s", err.msg);
    }
    api_free(api);
    store_close(st);
    return rc;
}

struct files_job {
    int64_t project;
    const struct file_list *files;
    size_t skipped;
};

static int import_files(struct api *api, int64_t user, struct base_progress *p, void *ctx,
                        struct store_import_result *res, struct base_err *err)
{
    struct files_job *j = ctx;
    return api_import_files(api, j->project, user, (const char *const *)j->files->paths,
                            j->files->n, on_progress, p, res, &j->skipped, err);
}

static int run_import(const char *data_dir, const char *db, int64_t project, const char *email,
                      struct file_list *files)
{
    struct files_job j = {project, files, 0};
    struct store_import_result res = {0};
    int rc = import_with(data_dir, db, email, files->n, "files", import_files, &j, &res);
    if (!rc)
        printf("imported %lld tasks into project %lld (tasks %lld..%lld), skipped %zu files that "
               "are not images\n",
               (long long)res.task_count, (long long)project, (long long)res.first_task_id,
               (long long)(res.first_task_id + res.task_count - 1), j.skipped);
    return rc;
}

static int import_dataset(struct api *api, int64_t user, struct base_progress *p, void *ctx,
                          struct store_import_result *res, struct base_err *err)
{
    struct api_dataset_import *o = ctx;
    o->user = user;
    o->progress = on_progress;
    o->progress_ctx = p;
    return api_import_dataset(api, o, res, err);
}

/* `--format`: one data set through api_import_dataset. */
static int run_dataset(const char *data_dir, const char *db, const char *email,
                       struct api_dataset_import *o)
{
    struct store_import_result res = {0};
    int rc = import_with(data_dir, db, email, 0, "images", import_dataset, o, &res);
    if (!rc && o->match_existing)
        printf("imported %lld predictions into existing tasks of project %lld\n",
               (long long)res.prediction_count, (long long)o->project);
    else if (!rc)
        printf("imported %lld tasks (%lld annotations, %lld predictions) into project %lld\n",
               (long long)res.task_count, (long long)res.annotation_count,
               (long long)res.prediction_count, (long long)o->project);
    return rc;
}

int cli_import(int argc, char **argv)
{
    static const struct option longs[] = {
        {"project", required_argument, 0, 'p'},  {"data-dir", required_argument, 0, 'd'},
        {"email", required_argument, 0, 'e'},    {"format", required_argument, 0, 'f'},
        {"as-predictions", no_argument, 0, 'P'}, {"model-version", required_argument, 0, 'm'},
        {"match-existing", no_argument, 0, 'M'}, {"db", required_argument, 0, 'D'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *data_dir = "./labelloop-data", *email = NULL, *format = NULL, *db = NULL;
    struct api_dataset_import ds = {0};
    int64_t project = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (base_parse_i64(optarg, &project) || project < 1)
                return cli_fail("--project: expected a project id, got '%s'", optarg);
            break;
        case 'd':
            data_dir = optarg;
            break;
        case 'e':
            email = optarg;
            break;
        case 'D':
            db = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'P':
            ds.as_predictions = 1;
            break;
        case 'm':
            ds.model_version = optarg;
            break;
        case 'M':
            ds.match_existing = 1;
            break;
        case 'h':
            import_usage(stdout);
            return 0;
        default:
            import_usage(stderr);
            return 2;
        }
    }
    if (!project)
        return cli_fail("import: --project is required");
    if (optind >= argc)
        return cli_fail("import: name at least one file or folder");
    if (format) {
        if (formats_kind_parse(format, &ds.kind) ||
            (ds.kind != FORMATS_COCO && ds.kind != FORMATS_YOLO && ds.kind != FORMATS_VOC &&
             ds.kind != FORMATS_JSON))
            return cli_fail("import: --format must be coco, yolo, voc or json, not '%s'", format);
        if (optind + 1 != argc)
            return cli_fail("import: --format takes exactly one file or folder");
        if (ds.match_existing && ds.kind != FORMATS_JSON)
            return cli_fail("import: --match-existing needs --format json");
        ds.project = project;
        ds.path = argv[optind];
        ds.local_files = 1;
        return run_dataset(data_dir, cli_db_where(db), email, &ds);
    }
    if (ds.as_predictions || ds.model_version || ds.match_existing)
        return cli_fail("import: --as-predictions, --model-version and --match-existing need "
                        "--format");
    struct file_list files = {0};
    int rc = 0;
    for (int i = optind; i < argc && !rc; i++)
        rc = walk(&files, argv[i], 0);
    if (!rc)
        rc = run_import(data_dir, cli_db_where(db), project, email, &files);
    for (size_t i = 0; i < files.n; i++)
        base_free(files.paths[i]);
    base_free(files.paths);
    return rc;
}
