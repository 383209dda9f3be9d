/* Fuzzes the decoding of a media URL's query value and the check that keeps a local-files path
 * inside its document root, with arbitrary text (no network: only the file system is read). */
#include "mlb/mlb.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = base_alloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char *d = mlb_url_query(text, "d");
    if (d) {
        char *p = mlb_local_path("/tmp", d, NULL);
        if (p && strncmp(p, "/tmp/", 5))
            __builtin_trap(); /* escaped the root */
        base_free(p);
        base_free(d);
    }
    base_free(text);
    return 0;
}
