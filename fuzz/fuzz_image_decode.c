/* Fuzzes the image decoders (JPEG, PNG, WebP), their header probes and EXIF orientation through
 * the public entry points, with scaled decoding driven by the input's first byte. */
#include "image/image.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct image_decode_opts o = {.max_pixels = 1 << 22};
    int fit = data[0];
    if (fit & 0x80) {
        o.fit_width = (fit & 0x7F) + 1;
        o.fit_height = (fit & 0x3F) * 2 + 1;
    }
    struct image img;
    struct image_info info;
    image_probe(data + 1, size - 1, &info, NULL);
    if (!image_decode(data + 1, size - 1, &o, &img, &info, NULL)) {
        if (img.width != (o.fit_width ? img.width : info.width))
            __builtin_trap();
        if (info.truncated != 0 && info.truncated != 1)
            __builtin_trap();
        struct image small;
        struct image_letterbox map;
        if (!image_letterbox(&img, 32, 24, 114, &small, &map, NULL))
            image_release(&small);
        image_release(&img);
    }
    return 0;
}
