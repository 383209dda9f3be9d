/* Fuzzes the Pascal VOC XML importer (images resolved under a temp folder with two PNGs). */
#include "fuzz_formats_util.h"

#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct formats_dataset *d = formats_dataset_new();
    struct base_err err;
    formats_dataset_add_voc(d, (const char *)data, size, fuzz_image_root(), "fuzz.xml", &err);
    formats_dataset_free(d);
    return 0;
}
