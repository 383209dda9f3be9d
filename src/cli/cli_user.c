/* `labelloop user create|token|reset-token|reset-password`: manage users, their API tokens and
 * passwords from the command line, directly on the database (works while the server runs:
 * SQLite serialises writers). Only `create` may start a new data directory; the others refuse a
 * folder without a database, naming it, instead of making an empty one. */
#include "cli_int.h"

#include "store/store.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void user_usage(FILE *out)
{
    fprintf(out,
            "usage: labelloop user create --email EMAIL [--password PW] [--superuser]\n"
            "       labelloop user token --email EMAIL\n"
            "       labelloop user reset-token --email EMAIL\n"
            "       labelloop user reset-password --email EMAIL [--password PW]\n\n"
            "create          adds a user and prints its API token (and the password if\n"
            "                generated)\n"
            "token           prints the user's API token (for Authorization: Token ...)\n"
            "reset-token     replaces the token with a new one and prints it\n"
            "reset-password  sets a new password (generated and printed without --password)\n\n"
            "options:\n"
            "  --data-dir DIR   database and media (default ./labelloop-data)\n"
            "  --db URL         the database instead of the data dir's: postgresql://... or a\n"
            "                   SQLite file (default $LABELLOOP_DB)\n"
            "  --email EMAIL    the user\n"
            "  --password PW    password for create and reset-password (at least 8\n"
            "                   characters; default generated)\n"
            "  --superuser      make the new user an administrator\n");
}

struct user_opts {
    const char *data_dir, *email, *password, *db;
    int superuser;
};

static int parse_user(int argc, char **argv, struct user_opts *o)
{
    static const struct option longs[] = {{"data-dir", required_argument, 0, 'd'},
                                          {"email", required_argument, 0, 'e'},
                                          {"password", required_argument, 0, 'p'},
                                          {"superuser", no_argument, 0, 's'},
                                          {"db", required_argument, 0, 'D'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->data_dir = optarg;
            break;
        case 'e':
            o->email = optarg;
            break;
        case 'D':
            o->db = optarg;
            break;
        case 'p':
            o->password = optarg;
            break;
        case 's':
            o->superuser = 1;
            break;
        case 'h':
            user_usage(stdout);
            return -1;
        default:
            user_usage(stderr);
            return 2;
        }
    }
    if (!o->email)
        return cli_fail("user: --email is required");
    return 0;
}

static int user_create(struct store *st, const struct user_opts *o)
{
    char password[25], token[STORE_TOKEN_LEN + 1];
    struct base_err err = {0};
    if (!o->password && base_random_hex(password, 12, &err))
        return cli_fail("%s", err.msg);
    struct store_user u;
    if (store_user_create(st, o->email, o->password ? o->password : password, o->superuser, &u,
                          token, &err))
        return cli_fail("%s", err.msg);
    printf("created user %lld %s\n", (long long)u.id, u.email);
    if (!o->password)
        printf("password: %s\n", password);
    printf("token: %s\n", token);
    return 0;
}

static int user_password(struct store *st, const struct user_opts *o)
{
    char password[25];
    struct store_user u;
    struct base_err err = {0};
    if (store_user_by_email(st, o->email, &u, &err))
        return cli_fail("no user with email '%s'", o->email);
    if (!o->password && base_random_hex(password, 12, &err))
        return cli_fail("%s", err.msg);
    if (store_user_set_password(st, u.id, o->password ? o->password : password, &err))
        return cli_fail("%s", err.msg);
    printf("new password set for %s\n", u.email);
    if (!o->password)
        printf("password: %s\n", password);
    return 0;
}

static int user_token(struct store *st, const struct user_opts *o, int reset)
{
    struct store_user u;
    char token[STORE_TOKEN_LEN + 1];
    struct base_err err = {0};
    if (store_user_by_email(st, o->email, &u, &err))
        return cli_fail("no user with email '%s'", o->email);
    if (reset ? store_user_reset_token(st, u.id, token, &err)
              : store_user_token(st, u.id, token, &err))
        return cli_fail("%s", err.msg);
    printf("%s\n", token);
    return 0;
}

int cli_user(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        user_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "create") && strcmp(sub, "token") && strcmp(sub, "reset-token") &&
        strcmp(sub, "reset-password"))
        return cli_fail(
            "user: unknown subcommand '%s' (create, token, reset-token, reset-password)", sub);
    struct user_opts o = {.data_dir = "./labelloop-data"};
    int rc = parse_user(argc - 1, argv + 1, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    int create = !strcmp(sub, "create");
    const char *db = cli_db_where(o.db);
    struct store *st =
        create ? cli_open_store(o.data_dir, db) : cli_open_existing_store(o.data_dir, db);
    if (!st)
        return 1;
    rc = create                           ? user_create(st, &o)
         : !strcmp(sub, "reset-password") ? user_password(st, &o)
                                          : user_token(st, &o, !strcmp(sub, "token") ? 0 : 1);
    store_close(st);
    return rc;
}
