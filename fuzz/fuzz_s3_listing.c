/* Fuzzes the parsers of what an S3 server answers: a ListObjectsV2 page (keys, sizes,
 * continuation token) and an <Error> document, with arbitrary bytes. */
#include "s3/s3.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 20))
        return 0;
    struct s3_page p;
    if (s3_page_parse((const char *)data, size, &p, NULL) == 0) {
        for (size_t i = 0; i < p.n; i++)
            if (!p.objects[i].key[0] || p.objects[i].size < 0)
                __builtin_trap(); /* the parser promised a key and a size */
        if (p.truncated && !p.next_token)
            __builtin_trap();
        s3_page_release(&p);
    }
    char code[64], msg[256];
    s3_error_parse((const char *)data, size, code, msg);
    if (strlen(code) >= 64 || strlen(msg) >= 256)
        __builtin_trap();
    return 0;
}
