/* Unit tests of the JSON helpers of src/base: parse errors that name the problem, and output
 * byte-identical to Python's json.dumps (float repr, key order, escapes, separators). */
#include "base/base.h"
#include "test.h"

#include <jansson.h>

static char *roundtrip(const char *text, enum base_json_style style)
{
    json_t *v = base_json_parse(text, strlen(text), NULL);
    char *out = base_json_dumps(v, style, NULL);
    json_decref(v);
    return out;
}

static void test_dump_python(void)
{
    const char *cases[][2] = {
        {"{\"b\": 1, \"a\": [1.0, 0.1, 42.37181091308594, 1e-05, 1e16, -0.0, 100.0]}",
         "{\"b\": 1, \"a\": [1.0, 0.1, 42.37181091308594, 1e-05, 1e+16, -0.0, 100.0]}"},
        {"[\"caf\\u00e9\", \"a\\\"b\\\\c\\n\\t\\u0001\", null, true, false]",
         "[\"caf\xc3\xa9\", \"a\\\"b\\\\c\\n\\t\\u0001\", null, true, false]"},
        {"{}", "{}"},
        {"[]", "[]"},
        {"-9223372036854775808", "-9223372036854775808"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = roundtrip(cases[i][0], BASE_JSON_PYTHON);
        CHECK_EQ_STR(out, cases[i][1]);
        base_free(out);
    }
    char *compact = roundtrip("{\"a\": [1, 2.5], \"b\": {\"c\": \"d\"}}", BASE_JSON_COMPACT);
    CHECK_EQ_STR(compact, "{\"a\":[1,2.5],\"b\":{\"c\":\"d\"}}");
    base_free(compact);
}

static void test_parse_errors(void)
{
    struct base_err err = {0};
    const char *bad[] = {"",          "{",     "[1,]",
                         "{\"a\" 1}", "\xff",  "NaN",
                         "1e999999",  "[1] x", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *v = base_json_parse(bad[i], strlen(bad[i]), &err);
        CHECK(v == NULL);
        CHECK_EQ_INT(err.status, BASE_E_INVALID);
        CHECK(strstr(err.msg, "JSON parse error") == err.msg);
        json_decref(v);
    }
    json_t *v = base_json_parse("\"x\"", 3, NULL);
    CHECK(json_is_string(v));
    json_decref(v);
}

static void test_dump_limit(void)
{
    json_t *v = base_json_parse("[1, 2, 3, 4, 5, 6, 7, 8, 9]", 27, NULL);
    struct base_buf b;
    base_buf_init(&b, 8);
    struct base_err err = {0};
    CHECK_EQ_INT(base_json_dump(v, BASE_JSON_COMPACT, &b, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_TOOBIG);
    base_buf_release(&b);
    json_decref(v);
}

/* The emitter: json.dumps(indent=2)'s layout (",\n" + indent, ": ", empty containers inline),
 * into a FILE and into a buffer alike; a buffer's limit is kept as the first error. */
static void test_emitter(void)
{
    static const char want[] = "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"x\\ty\"\n    },\n"
                               "    [],\n    {}\n  ],\n  \"c\": 0.1\n}";
    static const char in[] = "{\"a\": [1, {\"b\": \"x\\ty\"}, [], {}], \"c\": 0.1}";
    json_t *v = base_json_parse(in, sizeof in - 1, NULL);
    CHECK(v != NULL);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct base_jw w;
    base_jw_init_file(&w, f, BASE_JSON_PYTHON, 2);
    base_jw_value(&w, v, 0);
    CHECK_EQ_INT(base_jw_end(&w, NULL), 0);
    fclose(f);
    CHECK_EQ_STR(text, want);
    free(text);
    struct base_buf b;
    struct base_err err = {0};
    base_buf_init(&b, sizeof want - 1);
    base_jw_init_buf(&w, &b, BASE_JSON_PYTHON, 2);
    base_jw_value(&w, v, 0);
    CHECK_EQ_INT(base_jw_end(&w, &err), 0);
    CHECK_EQ_STR(b.data, want);
    base_jw_value(&w, v, 0); /* one byte more than the limit fails; later writes keep that error */
    BASE_JW_LIT(&w, "x");
    CHECK_EQ_INT(base_jw_end(&w, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_TOOBIG);
    CHECK(b.len <= b.limit);
    base_buf_release(&b);
    json_decref(v);
}

static int count_items(const char *text, int *ok)
{
    struct base_json_items it;
    *ok = base_json_items_init(&it, text, strlen(text));
    const char *item;
    size_t len;
    int n = 0, rc;
    while ((rc = base_json_items_next(&it, &item, &len, NULL)) == 1) {
        json_t *v = base_json_parse(item, len, NULL);
        n += v != NULL;
        json_decref(v);
    }
    return rc < 0 ? -1 : n;
}

static void test_items(void)
{
    int ok;
    CHECK_EQ_INT(count_items(" [ ] ", &ok), 0);
    CHECK(ok);
    CHECK_EQ_INT(count_items("[1]", &ok), 1);
    CHECK_EQ_INT(count_items("[1, \"a,]\\\"\", {\"b\": [1, {\"c\": \"]\"}]}, [], null]", &ok), 5);
    CHECK_EQ_INT(count_items("[{}\n,\n{}\n]\n", &ok), 2);
    CHECK_EQ_INT(count_items("[1,]", &ok), -1);
    CHECK_EQ_INT(count_items("[1 2]", &ok), -1);
    CHECK_EQ_INT(count_items("[1, {\"a\": 1]", &ok), -1);
    CHECK_EQ_INT(count_items("[\"open", &ok), -1);
    CHECK_EQ_INT(count_items("[1] x", &ok), -1);
    CHECK_EQ_INT(count_items("[,1]", &ok), -1);
    count_items("{\"a\": 1}", &ok);
    CHECK(!ok);
}

TEST_MAIN(TEST_CASE(test_dump_python), TEST_CASE(test_parse_errors), TEST_CASE(test_dump_limit),
          TEST_CASE(test_emitter), TEST_CASE(test_items))
