/* Labeling config: turns the XML into controls, objects, labels and data types the way Label
 * Studio's parse_config / extract_data_types do (pre-order walk, labels attached to the nearest
 * control ancestor, later duplicates replacing earlier ones in place). Validation lives in
 * formats_config_check.c, JSON views in formats_config_json.c. */
#include "formats_int.h"

#include <ctype.h>
#include <string.h>

int formats_config_validate(const char *xml, size_t len, const struct formats_xml_node *root,
                            struct base_err *err);

static const struct formats_xml_limits config_limits = {
    .max_bytes = FORMATS_CONFIG_MAX_BYTES,
    .max_depth = FORMATS_CONFIG_MAX_DEPTH,
    .max_nodes = FORMATS_CONFIG_MAX_NODES,
};

static int nonempty(const char *s)
{
    return s && *s;
}

const struct formats_control *formats_config_control_find(const struct formats_config *c,
                                                          const char *name)
{
    for (const struct formats_control *k = c->controls; k; k = k->next)
        if (!strcmp(k->name, name))
            return k;
    return NULL;
}

static const struct formats_object *object_find(const struct formats_config *c, const char *name)
{
    for (const struct formats_object *o = c->objects; o; o = o->next)
        if (!strcmp(o->name, name))
            return o;
    return NULL;
}

/* "$a,b" -> ["$a", "b"], like Python's str.split(','). */
static void split_to_names(struct base_arena *a, struct formats_control *k)
{
    k->nto = 1;
    for (const char *p = k->to_name; *p; p++)
        k->nto += *p == ',';
    k->to_names = base_arena_calloc(a, k->nto, sizeof *k->to_names);
    const char *start = k->to_name;
    for (size_t i = 0; i < k->nto; i++) {
        const char *end = strchr(start, ',');
        size_t n = end ? (size_t)(end - start) : strlen(start);
        k->to_names[i] = base_arena_strndup(a, start, n);
        start += n + 1;
    }
}

/* A control's own value "$identifier" (or an apiUrl) means its labels come with each task. */
static int is_dynamic(const struct formats_xml_node *n)
{
    const char *v = formats_xml_attr(n, "value");
    if (nonempty(formats_xml_attr(n, "apiUrl")))
        return 1;
    if (!v || v[0] != '$' || !v[1])
        return 0;
    for (const char *p = v + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return 0;
    return 1;
}

static void set_conditionals(struct formats_control *k, const struct formats_xml_node *n)
{
    static const char *const when[][2] = {
        {"whenTagName", "tag"}, {"whenLabelValue", "label"}, {"whenChoiceValue", "choice"}};
    const char *per = formats_xml_attr(n, "perRegion");
    k->cond_type = k->cond_name = NULL;
    if (!per || strcmp(per, "true"))
        return;
    for (size_t i = 0; i < 3; i++) {
        const char *v = formats_xml_attr(n, when[i][0]);
        if (nonempty(v)) {
            k->cond_type = when[i][1];
            k->cond_name = v;
            return;
        }
    }
}

static void add_control(struct formats_config *c, const struct formats_xml_node *n)
{
    const char *name = formats_xml_attr(n, "name");
    struct formats_control *k = (struct formats_control *)formats_config_control_find(c, name);
    if (!k) {
        k = base_arena_calloc(c->arena, 1, sizeof *k);
        k->name = name;
        struct formats_control **tail = &c->controls;
        while (*tail)
            tail = &(*tail)->next;
        *tail = k;
        c->ncontrols++;
    }
    k->type = n->name;
    char *lower = base_arena_strdup(c->arena, n->name);
    for (char *p = lower; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    k->type_lower = lower;
    k->to_name = formats_xml_attr(n, "toName");
    split_to_names(c->arena, k);
    k->dynamic = is_dynamic(n);
    set_conditionals(k, n);
}

static void add_object(struct formats_config *c, const struct formats_xml_node *n)
{
    const char *name = formats_xml_attr(n, "name");
    const char *value = formats_xml_attr(n, "value");
    if (!nonempty(value))
        value = formats_xml_attr(n, "valueList");
    struct formats_object *o = (struct formats_object *)object_find(c, name);
    if (!o) {
        o = base_arena_calloc(c->arena, 1, sizeof *o);
        o->name = name;
        struct formats_object **tail = &c->objects;
        while (*tail)
            tail = &(*tail)->next;
        *tail = o;
    }
    o->type = n->name;
    while (*value == '$')
        value++;
    o->value = value;
}

/* Label, Choice and Relation belong to the nearest ancestor that is a control. */
static void add_label(struct formats_config *c, const struct formats_xml_node *n)
{
    struct formats_control *k = NULL;
    for (const struct formats_xml_node *p = n->parent; p && !k; p = p->parent) {
        const char *pname = formats_xml_attr(p, "name");
        if (pname)
            k = (struct formats_control *)formats_config_control_find(c, pname);
    }
    const char *key = formats_xml_attr(n, "alias");
    if (!nonempty(key))
        key = formats_xml_attr(n, "value");
    if (!k || !nonempty(key))
        return;
    struct formats_label *l = k->labels, *last = NULL;
    while (l && strcmp(l->key, key))
        last = l, l = l->next;
    if (!l) {
        l = base_arena_calloc(c->arena, 1, sizeof *l);
        l->key = key;
        if (last)
            last->next = l;
        else
            k->labels = l;
        k->nlabels++;
    }
    l->attrs = n->attrs;
    l->nattrs = n->nattrs;
    l->category = formats_xml_attr(n, "category");
}

/* extract_data_types: every named element below the root whose value is "$key". */
static void add_data_type(struct formats_config *c, const struct formats_xml_node *n)
{
    const char *value = formats_xml_attr(n, "value");
    if (!value || !nonempty(formats_xml_attr(n, "name")) || value[0] != '$' || !value[1])
        return;
    struct formats_data_type **p = &c->data_types;
    while (*p && strcmp((*p)->key, value + 1))
        p = &(*p)->next;
    if (!*p) {
        *p = base_arena_calloc(c->arena, 1, sizeof **p);
        (*p)->key = value + 1;
    }
    (*p)->tag = n->name;
}

static void classify(struct formats_config *c, const struct formats_xml_node *n, int is_root)
{
    static const char *const label_tags[] = {"Label", "Choice", "Relation"};
    if (nonempty(formats_xml_attr(n, "name")) && nonempty(formats_xml_attr(n, "toName")) &&
        strcmp(n->name, "Filter"))
        add_control(c, n);
    else if (nonempty(formats_xml_attr(n, "name")) &&
             (nonempty(formats_xml_attr(n, "value")) || nonempty(formats_xml_attr(n, "valueList"))))
        add_object(c, n);
    if (!is_root)
        add_data_type(c, n);
    for (size_t i = 0; i < 3; i++)
        if (!strcmp(n->name, label_tags[i]))
            add_label(c, n);
}

static void build_label_keys(struct formats_config *c)
{
    for (struct formats_control *k = c->controls; k; k = k->next) {
        k->label_keys = base_arena_calloc(c->arena, k->nlabels + 1, sizeof *k->label_keys);
        size_t i = 0;
        for (struct formats_label *l = k->labels; l; l = l->next)
            k->label_keys[i++] = l->key;
    }
}

int formats_config_parse(const char *xml, size_t len, struct formats_config **out,
                         struct base_err *err)
{
    struct formats_config *c = base_calloc(1, sizeof *c);
    struct formats_xml_node *root = NULL;
    c->arena = base_arena_new(16384);
    if (formats_xml_parse(xml, len, &config_limits, c->arena, &root, err) ||
        formats_config_validate(xml, len, root, err)) {
        formats_config_free(c);
        return -1;
    }
    for (const struct formats_xml_node *n = root; n; n = formats_xml_next(n, root))
        classify(c, n, n == root);
    build_label_keys(c);
    *out = c;
    return 0;
}

void formats_config_free(struct formats_config *c)
{
    if (!c)
        return;
    base_arena_free(c->arena);
    base_free(c);
}

const char *formats_config_first_data_key(const struct formats_config *c)
{
    return c->data_types ? c->data_types->key : NULL;
}

size_t formats_config_ncontrols(const struct formats_config *c)
{
    return c->ncontrols;
}

int formats_config_control(const struct formats_config *c, size_t i,
                           struct formats_control_info *out)
{
    const struct formats_control *k = c->controls;
    while (k && i--)
        k = k->next;
    if (!k)
        return -1;
    const struct formats_object *o = object_find(c, k->to_names[0]);
    *out = (struct formats_control_info){
        .name = k->name,
        .type = k->type,
        .type_lower = k->type_lower,
        .to_name = k->to_names[0],
        .data_key = o ? o->value : NULL,
        .nlabels = k->nlabels,
        .labels = k->label_keys,
    };
    return 0;
}

int formats_config_find_type(const struct formats_config *c, const char *type)
{
    int i = 0;
    for (const struct formats_control *k = c->controls; k; k = k->next, i++)
        if (!strcmp(k->type, type))
            return i;
    return -1;
}
