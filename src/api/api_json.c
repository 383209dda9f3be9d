/* Serializers: store rows into Label Studio's JSON shapes (spec 1.1-1.4), key order included,
 * plus the typed field readers handlers use to validate request bodies. */
#include "api_int.h"

#include <string.h>

json_t *api_time_json(int64_t us)
{
    if (!us)
        return json_null();
    char iso[32];
    base_time_iso(us, iso);
    return json_string(iso);
}

static json_t *id_or_null(int64_t id)
{
    return id > 0 ? json_integer(id) : json_null();
}

static json_t *ref_or(json_t *v, json_t *fallback)
{
    if (v) {
        json_decref(fallback);
        return json_incref(v);
    }
    return fallback;
}

void api_created_ago(int64_t us, char out[64])
{
    static const struct {
        int64_t seconds;
        const char *one, *many;
    } units[] = {
        {365 * 86400, "year", "years"}, {30 * 86400, "month", "months"},
        {7 * 86400, "week", "weeks"},   {86400, "day", "days"},
        {3600, "hour", "hours"},        {60, "minute", "minutes"},
    };
    int64_t delta = (base_time_us() - us) / 1000000;
    if (delta < 60) {
        snprintf(out, 64, "0\xc2\xa0minutes");
        return;
    }
    for (size_t i = 0; i < 6; i++) {
        int64_t n = delta / units[i].seconds;
        if (n == 0)
            continue;
        int len = snprintf(out, 64, "%lld\xc2\xa0%s", (long long)n,
                           n == 1 ? units[i].one : units[i].many);
        int64_t m = i + 1 < 6 ? (delta - n * units[i].seconds) / units[i + 1].seconds : 0;
        if (m > 0)
            snprintf(out + len, 64 - (size_t)len, ", %lld\xc2\xa0%s", (long long)m,
                     m == 1 ? units[i + 1].one : units[i + 1].many);
        return;
    }
}

/* ---- users ----------------------------------------------------------------------------------- */

/* A small per-request cache: a page of tasks is usually annotated by a handful of people. */
struct api_users {
    struct api_req *r;
    struct store_user *users;
    int64_t *missing;
    size_t n, cap, nmissing, capmissing;
};

struct api_users *api_users_new(struct api_req *r)
{
    struct api_users *u = base_arena_calloc(r->arena, 1, sizeof *u);
    u->r = r;
    return u;
}

static void *grow(struct base_arena *a, void *old, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return old;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *p = base_arena_alloc(a, ncap * size);
    if (n)
        memcpy(p, old, n * size);
    *cap = ncap;
    return p;
}

const struct store_user *api_users_get(struct api_users *u, int64_t id)
{
    if (!u || id <= 0)
        return NULL;
    for (size_t i = 0; i < u->n; i++)
        if (u->users[i].id == id)
            return &u->users[i];
    for (size_t i = 0; i < u->nmissing; i++)
        if (u->missing[i] == id)
            return NULL;
    struct store_user tmp;
    if (store_user_get(u->r->api->store, id, &tmp, NULL)) {
        u->missing = grow(u->r->arena, u->missing, u->nmissing, &u->capmissing, sizeof *u->missing);
        u->missing[u->nmissing++] = id;
        return NULL;
    }
    u->users = grow(u->r->arena, u->users, u->n, &u->cap, sizeof *u->users);
    u->users[u->n] = tmp;
    return &u->users[u->n++];
}

json_t *api_user_simple_json(const struct store_user *u)
{
    if (!u)
        return json_null();
    return json_pack("{sI ss ss ss so}", "id", (json_int_t)u->id, "first_name", u->first_name,
                     "last_name", u->last_name, "email", u->email, "avatar", json_null());
}

json_t *api_user_json(const struct store_user *u)
{
    char initials[3] = {0};
    initials[0] = u->first_name[0] ? u->first_name[0] : u->email[0];
    initials[1] = u->last_name[0] ? u->last_name[0] : u->first_name[0] ? '\0' : u->email[1];
    json_t *j =
        json_pack("{sI ss ss ss ss so ss so ss sI sb so}", "id", (json_int_t)u->id, "first_name",
                  u->first_name, "last_name", u->last_name, "username", u->username, "email",
                  u->email, "last_activity", api_time_json(u->last_activity), "initials", initials,
                  "avatar", json_null(), "phone", "", "active_organization", (json_int_t)1,
                  "allow_newsletters", 0, "date_joined", api_time_json(u->date_joined));
    json_object_set_new(j, "is_superuser", json_boolean(u->is_superuser));
    return j;
}

/* ---- projects -------------------------------------------------------------------------------- */

/* The order of Label Studio's project JSON; NULL-named entries are counters. */
static const char *const project_keys[] = {
    "id",
    "title",
    "description",
    "label_config",
    "expert_instruction",
    "show_instruction",
    "show_skip_button",
    "enable_empty_annotation",
    "show_annotation_history",
    "organization",
    "color",
    "maximum_annotations",
    "is_published",
    "model_version",
    "is_draft",
    "created_by",
    "created_at",
    "min_annotations_to_start_training",
    "start_training_on_annotation_update",
    "show_collab_predictions",
    "num_tasks_with_annotations",
    "task_number",
    "useful_annotation_number",
    "ground_truth_number",
    "skipped_annotations_number",
    "total_annotations_number",
    "total_predictions_number",
    "sampling",
    "show_ground_truth_first",
    "show_overlap_first",
    "overlap_cohort_percentage",
    "task_data_login",
    "task_data_password",
    "control_weights",
    "parsed_label_config",
    "evaluate_predictions_automatically",
    "config_has_control_tags",
    "skip_queue",
    "reveal_preannotations_interactively",
    "pinned_at",
    "finished_task_number",
    /* labelloop's own settings of the built-in detector (src/loop) */
    "loop_enabled",
    "loop_min_labeled",
    "loop_retrain_every",
    "loop_label_map",
};

static json_t *project_value(struct api_req *r, const json_t *row, const char *key,
                             const struct store_project_counts *c)
{
    const struct {
        const char *name;
        int64_t value;
    } counters[] = {
        {"num_tasks_with_annotations", c->num_tasks_with_annotations},
        {"task_number", c->task_number},
        {"useful_annotation_number", c->useful_annotation_number},
        {"ground_truth_number", c->ground_truth_number},
        {"skipped_annotations_number", c->skipped_annotations_number},
        {"total_annotations_number", c->total_annotations_number},
        {"total_predictions_number", c->total_predictions_number},
        {"finished_task_number", c->finished_task_number},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        if (!strcmp(key, counters[i].name))
            return json_integer(counters[i].value);
    if (!strcmp(key, "created_by")) {
        struct store_user u;
        json_t *by = json_object_get(row, "created_by");
        if (json_is_integer(by) && !store_user_get(r->api->store, json_integer_value(by), &u, NULL))
            return api_user_simple_json(&u);
        return json_null();
    }
    if (!strcmp(key, "start_training_on_annotation_update"))
        return json_boolean(
            json_integer_value(json_object_get(row, "min_annotations_to_start_training")) != 0);
    if (!strcmp(key, "config_has_control_tags"))
        return json_boolean(json_object_size(json_object_get(row, "parsed_label_config")) > 0);
    json_t *v = json_object_get(row, key);
    return v ? json_incref(v) : json_null();
}

json_t *api_project_json(struct api_req *r, const json_t *row, const struct store_project_counts *c)
{
    json_t *j = json_object();
    for (size_t i = 0; i < sizeof project_keys / sizeof project_keys[0]; i++)
        json_object_set_new(j, project_keys[i], project_value(r, row, project_keys[i], c));
    return j;
}

/* ---- annotations and predictions ------------------------------------------------------------- */

static json_t *lead_time_json(const struct store_annotation *a)
{
    return a->has_lead_time ? json_real(a->lead_time) : json_null();
}

json_t *api_annotation_json(struct api_users *users, const struct store_annotation *a)
{
    const struct store_user *u = api_users_get(users, a->completed_by);
    char ago[64];
    api_created_ago(a->created_at, ago);
    char *who = u ? base_arena_printf(users->r->arena, "%s %s %s, %lld", u->first_name,
                                      u->last_name, u->email, (long long)u->id)
                  : "";
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer(a->id));
    json_object_set_new(j, "result", ref_or(a->result, json_null()));
    json_object_set_new(j, "created_username", json_string(who));
    json_object_set_new(j, "created_ago", json_string(ago));
    json_object_set_new(j, "completed_by", id_or_null(a->completed_by));
    json_object_set_new(j, "was_cancelled", json_boolean(a->was_cancelled));
    json_object_set_new(j, "ground_truth", json_boolean(a->ground_truth));
    json_object_set_new(j, "created_at", api_time_json(a->created_at));
    json_object_set_new(j, "updated_at", api_time_json(a->updated_at));
    json_object_set_new(j, "draft_created_at", json_null());
    json_object_set_new(j, "lead_time", lead_time_json(a));
    json_object_set_new(j, "import_id", json_null());
    json_object_set_new(j, "last_action",
                        a->last_action[0] ? json_string(a->last_action) : json_null());
    json_object_set_new(j, "task", json_integer(a->task));
    json_object_set_new(j, "project", json_integer(a->project));
    json_object_set_new(j, "updated_by", id_or_null(a->completed_by));
    json_object_set_new(j, "parent_prediction", id_or_null(a->parent_prediction));
    json_object_set_new(j, "parent_annotation", id_or_null(a->parent_annotation));
    json_object_set_new(j, "last_created_by", json_null());
    return j;
}

json_t *api_prediction_json(const struct store_prediction *p)
{
    char ago[64];
    api_created_ago(p->created_at, ago);
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer(p->id));
    json_object_set_new(j, "model_version", json_string(p->model_version));
    json_object_set_new(j, "created_ago", json_string(ago));
    json_object_set_new(j, "result", ref_or(p->result, json_array()));
    json_object_set_new(j, "score", p->has_score ? json_real(p->score) : json_null());
    json_object_set_new(j, "cluster", p->has_cluster ? json_integer(p->cluster) : json_null());
    json_object_set_new(j, "neighbors", ref_or(p->neighbors, json_null()));
    json_object_set_new(j, "mislabeling", json_real(p->mislabeling));
    json_object_set_new(j, "created_at", api_time_json(p->created_at));
    json_object_set_new(j, "updated_at", api_time_json(p->updated_at));
    json_object_set_new(j, "task", json_integer(p->task));
    json_object_set_new(j, "project", json_integer(p->project));
    return j;
}
