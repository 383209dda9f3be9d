/* Image size from the file header, via src/image's probe (no pixels decoded): imports convert pixel
 * boxes to percentages with the real size as displayed (after EXIF orientation), never the size an
 * annotation file claims. */
#include "formats_int.h"

#include "image/image.h"

#include <string.h>

static void from_image(const struct image_info *in, struct formats_image_info *out)
{
    *out = (struct formats_image_info){
        .width = in->width,
        .height = in->height,
        .channels = 3, /* every image we decode is used as RGB */
        .orientation = in->orientation,
    };
}

int formats_image_probe_mem(const void *data, size_t len, struct formats_image_info *out,
                            struct base_err *err)
{
    struct image_info info;
    memset(out, 0, sizeof *out);
    if (image_probe(data, len, &info, err))
        return -1;
    from_image(&info, out);
    return 0;
}

int formats_image_probe(const char *path, struct formats_image_info *out, struct base_err *err)
{
    struct image_info info;
    memset(out, 0, sizeof *out);
    if (image_probe_file(path, &info, err))
        return -1;
    from_image(&info, out);
    return 0;
}
