/* A small EXIF reader: only the orientation tag of IFD0 matters to us (phone photos are stored
 * sideways and tagged), so this walks one IFD with every offset checked against the block. */
#include "image_int.h"

#include <string.h>

#define EXIF_TAG_ORIENTATION 0x0112
#define EXIF_TYPE_SHORT      3
#define EXIF_TYPE_LONG       4

struct tiff {
    const uint8_t *p;
    size_t len;
    int little;
};

static uint32_t tiff16(const struct tiff *t, size_t off)
{
    return t->little ? image_le16(t->p + off) : image_be16(t->p + off);
}

static uint32_t tiff32(const struct tiff *t, size_t off)
{
    return t->little ? image_le32(t->p + off) : image_be32(t->p + off);
}

/* Value of one 12-byte IFD entry if it is the orientation tag, else 0. */
static int entry_orientation(const struct tiff *t, size_t off)
{
    if (tiff16(t, off) != EXIF_TAG_ORIENTATION || tiff32(t, off + 4) < 1)
        return 0;
    uint32_t type = tiff16(t, off + 2), v;
    if (type == EXIF_TYPE_SHORT)
        v = tiff16(t, off + 8);
    else if (type == EXIF_TYPE_LONG)
        v = tiff32(t, off + 8);
    else
        return 1;
    return v >= 1 && v <= 8 ? (int)v : 1;
}

int image_exif_orientation(const uint8_t *p, size_t len)
{
    if (!p)
        return 1;
    if (len >= 6 && !memcmp(p, "Exif\0\0", 6)) {
        p += 6;
        len -= 6;
    }
    if (len < 8)
        return 1;
    struct tiff t = {p, len, 0};
    if (!memcmp(p, "II*\0", 4))
        t.little = 1;
    else if (memcmp(p, "MM\0*", 4))
        return 1;
    size_t ifd = tiff32(&t, 4);
    if (ifd > len || len - ifd < 2)
        return 1;
    size_t n = tiff16(&t, ifd);
    for (size_t i = 0; i < n; i++) {
        size_t off = ifd + 2 + 12 * i;
        if (off > len || len - off < 12)
            return 1;
        int v = entry_orientation(&t, off);
        if (v)
            return v;
    }
    return 1;
}
