/* Fuzzes the labeling-config parser and validator, and every JSON view of an accepted config. */
#include "formats/formats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct formats_config *c = NULL;
    struct base_err err;
    if (formats_config_parse((const char *)data, size, &c, &err))
        return 0;
    json_t *views[] = {formats_config_parsed(c), formats_config_data_types(c),
                       formats_config_control_weights(c), formats_config_tuples(c)};
    struct formats_usage u = {.ntasks = 1,
                              .nannotations = 1,
                              .created_annotations = views[3],
                              .created_labels = views[0]};
    char *detail = NULL;
    formats_config_check_usage(c, &u, 1, &detail, &err);
    base_free(detail);
    struct formats_control_info info;
    for (size_t i = 0; formats_config_control(c, i, &info) == 0; i++)
        (void)info;
    for (size_t i = 0; i < 4; i++)
        json_decref(views[i]);
    formats_config_free(c);
    return 0;
}
