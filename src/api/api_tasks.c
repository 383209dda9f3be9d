/* /api/tasks (the Data Manager list with Label Studio's pagination, spec 2.5), single tasks,
 * and the older per-project task list /api/projects/{id}/tasks. */
#include "api_int.h"

#include <string.h>

#define API_PAGE_SIZE_MAX 100000

struct list_ctx {
    struct api_req *r;
    struct api_users *users;
    json_t *out;
    enum api_task_shape shape;
    int full;
    const char *key;
    const char *include;              /* comma-separated field names to keep, or NULL */
    const struct api_task_page *page; /* a filtered/reordered page: where each task goes */
};

static json_t *only_fields(json_t *task, const char *include)
{
    json_t *j = json_object();
    while (*include) {
        size_t n = strcspn(include, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(n < 63 ? n : 63), include);
        json_t *v = json_object_get(task, name);
        if (v)
            json_object_set(j, name, v);
        include += n + (include[n] == ',');
    }
    json_decref(task);
    return j;
}

static int append_task(void *ctx, const struct store_task *t, struct base_err *err)
{
    struct list_ctx *x = ctx;
    json_t *j = api_task_json(x->users, t, x->shape, x->full, x->key, err);
    if (!j)
        return -1;
    if (x->shape == API_TASK_DM)
        api_storage_rewrite(j);
    j = x->include ? only_fields(j, x->include) : j;
    if (x->page)
        json_array_set_new(x->out, api_task_page_slot(x->page, t->id), j);
    else
        json_array_append_new(x->out, j);
    return 0;
}

/* The project of the view named by ?view= when ?project= is not given. */
static int view_project(struct api_req *r, int64_t *project, struct base_err *err)
{
    int64_t view;
    struct store_view v = {0};
    if (api_query_int(r, "view", 0, 0, INT64_MAX, &view, err))
        return -1;
    if (view == 0 || store_view_get(r->api->store, view, &v, NULL))
        return base_err_set(err, BASE_E_NOTFOUND, "Neither project nor view id specified");
    *project = v.project;
    store_view_release(&v);
    return 0;
}

/* GET /api/tasks?project=|view=&page=&page_size=&fields=all&include=id,data&query= */
int api_tasks_list(struct api_req *r, struct base_err *err)
{
    int64_t project, page, size;
    if (!http_request_query(r->http, "project") && !http_request_query(r->http, "view"))
        return base_err_set(err, BASE_E_NOTFOUND, "Neither project nor view id specified");
    if (api_query_int(r, "project", 0, 1, INT64_MAX, &project, err) ||
        api_query_int(r, "page", 1, 1, INT32_MAX, &page, err) ||
        api_query_int(r, "page_size", 100, INT32_MIN, API_PAGE_SIZE_MAX, &size, err))
        return -1;
    if (size <= 0) /* the SDK's page_size=-1: Label Studio falls back to its default page size */
        size = 100;
    if (project == 0 && view_project(r, &project, err))
        return -1;
    struct store_project row = {0};
    if (api_project_row(r, project, &row, err))
        return -1;
    struct store_task_query q = {.project = project,
                                 .offset = (page - 1) * size,
                                 .limit = size,
                                 .with_annotations = 1,
                                 .with_predictions = 1};
    struct store_task_totals tot;
    const char *fields = http_request_query(r->http, "fields");
    struct list_ctx x = {r,
                         api_users_new(r),
                         json_array(),
                         API_TASK_DM,
                         fields && !strcmp(fields, "all"),
                         store_project_data_key(&row),
                         http_request_query(r->http, "include"),
                         NULL};
    /* Filters and orderings (the `query` parameter) pick the page's ids first: api_task_view.c */
    struct api_task_page view;
    int rc = api_task_view(r, &row, q.offset, size, &view, err);
    if (rc == 0) {
        api_task_page_index(r, &view);
        tot = view.totals;
        q = (struct store_task_query){.project = project,
                                      .ids = view.ids,
                                      .nids = view.n,
                                      .with_annotations = 1,
                                      .with_predictions = 1};
        for (size_t i = 0; i < view.n; i++)
            json_array_append_new(x.out, json_null());
        x.page = &view;
    } else if (rc == 1) {
        rc = store_task_totals(r->api->store, &q, &tot, err);
    }
    if (rc == 0 && page > 1 && (page - 1) * size >= tot.tasks)
        rc = base_err_set(err, BASE_E_NOTFOUND, "Invalid page.");
    /* (an empty view page must not become "no id restriction") */
    if (rc == 0 && !(x.page && view.n == 0))
        rc = store_task_each(r->api->store, &q, append_task, &x, err);
    store_project_release(&row);
    if (rc) {
        json_decref(x.out);
        return -1;
    }
    json_t *body = json_object();
    json_object_set_new(body, "tasks", x.out);
    json_object_set_new(body, "total", json_integer(tot.tasks));
    json_object_set_new(body, "total_annotations", json_integer(tot.total_annotations));
    json_object_set_new(body, "total_predictions", json_integer(tot.total_predictions));
    return api_reply_json(r, 200, body);
}

/* Builds one task in the Data Manager shape; the project row (for the `$undefined$` key) is
 * read only when the task has such a key, which keeps GET /api/tasks/{id} to one query. */
static int one_task(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)err;
    struct list_ctx *x = ctx;
    struct store_project row = {0};
    if (json_object_get(t->data, "$undefined$") &&
        !store_project_get(x->r->api->store, t->project, &row, NULL))
        x->key = store_project_data_key(&row);
    json_t *j = api_task_json(x->users, t, API_TASK_DM, 1, x->key, NULL);
    api_storage_rewrite(j);
    json_array_append_new(x->out, j);
    x->key = NULL; /* borrowed from row */
    store_project_release(&row);
    return 0;
}

/* Answers one task in the Data Manager shape with its annotations and predictions. */
static int reply_one(struct api_req *r, int status, int64_t id, struct base_err *err)
{
    struct list_ctx x = {r, api_users_new(r), json_array(), API_TASK_DM, 1, NULL, NULL, NULL};
    struct store_task_query q = {.task = id, .with_annotations = 1, .with_predictions = 1};
    int rc = store_task_each(r->api->store, &q, one_task, &x, err);
    if (rc == 0 && json_array_size(x.out) == 0)
        rc = base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    if (rc == 0)
        api_reply_json(r, status, json_incref(json_array_get(x.out, 0)));
    json_decref(x.out);
    return rc;
}

int api_task_get(struct api_req *r, struct base_err *err)
{
    api_predict_on_open(r, r->m.ids[0]);
    return reply_one(r, 200, r->m.ids[0], err);
}

/* POST /api/tasks {"data": {...}, "project": id, "meta"?: {...}} */
int api_tasks_create(struct api_req *r, struct base_err *err)
{
    struct store_project row = {0};
    json_t *body = api_body_object(r, err), *list = NULL;
    int64_t project = 0;
    int present, rc = -1;
    if (!body || api_field_int(r, body, "project", 0, &project, &present, err))
        goto out;
    if (!present) {
        api_invalid(r, err, "project", "This field is required.");
        goto out;
    }
    if (!json_is_object(json_object_get(body, "data"))) {
        api_invalid(r, err, "data", "This field is required and must be an object.");
        goto out;
    }
    if (store_project_get(r->api->store, project, &row, NULL)) {
        api_invalid(r, err, "project", "Invalid pk \"%lld\" - object does not exist.",
                    (long long)project);
        goto out;
    }
    list = json_pack("[{sO}]", "data", json_object_get(body, "data"));
    json_t *meta = json_object_get(body, "meta");
    if (json_is_object(meta))
        json_object_set(json_array_get(list, 0), "meta", meta);
    struct store_import_result res;
    if (api_tasks_normalize(r, &row, list, err) ||
        store_tasks_import(r->api->store, project, list, r->user.id, &res, err))
        goto out;
    api_tell_loop_import(r, project, &res);
    rc = reply_one(r, 201, res.first_task_id, err);
out:
    json_decref(body);
    store_project_release(&row);
    json_decref(list);
    return rc;
}

/* PATCH /api/tasks/{id} {"data"?: {...}, "meta"?: {...}} */
int api_task_patch(struct api_req *r, struct base_err *err)
{
    json_t *body = api_body_object(r, err);
    if (!body)
        return -1;
    json_t *data = json_object_get(body, "data"), *meta = json_object_get(body, "meta");
    int rc = -1;
    if (data && !json_is_object(data))
        api_invalid(r, err, "data", "must be an object");
    else if (meta && !json_is_object(meta))
        api_invalid(r, err, "meta", "must be an object");
    else if (!store_task_update(r->api->store, r->m.ids[0], data, meta, r->user.id, err))
        rc = reply_one(r, 200, r->m.ids[0], err);
    json_decref(body);
    return rc;
}

int api_task_delete(struct api_req *r, struct base_err *err)
{
    if (store_task_delete(r->api->store, r->m.ids[0], err))
        return -1;
    return api_reply_empty(r, 204);
}

/* GET /api/projects/{id}/tasks: Label Studio's older list, a plain array (page_size -1: all). */
int api_project_tasks_list(struct api_req *r, struct base_err *err)
{
    int64_t project = r->m.ids[0], page, size;
    struct store_project row = {0};
    if (api_query_int(r, "page", 1, 1, INT32_MAX, &page, err) ||
        api_query_int(r, "page_size", 50, -1, API_PAGE_SIZE_MAX, &size, err) ||
        api_project_row(r, project, &row, err))
        return -1;
    struct store_task_query q = {.project = project, .with_annotations = 1, .with_predictions = 1};
    if (size > 0) {
        q.offset = (page - 1) * size;
        q.limit = size;
    }
    struct list_ctx x = {
        r,   api_users_new(r), json_array(), API_TASK_SIMPLE, 1, store_project_data_key(&row), NULL,
        NULL};
    int rc = store_task_each(r->api->store, &q, append_task, &x, err);
    store_project_release(&row);
    if (rc == 0 && page > 1 && json_array_size(x.out) == 0)
        rc = base_err_set(err, BASE_E_NOTFOUND, "Invalid page.");
    if (rc) {
        json_decref(x.out);
        return -1;
    }
    return api_reply_json(r, 200, x.out);
}

int api_project_tasks_delete(struct api_req *r, struct base_err *err)
{
    struct store_project row = {0};
    if (api_project_row(r, r->m.ids[0], &row, err))
        return -1;
    store_project_release(&row);
    if (store_tasks_delete_all(r->api->store, r->m.ids[0], NULL, err))
        return -1;
    return api_reply_empty(r, 204);
}
