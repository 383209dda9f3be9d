/* Fuzzes the CSV/TSV and TXT task-file readers of the import: quoting, line ends, typing. */
#include "formats/formats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *tasks = NULL;
    struct base_err err;
    if (!formats_csv_tasks((const char *)data, size, size % 2 ? ',' : '\t', &tasks, &err))
        json_decref(tasks);
    if (!formats_txt_tasks((const char *)data, size, &tasks, &err))
        json_decref(tasks);
    return 0;
}
