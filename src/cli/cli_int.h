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

#include <stddef.h>

/* ---- detector commands (cli_train.c, cli_predict.c, cli_eval.c; helpers in cli_det.c) ---- */

int cli_train(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_eval(int argc, char **argv);

enum cli_det_opt_kind { CLI_DET_STR, CLI_DET_INT, CLI_DET_DOUBLE };

/* One "--name value" option writing into *dst (const char *, int or double). */
struct cli_det_opt {
    const char *name;
    enum cli_det_opt_kind kind;
    void *dst;
};

/* Parses argv[1..] against the table; prints `usage` for --help. Returns 0 to go on, or the
 * exit status (0 after help, 2 for a bad option, with a message). */
int cli_det_parse(int argc, char **argv, const struct cli_det_opt *opts, size_t nopts,
                  const char *usage, int *exit_status);
struct det_dataset;
struct base_err;
/* Reads a COCO, YOLO or VOC data set (format NULL: guessed from the layout) into *out. */
int cli_det_read(const char *path, const char *format, struct det_dataset **out,
                 struct base_err *err);
/* "skipped N image(s) (see warnings above)" into buf, or "" for none: what the detector
 * commands' summaries say about images they could not read. Returns buf. */
const char *cli_det_skipped(int skipped, char *buf, size_t size);

#endif
