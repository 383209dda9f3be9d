/* From a project's rows to the detector's data: the detection target of its labeling config,
 * the local file behind a task's image URL, and the training / held-out data sets built from its
 * labeled tasks. Label Studio's percentages become pixels of the displayed image here, so the
 * detector never sees them. */
#include "loop_int.h"

#include "formats/formats.h"

#include <ctype.h>
#include <string.h>
#include <sys/stat.h>

int loop_project_active(const struct store_project *project)
{
    if (!project->loop_enabled)
        return 0;
    const char *key;
    json_t *ctl;
    json_object_foreach(project->parsed_label_config, key, ctl)
    {
        const char *type = json_string_value(json_object_get(ctl, "type"));
        const json_t *input = json_array_get(json_object_get(ctl, "inputs"), 0);
        const char *itype = json_string_value(json_object_get(input, "type"));
        if (type && itype && !strcmp(type, "RectangleLabels") && !strcmp(itype, "Image"))
            return 1;
    }
    return 0;
}

static char **copy_names(const char *const *names, size_t n)
{
    char **out = base_calloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = base_strdup(names[i]);
    return out;
}

int loop_target_load(const struct store_project *project, struct loop_target *t,
                     struct base_err *err)
{
    memset(t, 0, sizeof *t);
    const char *xml = project->label_config;
    struct formats_config *c = NULL;
    if (!xml || formats_config_parse(xml, strlen(xml), &c, err))
        return base_err_prefix(err, "labeling config: ");
    int i = formats_config_find_type(c, "RectangleLabels");
    struct formats_control_info info;
    int rc = -1;
    if (i < 0 || formats_config_control(c, (size_t)i, &info) || !info.data_key) {
        base_err_set(err, BASE_E_INVALID,
                     "the labeling config has no RectangleLabels on an Image: nothing to detect");
    } else if (info.nlabels == 0) {
        base_err_set(err, BASE_E_INVALID, "RectangleLabels \"%s\" has no labels", info.name);
    } else {
        t->from_name = base_strdup(info.name);
        t->to_name = base_strdup(info.to_name);
        t->data_key = base_strdup(info.data_key);
        t->classes = copy_names(info.labels, info.nlabels);
        t->nclasses = (int)info.nlabels;
        rc = 0;
    }
    formats_config_free(c);
    return rc;
}

int loop_project_check(const struct store_project *project, struct base_err *err)
{
    struct loop_target t;
    int rc = loop_target_load(project, &t, err);
    loop_target_release(&t);
    return rc;
}

void loop_target_release(struct loop_target *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->nclasses; i++)
        base_free(t->classes[i]);
    base_free(t->classes);
    base_free(t->from_name);
    base_free(t->to_name);
    base_free(t->data_key);
    memset(t, 0, sizeof *t);
}

/* "<digits>/<plain file name>": nothing that could leave the upload folder. */
static int plain_tail(const char *tail)
{
    size_t digits = strspn(tail, "0123456789");
    const char *name = tail + digits;
    if (digits == 0 || *name != '/' || name[1] == '.' || !name[1])
        return 0;
    for (const char *p = name + 1; *p; p++)
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20)
            return 0;
    return 1;
}

static const char *task_url(const json_t *data, const char *key)
{
    const json_t *v = json_object_get(data, key);
    return json_string_value(v ? v : json_object_get(data, "$undefined$"));
}

void loop_name_s3(const json_t *data, const char *key, struct base_err *err)
{
    const char *url = task_url(data, key);
    if (url && !strncmp(url, "s3://", 5))
        base_err_prefix(err, "%s: ", url);
}

char *loop_task_image(struct store *st, const char *data_dir, const struct loop_media *media,
                      int64_t project, const json_t *data, const char *key, struct base_err *err)
{
    static const char prefix[] = "/data/upload/";
    const json_t *v = json_object_get(data, key);
    if (!v)
        v = json_object_get(data, "$undefined$");
    const char *url = json_string_value(v);
    if (!url) {
        base_err_set(err, BASE_E_INVALID, "no image URL under data.%s", key);
        return NULL;
    }
    if (!strncmp(url, "s3://", 5))
        return loop_s3_file(st, data_dir, project, url, err);
    if (strncmp(url, prefix, sizeof prefix - 1) || !plain_tail(url + sizeof prefix - 1)) {
        base_err_set(err, BASE_E_UNSUPPORTED,
                     "%s: only uploaded images (/data/upload/...) and s3:// objects are"
                     " read by the built-in detector",
                     url);
        return NULL;
    }
    char *rel = base_alloc(strlen(url) + 16);
    sprintf(rel, "media/upload/%s", url + sizeof prefix - 1);
    char *path = loop_data_path(data_dir, rel);
    base_free(rel);
    struct stat sb;
    if (stat(path, &sb) || !S_ISREG(sb.st_mode)) {
        base_free(path);
        if (media) /* a worker on another machine: the server has it */
            return media->fetch(media->ctx, url, err);
        base_err_set(err, BASE_E_NOTFOUND, "%s: the uploaded file is missing", url);
        return NULL;
    }
    return path;
}

char *loop_data_path(const char *data_dir, const char *rel)
{
    return base_path_join(data_dir, rel);
}

char *loop_models_dir(const char *data_dir, int64_t project)
{
    char rel[64];
    snprintf(rel, sizeof rel, "models/%lld", (long long)project);
    return base_path_join(data_dir, rel);
}

struct collect {
    struct store *st;
    const char *data_dir;
    const struct loop_media *media;
    const struct loop_target *t;
    struct loop_data *out;
    struct base_err *err;
};

/* The annotation a task trains on: ground truth first, else the newest finished one. */
static const struct store_annotation *chosen(const struct store_task *task)
{
    const struct store_annotation *best = NULL;
    for (size_t i = 0; i < task->nannotations; i++) {
        const struct store_annotation *a = &task->annotations[i];
        if (a->was_cancelled || !a->result)
            continue;
        if (!best || (a->ground_truth && !best->ground_truth) ||
            (a->ground_truth == best->ground_truth && a->updated_at >= best->updated_at))
            best = a;
    }
    return best;
}

static int add_task(void *ctx, const struct store_task *task, struct base_err *err)
{
    struct collect *x = ctx;
    const struct store_annotation *a = chosen(task);
    if (!a)
        return 0;
    struct base_err e = {0};
    struct image_info info;
    char *path = loop_task_image(x->st, x->data_dir, x->media, task->project, task->data,
                                 x->t->data_key, &e);
    if (path && image_probe_file(path, &info, &e)) {
        loop_name_s3(task->data, x->t->data_key, &e);
        base_free(path);
        path = NULL;
    }
    if (!path) {
        BASE_WARN("loop: task %lld skipped: %s", (long long)task->id, e.msg);
        x->out->skipped++;
        return 0;
    }
    int n = 0;
    struct det_box *b = loop_result_boxes(a->result, x->t->from_name,
                                          (const char *const *)x->t->classes, x->t->nclasses, &n);
    for (int k = 0; k < n; k++) { /* percent -> pixels of the displayed image */
        b[k].x0 *= info.width / 100.0f, b[k].x1 *= info.width / 100.0f;
        b[k].y0 *= info.height / 100.0f, b[k].y1 *= info.height / 100.0f;
    }
    struct det_dataset *d = loop_heldout(task->id) ? x->out->heldout : x->out->train;
    int rc = det_dataset_add(d, path, info.width, info.height, b, n, err);
    base_free(b);
    base_free(path);
    return rc;
}

int loop_data_load(struct store *st, const char *data_dir, const struct loop_media *media,
                   int64_t project, const struct loop_target *t, struct loop_data *out,
                   struct base_err *err)
{
    memset(out, 0, sizeof *out);
    const char *const *classes = (const char *const *)t->classes;
    out->train = det_dataset_new(classes, t->nclasses, err);
    out->heldout = out->train ? det_dataset_new(classes, t->nclasses, err) : NULL;
    if (!out->heldout) {
        loop_data_release(out);
        return -1;
    }
    struct collect x = {st, data_dir, media, t, out, err};
    struct store_task_query q = {.project = project, .only_annotated = 1, .with_annotations = 1};
    if (store_task_each(st, &q, add_task, &x, err)) {
        loop_data_release(out);
        return -1;
    }
    return 0;
}

int loop_dataset_append(struct det_dataset *dst, const struct det_dataset *src, const char *keep,
                        struct base_err *err)
{
    for (int i = 0; i < src->nsamples; i++) {
        const struct det_sample *s = &src->samples[i];
        if ((!keep || keep[i]) &&
            det_dataset_add(dst, s->path, s->width, s->height, s->boxes, s->nboxes, err))
            return -1;
    }
    return 0;
}

/* A new data set of the samples of d whose keep[i] is set; d is freed. */
static struct det_dataset *keep_only(struct det_dataset *d, const char *keep, struct base_err *err)
{
    struct det_dataset *out = det_dataset_new((const char *const *)d->classes, d->nclasses, err);
    if (out && loop_dataset_append(out, d, keep, err)) {
        det_dataset_free(out);
        out = NULL;
    }
    det_dataset_free(d);
    return out;
}

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

int loop_data_cap(struct loop_data *d, int max_train, int max_heldout, uint64_t seed,
                  struct base_err *err)
{
    int n = d->train->nsamples, m = d->heldout->nsamples;
    d->train_total = n, d->heldout_total = m;
    if (n > max_train) {
        int *order = base_alloc((size_t)n * sizeof *order);
        char *keep = base_calloc((size_t)n, 1);
        uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
        for (int i = 0; i < n; i++)
            order[i] = i;
        for (int i = 0; i < max_train; i++) { /* the first max_train of a Fisher-Yates shuffle */
            int j = i + (int)(next_random(&x) % (uint64_t)(n - i)), t = order[i];
            order[i] = order[j], order[j] = t;
            keep[order[i]] = 1;
        }
        d->train = keep_only(d->train, keep, err);
        base_free(order);
        base_free(keep);
    }
    if (d->train && m > max_heldout) {
        char *keep = base_calloc((size_t)m, 1);
        memset(keep + (m - max_heldout), 1, (size_t)max_heldout); /* samples are in task order */
        d->heldout = keep_only(d->heldout, keep, err);
        base_free(keep);
    }
    return d->train && d->heldout ? 0 : -1;
}

void loop_data_release(struct loop_data *d)
{
    if (!d)
        return;
    det_dataset_free(d->train);
    det_dataset_free(d->heldout);
    memset(d, 0, sizeof *d);
}
