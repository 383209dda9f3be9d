/* Fuzzes the Label Studio task JSON importer: shape checks, then rectangles to pixel boxes. */
#include "fuzz_formats_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *tasks = NULL;
    struct base_err err;
    if (formats_tasks_parse((const char *)data, size, &tasks, NULL, &err))
        return 0;
    struct formats_dataset *d = formats_dataset_new();
    formats_dataset_add_tasks(d, tasks, 0, NULL, NULL, &err);
    formats_dataset_add_tasks(d, tasks, 1, NULL, NULL, &err);
    formats_dataset_free(d);
    json_decref(tasks);
    return 0;
}
