/* Predictions for tasks a project already has: a Label Studio JSON task file (what `labelloop
 * predict` writes) whose tasks are matched to the project's by image file name, else by task id
 * ("id" or "task"), and whose predictions are added to those tasks; no task is created. This is
 * how a model run outside the server pre-labels images that were uploaded earlier
 * (`labelloop import --format json --match-existing`, the import panel's data set tab). */
#include "api_int.h"

#include "formats/formats.h"

#include <string.h>

/* The file name a task's image was uploaded as, without the 8-hex prefix the upload adds
 * ("1a2b3c4d-raccoon-1.jpg" -> "raccoon-1.jpg"), or the base name of its data value. */
static const char *task_name(const struct store_task *t, const char *key)
{
    const char *f = t->file_upload;
    if (f && strlen(f) > 9 && f[8] == '-')
        return f + 9;
    const char *v = json_string_value(json_object_get(t->data, key ? key : "$undefined$"));
    if (!v) {
        const char *k;
        json_t *x;
        json_object_foreach(t->data, k,
                            x) if (json_is_string(x) && (v = json_string_value(x))) break;
    }
    const char *slash = v ? strrchr(v, '/') : NULL;
    return slash ? slash + 1 : v;
}

/* Spaces become '_' as an upload's stored name has them. */
static char *norm_name(const char *name)
{
    char *s = base_strdup(name);
    for (char *p = s; *p; p++)
        if (*p == ' ')
            *p = '_';
    return s;
}

struct index {
    json_t *by_name; /* file name -> first task id with it */
    json_t *ids;     /* "<id>" -> true, the project's tasks */
    const char *key;
};

static int index_task(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)err;
    struct index *x = ctx;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)t->id);
    json_object_set_new(x->ids, id, json_true());
    const char *name = task_name(t, x->key);
    if (name && *name) {
        char *n = norm_name(name);
        if (!json_object_get(x->by_name, n))
            json_object_set_new(x->by_name, n, json_integer(t->id));
        base_free(n);
    }
    return 0;
}

/* The project task a file's task names: by its image's file name, else by its id. 0: none. */
static int64_t match(const struct index *x, const json_t *t)
{
    const json_t *data = json_object_get(t, "data");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)data, k, v)
    {
        const char *s = json_string_value(v), *slash = s ? strrchr(s, '/') : NULL;
        if (!s)
            continue;
        char *n = norm_name(slash ? slash + 1 : s);
        json_t *hit = json_object_get(x->by_name, n);
        base_free(n);
        if (hit)
            return json_integer_value(hit);
    }
    const json_t *id = json_object_get(t, "id");
    if (!json_is_integer(id))
        id = json_object_get(t, "task");
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)json_integer_value(id));
    return json_is_integer(id) && json_object_get(x->ids, key) ? json_integer_value(id) : 0;
}

/* A task's predictions (and with as_predictions its annotations) as store predictions. */
static void add_preds(const struct api_dataset_import *o, const json_t *t, int64_t task,
                      struct store_prediction **ps, size_t *n)
{
    static const char *const lists[] = {"predictions", "annotations"};
    for (int l = 0; l < (o->as_predictions ? 2 : 1); l++) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(t, lists[l]), i, p)
        {
            *ps = base_realloc(*ps, (*n + 1) * sizeof **ps);
            struct store_prediction *q = &(*ps)[(*n)++];
            memset(q, 0, sizeof *q);
            q->task = task;
            q->result = json_incref(json_object_get(p, "result"));
            q->has_score = json_is_number(json_object_get(p, "score"));
            q->score = json_number_value(json_object_get(p, "score"));
            const char *mv = o->model_version
                                 ? o->model_version
                                 : json_string_value(json_object_get(p, "model_version"));
            snprintf(q->model_version, sizeof q->model_version, "%s", mv ? mv : "undefined");
        }
    }
}

static int read_tasks(const char *path, json_t **tasks, struct base_err *err)
{
    char *text = NULL;
    size_t len;
    int rc = base_file_read(path, (size_t)1 << 30, &text, &len, err) ||
                     formats_tasks_parse(text, len, tasks, NULL, err)
                 ? -1
                 : 0;
    if (rc)
        base_err_prefix(err, "%s: ", path);
    base_free(text);
    return rc;
}

int api_import_match(struct api *api, const struct api_dataset_import *o,
                     const struct store_project *row, struct store_import_result *res,
                     struct base_err *err)
{
    struct index x = {json_object(), json_object(), store_project_data_key(row)};
    struct store_task_query q = {.project = o->project};
    json_t *tasks = NULL, *t;
    struct store_prediction *ps = NULL;
    size_t n = 0, i;
    int rc =
        read_tasks(o->path, &tasks, err) || store_task_each(api->store, &q, index_task, &x, err)
            ? -1
            : 0;
    json_array_foreach(rc ? NULL : tasks, i, t)
    {
        int64_t task = match(&x, t);
        if (!task) {
            rc = base_err_set(err, BASE_E_INVALID,
                              "%s: task %zu matches no task of project %lld (by image file name "
                              "or task id)",
                              o->path, i + 1, (long long)o->project);
            break;
        }
        add_preds(o, t, task, &ps, &n);
        if (o->progress)
            o->progress(o->progress_ctx, i + 1, json_array_size(tasks), "");
    }
    if (!rc)
        rc = store_predictions_import(api->store, o->project, ps, n, err);
    if (!rc)
        *res = (struct store_import_result){.prediction_count = (int64_t)n};
    for (i = 0; i < n; i++)
        store_prediction_release(&ps[i]);
    base_free(ps);
    json_decref(tasks);
    json_decref(x.by_name);
    json_decref(x.ids);
    return rc;
}
