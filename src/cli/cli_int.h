/* Shared between the command files of src/cli: the command table entry and option helpers. */
#ifndef LL_CLI_INT_H
#define LL_CLI_INT_H

struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

/* Prints "labelloop: <message>" to stderr and returns exit status 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True for -h / --help. */
int cli_is_help(const char *arg);

int cli_version(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_export(int argc, char **argv);

struct store;
/* Creates the data directory (and media/upload) if needed and opens its database; prints the
 * error and returns NULL on failure. */
struct store *cli_open_store(const char *data_dir);
/* Sets the log level from its name; prints an error and returns 1 for an unknown one. */
int cli_set_log_level(const char *name);

#endif
