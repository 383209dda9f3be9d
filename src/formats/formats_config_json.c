/* JSON views of a parsed labeling config, in the key order Label Studio stores them:
 * parsed_label_config, data_types, control_weights and the summary tuples. */
#include "formats_int.h"

#include <string.h>

static json_t *attrs_object(const char **attrs, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, attrs[2 * i], json_string(attrs[2 * i + 1]));
    return o;
}

static const struct formats_object *object_named(const struct formats_config *c, const char *name)
{
    for (const struct formats_object *o = c->objects; o; o = o->next)
        if (!strcmp(o->name, name))
            return o;
    return NULL;
}

static json_t *control_json(const struct formats_config *c, const struct formats_control *k)
{
    json_t *o = json_object(), *to = json_array(), *inputs = json_array();
    json_t *labels = json_array(), *attrs = json_object();
    for (size_t i = 0; i < k->nto; i++) {
        json_array_append_new(to, json_string(k->to_names[i]));
        const struct formats_object *obj = object_named(c, k->to_names[i]);
        if (obj)
            json_array_append_new(inputs,
                                  json_pack("{s:s, s:s}", "type", obj->type, "value", obj->value));
    }
    for (const struct formats_label *l = k->labels; l; l = l->next) {
        json_array_append_new(labels, json_string(l->key));
        json_object_set_new(attrs, l->key, attrs_object(l->attrs, l->nattrs));
    }
    json_object_set_new(o, "type", json_string(k->type));
    json_object_set_new(o, "to_name", to);
    if (k->cond_type)
        json_object_set_new(o, "conditionals",
                            json_pack("{s:s, s:s}", "type", k->cond_type, "name", k->cond_name));
    if (k->dynamic)
        json_object_set_new(o, "dynamic_labels", json_true());
    json_object_set_new(o, "inputs", inputs);
    json_object_set_new(o, "labels", labels);
    json_object_set_new(o, "labels_attrs", attrs);
    return o;
}

json_t *formats_config_parsed(const struct formats_config *c)
{
    json_t *out = json_object();
    for (const struct formats_control *k = c->controls; k; k = k->next)
        json_object_set_new(out, k->name, control_json(c, k));
    return out;
}

json_t *formats_config_data_types(const struct formats_config *c)
{
    json_t *out = json_object();
    for (const struct formats_data_type *d = c->data_types; d; d = d->next)
        json_object_set_new(out, d->key, json_string(d->tag));
    return out;
}

json_t *formats_config_control_weights(const struct formats_config *c)
{
    json_t *out = json_object();
    for (const struct formats_control *k = c->controls; k; k = k->next) {
        json_t *labels = json_object();
        for (const struct formats_label *l = k->labels; l; l = l->next)
            json_object_set_new(labels, l->key, json_real(1.0));
        json_object_set_new(
            out, k->name,
            json_pack("{s:f, s:s, s:o}", "overall", 1.0, "type", k->type, "labels", labels));
    }
    return out;
}

json_t *formats_config_tuples(const struct formats_config *c)
{
    json_t *out = json_array();
    for (const struct formats_control *k = c->controls; k; k = k->next) {
        size_t n = strlen(k->name) + strlen(k->to_name) + strlen(k->type_lower) + 3;
        char *s = base_alloc(n);
        snprintf(s, n, "%s|%s|%s", k->name, k->to_name, k->type_lower);
        json_array_append_new(out, json_string(s));
        base_free(s);
    }
    return out;
}
