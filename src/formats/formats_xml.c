/* A small element tree over expat for the two XML inputs we read (labeling configs and Pascal VOC
 * annotations). Hardened: a DOCTYPE, entity declarations and entity references are refused, and
 * depth, element count and size are bounded, so hostile XML cannot expand or exhaust memory. */
#include "formats_int.h"

#include <expat.h>
#include <string.h>

struct xml_state {
    XML_Parser parser;
    struct base_arena *arena;
    const struct formats_xml_limits *lim;
    struct formats_xml_node *root, *cur;
    struct base_buf text;
    unsigned depth;
    size_t nodes;
    struct base_err *err;
    int failed;
};

static void xml_fail(struct xml_state *s, const char *what)
{
    if (s->failed)
        return;
    s->failed = 1;
    base_err_set(s->err, BASE_E_INVALID, "line %lu, column %lu: %s",
                 (unsigned long)XML_GetCurrentLineNumber(s->parser),
                 (unsigned long)XML_GetCurrentColumnNumber(s->parser) + 1, what);
    XML_StopParser(s->parser, XML_FALSE);
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct xml_state *s = ud;
    if (++s->depth > s->lim->max_depth)
        return xml_fail(s, "elements nested too deeply");
    if (++s->nodes > s->lim->max_nodes)
        return xml_fail(s, "too many elements");
    struct formats_xml_node *n = base_arena_calloc(s->arena, 1, sizeof *n);
    n->name = base_arena_strdup(s->arena, name);
    n->line = (unsigned)XML_GetCurrentLineNumber(s->parser);
    while (attrs[2 * n->nattrs])
        n->nattrs++;
    n->attrs = base_arena_calloc(s->arena, 2 * n->nattrs + 1, sizeof *n->attrs);
    for (size_t i = 0; i < 2 * n->nattrs; i++)
        n->attrs[i] = base_arena_strdup(s->arena, attrs[i]);
    n->text = "";
    n->parent = s->cur;
    if (s->cur) {
        if (s->cur->last_child)
            s->cur->last_child->next = n;
        else
            s->cur->first_child = n;
        s->cur->last_child = n;
    } else {
        s->root = n;
    }
    s->cur = n;
    base_buf_reset(&s->text);
}

static void on_end(void *ud, const XML_Char *name)
{
    struct xml_state *s = ud;
    (void)name;
    if (!s->cur->first_child && s->text.len)
        s->cur->text = base_arena_strndup(s->arena, s->text.data, s->text.len);
    base_buf_reset(&s->text);
    s->cur = s->cur->parent;
    s->depth--;
}

static void on_text(void *ud, const XML_Char *data, int len)
{
    struct xml_state *s = ud;
    struct base_err e;
    if (s->cur && !s->cur->first_child && base_buf_append(&s->text, data, (size_t)len, &e))
        xml_fail(s, "text too long");
}

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    xml_fail(ud, "DOCTYPE and entities are not allowed");
}

static void on_entity_decl(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                           int value_len, const XML_Char *base, const XML_Char *sysid,
                           const XML_Char *pubid, const XML_Char *notation)
{
    (void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid;
    (void)pubid, (void)notation;
    xml_fail(ud, "DOCTYPE and entities are not allowed");
}

static void on_skipped_entity(void *ud, const XML_Char *name, int is_param)
{
    (void)name, (void)is_param;
    xml_fail(ud, "entities are not allowed");
}

static XML_Parser make_parser(struct xml_state *s)
{
    XML_Parser p = XML_ParserCreate("UTF-8");
    if (!p)
        return NULL;
    XML_SetUserData(p, s);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    XML_SetStartDoctypeDeclHandler(p, on_doctype);
    XML_SetEntityDeclHandler(p, on_entity_decl);
    XML_SetSkippedEntityHandler(p, on_skipped_entity);
    XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
    return p;
}

int formats_xml_parse(const char *data, size_t len, const struct formats_xml_limits *lim,
                      struct base_arena *arena, struct formats_xml_node **root,
                      struct base_err *err)
{
    if (len > lim->max_bytes)
        return base_err_set(err, BASE_E_TOOBIG, "XML larger than %zu bytes", lim->max_bytes);
    if (len > (size_t)INT32_MAX)
        return base_err_set(err, BASE_E_TOOBIG, "XML too large");
    struct xml_state s = {.arena = arena, .lim = lim, .err = err};
    base_buf_init(&s.text, lim->max_bytes);
    s.parser = make_parser(&s);
    int rc = -1;
    if (!s.parser) {
        base_err_set(err, BASE_E_NOMEM, "cannot create XML parser");
        goto out;
    }
    if (XML_Parse(s.parser, data, (int)len, XML_TRUE) == XML_STATUS_ERROR && !s.failed) {
        base_err_set(err, BASE_E_INVALID, "line %lu, column %lu: %s",
                     (unsigned long)XML_GetCurrentLineNumber(s.parser),
                     (unsigned long)XML_GetCurrentColumnNumber(s.parser) + 1,
                     XML_ErrorString(XML_GetErrorCode(s.parser)));
        goto out;
    }
    if (s.failed)
        goto out;
    if (!s.root) {
        base_err_set(err, BASE_E_INVALID, "xml is empty or incorrect");
        goto out;
    }
    *root = s.root;
    rc = 0;
out:
    if (s.parser)
        XML_ParserFree(s.parser);
    base_buf_release(&s.text);
    return rc;
}

const char *formats_xml_attr(const struct formats_xml_node *n, const char *name)
{
    for (size_t i = 0; i < n->nattrs; i++)
        if (!strcmp(n->attrs[2 * i], name))
            return n->attrs[2 * i + 1];
    return NULL;
}

const struct formats_xml_node *formats_xml_child(const struct formats_xml_node *n, const char *name)
{
    for (const struct formats_xml_node *c = n->first_child; c; c = c->next)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

const struct formats_xml_node *formats_xml_next(const struct formats_xml_node *n,
                                                const struct formats_xml_node *root)
{
    if (n->first_child)
        return n->first_child;
    while (n && n != root) {
        if (n->next)
            return n->next;
        n = n->parent;
    }
    return NULL;
}
