/* Helpers shared by the commands that work on a data directory (serve, user, import). */
#include "cli_int.h"

#include "store/store.h"

#include <string.h>

struct store *cli_open_store(const char *data_dir)
{
    struct base_err err = {0};
    char *media = base_path_join(data_dir, "media/upload");
    char *db = base_path_join(data_dir, "labelloop.sqlite3");
    struct store *st = NULL;
    if (base_mkdirs(media, &err))
        cli_fail("cannot create %s: %s", media, err.msg);
    else if (!(st = store_open(db, &err)))
        cli_fail("%s", err.msg);
    base_free(media);
    base_free(db);
    return st;
}

struct store *cli_open_existing_store(const char *data_dir)
{
    char *db = base_path_join(data_dir, "labelloop.sqlite3");
    int there = base_file_exists(db);
    base_free(db);
    if (!there) {
        cli_fail(
            "no labelloop data in %s (it has no labelloop.sqlite3): name the folder `labelloop "
            "serve` uses with --data-dir DIR",
            data_dir);
        return NULL;
    }
    return cli_open_store(data_dir);
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
