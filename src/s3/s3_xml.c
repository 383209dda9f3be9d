/* S3 answers in XML: a ListObjectsV2 page (ListBucketResult) and, on failure, an <Error>. Both
 * come from a server we do not control, so the parser (expat) takes only what it needs, bounds
 * every size, and refuses DTDs and entities (no entity-expansion bombs). */
#include "s3.h"

#include <expat.h>
#include <stdlib.h>
#include <string.h>

#define S3_XML_MAX_OBJECTS 100000 /* S3 pages hold at most 1000 */
#define S3_XML_MAX_TEXT    4096   /* a key is at most 1024 bytes */
#define S3_XML_MAX_DEPTH   8

struct xml_state {
    XML_Parser parser;
    char path[S3_XML_MAX_DEPTH][32]; /* element names from the root */
    int depth;                       /* may exceed S3_XML_MAX_DEPTH: deeper ones are ignored */
    char text[S3_XML_MAX_TEXT + 1];
    size_t ntext;
    int text_over;
    struct s3_page *page; /* ListBucketResult, or NULL */
    char *code, *msg;     /* Error, or NULL */
    char cur_key[S3_XML_MAX_TEXT + 1];
    int64_t cur_size;
    int has_key;
    size_t cap;
    char why[160];
};

static void stop(struct xml_state *s, const char *why)
{
    if (!s->why[0])
        snprintf(s->why, sizeof s->why, "%s", why);
    XML_StopParser(s->parser, XML_FALSE);
}

static int at(const struct xml_state *s, int depth, const char *name)
{
    return s->depth == depth && depth <= S3_XML_MAX_DEPTH && !strcmp(s->path[depth - 1], name);
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    struct xml_state *s = ud;
    if (s->depth < S3_XML_MAX_DEPTH)
        snprintf(s->path[s->depth], sizeof s->path[0], "%s", name);
    s->depth++;
    s->ntext = 0;
    s->text_over = 0;
    if (s->depth == 1 && s->page && strcmp(name, "ListBucketResult"))
        stop(s, "not a ListBucketResult document");
    if (s->page && at(s, 2, "Contents")) {
        s->has_key = 0;
        s->cur_size = 0;
    }
}

static void add_object(struct xml_state *s)
{
    struct s3_page *p = s->page;
    if (!s->has_key)
        return stop(s, "a Contents element without a Key");
    if (p->n >= S3_XML_MAX_OBJECTS)
        return stop(s, "too many objects in one page");
    if (p->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        p->objects = base_realloc(p->objects, s->cap * sizeof *p->objects);
    }
    p->objects[p->n].key = base_strdup(s->cur_key);
    p->objects[p->n].size = s->cur_size;
    p->n++;
}

static void page_end(struct xml_state *s)
{
    if (at(s, 3, "Key") && s->depth >= 2 && !strcmp(s->path[1], "Contents")) {
        if (s->text_over || !s->ntext)
            return stop(s, "an empty or over-long Key");
        memcpy(s->cur_key, s->text, s->ntext + 1);
        s->has_key = 1;
    } else if (at(s, 3, "Size") && !strcmp(s->path[1], "Contents")) {
        char *end;
        long long v = strtoll(s->text, &end, 10);
        if (!s->ntext || *end || v < 0)
            return stop(s, "a Size that is not a non-negative integer");
        s->cur_size = v;
    } else if (at(s, 2, "Contents")) {
        add_object(s);
    } else if (at(s, 2, "IsTruncated")) {
        s->page->truncated = !strcmp(s->text, "true");
    } else if (at(s, 2, "NextContinuationToken")) {
        if (s->text_over)
            return stop(s, "an over-long NextContinuationToken");
        base_free(s->page->next_token);
        s->page->next_token = base_strdup(s->text);
    }
}

static void on_end(void *ud, const XML_Char *name)
{
    (void)name;
    struct xml_state *s = ud;
    s->text[s->ntext] = '\0';
    if (s->page)
        page_end(s);
    else if (at(s, 2, "Code"))
        snprintf(s->code, 64, "%.63s", s->text);
    else if (at(s, 2, "Message"))
        snprintf(s->msg, 256, "%.255s", s->text);
    s->depth--;
    s->ntext = 0;
}

static void on_text(void *ud, const XML_Char *data, int len)
{
    struct xml_state *s = ud;
    if (len < 0 || s->ntext + (size_t)len > S3_XML_MAX_TEXT) {
        s->text_over = 1;
        return;
    }
    memcpy(s->text + s->ntext, data, (size_t)len);
    s->ntext += (size_t)len;
}

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int has_internal)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal;
    stop(ud, "a DOCTYPE (refused)");
}

static void on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                      int value_len, const XML_Char *base, const XML_Char *sysid,
                      const XML_Char *pubid, const XML_Char *notation)
{
    (void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid;
    (void)pubid, (void)notation;
    stop(ud, "an entity declaration (refused)");
}

/* Runs expat over the document; 0 when it parsed to the end. */
static int run(struct xml_state *s, const char *xml, size_t len)
{
    s->parser = XML_ParserCreate("UTF-8");
    if (!s->parser)
        return -1;
    XML_SetUserData(s->parser, s);
    XML_SetElementHandler(s->parser, on_start, on_end);
    XML_SetCharacterDataHandler(s->parser, on_text);
    XML_SetStartDoctypeDeclHandler(s->parser, on_doctype);
    XML_SetEntityDeclHandler(s->parser, on_entity);
    int ok = len <= (size_t)INT32_MAX && XML_Parse(s->parser, xml, (int)len, XML_TRUE) != 0;
    if (!ok && !s->why[0])
        snprintf(s->why, sizeof s->why, "%s at line %lu",
                 XML_ErrorString(XML_GetErrorCode(s->parser)),
                 (unsigned long)XML_GetCurrentLineNumber(s->parser));
    XML_ParserFree(s->parser);
    return ok && !s->why[0] ? 0 : -1;
}

int s3_page_parse(const char *xml, size_t len, struct s3_page *out, struct base_err *err)
{
    memset(out, 0, sizeof *out);
    struct xml_state *s = base_calloc(1, sizeof *s);
    s->page = out;
    int rc = run(s, xml, len);
    if (rc) {
        base_err_set(err, BASE_E_INVALID, "S3 listing: %s",
                     s->why[0] ? s->why : "cannot create the XML parser");
        s3_page_release(out);
    } else if (out->truncated && !out->next_token) {
        rc = base_err_set(err, BASE_E_INVALID,
                          "S3 listing: truncated without a NextContinuationToken");
        s3_page_release(out);
    }
    base_free(s);
    return rc;
}

void s3_page_release(struct s3_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        base_free((char *)p->objects[i].key);
    base_free(p->objects);
    base_free(p->next_token);
    memset(p, 0, sizeof *p);
}

void s3_error_parse(const char *xml, size_t len, char code[64], char msg[256])
{
    code[0] = msg[0] = '\0';
    struct xml_state *s = base_calloc(1, sizeof *s);
    s->code = code;
    s->msg = msg;
    if (len)
        run(s, xml, len);
    base_free(s);
    /* only printable ASCII reaches a message */
    for (char *p = code; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '?';
    for (char *p = msg; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '?';
}
