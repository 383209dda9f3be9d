/* Fuzzes the time stamp and number parsers of src/base with arbitrary text. */
#include "base/base.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[128];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    int64_t us, i;
    double d;
    char out[32];
    if (!base_time_parse(text, &us))
        base_time_iso(us, out);
    if (!base_parse_double(text, &d))
        base_fmt_double(d, out);
    base_parse_i64(text, &i);
    return 0;
}
