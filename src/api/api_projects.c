/* /api/projects: list, create, read, update, delete, config validation, and the labeling
 * queue's /next. Field checks follow the column table of the store, so a new project setting
 * needs no code here. */
#include "api_int.h"

#include <string.h>

static const char *const samplings[] = {"Sequential sampling", "Uniform sampling",
                                        "Uncertainty sampling", NULL};
static const char *const skip_queues[] = {"REQUEUE_FOR_ME", "REQUEUE_FOR_OTHERS", "IGNORE_SKIPPED",
                                          NULL};

static int one_of(const char *s, const char *const *choices)
{
    for (size_t i = 0; choices[i]; i++)
        if (!strcmp(s, choices[i]))
            return 1;
    return 0;
}

static int check_type(struct api_req *r, const struct store_column *col, json_t *v,
                      struct base_err *err)
{
    static const char *const messages[] = {
        [STORE_BOOL] = "Must be a valid boolean.",
        [STORE_INT] = "A valid integer is required.",
        [STORE_REAL] = "A valid number is required.",
        [STORE_TEXT] = "Not a valid string.",
        [STORE_TEXT_NULL] = "Not a valid string.",
        [STORE_JSON] = "Expected a dictionary of items.",
    };
    int ok = col->type == STORE_BOOL   ? json_is_boolean(v)
             : col->type == STORE_INT  ? json_is_integer(v)
             : col->type == STORE_REAL ? json_is_number(v)
             : col->type == STORE_JSON
                 ? json_is_object(v)
                 : json_is_string(v) || (col->type == STORE_TEXT_NULL && json_is_null(v));
    if (!ok && json_is_null(v))
        return api_invalid(r, err, col->name, "This field may not be null.");
    return ok ? 0 : api_invalid(r, err, col->name, "%s", messages[col->type]);
}

/* Rules beyond the type, as Label Studio's serializer applies them. */
static int check_value(struct api_req *r, const char *key, json_t *v, struct base_err *err)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (!strcmp(key, "title") && n > 50)
        return api_invalid(r, err, key, "Ensure this field has no more than 50 characters.");
    if (!strcmp(key, "title") && n > 0 && n < 3)
        return api_invalid(r, err, key, "Ensure this field has at least 3 characters.");
    if (!strcmp(key, "sampling") && !one_of(s, samplings))
        return api_invalid(r, err, key, "\"%s\" is not a valid choice.", s);
    if (!strcmp(key, "skip_queue") && !one_of(s, skip_queues))
        return api_invalid(r, err, key, "\"%s\" is not a valid choice.", s);
    if (!strcmp(key, "color") && n > 16)
        return api_invalid(r, err, key, "Ensure this field has no more than 16 characters.");
    if (!strcmp(key, "maximum_annotations") && json_integer_value(v) < 1)
        return api_invalid(r, err, key, "Ensure this value is greater than or equal to 1.");
    if ((!strcmp(key, "min_annotations_to_start_training") ||
         !strcmp(key, "overlap_cohort_percentage")) &&
        json_integer_value(v) < 0)
        return api_invalid(r, err, key, "Ensure this value is greater than or equal to 0.");
    if ((!strcmp(key, "loop_min_labeled") || !strcmp(key, "loop_retrain_every")) &&
        (json_integer_value(v) < 0 || json_integer_value(v) > 1000000))
        return api_invalid(r, err, key, "Ensure this value is between 0 and 1000000.");
    if (!strcmp(key, "label_config") && n == 0)
        return api_invalid(r, err, key, "This field may not be blank.");
    struct base_err why = {0};
    if (!strcmp(key, "loop_label_map") && loop_label_map_each(s, NULL, NULL, &why))
        return api_invalid(r, err, key, "%s", why.msg);
    return 0;
}

/* Copies the settable fields of `body` into a new object, checking each; the derived config
 * columns are filled when label_config is set. */
static json_t *project_fields(struct api_req *r, json_t *body, struct base_err *err)
{
    json_t *fields = json_object(), *v;
    const char *key;
    int bad = 0;
    json_object_foreach(body, key, v)
    {
        const struct store_column *col = store_project_column(key);
        if (!strcmp(key, "start_training_on_annotation_update")) {
            int on = 0;
            bad |= api_field_bool(r, body, key, &on, NULL, err) != 0;
            json_object_set_new(fields, "min_annotations_to_start_training", json_integer(on));
            continue;
        }
        if (!col || !strcmp(key, "parsed_label_config") || !strcmp(key, "data_types"))
            continue;
        if (check_type(r, col, v, err) || check_value(r, key, v, err)) {
            bad = 1;
            continue;
        }
        json_object_set(fields, key, v);
    }
    const char *xml = json_string_value(json_object_get(fields, "label_config"));
    if (!bad && xml && api_label_config_apply(r, xml, "label_config", fields, err))
        bad = 1;
    if (bad) {
        json_decref(fields);
        if (err->status != BASE_E_INVALID)
            base_err_set(err, BASE_E_INVALID, "Validation error");
        return NULL;
    }
    return fields;
}

int api_project_row(struct api_req *r, int64_t id, struct store_project *p, struct base_err *err)
{
    return store_project_get(r->api->store, id, p, err);
}

static int reply_project(struct api_req *r, int status, int64_t id, struct base_err *err)
{
    struct store_project p = {0};
    struct store_project_counts c;
    int rc = store_project_get(r->api->store, id, &p, err) ||
             store_project_counts(r->api->store, id, &c, err);
    json_t *row = rc ? NULL : store_project_json(&p);
    store_project_release(&p);
    if (rc)
        return -1;
    json_t *j = api_project_json(r, row, &c);
    json_decref(row);
    return api_reply_json(r, status, j);
}

static json_t *page_link(struct api_req *r, int64_t page, int64_t size, int explicit_size)
{
    if (page < 1)
        return json_null();
    char *url =
        base_arena_printf(r->arena, "%s/api/projects/?page=%lld", api_base_url(r), (long long)page);
    if (explicit_size)
        url = base_arena_printf(r->arena, "%s&page_size=%lld", url, (long long)size);
    return json_string(url);
}

int api_projects_list(struct api_req *r, struct base_err *err)
{
    int64_t page, size, total;
    if (api_query_int(r, "page", 1, 1, INT32_MAX, &page, err) ||
        api_query_int(r, "page_size", 30, 1, 1000000000, &size, err))
        return -1;
    json_t *rows = NULL;
    if (store_project_list(r->api->store, (page - 1) * size, size, &rows, &total, err))
        return -1;
    if (page > 1 && json_array_size(rows) == 0) {
        json_decref(rows);
        return base_err_set(err, BASE_E_NOTFOUND, "Invalid page.");
    }
    json_t *results = json_array(), *row;
    size_t i;
    int rc = 0;
    json_array_foreach(rows, i, row)
    {
        struct store_project_counts c;
        json_int_t id = json_integer_value(json_object_get(row, "id"));
        if ((rc = store_project_counts(r->api->store, id, &c, err)))
            break;
        json_array_append_new(results, api_project_json(r, row, &c));
    }
    json_decref(rows);
    if (rc) {
        json_decref(results);
        return -1;
    }
    int explicit_size = http_request_query(r->http, "page_size") != NULL;
    json_t *body = json_object();
    json_object_set_new(body, "count", json_integer(total));
    json_object_set_new(body, "next",
                        page_link(r, page * size < total ? page + 1 : 0, size, explicit_size));
    json_object_set_new(body, "previous", page_link(r, page - 1, size, explicit_size));
    json_object_set_new(body, "results", results);
    return api_reply_json(r, 200, body);
}

int api_projects_create(struct api_req *r, struct base_err *err)
{
    json_t *body = api_body_object(r, err);
    if (!body)
        return -1;
    json_t *fields = project_fields(r, body, err);
    json_decref(body);
    if (!fields)
        return -1;
    int64_t id;
    int rc = store_project_create(r->api->store, fields, r->user.id, &id, err);
    json_decref(fields);
    return rc ? rc : reply_project(r, 201, id, err);
}

int api_project_get(struct api_req *r, struct base_err *err)
{
    return reply_project(r, 200, r->m.ids[0], err);
}

int api_project_patch(struct api_req *r, struct base_err *err)
{
    int64_t id = r->m.ids[0];
    struct store_project row = {0};
    json_t *fields = NULL, *body = NULL;
    int rc = -1;
    if (api_project_row(r, id, &row, err) || !(body = api_body_object(r, err)) ||
        !(fields = project_fields(r, body, err)))
        goto out;
    const char *xml = json_string_value(json_object_get(fields, "label_config"));
    const char *old = row.label_config;
    if (xml && old && strcmp(xml, old) &&
        api_label_config_check_usage(r, id, xml, 0, "label_config", err))
        goto out;
    if (store_project_update(r->api->store, id, fields, err))
        goto out;
    /* new labels or a new label map may match the zoo (zero-shot pre-labels) */
    if (r->api->loop &&
        (json_object_get(fields, "label_config") || json_object_get(fields, "loop_label_map") ||
         json_object_get(fields, "loop_enabled")))
        loop_labels_changed(r->api->loop, id);
    rc = reply_project(r, 200, id, err);
out:
    store_project_release(&row);
    json_decref(body);
    json_decref(fields);
    return rc;
}

int api_project_delete(struct api_req *r, struct base_err *err)
{
    int64_t id = r->m.ids[0];
    struct store_project row = {0};
    if (api_project_row(r, id, &row, err))
        return -1;
    store_project_release(&row);
    loop_project_stop(r->api->loop, id); /* its worker must not write into a deleted project */
    if (store_project_delete(r->api->store, id, err))
        return -1;
    loop_project_purge(r->api->loop, id);
    api_exports_purge(r->api, id);
    char sub[64];
    snprintf(sub, sizeof sub, "upload/%lld", (long long)id);
    char *dir = base_path_join(r->api->media_dir, sub);
    struct base_err ferr = {0};
    if (base_remove_tree(dir, &ferr))
        BASE_WARN("api: project %lld deleted but its files remain: %s", (long long)id, ferr.msg);
    base_free(dir);
    return api_reply_empty(r, 204);
}

/* POST /api/projects/validate: a config alone (204), Label Studio's AllowAny view. */
int api_projects_validate(struct api_req *r, struct base_err *err)
{
    json_t *body = api_body_object(r, err);
    if (!body)
        return -1;
    const char *xml = json_string_value(json_object_get(body, "label_config"));
    json_t *fields = json_object();
    int rc = !xml || !*xml
                 ? api_invalid(r, err, "label_config", "Label config is not set or is empty")
                 : api_label_config_apply(r, xml, "label_config", fields, err);
    json_decref(fields);
    json_decref(body);
    return rc ? rc : api_reply_empty(r, 204);
}

/* POST /api/projects/{id}/validate: a config against the project's data, strictly. */
int api_project_validate(struct api_req *r, struct base_err *err)
{
    struct store_project row = {0};
    json_t *body = NULL, *fields = json_object();
    int rc = -1;
    if (api_project_row(r, r->m.ids[0], &row, err) || !(body = api_body_object(r, err)))
        goto out;
    const char *xml = json_string_value(json_object_get(body, "label_config"));
    if (!xml || !*xml) {
        api_invalid(r, err, "non_field_errors", "Label config is not set or is empty");
        goto out;
    }
    if (api_label_config_apply(r, xml, "non_field_errors", fields, err) ||
        api_label_config_check_usage(r, r->m.ids[0], xml, 1, "non_field_errors", err))
        goto out;
    int changed = !json_equal(json_object_get(fields, "data_types"), row.data_types);
    rc = api_reply_json(r, 200, json_pack("{sb}", "config_essential_data_has_changed", changed));
out:
    store_project_release(&row);
    json_decref(body);
    json_decref(fields);
    return rc;
}
