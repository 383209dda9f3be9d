/* Fuzzes the bounds-checked EXIF orientation reader with arbitrary TIFF blocks. */
#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int o = image_exif_orientation(data, size);
    if (o < 1 || o > 8)
        __builtin_trap();
    return 0;
}
