/* `labelloop train`: trains the built-in FCOS detector on a COCO, YOLO or VOC data set, with a
 * progress bar (loss parts, images/s, ETA, validation AP), and writes the model file. Ctrl-C
 * stops cleanly without writing anything. An unreadable image is skipped (the detector warns
 * about each) and the summary says how many were. */
#include "cli_int.h"

#include "det/det.h"
#include "nn/nn.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char usage_head[] =
    "usage: labelloop train --data PATH --out MODEL [options]\n\n"
    "Trains the built-in detector (FCOS) on the CPU and writes MODEL (safetensors).\n\n"
    "  --data PATH        data set: COCO .json or folder, YOLO folder, Pascal VOC folder\n"
    "  --format F         coco, yolo or voc (default: guessed from the layout)\n"
    "  --out MODEL        model file to write (atomically)\n"
    "  --init MODEL       warm start from this model (classes matched by name)\n"
    "  --epochs N         passes over the training images (default 80)\n"
    "  --img-size N       input size, a multiple of 32 from 64 to 800 (default 320)\n"
    "  --batch N          images per step (default 8)\n"
    "  --val-split F      fraction of images held out for validation (default 0.2)\n"
    "  --seed N           seed of the split, initialisation and augmentation (default 1)\n"
    "  --train-images N   train on the first N images of the training split only (learning\n"
    "                     curves with few labels; validation unchanged)\n"
    "  --max-minutes M    stop after M minutes of training (default: no limit)\n"
    "  --arch NAME        architecture: %s\n"
    "                     (default " DET_DEFAULT_ARCH
    "; the mv3 ones start from a COCO-pretrained\n"
    "                     MobileNetV3, frozen in fcos-mv3, fine-tuned in fcos-mv3-ft)\n";
static const char usage_tail[] =
    "  --lr X             peak learning rate for a batch of 16, scaled linearly with --batch\n"
    "                     (default 0.004 with adamw, 0.02 with sgd)\n"
    "  --optim NAME       adamw (default) or sgd\n"
    "  --cls-loss NAME    quality (default: quality focal loss, IoU-aware scores) or focal\n"
    "  --weight-decay X   AdamW's decoupled decay (default 0.05) or SGD's L2 (default 5e-4)\n"
    "  --mosaic P         probability of 2x2 mosaic augmentation (default 0.5)\n"
    "  --eval-every N     validate every N epochs (default 1)\n"
    "  --threads N        CPU threads (default: all cores)\n"
    "  --log FILE         append one JSON line per validation (learning curve)\n";

/* The one piece of process state: set by SIGINT, polled by the training loop. */
static volatile int interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

struct ui {
    struct base_progress *bar;
    FILE *log;
    int skipped; /* unreadable images, as the last progress report said */
};

static void log_eval(FILE *f, const struct det_train_progress *p)
{
    fprintf(f,
            "{\"epoch\": %d, \"step\": %ld, \"elapsed_s\": %.2f, \"images_per_s\": %.2f, "
            "\"loss\": %.5f, \"loss_cls\": %.5f, \"loss_box\": %.5f, \"loss_ctr\": %.5f, "
            "\"val_ap50\": %.6f, \"val_ap\": %.6f}\n",
            p->epoch, p->step, p->elapsed_s, p->images_per_s, p->loss, p->loss_cls, p->loss_box,
            p->loss_ctr, p->val_ap50, p->val_ap);
    fflush(f);
}

static void on_progress(void *user, const struct det_train_progress *p)
{
    struct ui *ui = user;
    char detail[200], val[64] = "";
    ui->skipped = p->skipped;
    if (p->phase == DET_PHASE_LOADING) {
        if (!p->loaded)
            fprintf(stderr, "loading %d images\n", p->to_load);
        return;
    }
    if (!ui->bar && p->phase != DET_PHASE_DONE)
        ui->bar = base_progress_new("train", (uint64_t)p->steps, "steps");
    if (p->val_ap50 >= 0)
        snprintf(val, sizeof val, "  val AP50 %.3f AP %.3f", p->val_ap50, p->val_ap);
    snprintf(detail, sizeof detail,
             "epoch %d/%d  loss %.3f (cls %.3f box %.3f ctr %.3f)  %.1f img/s%s", p->epoch,
             p->epochs, p->loss, p->loss_cls, p->loss_box, p->loss_ctr, p->images_per_s, val);
    if (p->evaluated && ui->log)
        log_eval(ui->log, p);
    if (p->phase == DET_PHASE_DONE) {
        base_progress_finish(ui->bar, detail);
        ui->bar = NULL;
    } else {
        base_progress_update(ui->bar, (uint64_t)p->step, detail);
    }
}

struct train_args {
    const char *data, *format, *out, *init, *arch, *log, *optim, *cls_loss;
    int epochs, size, batch, seed, threads, eval_every, train_images;
    double val_split, max_minutes, lr, mosaic, wd;
};

/* The first n images of d (same classes). */
static struct det_dataset *first_images(const struct det_dataset *d, int n, struct base_err *err)
{
    struct det_dataset *few = det_dataset_new((const char *const *)d->classes, d->nclasses, err);
    for (int i = 0; few && i < n; i++) {
        const struct det_sample *s = &d->samples[i];
        if (det_dataset_add(few, s->path, s->width, s->height, s->boxes, s->nboxes, err)) {
            det_dataset_free(few);
            return NULL;
        }
    }
    return few;
}

static int run(const struct train_args *a, struct base_err *err)
{
    struct det_dataset *all = NULL, *tr = NULL, *va = NULL;
    struct det_model *m = NULL;
    struct ui ui = {0};
    int unread = 0;
    int rc = cli_det_read(a->data, a->format, &all, &unread, err);
    if (!rc)
        rc = det_dataset_split(all, a->val_split, (uint64_t)a->seed, &tr, &va, err);
    if (!rc && a->train_images > 0 && a->train_images < tr->nsamples) {
        struct det_dataset *few = first_images(tr, a->train_images, err);
        det_dataset_free(tr);
        tr = few;
        rc = few ? 0 : -1;
    }
    if (!rc && a->log && !(ui.log = fopen(a->log, "a")))
        rc = base_err_set(err, BASE_E_IO, "%s: cannot open", a->log);
    if (!rc) {
        fprintf(stderr, "data: %d training and %d validation images, %d classes\n", tr->nsamples,
                va->nsamples, tr->nclasses);
        struct det_train_opts o = {
            .arch = a->arch,
            .input_size = a->size,
            .epochs = a->epochs,
            .batch = a->batch,
            .max_minutes = a->max_minutes,
            .seed = (uint64_t)a->seed,
            .lr = (float)a->lr,
            .optim = a->optim && !strcmp(a->optim, "sgd") ? DET_OPTIM_SGD : DET_OPTIM_ADAMW,
            .weight_decay = a->wd > 0 ? (float)a->wd : 0.0f,
            .mosaic = a->mosaic < 0    ? 0.0f
                      : a->mosaic == 0 ? -1.0f
                                       : (float)a->mosaic,
            .cls_loss =
                a->cls_loss && !strcmp(a->cls_loss, "focal") ? DET_CLS_FOCAL : DET_CLS_QUALITY,
            .eval_every = a->eval_every,
            .init_path = a->init,
            .cancel = &interrupted,
            .progress = on_progress,
            .user = &ui};
        rc = det_train(tr, va, &o, &m, err);
    }
    base_progress_finish(ui.bar, NULL);
    if (!rc)
        rc = det_model_save(m, a->out, err);
    if (!rc) {
        const struct det_model_info *in = det_model_info(m);
        char note[80];
        int skipped = ui.skipped + unread;
        printf("wrote %s: %s, %d classes, %d epochs, val AP50 %.3f AP %.3f%s%s\n", a->out, in->arch,
               in->nclasses, in->epoch, in->val_ap50, in->val_ap, skipped ? "; " : "",
               cli_det_skipped(skipped, note, sizeof note));
    }
    if (ui.log)
        fclose(ui.log);
    det_model_free(m);
    det_dataset_free(all);
    det_dataset_free(tr);
    det_dataset_free(va);
    return rc;
}

int cli_train(int argc, char **argv)
{
    /* wd, mosaic -1: unset, the library chooses */
    struct train_args a = {.val_split = 0.2, .seed = 1, .wd = -1, .mosaic = -1};
    const struct cli_det_opt opts[] = {
        {"--data", CLI_DET_STR, &a.data},
        {"--format", CLI_DET_STR, &a.format},
        {"--out", CLI_DET_STR, &a.out},
        {"--init", CLI_DET_STR, &a.init},
        {"--epochs", CLI_DET_INT, &a.epochs},
        {"--img-size", CLI_DET_INT, &a.size},
        {"--batch", CLI_DET_INT, &a.batch},
        {"--val-split", CLI_DET_DOUBLE, &a.val_split},
        {"--seed", CLI_DET_INT, &a.seed},
        {"--train-images", CLI_DET_INT, &a.train_images},
        {"--max-minutes", CLI_DET_DOUBLE, &a.max_minutes},
        {"--arch", CLI_DET_STR, &a.arch},
        {"--lr", CLI_DET_DOUBLE, &a.lr},
        {"--mosaic", CLI_DET_DOUBLE, &a.mosaic},
        {"--eval-every", CLI_DET_INT, &a.eval_every},
        {"--threads", CLI_DET_INT, &a.threads},
        {"--log", CLI_DET_STR, &a.log},
        {"--optim", CLI_DET_STR, &a.optim},
        {"--cls-loss", CLI_DET_STR, &a.cls_loss},
        {"--weight-decay", CLI_DET_DOUBLE, &a.wd},
    };
    char archs[256] = "", usage[4096];
    for (const char *const *n = det_arch_names(); *n; n++)
        snprintf(archs + strlen(archs), sizeof archs - strlen(archs), "%s%s",
                 n == det_arch_names() ? ""
                 : n[1]                ? ", "
                                       : " or ",
                 *n);
    snprintf(usage, sizeof usage, usage_head, archs);
    snprintf(usage + strlen(usage), sizeof usage - strlen(usage), "%s", usage_tail);
    int status;
    if (cli_det_parse(argc, argv, opts, sizeof opts / sizeof opts[0], usage, &status))
        return status;
    if (!a.data || !a.out)
        return cli_fail("train: --data and --out are required (see --help)") + 1;
    if (a.optim && strcmp(a.optim, "sgd") && strcmp(a.optim, "adamw"))
        return cli_fail("train: --optim is sgd or adamw") + 1;
    if (a.wd != -1 && !(a.wd > 0))
        return cli_fail("train: --weight-decay must be positive") + 1;
    if (a.mosaic != -1 && !(a.mosaic >= 0 && a.mosaic <= 1))
        return cli_fail("train: --mosaic is a probability from 0 to 1") + 1;
    if (a.cls_loss && strcmp(a.cls_loss, "quality") && strcmp(a.cls_loss, "focal"))
        return cli_fail("train: --cls-loss is quality or focal") + 1;
    if (a.threads > 0)
        nn_set_num_threads(a.threads);
    signal(SIGINT, on_sigint);
    struct base_err err = {0};
    if (run(&a, &err))
        return cli_fail("train: %s", err.msg);
    return 0;
}
