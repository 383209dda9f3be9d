/* Fuzzes JSON parsing and the Python-style serializer: whatever parses must dump and parse
 * back to an equal value, and the fast path of base_json_parse must build exactly what jansson
 * builds (same types, values and key order) whenever it accepts the input. */
#include "base/base.h"
#include "base/base_int.h"

#include <jansson.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_as_jansson(const uint8_t *data, size_t size)
{
    json_t *fast = base_json_parse_fast((const char *)data, size);
    if (!fast)
        return;
    json_t *slow = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!slow)
        __builtin_trap();
    size_t la, lb;
    char *a = base_json_dumps(fast, BASE_JSON_COMPACT, &la);
    char *b = base_json_dumps(slow, BASE_JSON_COMPACT, &lb);
    if (la != lb || memcmp(a, b, la))
        __builtin_trap();
    base_free(a), base_free(b);
    json_decref(fast), json_decref(slow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    same_as_jansson(data, size);
    json_t *v = base_json_parse((const char *)data, size, NULL);
    if (!v)
        return 0;
    size_t len;
    char *text = base_json_dumps(v, BASE_JSON_PYTHON, &len);
    json_t *back = base_json_parse(text, len, NULL);
    if (!back || !json_equal(v, back))
        __builtin_trap();
    json_decref(back);
    json_decref(v);
    base_free(text);
    return 0;
}
