/* Fuzzes the multipart/form-data parser: the first line of the input is the Content-Type
 * header, the rest the body. Every part must lie inside the body. */
#include "http/http.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl)
        return 0;
    size_t hlen = (size_t)(nl - data);
    char *ctype = base_alloc(hlen + 1);
    memcpy(ctype, data, hlen);
    ctype[hlen] = '\0';
    size_t blen = size - hlen - 1;
    char *body = base_alloc(blen + 1); /* its own allocation, so ASan sees reads past the end */
    memcpy(body, nl + 1, blen);
    struct base_arena *a = base_arena_new(4096);
    struct http_part *parts;
    size_t n;
    if (!http_multipart_parse(ctype, body, blen, a, &parts, &n, 64, NULL))
        for (size_t i = 0; i < n; i++) {
            if (parts[i].data < body || parts[i].data + parts[i].len > body + blen)
                __builtin_trap();
            (void)strlen(parts[i].name);
            if (parts[i].filename)
                (void)strlen(parts[i].filename);
        }
    base_arena_free(a);
    base_free(body);
    base_free(ctype);
    return 0;
}
