/* Differential fuzzing of the JSON re-emitter (exports stream stored JSON through it): for any
 * input it must fail exactly when base_json_parse fails and otherwise give the bytes
 * formats_json_write gives for the parsed value, compact and indented. */
#include "formats/formats_int.h"

#include <stdlib.h>
#include <string.h>

static void check(const char *text, size_t len, const json_t *v, int indent)
{
    static struct formats_json_reemit r; /* reused across runs, as the exporter does */
    struct base_err err;
    int rc = formats_json_reemit(&r, text, len, indent, indent > 0 ? 1 : 0, &err);
    if (!v) {
        if (rc == 0)
            abort(); /* accepted what the parser rejects */
        return;
    }
    if (rc)
        abort(); /* rejected what the parser accepts */
    char *tree = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&tree, &n);
    formats_json_write(f, v, indent, indent > 0 ? 1 : 0);
    fclose(f);
    if (n != r.out.len || memcmp(tree, r.out.data, n))
        abort();
    free(tree);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    json_t *v = base_json_parse(text, size, NULL);
    check(text, size, v, -1);
    check(text, size, v, 2);
    json_decref(v);
    return 0;
}
