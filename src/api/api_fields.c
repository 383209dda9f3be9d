/* Typed readers of request-body fields. Each records a Label Studio-style validation error
 * ({"field": ["A valid integer is required."]}) and returns -1 when the value has the wrong
 * type, so handlers validate a body in a few lines. */
#include "api_int.h"

int api_field_bool(struct api_req *r, json_t *obj, const char *key, int *out, int *present,
                   struct base_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (present)
        *present = v != NULL;
    if (!v)
        return 0;
    if (json_is_boolean(v) ||
        (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 1)) {
        *out = json_is_true(v) || json_integer_value(v) == 1;
        return 0;
    }
    return api_invalid(r, err, key, "Must be a valid boolean.");
}

int api_field_int(struct api_req *r, json_t *obj, const char *key, int nullable, int64_t *out,
                  int *present, struct base_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (present)
        *present = v != NULL;
    if (!v)
        return 0;
    if (json_is_null(v) && nullable) {
        *out = 0;
        return 0;
    }
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    return api_invalid(r, err, key,
                       json_is_null(v) ? "This field may not be null."
                                       : "A valid integer is required.");
}

int api_field_number(struct api_req *r, json_t *obj, const char *key, int nullable, double *out,
                     int *is_null, int *present, struct base_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (present)
        *present = v != NULL;
    *is_null = 1;
    if (!v || (json_is_null(v) && nullable))
        return 0;
    if (json_is_number(v)) {
        *out = json_number_value(v);
        *is_null = 0;
        return 0;
    }
    return api_invalid(r, err, key,
                       json_is_null(v) ? "This field may not be null."
                                       : "A valid number is required.");
}

int api_field_result(struct api_req *r, json_t *obj, const char *key, int nullable, json_t **out,
                     int *present, struct base_err *err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (present)
        *present = v != NULL;
    if (!v)
        return 0;
    if (json_is_null(v)) {
        if (nullable)
            return 0;
        return api_invalid(r, err, key, "This field may not be null.");
    }
    json_t *parsed = NULL;
    if (json_is_string(v))
        v = parsed = base_json_parse(json_string_value(v), json_string_length(v), NULL);
    if (json_is_array(v)) {
        *out = parsed ? parsed : json_incref(v);
        return 0;
    }
    json_decref(parsed);
    return api_invalid(r, err, key, "must be a list of result items");
}
