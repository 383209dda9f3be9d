/* Image size from the file header (JPEG with its EXIF orientation, PNG, WebP) without decoding
 * pixels: imports convert pixel boxes to percentages with the real size, never the size an
 * annotation file claims. This is the one place to switch to src/image's probe once it exists. */
#include "formats_int.h"

#include <string.h>

#define PROBE_PREFIX (256u << 10)
#define PROBE_MAX    (256u << 20)

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned le16(const uint8_t *p)
{
    return (unsigned)p[1] << 8 | p[0];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* EXIF orientation (1..8) from an APP1 payload "Exif\0\0" + TIFF; 1 when absent or malformed. */
static int exif_orientation(const uint8_t *p, size_t n)
{
    if (n < 14 || memcmp(p, "Exif\0\0", 6))
        return 1;
    const uint8_t *t = p + 6;
    size_t tn = n - 6;
    int le = t[0] == 'I' && t[1] == 'I';
    if (!le && !(t[0] == 'M' && t[1] == 'M'))
        return 1;
    uint32_t ifd = le ? le32(t + 4) : be32(t + 4);
    if (ifd > tn - 2)
        return 1;
    unsigned count = le ? le16(t + ifd) : be16(t + ifd);
    for (unsigned i = 0; i < count; i++) {
        size_t e = ifd + 2 + 12 * (size_t)i;
        if (e + 12 > tn)
            return 1;
        unsigned tag = le ? le16(t + e) : be16(t + e);
        if (tag == 0x0112) {
            unsigned v = le ? le16(t + e + 8) : be16(t + e + 8);
            return v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
    return 1;
}

static int is_sof(unsigned m)
{
    return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

/* Returns 1 when found, 0 when more bytes are needed, -1 when not a valid JPEG. */
static int probe_jpeg(const uint8_t *d, size_t n, struct formats_image_info *out)
{
    int orientation = 1;
    size_t i = 2;
    while (i + 4 <= n) {
        if (d[i] != 0xff)
            return -1;
        unsigned m = d[i + 1];
        if (m == 0xff) {
            i++;
            continue;
        }
        if (m == 0xd8 || (m >= 0xd0 && m <= 0xd7) || m == 0x01) {
            i += 2;
            continue;
        }
        if (m == 0xd9 || m == 0xda)
            return -1; /* end of image or scan before any frame header */
        unsigned len = be16(d + i + 2);
        if (len < 2)
            return -1;
        if (i + 2 + len > n)
            return 0;
        if (m == 0xe1)
            orientation = orientation == 1 ? exif_orientation(d + i + 4, len - 2) : orientation;
        if (is_sof(m)) {
            if (len < 8)
                return -1;
            out->height = (int)be16(d + i + 5);
            out->width = (int)be16(d + i + 7);
            out->channels = d[i + 9];
            out->orientation = orientation;
            return 1;
        }
        i += 2 + len;
    }
    return 0;
}

static int probe_png(const uint8_t *d, size_t n, struct formats_image_info *out)
{
    static const int channels[] = {1, 0, 3, 1, 2, 0, 4};
    if (n < 26 || memcmp(d + 12, "IHDR", 4))
        return -1;
    out->width = (int)be32(d + 16);
    out->height = (int)be32(d + 20);
    out->channels = d[25] <= 6 ? channels[d[25]] : 0;
    if (out->channels == 0 || out->width <= 0 || out->height <= 0)
        return -1;
    out->orientation = 1;
    return 1;
}

static int probe_webp(const uint8_t *d, size_t n, struct formats_image_info *out)
{
    if (n < 30)
        return -1;
    const uint8_t *c = d + 12;
    out->orientation = 1;
    out->channels = 3;
    if (!memcmp(c, "VP8 ", 4)) {
        if (c[11] != 0x9d || c[12] != 0x01 || c[13] != 0x2a)
            return -1;
        out->width = (int)(le16(c + 14) & 0x3fff);
        out->height = (int)(le16(c + 16) & 0x3fff);
    } else if (!memcmp(c, "VP8L", 4)) {
        if (c[8] != 0x2f)
            return -1;
        uint32_t b = le32(c + 9);
        out->width = (int)(b & 0x3fff) + 1;
        out->height = (int)((b >> 14) & 0x3fff) + 1;
        out->channels = (b >> 28) & 1 ? 4 : 3;
    } else if (!memcmp(c, "VP8X", 4)) {
        out->width = (int)(c[12] | c[13] << 8 | c[14] << 16) + 1;
        out->height = (int)(c[15] | c[16] << 8 | c[17] << 16) + 1;
        out->channels = c[8] & 0x10 ? 4 : 3;
    } else {
        return -1;
    }
    return out->width > 0 && out->height > 0 ? 1 : -1;
}

int formats_image_probe_mem(const void *data, size_t len, struct formats_image_info *out,
                            struct base_err *err)
{
    const uint8_t *d = data;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (len >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
        rc = probe_jpeg(d, len, out);
    else if (len >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
        rc = probe_png(d, len, out);
    else if (len >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
        rc = probe_webp(d, len, out);
    else
        return base_err_set(err, BASE_E_UNSUPPORTED, "not a JPEG, PNG or WebP image");
    if (rc == 0)
        return base_err_set(err, BASE_E_INVALID, "truncated image header");
    if (rc < 0 || out->width <= 0 || out->height <= 0)
        return base_err_set(err, BASE_E_INVALID, "corrupt image header");
    if (out->orientation >= 5) { /* transposed: width and height swap on display */
        int t = out->width;
        out->width = out->height;
        out->height = t;
    }
    return 0;
}

int formats_image_probe(const char *path, struct formats_image_info *out, struct base_err *err)
{
    struct base_err e = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return base_err_set(err, BASE_E_NOTFOUND, "%s: cannot open image", path);
    uint8_t *buf = base_alloc(PROBE_PREFIX);
    size_t n = fread(buf, 1, PROBE_PREFIX, f);
    fclose(f);
    int rc = formats_image_probe_mem(buf, n, out, &e);
    base_free(buf);
    if (rc && n == PROBE_PREFIX && !strcmp(e.msg, "truncated image header")) {
        /* large APP segments (embedded thumbnails) before the frame header */
        char *all = NULL;
        size_t len = 0;
        if (base_file_read(path, PROBE_MAX, &all, &len, &e) == 0)
            rc = formats_image_probe_mem(all, len, out, &e);
        base_free(all);
    }
    if (rc)
        base_err_set(err, e.status, "%s: %s", path, e.msg);
    return rc;
}
