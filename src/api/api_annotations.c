/* Annotations: /api/tasks/{id}/annotations (list, create) and /api/annotations/{id} (read,
 * update, delete). The store keeps the task's counters and is_labeled in step. */
#include "api_int.h"

#include <string.h>

/* Checks that an id refers to an existing object (400 naming the field otherwise). */
static int check_ref(struct api_req *r, const char *field, int64_t id, struct base_err *err)
{
    struct base_err e = {0};
    int missing = 0;
    if (!strcmp(field, "completed_by")) {
        struct store_user u;
        missing = store_user_get(r->api->store, id, &u, &e) != 0;
    } else if (!strcmp(field, "parent_prediction")) {
        struct store_prediction p = {0};
        missing = store_prediction_get(r->api->store, id, &p, &e) != 0;
        store_prediction_release(&p);
    } else {
        struct store_annotation a = {0};
        missing = store_annotation_get(r->api->store, id, &a, &e) != 0;
        store_annotation_release(&a);
    }
    if (missing && e.status != BASE_E_NOTFOUND) {
        *err = e;
        return -1;
    }
    return missing ? api_invalid(r, err, field, "Invalid pk \"%lld\" - object does not exist.",
                                 (long long)id)
                   : 0;
}

/* Reads the writable fields of an annotation body into *a; *set gets the STORE_SET_ bits. */
static int parse_annotation(struct api_req *r, json_t *body, struct store_annotation *a,
                            unsigned *set, struct base_err *err)
{
    int p[8] = {0}, bad = 0, lead_null = 1;
    bad |= api_field_result(r, body, "result", 1, &a->result, &p[0], err);
    bad |= api_field_bool(r, body, "was_cancelled", &a->was_cancelled, &p[1], err);
    bad |= api_field_bool(r, body, "ground_truth", &a->ground_truth, &p[2], err);
    bad |= api_field_number(r, body, "lead_time", 1, &a->lead_time, &lead_null, &p[3], err);
    bad |= api_field_int(r, body, "completed_by", 1, &a->completed_by, &p[4], err);
    bad |= api_field_int(r, body, "parent_prediction", 1, &a->parent_prediction, &p[5], err);
    bad |= api_field_int(r, body, "parent_annotation", 1, &a->parent_annotation, &p[6], err);
    json_t *action = json_object_get(body, "last_action");
    p[7] = action != NULL;
    if (action && !json_is_null(action) &&
        (!json_is_string(action) || json_string_length(action) > STORE_LAST_ACTION_MAX))
        bad |= api_invalid(r, err, "last_action", "Not a valid string.");
    else if (json_is_string(action))
        snprintf(a->last_action, sizeof a->last_action, "%s", json_string_value(action));
    a->has_lead_time = !lead_null;
    if (bad)
        return -1;
    static const char *const refs[] = {"completed_by", "parent_prediction", "parent_annotation"};
    int64_t ids[] = {a->completed_by, a->parent_prediction, a->parent_annotation};
    for (int i = 0; i < 3; i++) /* 0 and negative ids are checked too (400, as Label Studio) */
        if ((ids[i] || json_is_integer(json_object_get(body, refs[i]))) &&
            check_ref(r, refs[i], ids[i], err))
            return -1;
    static const unsigned bits[] = {STORE_SET_RESULT,
                                    STORE_SET_WAS_CANCELLED,
                                    STORE_SET_GROUND_TRUTH,
                                    STORE_SET_LEAD_TIME,
                                    STORE_SET_COMPLETED_BY,
                                    STORE_SET_PARENT_PREDICTION,
                                    STORE_SET_PARENT_ANNOTATION,
                                    STORE_SET_LAST_ACTION};
    *set = 0;
    for (int i = 0; i < 8; i++)
        *set |= p[i] ? bits[i] : 0;
    return 0;
}

/* Tells the loop: what the annotation kept of its prediction (the help metrics) and that the
 * project's labels changed (the training policy). Never fails the request. */
static void tell_loop(struct api_req *r, int64_t annotation, int64_t project)
{
    struct base_err e = {0};
    if (!r->api->loop)
        return;
    if (annotation && loop_record_help(r->api->loop, annotation, &e))
        BASE_WARN("api: annotation %lld: help metrics not recorded: %s", (long long)annotation,
                  e.msg);
    loop_annotations_changed(r->api->loop, project);
}

static int reply_annotation(struct api_req *r, int status, int64_t id, struct base_err *err)
{
    struct store_annotation a = {0};
    if (store_annotation_get(r->api->store, id, &a, err))
        return -1;
    api_reply_json(r, status, api_annotation_json(api_users_new(r), &a));
    store_annotation_release(&a);
    return 0;
}

struct snapshot_ctx {
    const char *version;
    json_t *found;
};

static int find_snapshot(void *ctx, const struct store_prediction *p, struct base_err *err)
{
    (void)err;
    struct snapshot_ctx *x = ctx;
    if (!strcmp(p->model_version, x->version)) {
        json_decref(x->found);
        x->found = api_prediction_json(p);
    }
    return 0;
}

/* The project's current-model prediction of the task, recorded in the annotation (spec 1.3). */
static json_t *prediction_snapshot(struct api_req *r, int64_t task, int64_t project)
{
    struct store_project row = {0};
    if (store_project_get(r->api->store, project, &row, NULL))
        return json_object();
    struct snapshot_ctx x = {row.model_version, NULL};
    if (x.version)
        store_prediction_each(r->api->store, task, 0, find_snapshot, &x, NULL);
    store_project_release(&row);
    return x.found ? x.found : json_object();
}

int api_task_annotations_create(struct api_req *r, struct base_err *err)
{
    int64_t task = r->m.ids[0], project, id;
    struct store_annotation a = {0};
    unsigned set;
    json_t *body = NULL;
    int rc = -1;
    if (store_task_project(r->api->store, task, &project, err) ||
        !(body = api_body_object(r, err)) || parse_annotation(r, body, &a, &set, err))
        goto out;
    a.was_cancelled |= api_query_bool(r, "was_cancelled", 0);
    if (!(set & STORE_SET_RESULT) && !a.was_cancelled) {
        api_invalid(r, err, "result", "This field is required.");
        goto out;
    }
    if (!(set & STORE_SET_RESULT))
        a.result = json_array();
    if (!(set & STORE_SET_COMPLETED_BY) || a.completed_by <= 0)
        a.completed_by = r->user.id;
    if (!a.last_action[0] && a.was_cancelled)
        snprintf(a.last_action, sizeof a.last_action, "skipped");
    a.prediction = prediction_snapshot(r, task, project);
    if (store_annotation_create(r->api->store, task, &a, &id, err))
        goto out;
    tell_loop(r, id, project);
    api_tell_backends(r, project, "ANNOTATION_CREATED", id, task);
    api_storage_export_annotation(r, project, task, id);
    rc = reply_annotation(r, 201, id, err);
out:
    store_annotation_release(&a);
    json_decref(body);
    return rc;
}

struct list_ctx {
    struct api_users *users;
    json_t *out;
};

static int append(void *ctx, const struct store_annotation *a, struct base_err *err)
{
    (void)err;
    struct list_ctx *x = ctx;
    json_array_append_new(x->out, api_annotation_json(x->users, a));
    return 0;
}

int api_task_annotations_list(struct api_req *r, struct base_err *err)
{
    int64_t project;
    if (store_task_project(r->api->store, r->m.ids[0], &project, err))
        return -1;
    struct list_ctx x = {api_users_new(r), json_array()};
    if (store_annotation_each(r->api->store, r->m.ids[0], 0, append, &x, err)) {
        json_decref(x.out);
        return -1;
    }
    return api_reply_json(r, 200, x.out);
}

int api_annotation_get(struct api_req *r, struct base_err *err)
{
    return reply_annotation(r, 200, r->m.ids[0], err);
}

int api_annotation_patch(struct api_req *r, struct base_err *err)
{
    struct store_annotation a = {0}, old = {0};
    unsigned set;
    json_t *body = NULL;
    int rc = -1;
    if (store_annotation_get(r->api->store, r->m.ids[0], &old, err) ||
        !(body = api_body_object(r, err)) || parse_annotation(r, body, &a, &set, err))
        goto out;
    if ((set & STORE_SET_COMPLETED_BY) && a.completed_by <= 0)
        set &= ~(unsigned)STORE_SET_COMPLETED_BY;
    if (!(set & STORE_SET_LAST_ACTION)) {
        snprintf(a.last_action, sizeof a.last_action, "updated");
        set |= STORE_SET_LAST_ACTION;
    }
    if (store_annotation_update(r->api->store, r->m.ids[0], set, &a, err))
        goto out;
    tell_loop(r, r->m.ids[0], old.project);
    api_tell_backends(r, old.project, "ANNOTATION_UPDATED", r->m.ids[0], old.task);
    api_storage_export_annotation(r, old.project, old.task, r->m.ids[0]);
    rc = reply_annotation(r, 200, r->m.ids[0], err);
out:
    store_annotation_release(&a);
    store_annotation_release(&old);
    json_decref(body);
    return rc;
}

int api_annotation_delete(struct api_req *r, struct base_err *err)
{
    struct store_annotation a = {0};
    if (store_annotation_get(r->api->store, r->m.ids[0], &a, err))
        return -1;
    store_annotation_release(&a);
    if (store_annotation_delete(r->api->store, r->m.ids[0], err))
        return -1;
    tell_loop(r, 0, a.project);
    api_tell_backends(r, a.project, "ANNOTATIONS_DELETED", r->m.ids[0], a.task);
    return api_reply_empty(r, 204);
}
