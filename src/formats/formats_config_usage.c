/* A new labeling config against the data a project already holds (spec 4.5 B): data columns,
 * from|to|type tuples and labels used by annotations, with Label Studio's messages; and the
 * project-summary counters those checks read, kept up to date as annotations come and go. */
#include "formats_int.h"

#include <string.h>

static int fail_with(struct base_buf *b, char **detail, struct base_err *err)
{
    base_err_set(err, BASE_E_INVALID, "%s", b->data ? b->data : "");
    if (detail) {
        size_t n;
        *detail = base_buf_steal(b, &n);
    }
    base_buf_release(b);
    return -1;
}

static int has_string(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i,
                       v) if (json_is_string(v) && !strcmp(json_string_value(v), s)) return 1;
    return 0;
}

/* Rule 5: every data key of the config among the common data columns. */
static int check_columns(const struct formats_config *c, const struct formats_usage *u,
                         struct base_buf *b)
{
    struct base_err e;
    size_t nreal = 0, i;
    json_t *v;
    json_array_foreach(u->common_data_columns, i, v) nreal +=
        json_is_string(v) && strcmp(json_string_value(v), "$undefined$");
    if (!nreal)
        return 0;
    int missing = 0;
    for (const struct formats_data_type *d = c->data_types; d; d = d->next) {
        size_t n = strcspn(d->key, "[");
        char *key = base_strndup(d->key, n);
        if (!has_string(u->common_data_columns, key)) {
            base_buf_puts(b, missing++ ? "," : "These fields are not present in the data: ", &e);
            base_buf_puts(b, key, &e);
        }
        base_free(key);
    }
    return missing ? -1 : 0;
}

/* Rule 6: every from|to|type used by annotations still exists. */
static int check_tuples(const struct formats_config *c, const struct formats_usage *u,
                        struct base_buf *b)
{
    struct base_err e;
    json_t *tuples = formats_config_tuples(c);
    const char *key;
    json_t *count;
    int bad = 0;
    json_object_foreach((json_t *)u->created_annotations, key, count)
    {
        if (has_string(tuples, key))
            continue;
        const char *p1 = strchr(key, '|'), *p2 = p1 ? strchr(p1 + 1, '|') : NULL;
        if (!p2)
            continue;
        base_buf_puts(b,
                      bad++ ? "\n"
                            : "Created annotations are incompatible with provided labeling "
                              "schema, we found:\n",
                      &e);
        base_buf_printf(b, &e, "%lld with from_name=%.*s, to_name=%.*s, type=%s",
                        (long long)json_integer_value(count), (int)(p1 - key), key,
                        (int)(p2 - p1 - 1), p1 + 1, p2 + 1);
    }
    json_decref(tuples);
    return bad ? -1 : 0;
}

static long long sum_counts(const json_t *labels)
{
    long long s = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)labels, k, v) s += json_integer_value(v);
    return s;
}

static int label_known(const struct formats_control *k, const char *label)
{
    for (const struct formats_label *l = k->labels; l; l = l->next)
        if (!strcmp(l->key, label))
            return 1;
    return 0;
}

/* Rule 7: a control with used labels cannot go; removed labels only in strict mode. */
static int check_labels(const struct formats_config *c, const struct formats_usage *u, int strict,
                        struct base_buf *b)
{
    struct base_err e;
    const char *name;
    json_t *labels;
    json_object_foreach((json_t *)u->created_labels, name, labels)
    {
        if (!json_is_object(labels) || !json_object_size(labels))
            continue;
        const struct formats_control *k = formats_config_control_find(c, name);
        if (!k || (!k->nlabels && !k->dynamic)) {
            base_buf_printf(b, &e,
                            "There are %lld annotation(s) created with tag \"%s\", you can't "
                            "remove it",
                            sum_counts(labels), name);
            return -1;
        }
        if (!strict || k->dynamic)
            continue;
        int bad = 0;
        const char *label;
        json_t *n;
        json_object_foreach(labels, label, n)
        {
            if (label_known(k, label))
                continue;
            base_buf_puts(b, bad++ ? "\n" : "These labels still exist in annotations:\n", &e);
            base_buf_printf(b, &e, "%s (%lld annotations)", label,
                            (long long)json_integer_value(n));
        }
        if (bad)
            return -1;
    }
    return 0;
}

int formats_config_check_usage(const struct formats_config *c, const struct formats_usage *u,
                               int strict, char **detail, struct base_err *err)
{
    struct base_buf b;
    if (detail)
        *detail = NULL;
    if (u->ntasks <= 0 || !c->data_types)
        return 0;
    base_buf_init(&b, 1 << 20);
    if (u->common_data_columns && check_columns(c, u, &b))
        return fail_with(&b, detail, err);
    if (u->nannotations <= 0 || !c->ncontrols)
        goto ok;
    if (u->created_annotations && check_tuples(c, u, &b))
        return fail_with(&b, detail, err);
    if (u->created_labels && check_labels(c, u, strict, &b))
        return fail_with(&b, detail, err);
ok:
    base_buf_release(&b);
    return 0;
}

/* ---- project summary counters -----------------------------------------------------------------
 */

static void bump(json_t *obj, const char *key, int sign)
{
    json_t *v = json_object_get(obj, key);
    json_int_t n = (v ? json_integer_value(v) : 0) + sign;
    if (n > 0)
        json_object_set_new(obj, key, json_integer(n));
    else
        json_object_del(obj, key);
}

static void bump_labels(json_t *created_labels, const char *from, const json_t *list, int sign)
{
    json_t *labels = json_object_get(created_labels, from);
    if (!labels) {
        labels = json_object();
        json_object_set_new(created_labels, from, labels);
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (json_is_string(v))
            bump(labels, json_string_value(v), sign);
        else if (json_is_array(v))
            bump_labels(created_labels, from, v, sign);
    }
    if (sign < 0 && !json_object_size(labels))
        json_object_del(created_labels, from);
}

void formats_summary_update(json_t *created_annotations, json_t *created_labels,
                            const json_t *result, int sign)
{
    static const char *const skipped[] = {"relation", "rating", "pairwise"};
    size_t i;
    json_t *r;
    json_array_foreach(result, i, r)
    {
        const char *type = json_string_value(json_object_get(r, "type"));
        const char *from = json_string_value(json_object_get(r, "from_name"));
        const char *to = json_string_value(json_object_get(r, "to_name"));
        int skip = !type || !from || !to;
        for (size_t k = 0; k < 3 && !skip; k++)
            skip = !strcmp(type, skipped[k]);
        if (skip)
            continue;
        char *key = base_alloc(strlen(from) + strlen(to) + strlen(type) + 3);
        sprintf(key, "%s|%s|%s", from, to, type);
        bump(created_annotations, key, sign);
        base_free(key);
        json_t *value = json_object_get(r, "value");
        const json_t *list = json_object_get(value, type);
        if (json_is_array(list))
            bump_labels(created_labels, from, list, sign);
    }
}
