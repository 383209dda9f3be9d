/* `labelloop eval`: COCO-style evaluation of a model on a data set (or on the validation part of
 * the same split `labelloop train` makes), printed like pycocotools' summary plus a per-class
 * table, or as JSON. Images that cannot be read are left out (ground truth too) with a warning
 * and counted in the summary. */
#include "cli_int.h"

#include "det/det.h"
#include "nn/nn.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: labelloop eval --model MODEL --data PATH [options]\n\n"
    "Evaluates MODEL on the images and boxes of a data set: AP@[.50:.95], AP50, AP75, by area\n"
    "and per class, with pycocotools' rules (101-point interpolation, area ranges).\n\n"
    "  --model MODEL      model file written by `labelloop train`\n"
    "  --data PATH        data set: COCO .json or folder, YOLO folder, Pascal VOC folder\n"
    "  --format F         coco, yolo or voc (default: guessed)\n"
    "  --val-split F      evaluate only the validation part of train's split (with --seed)\n"
    "  --seed N           seed of that split (default 1)\n"
    "  --json             print the numbers as one JSON object\n"
    "  --threads N        CPU threads (default: all cores)\n";

static void print_summary(const struct det_metrics *m, const struct det_model_info *in)
{
    static const char *const rows[12] = {
        "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
        "Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ]",
        "Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ]",
        "Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
        "Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
        "Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
        "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ]",
        "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ]",
        "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
        "Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
        "Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
        "Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
    };
    const double v[12] = {m->ap,  m->ap50, m->ap75,  m->ap_small, m->ap_medium, m->ap_large,
                          m->ar1, m->ar10, m->ar100, m->ar_small, m->ar_medium, m->ar_large};
    for (int i = 0; i < 12; i++)
        printf(" %s = %.3f\n", rows[i], v[i]);
    printf("\n %-24s %8s %8s\n", "class", "AP", "AP50");
    for (int k = 0; k < m->nclasses; k++)
        printf(" %-24s %8.3f %8.3f\n", in->classes[k], m->class_ap[k], m->class_ap50[k]);
}

static void print_json(const struct det_metrics *m, const struct det_model_info *in, int n)
{
    printf("{\"images\": %d, \"skipped\": %d, \"ap\": %.6f, \"ap50\": %.6f, \"ap75\": %.6f, "
           "\"ap_small\": %.6f, "
           "\"ap_medium\": %.6f, \"ap_large\": %.6f, \"ar1\": %.6f, \"ar10\": %.6f, "
           "\"ar100\": %.6f, \"classes\": {",
           n, m->skipped, m->ap, m->ap50, m->ap75, m->ap_small, m->ap_medium, m->ap_large, m->ar1,
           m->ar10, m->ar100);
    for (int k = 0; k < m->nclasses; k++) {
        char name[512];
        size_t o = 0;
        for (const char *c = in->classes[k]; *c && o < sizeof name - 3; c++) {
            if (*c == '"' || *c == '\\')
                name[o++] = '\\';
            name[o++] = (unsigned char)*c < 0x20 ? ' ' : *c;
        }
        name[o] = 0;
        printf("%s\"%s\": {\"ap\": %.6f, \"ap50\": %.6f}", k ? ", " : "", name, m->class_ap[k],
               m->class_ap50[k]);
    }
    printf("}}\n");
}

struct eval_args {
    const char *model, *data, *format;
    double val_split;
    int seed, threads;
};

static int run(const struct eval_args *a, int as_json, struct base_err *err)
{
    struct det_dataset *all = NULL, *tr = NULL, *va = NULL;
    struct det_predictor *p = det_predictor_open(a->model, err);
    struct det_metrics m = {0};
    int unread = 0;
    int rc = p ? cli_det_read(a->data, a->format, &all, &unread, err) : -1;
    if (!rc && a->val_split > 0)
        rc = det_dataset_split(all, a->val_split, (uint64_t)a->seed, &tr, &va, err);
    const struct det_dataset *d = va ? va : all;
    if (!rc && d->nsamples == 0)
        rc = base_err_set(err, BASE_E_INVALID, "nothing to evaluate");
    if (!rc)
        rc = det_evaluate_dataset(p, d, NULL, &m, err);
    if (!rc) {
        struct det_model *model = det_predictor_acquire(p);
        char note[80];
        int evaluated = d->nsamples - m.skipped;
        m.skipped += unread; /* those the data set reader left out count too */
        if (as_json)
            print_json(&m, det_model_info(model), evaluated);
        else
            print_summary(&m, det_model_info(model));
        if (m.skipped)
            fprintf(stderr, "eval: evaluated %d images, %s\n", evaluated,
                    cli_det_skipped(m.skipped, note, sizeof note));
        det_predictor_release(p, model);
    }
    det_metrics_release(&m);
    det_dataset_free(all);
    det_dataset_free(tr);
    det_dataset_free(va);
    det_predictor_free(p);
    return rc;
}

int cli_eval(int argc, char **argv)
{
    struct eval_args a = {.seed = 1};
    int as_json = 0;
    /* --json takes no value: strip it before the table parser sees it */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--json")) {
            as_json = 1;
            memmove(argv + i, argv + i + 1, (size_t)(argc - i - 1) * sizeof *argv);
            argc--, i--;
        }
    const struct cli_det_opt opts[] = {
        {"--model", CLI_DET_STR, &a.model},   {"--data", CLI_DET_STR, &a.data},
        {"--format", CLI_DET_STR, &a.format}, {"--val-split", CLI_DET_DOUBLE, &a.val_split},
        {"--seed", CLI_DET_INT, &a.seed},     {"--threads", CLI_DET_INT, &a.threads},
    };
    int status;
    if (cli_det_parse(argc, argv, opts, sizeof opts / sizeof opts[0], usage, &status))
        return status;
    if (!a.model || !a.data)
        return cli_fail("eval: --model and --data are required (see --help)") + 1;
    if (a.threads > 0)
        nn_set_num_threads(a.threads);
    struct base_err err = {0};
    if (run(&a, as_json, &err))
        return cli_fail("eval: %s", err.msg);
    return 0;
}
