/* /api/dm/views: the Data Manager's saved tabs (list, create, read, update, delete, reset), as
 * Label Studio's ViewAPI answers them: {"id", "data": {title, filters, ordering, selectedItems,
 * hiddenColumns, ...}, "project", "user"}. A view's filters are checked like a query when it is
 * saved, so a saved view always applies (GET /api/tasks?view=, /api/dm/actions, exports). */
#include "api_int.h"

#include <string.h>

static json_t *view_json(const struct store_view *v)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer(v->id));
    json_object_set(j, "data", v->data);
    json_object_set_new(j, "project", json_integer(v->project));
    json_object_set_new(j, "user", v->user ? json_integer(v->user) : json_null());
    return j;
}

static int reply_view(struct api_req *r, int status, int64_t id, struct base_err *err)
{
    struct store_view v = {0};
    if (store_view_get(r->api->store, id, &v, err))
        return -1;
    api_reply_json(r, status, view_json(&v));
    store_view_release(&v);
    return 0;
}

/* The project a body names (400 when absent or unknown) into *row (left zero when absent). */
static int body_project(struct api_req *r, json_t *body, int required, int64_t *project,
                        struct store_project *row, struct base_err *err)
{
    int present;
    if (api_field_int(r, body, "project", 0, project, &present, err))
        return -1;
    if (!present)
        return required ? api_invalid(r, err, "project", "This field is required.") : 0;
    if (store_project_get(r->api->store, *project, row, NULL))
        return api_invalid(r, err, "project", "Invalid pk \"%lld\" - object does not exist.",
                           (long long)*project);
    return 0;
}

/* The view's data must be an object whose filters, ordering and selection parse. */
static int check_data(struct api_req *r, const struct store_project *row, const json_t *data,
                      struct base_err *err)
{
    struct store_task_view v;
    if (!json_is_object(data))
        return api_invalid(r, err, "data", "must be an object");
    return api_dm_query(r, row, data, &v, err);
}

static int append_view(void *ctx, const struct store_view *v, struct base_err *err)
{
    (void)err;
    json_array_append_new(ctx, view_json(v));
    return 0;
}

/* GET /api/dm/views?project= (every project's views without it) */
int api_dm_views_list(struct api_req *r, struct base_err *err)
{
    int64_t project;
    if (api_query_int(r, "project", 0, 1, INT64_MAX, &project, err))
        return -1;
    json_t *out = json_array();
    if (store_view_each(r->api->store, project, append_view, out, err)) {
        json_decref(out);
        return -1;
    }
    return api_reply_json(r, 200, out);
}

/* POST /api/dm/views {"project": id, "data": {...}} */
int api_dm_views_create(struct api_req *r, struct base_err *err)
{
    struct store_project row = {0};
    json_t *body = api_body_object(r, err), *data = NULL;
    int64_t project = 0, id;
    int rc = -1;
    if (!body || body_project(r, body, 1, &project, &row, err))
        goto out;
    data = json_object_get(body, "data");
    data = data ? json_incref(data) : json_object();
    if (check_data(r, &row, data, err) ||
        store_view_create(r->api->store, project, r->user.id, data, &id, err))
        goto out;
    rc = reply_view(r, 201, id, err);
out:
    json_decref(data);
    store_project_release(&row);
    json_decref(body);
    return rc;
}

int api_dm_view_get(struct api_req *r, struct base_err *err)
{
    return reply_view(r, 200, r->m.ids[0], err);
}

/* PATCH and PUT /api/dm/views/{id} {"data": {...}, "project"?}: the data is replaced, but
 * filters and ordering the new data leaves out are kept (Label Studio keeps them apart). */
int api_dm_view_patch(struct api_req *r, struct base_err *err)
{
    static const char *const kept[] = {"filters", "ordering"};
    struct store_view old = {0};
    struct store_project row = {0};
    json_t *body = api_body_object(r, err), *data = NULL;
    int64_t project = 0;
    int rc = -1;
    if (!body || store_view_get(r->api->store, r->m.ids[0], &old, err) ||
        body_project(r, body, 0, &project, &row, err))
        goto out;
    if (!row.id && store_project_get(r->api->store, old.project, &row, err))
        goto out;
    data = json_object_get(body, "data");
    data = data ? json_deep_copy(data) : json_deep_copy(old.data);
    for (size_t i = 0; json_is_object(data) && i < 2; i++)
        if (!json_object_get(data, kept[i]) && json_object_get(old.data, kept[i]))
            json_object_set(data, kept[i], json_object_get(old.data, kept[i]));
    if (check_data(r, &row, data, err) ||
        store_view_update(r->api->store, old.id, project, data, err))
        goto out;
    rc = reply_view(r, 200, old.id, err);
out:
    store_view_release(&old);
    json_decref(data);
    store_project_release(&row);
    json_decref(body);
    return rc;
}

int api_dm_view_delete(struct api_req *r, struct base_err *err)
{
    if (store_view_delete(r->api->store, r->m.ids[0], err))
        return -1;
    return api_reply_empty(r, 204);
}

/* DELETE /api/dm/views/reset {"project": id}: every view of the project. */
int api_dm_views_reset(struct api_req *r, struct base_err *err)
{
    struct store_project row = {0};
    json_t *body = api_body_object(r, err);
    int64_t project = 0;
    int rc = -1;
    if (body && !body_project(r, body, 1, &project, &row, err) &&
        !store_views_delete_project(r->api->store, project, NULL, err))
        rc = api_reply_empty(r, 204);
    store_project_release(&row);
    json_decref(body);
    return rc;
}
