/* Fuzzes the reader of a project's loop_label_map setting ("label -> COCO class" lines), which
 * the API takes from PATCH /api/projects/{id}: any bytes are accepted or rejected, never a crash.
 */
#include "loop/loop.h"

#include <string.h>

static int count(void *ctx, const char *label, int cls)
{
    (void)label;
    *(int *)ctx += cls >= 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = base_strndup((const char *)data, size);
    int n = 0;
    struct base_err err;
    loop_label_map_each(text, count, &n, &err);
    base_free(text);
    return 0;
}
