/* `labelloop db migrate-to URL`: a data dir's SQLite database copied into a new PostgreSQL
 * database (store_copy: one transaction, verified by counts and checksums before it commits).
 * Media and model files stay in the data dir; the server then runs with --db URL. */
#include "cli_int.h"

#include "store/store.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void db_usage(FILE *out)
{
    fprintf(out,
            "usage: labelloop db migrate-to URL [--data-dir DIR]\n\n"
            "migrate-to  copies every user, project, task, annotation, prediction, model\n"
            "            version and job of the data dir's SQLite database into the\n"
            "            PostgreSQL database URL (postgresql://user:password@host/dbname),\n"
            "            which must be empty (a new database: the schema is created). All or\n"
            "            nothing: one transaction, committed only when every table's row\n"
            "            count and checksum match. Stop the server first: rows written\n"
            "            after the copy started are not copied. Then the model files of the\n"
            "            versions (models/) are kept in the database too, so that servers\n"
            "            and workers on other machines can load them. Media stay in the\n"
            "            data dir; afterwards run `labelloop serve --data-dir DIR --db URL`.\n\n"
            "options:\n"
            "  --data-dir DIR   the data dir to copy (default ./labelloop-data)\n");
}

static void progress(void *ctx, const char *table, int64_t done, int64_t total)
{
    struct base_progress **bar = ctx;
    if (!*bar)
        *bar = base_progress_new("migrate", (uint64_t)total, "rows");
    base_progress_update(*bar, (uint64_t)done, table);
}

struct models {
    struct store *to;
    const char *data_dir;
    int kept, missing;
    uint64_t bytes;
};

/* Keeps one version's model file in the target database (zoo versions have none). */
static int keep_model(void *ctx, const struct store_version *v, struct base_err *err)
{
    struct models *m = ctx;
    if (!strncmp(v->file, "zoo:", 4) || !v->file[0])
        return 0;
    char *path = base_path_join(m->data_dir, v->file), *data = NULL;
    size_t len = 0;
    struct base_err e = {0};
    int rc = 0;
    if (base_file_read(path, (size_t)1 << 30, &data, &len, &e)) {
        fprintf(stderr,
                "migrate-to: version %s (project %lld): %s; servers elsewhere cannot load"
                " it\n",
                v->name, (long long)v->project, e.msg);
        m->missing++;
    } else if ((rc = store_model_file_put(m->to, v->id, data, len, err)) == 0) {
        m->kept++;
        m->bytes += len;
    }
    base_free(data);
    base_free(path);
    return rc;
}

static int migrate(const char *data_dir, const char *url)
{
    struct base_err err = {0};
    struct store *from = cli_open_existing_store(data_dir, NULL);
    if (!from)
        return 1;
    struct store *to = store_open(url, &err);
    if (!to) {
        store_close(from);
        return cli_fail("cannot open the target database: %s", err.msg);
    }
    struct store_copy_report *r = base_calloc(1, sizeof *r);
    struct base_progress *bar = NULL;
    double t0 = base_now();
    int rc = store_copy(from, to, progress, &bar, r, &err);
    base_progress_finish(bar, rc ? "failed" : "verified");
    if (rc)
        rc = cli_fail("migrate-to: %s", err.msg);
    else {
        for (int i = 0; i < r->ntables; i++)
            printf("%-16s %10lld rows  checksum %016llx\n", r->table[i].name,
                   (long long)r->table[i].rows, (unsigned long long)r->table[i].checksum);
        printf("migrated %lld rows of %d tables in %.2f s; counts and checksums verified\n",
               (long long)r->rows, r->ntables, base_now() - t0);
        struct models m = {to, data_dir, 0, 0, 0};
        if (store_version_each(to, 0, keep_model, &m, &err))
            rc = cli_fail("migrate-to: the rows are copied, but model files are not: %s (drop"
                          " and create the database, then run it again)",
                          err.msg);
        else
            printf("model files: %d kept in the database (%.1f MB), %d missing\n", m.kept,
                   (double)m.bytes / 1e6, m.missing);
    }
    base_free(r);
    store_close(to);
    store_close(from);
    return rc;
}

int cli_db(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        db_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "migrate-to"))
        return cli_fail("db: unknown subcommand '%s' (migrate-to)", argv[1]);
    static const struct option longs[] = {
        {"data-dir", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *data_dir = "./labelloop-data";
    int c;
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        if (c == 'd')
            data_dir = optarg;
        else {
            db_usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind != argc - 1)
        return cli_fail("db migrate-to: expected one URL (postgresql://...), see --help");
    if (!store_is_url(argv[optind]))
        return cli_fail("db migrate-to: '%s' is not a postgresql:// URL", argv[optind]);
    return migrate(data_dir, argv[optind]);
}
