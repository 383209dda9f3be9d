/* Label Studio's cloud storages, S3 only (/api/storages/s3 and /api/storages/export/s3): create,
 * list, read, update, delete and validate, with Label Studio's JSON shapes. A storage's fields live
 * as one JSON object in the store; the credentials are kept but never answered (Label Studio
 * hides aws_access_key_id and aws_secret_access_key; the session token is hidden here too). The
 * other storage types (GCS, Azure, Redis, local files) answer a 404 that says so. Sync and the
 * media route are in api_storage_sync.c and api_storage_media.c. */
#include "api_int.h"

#include "s3/s3.h"

#include <string.h>

int api_storages_none(struct api_req *r, struct base_err *err)
{
    (void)r;
    return base_err_set(err, BASE_E_NOTFOUND,
                        "labelloop has only S3 storages (/api/storages/s3, /api/storages/export/s3)"
                        ": import other files with POST /api/projects/{id}/import or `labelloop "
                        "import`");
}

static const char *const SECRETS[] = {"aws_access_key_id", "aws_secret_access_key",
                                      "aws_session_token"};
static const char *const TEXTS[] = {"title",
                                    "description",
                                    "bucket",
                                    "prefix",
                                    "regex_filter",
                                    "aws_access_key_id",
                                    "aws_secret_access_key",
                                    "aws_session_token",
                                    "region_name",
                                    "s3_endpoint"};
static const char *const BOOLS[] = {"use_blob_urls", "presign", "recursive_scan", "synchronizable",
                                    "can_delete_objects"};

static int is_export(const struct api_req *r)
{
    return strstr(r->path, "/storages/export") != NULL;
}

static const char *direction(const struct api_req *r)
{
    return is_export(r) ? "export" : "import";
}

/* Label Studio's defaults of a new storage. */
static json_t *defaults(int export)
{
    json_t *d =
        json_pack("{s:n, s:n, s:n, s:n, s:n, s:b, s:n, s:n, s:n, s:n, s:n, s:b, s:s, s:n,"
                  " s:n, s:n, s:n, s:{}}",
                  "title", "description", "bucket", "prefix", "regex_filter", "use_blob_urls", 0,
                  "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region_name",
                  "s3_endpoint", "synchronizable", 1, "status", "initialized", "last_sync",
                  "last_sync_count", "last_sync_job", "traceback", "meta");
    if (export)
        json_object_set_new(d, "can_delete_objects", json_null());
    else {
        json_object_set_new(d, "presign", json_true());
        json_object_set_new(d, "presign_ttl", json_integer(1));
        json_object_set_new(d, "recursive_scan", json_false());
    }
    return d;
}

/* The storage as Label Studio answers it (new reference). */
json_t *api_storage_json(const struct store_storage *s)
{
    json_t *j = json_pack("{s:I, s:s}", "id", (json_int_t)s->id, "type", s->type);
    json_object_update(j, s->data);
    for (size_t i = 0; i < sizeof SECRETS / sizeof SECRETS[0]; i++)
        json_object_del(j, SECRETS[i]);
    json_object_set_new(j, "created_at", api_time_json(s->created_at));
    json_object_set_new(j, "project", json_integer(s->project));
    return j;
}

static int in_list(const char *k, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(k, list[i]))
            return 1;
    return 0;
}
#define IN(k, list) in_list(k, list, sizeof list / sizeof list[0])

/* Copies the settable fields of `body` into `data`, checking their types. */
static int apply_fields(struct api_req *r, json_t *body, json_t *data, struct base_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (IN(k, TEXTS)) {
            if (!json_is_string(v) && !json_is_null(v))
                return api_invalid(r, err, k, "Not a valid string.");
        } else if (IN(k, BOOLS)) {
            if (!json_is_boolean(v))
                return api_invalid(r, err, k, "Must be a valid boolean.");
        } else if (!strcmp(k, "presign_ttl")) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 32767)
                return api_invalid(r, err, k, "Ensure this value is between 0 and 32767.");
        } else {
            continue; /* read-only (id, type, status, last_sync, ...) or unknown: ignored */
        }
        json_object_set(data, k, v);
    }
    return 0;
}

/* Label Studio's validate_connection: the prefix has an object, or (no prefix) the bucket can
 * be reached. 400 with Label Studio's messages otherwise. */
int api_storage_check(struct api_req *r, const json_t *data, struct base_err *err)
{
    struct s3_config c;
    s3_config_from_json(data, &c);
    const char *key = json_string_value(json_object_get(data, "aws_access_key_id"));
    const char *secret = json_string_value(json_object_get(data, "aws_secret_access_key"));
    int has_key = key && *key, has_secret = secret && *secret;
    if (has_key != has_secret)
        return api_invalid(r, err, has_key ? "aws_secret_access_key" : "aws_access_key_id",
                           "Access Key ID and Secret Access Key must be provided together.");
    if (!c.bucket || !*c.bucket)
        return 0; /* Label Studio accepts a storage without a bucket (until it syncs) */
    struct base_err e = {0};
    struct s3 *s = s3_new(&c, &e);
    if (!s)
        return api_invalid(r, err, "non_field_errors", "%s", e.msg);
    s3_set_retry(s, (struct s3_retry){.tries = 2, .backoff_ms = 200, .timeout_ms = 15000});
    const char *prefix = json_string_value(json_object_get(data, "prefix"));
    int rc, n = 0;
    if (prefix && *prefix)
        rc = s3_list(s, prefix, NULL, 1, api_storage_count_one, &n, &e);
    else
        rc = s3_head_bucket(s, &e);
    s3_free(s);
    if (rc && e.status == BASE_E_FORBIDDEN)
        rc = api_invalid(r, err, "non_field_errors",
                         "Cannot connect to S3 %s with specified AWS credentials (%s)", c.bucket,
                         e.msg);
    else if (rc && e.status == BASE_E_NOTFOUND)
        rc = api_invalid(r, err, "non_field_errors", "Cannot find bucket %s in S3", c.bucket);
    else if (rc)
        rc = api_invalid(r, err, "non_field_errors", "%s", e.msg);
    else if (prefix && *prefix && n == 0 && !is_export(r)) /* an export prefix may be empty */
        rc = api_invalid(r, err, "non_field_errors", "s3://%s/%s not found.", c.bucket, prefix);
    return rc;
}

int api_storage_count_one(void *ctx, const struct s3_object *o, struct base_err *err)
{
    (void)o, (void)err;
    ++*(int *)ctx;
    return 0;
}

/* The storage {id} of the route's kind (404 otherwise). */
int api_storage_load(struct api_req *r, struct store_storage *s, struct base_err *err)
{
    if (store_storage_get(r->api->store, r->m.ids[0], s, err))
        return -1;
    if (strcmp(s->type, "s3") || strcmp(s->direction, direction(r))) {
        store_storage_release(s);
        return base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    }
    return 0;
}

struct list_ctx {
    json_t *out;
};

static int add_one(void *ctx, const struct store_storage *s, struct base_err *err)
{
    (void)err;
    json_array_append_new(((struct list_ctx *)ctx)->out, api_storage_json(s));
    return 0;
}

static int list(struct api_req *r, const char *type, const char *dir, struct base_err *err)
{
    int64_t project = 0;
    if (api_query_int(r, "project", 0, 0, INT64_MAX, &project, err))
        return -1;
    struct list_ctx x = {json_array()};
    if (store_storage_each(r->api->store, project, type, dir, add_one, &x, err)) {
        json_decref(x.out);
        return -1;
    }
    return api_reply_json(r, 200, x.out);
}

int api_storages_s3_list(struct api_req *r, struct base_err *err)
{
    return list(r, "s3", direction(r), err);
}

int api_storages_all(struct api_req *r, struct base_err *err)
{
    return list(r, NULL, direction(r), err);
}

int api_storages_types(struct api_req *r, struct base_err *err)
{
    (void)err;
    return api_reply_json(r, 200, json_pack("[{s:s, s:s}]", "name", "s3", "title", "AWS S3"));
}

int api_storages_s3_create(struct api_req *r, struct base_err *err)
{
    json_t *body = api_body_object(r, err);
    if (!body)
        return -1;
    int64_t project = 0;
    int present = 0, rc = -1;
    json_t *data = defaults(is_export(r));
    if (api_field_int(r, body, "project", 0, &project, &present, err))
        goto out;
    if (!present) {
        rc = api_invalid(r, err, "project", "This field is required.");
        goto out;
    }
    struct store_project p;
    if (api_project_row(r, project, &p, err))
        goto out;
    store_project_release(&p);
    if (apply_fields(r, body, data, err) || api_storage_check(r, data, err))
        goto out;
    int64_t id;
    if (store_storage_create(r->api->store, project, "s3", direction(r), data, &id, err))
        goto out;
    struct store_storage s;
    if (store_storage_get(r->api->store, id, &s, err))
        goto out;
    rc = api_reply_json(r, 201, api_storage_json(&s));
    store_storage_release(&s);
out:
    json_decref(data);
    json_decref(body);
    return rc;
}

int api_storages_s3_get(struct api_req *r, struct base_err *err)
{
    struct store_storage s;
    if (api_storage_load(r, &s, err))
        return -1;
    api_reply_json(r, 200, api_storage_json(&s));
    store_storage_release(&s);
    return 0;
}

int api_storages_s3_patch(struct api_req *r, struct base_err *err)
{
    struct store_storage s;
    if (api_storage_load(r, &s, err))
        return -1;
    json_t *body = api_body_object(r, err);
    int rc = -1;
    if (body && !apply_fields(r, body, s.data, err) && !api_storage_check(r, s.data, err) &&
        !store_storage_update(r->api->store, s.id, s.data, err))
        rc = api_reply_json(r, 200, api_storage_json(&s));
    json_decref(body);
    store_storage_release(&s);
    return rc;
}

int api_storages_s3_delete(struct api_req *r, struct base_err *err)
{
    struct store_storage s;
    if (api_storage_load(r, &s, err))
        return -1;
    store_storage_release(&s);
    if (store_storage_delete(r->api->store, r->m.ids[0], err))
        return -1;
    return api_reply_empty(r, 204);
}

/* POST .../validate: the fields of a new storage, or with "id" those of a stored one updated by
 * the body (its stored credentials used unless the body gives others). */
int api_storages_s3_validate(struct api_req *r, struct base_err *err)
{
    json_t *body = api_body_object(r, err);
    if (!body)
        return -1;
    json_t *data = NULL;
    int rc = -1;
    json_t *id = json_object_get(body, "id");
    if (json_is_integer(id)) {
        struct store_storage s;
        r->m.ids[0] = json_integer_value(id);
        if (api_storage_load(r, &s, err))
            goto out;
        data = json_incref(s.data);
        store_storage_release(&s);
    } else {
        data = defaults(is_export(r));
    }
    if (!apply_fields(r, body, data, err) && !api_storage_check(r, data, err))
        rc = api_reply_empty(r, 200);
out:
    json_decref(data);
    json_decref(body);
    return rc;
}
