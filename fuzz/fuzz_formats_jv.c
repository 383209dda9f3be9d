/* Differential fuzzing of the light JSON parse the item exports read tasks with: for any input
 * formats_jv_parse must fail exactly when base_json_parse fails, and otherwise give the same
 * value (types, numbers, string bytes, object members in jansson's order with jansson's answer
 * for a repeated key). */
#include "formats/formats_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void same(const struct formats_jv *a, const json_t *b)
{
    static const int types[] = {[JSON_OBJECT] = FORMATS_JV_OBJECT, [JSON_ARRAY] = FORMATS_JV_ARRAY,
                                [JSON_STRING] = FORMATS_JV_STRING, [JSON_INTEGER] = FORMATS_JV_INT,
                                [JSON_REAL] = FORMATS_JV_REAL,     [JSON_TRUE] = FORMATS_JV_TRUE,
                                [JSON_FALSE] = FORMATS_JV_FALSE,   [JSON_NULL] = FORMATS_JV_NULL};
    if (a->type != types[json_typeof(b)])
        abort();
    const char *k;
    json_t *v;
    size_t i = 0;
    switch (json_typeof(b)) {
    case JSON_OBJECT:
        if (a->n != json_object_size(b))
            abort();
        json_object_foreach((json_t *)b, k, v)
        {
            const struct formats_jm *m = &a->kids[i++];
            if (strnlen(m->key, m->klen) != strlen(k) || memcmp(m->key, k, strlen(k)))
                abort();
            same(&m->v, v);
        }
        break;
    case JSON_ARRAY:
        if (a->n != json_array_size(b))
            abort();
        json_array_foreach(b, i, v) same(&a->kids[i].v, v);
        break;
    case JSON_STRING:
        if (a->n != json_string_length(b) || memcmp(a->s, json_string_value(b), a->n))
            abort();
        break;
    case JSON_INTEGER:
        if (a->i != json_integer_value(b))
            abort();
        break;
    case JSON_REAL:
        if (a->d != json_real_value(b) || signbit(a->d) != signbit(json_real_value(b)))
            abort();
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct formats_jv_parser jp; /* reused across runs, as the exporter does */
    const char *text = (const char *)data;
    struct formats_jv v;
    struct base_err err;
    json_t *j = base_json_parse(text, size, NULL);
    formats_jv_reset(&jp);
    int rc = formats_jv_parse(&jp, text, size, &v, &err);
    if ((rc == 0) != (j != NULL))
        abort(); /* accepted what jansson rejects, or the other way round */
    if (rc && !err.msg[0])
        abort(); /* an error must say what is wrong */
    if (j)
        same(&v, j);
    json_decref(j);
    return 0;
}
