/* Zero-shot pre-labels: a project whose labels are COCO classes or `face` (by name, a synonym,
 * or its own loop_label_map setting) gets the zoo as its first registry version: the CenterNet
 * for COCO's classes, FaceBoxes for faces, one version running both when it has both (projects
 * whose zoo version predates FaceBoxes and names BlazeFace keep BlazeFace). So every
 * task is pre-labeled before anyone annotates; the first trained model replaces it only by
 * beating it on the held-out tasks, the registry's usual rule. A zoo version has no file: its
 * `file` is the zoo name, and the model is opened with the project's current label mapping. */
#include "loop_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ZOO_THRESHOLD 0.3f /* the zoo version's pre-label threshold: no held-out set to tune it */

int loop_is_zoo(const char *file)
{
    return !strncmp(file, "zoo:", 4);
}

/* Trims spaces at both ends of [s, s + n) in place; returns the new start and sets *len. */
static const char *trim(const char *s, size_t n, size_t *len)
{
    while (n && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    *len = n;
    return s;
}

int loop_label_map_each(const char *text, loop_label_map_fn *fn, void *ctx, struct base_err *err)
{
    int line = 0;
    while (text && *text) {
        const char *end = strchr(text, '\n');
        size_t n = end ? (size_t)(end - text) : strlen(text), ln, cn;
        line++;
        const char *arrow = memmem(text, n, "->", 2);
        const char *l = trim(text, arrow ? (size_t)(arrow - text) : n, &ln);
        const char *c = arrow ? trim(arrow + 2, n - (size_t)(arrow - text) - 2, &cn) : NULL;
        if (!arrow && ln)
            return base_err_set(err, BASE_E_INVALID, "line %d: write \"label -> COCO class\"",
                                line);
        if (arrow) {
            char label[256], cls[256];
            snprintf(label, sizeof label, "%.*s", (int)ln, l);
            snprintf(cls, sizeof cls, "%.*s", (int)cn, c);
            int k = det_zoo_match(cls);
            if (!ln || k < 0)
                return base_err_set(err, BASE_E_INVALID,
                                    "line %d: '%s' is neither a COCO class nor face", line, cls);
            if (fn && fn(ctx, label, k))
                return 0;
        }
        text = end ? end + 1 : text + n;
    }
    return 0;
}

struct find {
    const char *label;
    int cls;
};

static int find_label(void *ctx, const char *label, int cls)
{
    struct find *f = ctx;
    if (strcasecmp(label, f->label))
        return 0;
    f->cls = cls;
    return 1;
}

char *loop_zoo_spec(const struct store_project *project, const struct loop_target *t,
                    const char *file)
{
    int blaze = file && strstr(file, "blazeface") != NULL;
    const char *map = project->loop_label_map;
    int n;
    const char *const *names = det_zoo_classes(&n);
    struct base_buf b;
    base_buf_init(&b, (size_t)1 << 20); /* labels are short; a config has at most thousands */
    int matched = 0, coco = 0, face = 0;
    for (int i = 0; i < t->nclasses; i++) {
        struct find f = {t->classes[i], -1};
        if (map)
            loop_label_map_each(map, find_label, &f, NULL); /* checked when it was set */
        if (f.cls < 0)
            f.cls = det_zoo_match(t->classes[i]);
        if (f.cls < 0 || strchr(t->classes[i], '\n') || strchr(t->classes[i], '\t'))
            continue;
        base_buf_printf(&b, NULL, "\n%s\t%s", t->classes[i], names[f.cls]);
        matched++;
        face |= f.cls == DET_ZOO_FACE_CLASS;
        coco |= f.cls != DET_ZOO_FACE_CLASS;
    }
    char *lines = base_buf_steal(&b, NULL), *spec = NULL;
    if (matched) /* the zoo model with the networks the labels need */
        spec = base_strprintf("%s%s",
                              !face  ? DET_ZOO_CENTERNET
                              : coco ? (blaze ? DET_ZOO_BOTH_BLAZEFACE : DET_ZOO_BOTH)
                                     : (blaze ? DET_ZOO_BLAZEFACE : DET_ZOO_FACES),
                              lines);
    base_free(lines);
    return spec;
}

/* Writes the copy of v's model file kept in the database to path, when there is one. */
static void fetch_model(struct store *st, const struct store_version *v, const char *path)
{
    struct base_buf b;
    base_buf_init(&b, (size_t)1 << 30);
    struct base_err e = {0};
    char *dir = base_strdup(path);
    *strrchr(dir, '/') = 0;
    if (store_model_file_get(st, v->id, &b, &e) == 0 &&
        (base_mkdirs(dir, &e) || base_file_write_atomic(path, b.data, b.len, &e)))
        BASE_WARN("loop: cannot write model %s (version %s): %s", path, v->name, e.msg);
    else if (e.status && e.status != BASE_E_NOTFOUND)
        BASE_WARN("loop: model of version %s: %s", v->name, e.msg);
    else if (!e.status)
        BASE_INFO("loop: model of version %s copied from the database to %s", v->name, path);
    base_free(dir);
    base_buf_release(&b);
}

char *loop_model_path(struct store *st, const char *data_dir, const struct store_project *project,
                      const struct loop_target *t, const struct store_version *v)
{
    if (!loop_is_zoo(v->file)) {
        char *path = loop_data_path(data_dir, v->file);
        if (!base_file_exists(path) && strchr(path, '/'))
            fetch_model(st, v, path);
        return path;
    }
    char *spec = loop_zoo_spec(project, t, v->file);
    return spec ? spec : base_strdup(v->file); /* no label matches now: predicts nothing */
}

/* The version row of the zoo model for the project's matching labels. */
static void describe(int64_t project, const struct loop_target *t, const char *spec,
                     struct store_version *v)
{
    memset(v, 0, sizeof *v);
    v->project = project;
    int name = (int)strcspn(spec, "\n");
    snprintf(v->file, sizeof v->file, "%.*s", name, spec);
    snprintf(v->arch, sizeof v->arch, "%s", v->file + 4);
    v->input_size = strcmp(v->file, DET_ZOO_BLAZEFACE) ? 512 : 256;
    v->classes = json_array();
    size_t used = (size_t)snprintf(v->reason, sizeof v->reason, "zero-shot %s for", v->arch);
    for (const char *line = strchr(spec, '\n'); line; line = strchr(line + 1, '\n')) {
        const char *tab = strchr(line, '\t'), *end = strchr(line + 1, '\n');
        int ln = (int)(tab - line - 1), cn = (int)((end ? end : tab + strlen(tab)) - tab - 1);
        json_array_append_new(v->classes, json_stringn(line + 1, (size_t)ln));
        if (used < sizeof v->reason)
            used += (size_t)snprintf(v->reason + used, sizeof v->reason - used, " %.*s (%.*s)", ln,
                                     line + 1, cn, tab + 1);
    }
    (void)t;
    v->score_thr = ZOO_THRESHOLD;
}

int loop_zoo_start(struct loop *l, int64_t project, struct base_err *err)
{
    struct store_project row = {0};
    struct loop_target t = {0};
    struct store_version cur = {0}, v = {0};
    char *spec = NULL;
    if (l->cfg.no_zoo)
        return 0;
    int rc = store_project_get(l->st, project, &row, err);
    if (rc || !loop_project_active(&row) || loop_target_load(&row, &t, NULL) ||
        !store_version_current(l->st, project, &cur, NULL) ||
        !(spec = loop_zoo_spec(&row, &t, NULL)))
        goto out; /* a model already, or nothing the zoo knows */
    describe(project, &t, spec, &v);
    rc = store_version_create(l->st, &v, v.file, 1, 0, err) ? -1 : 1;
    if (rc == 1)
        BASE_INFO("loop: project %lld: %s pre-labels its tasks (%s)", (long long)project, v.name,
                  v.reason);
out:
    base_free(spec);
    store_version_release(&cur);
    store_version_release(&v);
    loop_target_release(&t);
    store_project_release(&row);
    return rc;
}
