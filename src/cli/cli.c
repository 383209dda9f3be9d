/* Command dispatch: a table of commands instead of an if-chain; `labelloop help` lists it. */
#include "cli.h"
#include "cli_int.h"

#include "base/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct cli_command commands[] = {
    {"version", "print the version", cli_version},
    {"serve", "run the labeling server (REST API, media, browser UI)", cli_serve},
    {"user", "create users, print or reset their API tokens", cli_user},
    {"ml-backend", "serve the detector to Label Studio (its ML backend protocol)", cli_ml_backend},
    {"import", "import a folder of images into a project", cli_import},
    {"export", "export a project (JSON, JSON_MIN, CSV, TSV, COCO, YOLO, VOC)", cli_export},
    {"db", "move a data dir's database to PostgreSQL (db migrate-to URL)", cli_db},
    {"train", "train the built-in detector on a COCO, YOLO or VOC data set", cli_train},
    {"predict", "detect objects in a folder of images with a trained model", cli_predict},
    {"eval", "evaluate a model on a data set (COCO-style AP)", cli_eval},
    {"model", "convert pretrained weights (TensorFlow.js) to labelloop's format", cli_model},
    {"simulate", "run the whole loop on a labeled data set with a simulated annotator",
     cli_simulate},
    {"train-worker", "run one job of the loop (started by the server, not by hand)",
     cli_train_worker},
};

static const size_t ncommands = sizeof commands / sizeof commands[0];

static void usage(FILE *out)
{
    fprintf(out, "usage: labelloop <command> [options]\n\n"
                 "labelloop: label images, and a built-in detector learns from every box.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < ncommands; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun `labelloop <command> --help` for the options of a command.\n");
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("labelloop: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_is_help(const char *arg)
{
    return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

int cli_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1 && cli_is_help(argv[1])) {
        printf("usage: labelloop version\n\nPrints the version of labelloop.\n");
        return 0;
    }
    printf("labelloop %s\n", LL_VERSION);
    return 0;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1]) || !strcmp(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version"))
        return cli_version(1, argv + 1);
    for (size_t i = 0; i < ncommands; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    usage(stderr);
    return cli_fail("unknown command '%s'", argv[1]) + 1;
}
