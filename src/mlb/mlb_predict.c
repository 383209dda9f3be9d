/* POST /predict (spec 3.5): every task of the request in one pass, one result per task in the
 * order of `tasks`, each with its score and model_version, so that Label Studio never falls back
 * to one call per task. A task whose image cannot be read keeps its place with an empty result
 * and its reason in "errors"; without a trained model the answer is an empty list, which Label
 * Studio stores nothing for. */
#include "mlb_int.h"

#include <string.h>

static json_t *predict_task(struct mlb_server *s, const char *uid, int64_t project, const char *key,
                            const char *version, const json_t *task, json_t *errors)
{
    char host[1024], token[MLB_TOKEN_MAX];
    mlb_project_source(s, uid, host, sizeof host, token, sizeof token);
    struct mlb_source src = {host, token};
    struct base_err err = {0};
    const char *url = mlb_media_url(json_object_get(task, "data"), key);
    char *path = url ? mlb_media_get(s->media, &src, url, &err) : NULL;
    json_t *pred = NULL;
    if (!url)
        base_err_set(&err, BASE_E_INVALID, "no media URL under data.%s", key);
    else if (path && loop_predict_image(s->loop, project, path, &pred, &err) == 0 && !pred)
        base_err_set(&err, BASE_E_NOTFOUND, "no model");
    base_free(path);
    if (pred)
        return pred;
    json_array_append_new(
        errors, json_pack("{s:O, s:s}", "task", json_object_get(task, "id"), "error", err.msg));
    return json_pack("{s:[], s:f, s:s}", "result", 0.0, "model_version", version);
}

int mlb_predict(struct mlb_server *s, json_t *body, json_t **out, struct base_err *err)
{
    json_t *tasks = json_object_get(body, "tasks");
    const char *uid = json_string_value(json_object_get(body, "project"));
    const char *schema = json_string_value(json_object_get(body, "label_config"));
    if (!json_is_array(tasks))
        return base_err_set(err, BASE_E_INVALID, "'tasks' must be a list of tasks");
    int64_t project;
    if (mlb_project_get(s, uid, schema, &project, err))
        return -1;
    struct store_version v = {0};
    if (store_version_current(s->st, project, &v, NULL)) {
        *out = json_pack("{s:[], s:s}", "results", "model_version", MLB_NO_VERSION);
        return 0;
    }
    struct store_project p = {0};
    if (store_project_get(s->st, project, &p, err)) {
        store_version_release(&v);
        return -1;
    }
    const char *key = store_project_data_key(&p);
    if (!key)
        key = "image";
    json_t *results = json_array(), *errors = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
    {
        json_array_append_new(results, predict_task(s, uid, project, key, v.name, t, errors));
    }
    *out = json_pack("{s:o, s:s}", "results", results, "model_version", v.name);
    if (json_array_size(errors))
        json_object_set(*out, "errors", errors);
    json_decref(errors);
    store_project_release(&p);
    store_version_release(&v);
    return 0;
}
