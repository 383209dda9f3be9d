/* Label Studio's /api/ml (spec 2.7) for external ML backends (rows with a url): adding one checks
 * it as Label Studio does (/health then /setup, its error words) and then predicts the project's
 * tasks; listing and reading show the state, last error and circuit breaker kept by the client and
 * ask it to refresh in the background (never a blocking call on a request); annotation events and
 * opened or imported tasks are handed to the client, which calls the backends on its own thread. */
#include "api_int.h"

#include "mlb/mlb.h"

#include <string.h>

static const char *readable(const char *state)
{
    static const char *const names[][2] = {{"CO", "Connected"},
                                           {"ER", "Error"},
                                           {"DI", "Disconnected"},
                                           {"TR", "Training"},
                                           {"PR", "Predicting"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(state, names[i][0]))
            return names[i][1];
    return "Disconnected";
}

json_t *api_ml_external_json(struct api_req *r, const struct store_ml_backend *b)
{
    json_t *j = json_pack(
        "{s:I, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:n, s:b, s:s, s:n, s:s, s:f, s:o, s:o, s:I, "
        "s:b}",
        "id", (json_int_t)b->id, "state", b->state, "readable_state", readable(b->state),
        "is_interactive", b->is_interactive, "url", b->url, "error_message", b->error_message,
        "title", b->title, "auth_method", "NONE", "basic_auth_user", "basic_auth_pass_is_set", 0,
        "description", b->description, "extra_params", "model_version", b->model_version, "timeout",
        b->timeout, "created_at", api_time_json(b->created_at), "updated_at",
        api_time_json(b->updated_at), "project", (json_int_t)b->project, "auto_update",
        b->auto_update);
    if (r->api->mlb)
        mlb_client_status(r->api->mlb, b->id, j);
    return j;
}

static int url_of(struct api_req *r, json_t *body, char *out, size_t size, struct base_err *err)
{
    json_t *v = json_object_get(body, "url");
    const char *url = json_string_value(v);
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        return api_invalid(r, err, "url", "Enter a valid http:// or https:// URL.");
    if (strlen(url) >= size)
        return api_invalid(r, err, "url", "Ensure this field has no more than %zu characters.",
                           size - 1);
    snprintf(out, size, "%s", url);
    return 0;
}

int api_ml_fields(struct api_req *r, json_t *body, struct store_ml_backend *b, struct base_err *err)
{
    const char *keys[] = {"title", "description"};
    char *dst[] = {b->title, b->description};
    size_t sizes[] = {sizeof b->title, sizeof b->description};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, keys[i]);
        if (v && (!json_is_string(v) || json_string_length(v) >= sizes[i]))
            return api_invalid(r, err, keys[i], "Not a valid string.");
        if (v)
            snprintf(dst[i], sizes[i], "%s", json_string_value(v));
    }
    int null = 0;
    int bad = api_field_bool(r, body, "is_interactive", &b->is_interactive, NULL, err);
    bad |= api_field_bool(r, body, "auto_update", &b->auto_update, NULL, err);
    bad |= api_field_number(r, body, "timeout", 0, &b->timeout, &null, NULL, err);
    return bad ? -1 : 0;
}

/* Connects now (Label Studio validates a backend by calling it); its words on failure. */
static int connect_now(struct api_req *r, struct store_ml_backend *b, struct base_err *err)
{
    if (!r->api->mlb)
        return base_err_set(err, BASE_E_CONFLICT, "this server calls no ML backends");
    mlb_client_set_hostname(r->api->mlb, api_base_url(r));
    struct base_err why = {0};
    if (mlb_client_connect(r->api->mlb, b, &why))
        return api_invalid(r, err, "url", "%s", why.msg);
    return 0;
}

int api_ml_create(struct api_req *r, struct base_err *err)
{
    struct store_project row = {0};
    json_t *body = api_body_object(r, err);
    struct store_ml_backend b = {.timeout = 100.0, .auto_update = 1};
    snprintf(b.title, sizeof b.title, "default");
    int64_t project;
    int rc = -1;
    if (!body)
        return -1;
    json_t *p = json_object_get(body, "project");
    if (!json_is_integer(p) || (project = json_integer_value(p)) <= 0) {
        api_invalid(r, err, "project", "A valid integer is required.");
        goto out;
    }
    b.project = project;
    if (api_project_row(r, project, &row, err) || url_of(r, body, b.url, sizeof b.url, err) ||
        api_ml_fields(r, body, &b, err) || connect_now(r, &b, err) ||
        store_ml_backend_create(r->api->store, &b, err) ||
        store_ml_backend_get(r->api->store, b.id, &b, err))
        goto out;
    BASE_INFO("api: project %lld: ML backend %lld at %s connected (model version %s)",
              (long long)project, (long long)b.id, b.url, b.model_version);
    mlb_client_predict(r->api->mlb, project, NULL, 0);
    rc = api_reply_json(r, 201, api_ml_external_json(r, &b));
out:
    store_project_release(&row);
    json_decref(body);
    return rc;
}

int api_ml_external_patch(struct api_req *r, struct store_ml_backend *b, struct base_err *err)
{
    json_t *body = api_body_object(r, err);
    int rc = -1;
    if (!body)
        return -1;
    char url[sizeof b->url];
    snprintf(url, sizeof url, "%s", b->url);
    if (json_object_get(body, "url") && url_of(r, body, url, sizeof url, err))
        goto out;
    if (api_ml_fields(r, body, b, err))
        goto out;
    if (strcmp(url, b->url)) {
        /* a new address must answer before it is saved */
        snprintf(b->url, sizeof b->url, "%s", url);
        struct store_ml_backend probe = *b;
        probe.id = 0;
        if (connect_now(r, &probe, err))
            goto out;
        snprintf(b->state, sizeof b->state, "%s", probe.state);
        snprintf(b->model_version, sizeof b->model_version, "%s", probe.model_version);
        b->legacy_train = probe.legacy_train;
        b->error_message[0] = '\0';
        if (store_ml_backend_set_url(r->api->store, b, err) ||
            store_ml_backend_set_state(r->api->store, b, err))
            goto out;
    }
    if (store_ml_backend_update(r->api->store, b, err) ||
        store_ml_backend_get(r->api->store, b->id, b, err))
        goto out;
    rc = api_reply_json(r, 200, api_ml_external_json(r, b));
out:
    json_decref(body);
    return rc;
}

int api_ml_delete(struct api_req *r, struct base_err *err)
{
    struct store_ml_backend b;
    struct store_project row = {0};
    if (store_ml_backend_get(r->api->store, r->m.ids[0], &b, err) ||
        api_project_row(r, b.project, &row, err))
        return -1;
    store_project_release(&row);
    if (!b.url[0])
        return base_err_set(err, BASE_E_CONFLICT,
                            "the built-in detector cannot be removed (switch it off with the"
                            " project's loop_enabled)");
    if (store_ml_backend_delete(r->api->store, b.id, err))
        return -1;
    BASE_INFO("api: project %lld: ML backend %lld at %s removed", (long long)b.project,
              (long long)b.id, b.url);
    return api_reply_empty(r, 204);
}

static int has_external(void *ctx, const struct store_ml_backend *b, struct base_err *err)
{
    (void)err;
    *(int *)ctx |= b->url[0] != '\0';
    return 0;
}

/* Whether the project has external backends (and the client is there to call them). */
static int project_has_external(struct api_req *r, int64_t project)
{
    int has = 0;
    if (r->api->mlb)
        store_ml_backend_each(r->api->store, project, has_external, &has, NULL);
    if (has)
        mlb_client_set_hostname(r->api->mlb, api_base_url(r));
    return has;
}

void api_tell_backends(struct api_req *r, int64_t project, const char *action, int64_t annotation,
                       int64_t task)
{
    if (project_has_external(r, project))
        mlb_client_event(r->api->mlb, project, action, annotation, task);
}

void api_backends_predict(struct api_req *r, int64_t project, const int64_t *tasks, size_t n)
{
    if (project_has_external(r, project))
        mlb_client_predict(r->api->mlb, project, tasks, n);
}

void api_backends_refresh(struct api_req *r, const struct store_ml_backend *b)
{
    if (r->api->mlb && b->url[0]) {
        mlb_client_set_hostname(r->api->mlb, api_base_url(r));
        mlb_client_refresh(r->api->mlb, b->id);
    }
}
