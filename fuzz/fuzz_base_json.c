/* Fuzzes JSON parsing and the Python-style serializer: whatever parses must dump and parse
 * back to an equal value. */
#include "base/base.h"

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
