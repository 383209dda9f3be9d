/* Labeling config validation as Label Studio applies it (spec 4.5): the schema rules on the tree,
 * the unique-name and toName checks on the raw text (Label Studio uses regular expressions there,
 * so we match the same text they match), and the check of a new config against what existing
 * tasks and annotations use. */
#include "formats_int.h"

#include <stdlib.h>
#include <string.h>

int formats_config_validate(const char *xml, size_t len, const struct formats_xml_node *root,
                            struct base_err *err);

/* ---- schema (label_config_schema.json) ----------------------------------------------------------
 */

struct schema_rule {
    const char *tag;
    const char *required[2]; /* attributes that must be present */
    const char *alt_value;   /* accepted instead of "value" */
};

/* Children of a View the schema constrains; anything else is allowed (additionalProperties). */
static const struct schema_rule view_rules[] = {
    {"Image", {"name", "value"}, "valueList"},
    {"Text", {"name", "value"}, "valueList"},
    {"HyperText", {"name", "value"}, "valueList"},
    {"Choices", {"name", "toName"}, NULL},
    {"Labels", {"name", "toName"}, NULL},
    {"TextArea", {"name", "toName"}, NULL},
    {"Number", {"name", "toName"}, NULL},
    {"Label", {"value", NULL}, NULL},
    {"Choice", {"value", NULL}, NULL},
};

static int schema_fail(struct base_err *err, const char *path, const char *prop)
{
    return base_err_set(err, BASE_E_INVALID, "Validation failed on %s: '%s' is a required property",
                        path, prop);
}

static int check_view(const struct formats_xml_node *view, const char *path, struct base_err *err);

/* "View/Labels" + "Label"; a path too deep for the buffer is cut (it only appears in messages). */
static void sub_path(char out[512], const char *path, const char *name)
{
    if (snprintf(out, 512, "%s/%s", path, name) >= 512)
        out[511] = '\0';
}

/* Choices/Labels need Choice/Label children, a value or a nested View. */
static int check_labels_tag(const struct formats_xml_node *n, const char *path,
                            struct base_err *err)
{
    const char *child = !strcmp(n->name, "Choices") ? "Choice" : "Label";
    if (!formats_xml_child(n, child) && !formats_xml_attr(n, "value") &&
        !formats_xml_child(n, "View"))
        return schema_fail(err, path, child);
    char sub[512];
    for (const struct formats_xml_node *c = n->first_child; c; c = c->next) {
        sub_path(sub, path, c->name);
        if (!strcmp(c->name, child) && !formats_xml_attr(c, "value"))
            return schema_fail(err, sub, "value");
        if (!strcmp(c->name, "View") && check_view(c, sub, err))
            return -1;
    }
    return 0;
}

static int check_child(const struct formats_xml_node *n, const char *path, struct base_err *err)
{
    if (!strcmp(n->name, "View"))
        return check_view(n, path, err);
    for (size_t i = 0; i < sizeof view_rules / sizeof view_rules[0]; i++) {
        const struct schema_rule *r = &view_rules[i];
        if (strcmp(n->name, r->tag))
            continue;
        for (size_t j = 0; j < 2 && r->required[j]; j++) {
            const char *a = r->required[j];
            int alt = !strcmp(a, "value") && r->alt_value && formats_xml_attr(n, r->alt_value);
            if (!formats_xml_attr(n, a) && !alt)
                return schema_fail(err, path, a);
        }
        if (!strcmp(n->name, "Choices") || !strcmp(n->name, "Labels"))
            return check_labels_tag(n, path, err);
    }
    return 0;
}

static int check_view(const struct formats_xml_node *view, const char *path, struct base_err *err)
{
    char sub[512];
    for (const struct formats_xml_node *c = view->first_child; c; c = c->next) {
        sub_path(sub, path, c->name);
        if (check_child(c, sub, err))
            return -1;
    }
    return 0;
}

/* ---- names and toName (regular expressions on the raw text in Label Studio) --------------------
 */

struct name_list {
    char **items;
    size_t n, cap;
};

static void names_push(struct name_list *l, const char *s, size_t n)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->items = base_realloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n++] = base_strndup(s, n);
}

static void names_release(struct name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        base_free(l->items[i]);
    base_free(l->items);
}

/* re.findall(r'<key>"([^"]*)"', text) */
static void find_all(const char *text, size_t len, const char *key, struct name_list *out)
{
    size_t klen = strlen(key);
    const char *p = text, *end = text + len;
    while ((p = memmem(p, (size_t)(end - p), key, klen))) {
        const char *v = p + klen;
        const char *q = memchr(v, '"', (size_t)(end - v));
        if (!q) {
            p++;
            continue;
        }
        names_push(out, v, (size_t)(q - v));
        p = q + 1;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Python's repr() of a str, for the "not found in names: [...]" message. */
static void py_repr(struct base_buf *b, const char *s)
{
    struct base_err e;
    char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    base_buf_append(b, &q, 1, &e);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\' || *p == (unsigned char)q)
            base_buf_printf(b, &e, "\\%c", *p);
        else if (*p == '\n' || *p == '\r' || *p == '\t')
            base_buf_puts(b, *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : "\\t", &e);
        else if (*p < 0x20 || *p == 0x7f)
            base_buf_printf(b, &e, "\\x%02x", *p);
        else
            base_buf_append(b, p, 1, &e);
    }
    base_buf_append(b, &q, 1, &e);
}

static int tonames_fail(struct name_list *names, const char *bad, struct base_err *err)
{
    struct base_buf b;
    struct base_err e;
    base_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < names->n; i++) {
        if (i && !strcmp(names->items[i], names->items[i - 1]))
            continue;
        base_buf_puts(&b, i ? ", " : "", &e);
        py_repr(&b, names->items[i]);
    }
    base_err_set(err, BASE_E_INVALID, "toName=\"%s\" not found in names: [%s]", bad,
                 b.data ? b.data : "");
    base_buf_release(&b);
    return -1;
}

static int check_names(const char *xml, size_t len, struct base_err *err)
{
    struct name_list names = {0}, tonames = {0};
    int rc = 0;
    find_all(xml, len, "name=\"", &names);
    find_all(xml, len, "toName=\"", &tonames);
    if (names.n)
        qsort(names.items, names.n, sizeof *names.items, cmp_str);
    for (size_t i = 1; i < names.n && !rc; i++)
        if (!strcmp(names.items[i], names.items[i - 1]))
            rc = base_err_set(err, BASE_E_INVALID, "Label config contains non-unique names");
    for (size_t i = 0; i < tonames.n && !rc; i++) {
        char *item = tonames.items[i];
        /* split(',') keeps empty items, which can never match a name */
        for (char *p = item;; p++) {
            if (*p != ',' && *p)
                continue;
            char c = *p;
            *p = '\0';
            if (!(names.n && bsearch(&item, names.items, names.n, sizeof *names.items, cmp_str)))
                rc = tonames_fail(&names, item, err);
            if (!c || rc)
                break;
            item = p + 1;
        }
    }
    names_release(&names);
    names_release(&tonames);
    return rc;
}

int formats_config_validate(const char *xml, size_t len, const struct formats_xml_node *root,
                            struct base_err *err)
{
    if (!strcmp(root->name, "View") && check_view(root, "View", err))
        return -1;
    return check_names(xml, len, err);
}
