/* Helpers shared by the commands that work on a data directory (serve, user, import, export,
 * ml-backend, train-worker): where their database is, and opening it. */
#include "cli_int.h"

#include "store/store.h"

#include <stdlib.h>
#include <string.h>

const char *cli_db_where(const char *flag)
{
    if (flag && *flag)
        return flag;
    const char *env = getenv("LABELLOOP_DB");
    return env && *env ? env : NULL;
}

/* The database the command opens: db, or the data dir's SQLite file (base_free). */
static char *db_path(const char *data_dir, const char *db)
{
    return db ? base_strdup(db) : base_path_join(data_dir, "labelloop.sqlite3");
}

struct store *cli_open_store(const char *data_dir, const char *db)
{
    struct base_err err = {0};
    char *media = base_path_join(data_dir, "media/upload");
    char *where = db_path(data_dir, db);
    struct store *st = NULL;
    char shown[512];
    if (base_mkdirs(media, &err))
        cli_fail("cannot create %s: %s", media, err.msg);
    else if (!(st = store_open(where, &err)))
        cli_fail("%s: %s", store_where_shown(where, shown, sizeof shown), err.msg);
    base_free(media);
    base_free(where);
    return st;
}

struct store *cli_open_existing_store(const char *data_dir, const char *db)
{
    char *where = db_path(data_dir, db);
    /* a database server's database is created by its administrator: only a file can be
     * missing */
    int there = store_is_url(where) || base_file_exists(where);
    base_free(where);
    if (!there) {
        if (db)
            cli_fail("no labelloop database at %s", db);
        else
            cli_fail("no labelloop data in %s (it has no labelloop.sqlite3): name the folder "
                     "`labelloop serve` uses with --data-dir DIR",
                     data_dir);
        return NULL;
    }
    return cli_open_store(data_dir, db);
}

int cli_set_log_level(const char *name)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, names[i])) {
            base_log_set_level((enum base_log_level)i);
            return 0;
        }
    return cli_fail("--log-level: expected debug, info, warn, error or off, got '%s'", name);
}
