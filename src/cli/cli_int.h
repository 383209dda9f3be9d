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

#endif
