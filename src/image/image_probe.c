/* Header probes: format, stored size and EXIF orientation from the first bytes of a file, without
 * decoding pixels. Used to size buffers before decoding and, by the formats module, to convert
 * pixel boxes into the percentages of the picture as a browser shows it. */
#include "image_int.h"

#include <errno.h>
#include <string.h>
#include <webp/decode.h>

#define PROBE_PREFIX ((size_t)256 << 10)

static int truncated(int *need_more, struct base_err *err, const char *what)
{
    *need_more = 1;
    return base_err_set(err, BASE_E_INVALID, "%s: truncated header", what);
}

static int check_sides(struct image_info *info, uint32_t w, uint32_t h, struct base_err *err)
{
    if (w == 0 || h == 0)
        return base_err_set(err, BASE_E_INVALID, "%s: zero image size",
                            image_format_name(info->format));
    if (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE)
        return base_err_set(err, BASE_E_TOOBIG, "%s: image of %ux%u exceeds the side limit %d",
                            image_format_name(info->format), w, h, IMAGE_MAX_SIDE);
    info->stored_width = (int)w;
    info->stored_height = (int)h;
    return 0;
}

/* ---- JPEG: walk the marker segments up to the frame header ---------------------------------- */

static int jpeg_is_sof(int m)
{
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

static int jpeg_standalone(int m)
{
    return m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7);
}

int image_probe_jpeg(const uint8_t *d, size_t len, struct image_info *info, int *need_more,
                     struct base_err *err)
{
    int seen_exif = 0;
    size_t pos = 2;
    for (;;) {
        if (pos >= len)
            return truncated(need_more, err, "jpeg");
        if (d[pos] != 0xFF)
            return base_err_set(err, BASE_E_INVALID, "jpeg: expected a marker at byte %zu", pos);
        while (pos < len && d[pos] == 0xFF)
            pos++;
        if (pos >= len)
            return truncated(need_more, err, "jpeg");
        int m = d[pos++];
        if (jpeg_standalone(m))
            continue;
        if (m == 0xD9 || m == 0xDA)
            return base_err_set(err, BASE_E_INVALID, "jpeg: no frame header before the data");
        if (len - pos < 2)
            return truncated(need_more, err, "jpeg");
        size_t seglen = image_be16(d + pos);
        if (seglen < 2)
            return base_err_set(err, BASE_E_INVALID, "jpeg: bad segment length at byte %zu", pos);
        if (len - pos < seglen)
            return truncated(need_more, err, "jpeg");
        const uint8_t *body = d + pos + 2;
        size_t blen = seglen - 2;
        if (m == 0xE1 && !seen_exif && blen >= 6 && !memcmp(body, "Exif\0\0", 6)) {
            info->orientation = image_exif_orientation(body, blen);
            seen_exif = 1;
        }
        if (jpeg_is_sof(m)) {
            if (blen < 6)
                return base_err_set(err, BASE_E_INVALID, "jpeg: short frame header");
            return check_sides(info, image_be16(body + 3), image_be16(body + 1), err);
        }
        pos += seglen;
    }
}

/* ---- PNG: IHDR, then chunks up to the first IDAT looking for eXIf ---------------------------- */

int image_probe_png(const uint8_t *d, size_t len, struct image_info *info, int *need_more,
                    struct base_err *err)
{
    if (len < 8 + 8 + 13)
        return truncated(need_more, err, "png");
    if (image_be32(d + 8) != 13 || memcmp(d + 12, "IHDR", 4))
        return base_err_set(err, BASE_E_INVALID, "png: first chunk is not IHDR");
    if (check_sides(info, image_be32(d + 16), image_be32(d + 20), err))
        return -1;
    size_t pos = 8 + 8 + 13 + 4;
    for (;;) {
        if (len < pos || len - pos < 8)
            return truncated(need_more, err, "png");
        size_t clen = image_be32(d + pos);
        if (clen > 0x7FFFFFFFu)
            return base_err_set(err, BASE_E_INVALID, "png: bad chunk length");
        const uint8_t *type = d + pos + 4;
        if (!memcmp(type, "IDAT", 4) || !memcmp(type, "IEND", 4))
            return 0;
        if (len - pos - 8 < clen + 4)
            return truncated(need_more, err, "png");
        if (!memcmp(type, "eXIf", 4)) {
            info->orientation = image_exif_orientation(d + pos + 8, clen);
            return 0;
        }
        pos += 8 + clen + 4;
    }
}

/* ---- WebP: libwebp reads the bitstream header; the RIFF chunks give the EXIF block ------------
 */

static void webp_find_exif(const uint8_t *d, size_t len, struct image_info *info)
{
    size_t end = 8 + (size_t)image_le32(d + 4);
    if (end > len)
        end = len;
    for (size_t pos = 12; pos + 8 <= end;) {
        size_t clen = image_le32(d + pos + 4);
        if (clen > end - pos - 8)
            return;
        if (!memcmp(d + pos, "EXIF", 4)) {
            info->orientation = image_exif_orientation(d + pos + 8, clen);
            return;
        }
        pos += 8 + clen + (clen & 1);
    }
}

int image_probe_webp(const uint8_t *d, size_t len, struct image_info *info, int *need_more,
                     struct base_err *err)
{
    WebPBitstreamFeatures f;
    VP8StatusCode st = WebPGetFeatures(d, len, &f);
    if (st == VP8_STATUS_NOT_ENOUGH_DATA)
        return truncated(need_more, err, "webp");
    if (st != VP8_STATUS_OK)
        return base_err_set(err, BASE_E_INVALID, "webp: bad header (libwebp status %d)", (int)st);
    if (check_sides(info, (uint32_t)f.width, (uint32_t)f.height, err))
        return -1;
    if (len >= 30 && !memcmp(d + 12, "VP8X", 4) && (d[20] & 0x08))
        webp_find_exif(d, len, info);
    return 0;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static const struct {
    enum image_format format;
    const char *name;
    const char *magic;
    size_t magic_len;
    int (*probe)(const uint8_t *, size_t, struct image_info *, int *, struct base_err *);
} formats[] = {
    {IMAGE_FORMAT_JPEG, "jpeg", "\xFF\xD8\xFF", 3, image_probe_jpeg},
    {IMAGE_FORMAT_PNG, "png", "\x89PNG\r\n\x1A\n", 8, image_probe_png},
    {IMAGE_FORMAT_WEBP, "webp", "RIFF", 4, image_probe_webp},
};

const char *image_format_name(enum image_format format)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i].format == format)
            return formats[i].name;
    return "unknown";
}

static int magic_matches(const uint8_t *d, size_t len, size_t i)
{
    if (len < formats[i].magic_len || memcmp(d, formats[i].magic, formats[i].magic_len))
        return 0;
    return formats[i].format != IMAGE_FORMAT_WEBP || (len >= 12 && !memcmp(d + 8, "WEBP", 4));
}

int image_probe_ex(const uint8_t *d, size_t len, struct image_info *info, int *need_more,
                   struct base_err *err)
{
    memset(info, 0, sizeof *info);
    *need_more = 0;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (!magic_matches(d, len, i))
            continue;
        info->format = formats[i].format;
        info->orientation = 1;
        if (formats[i].probe(d, len, info, need_more, err))
            return -1;
        int swap = info->orientation >= 5;
        info->width = swap ? info->stored_height : info->stored_width;
        info->height = swap ? info->stored_width : info->stored_height;
        return 0;
    }
    if (len < 12)
        *need_more = 1;
    return base_err_set(err, len ? BASE_E_UNSUPPORTED : BASE_E_INVALID,
                        len ? "not a JPEG, PNG or WebP image" : "empty image file");
}

int image_probe(const void *data, size_t len, struct image_info *info, struct base_err *err)
{
    int need_more;
    return image_probe_ex(data ? data : (const void *)"", data ? len : 0, info, &need_more, err);
}

/* Reads a prefix of the file; only when the header runs past it is the whole file read. */
int image_probe_file(const char *path, struct image_info *info, struct base_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return base_err_set(err, errno == ENOENT ? BASE_E_NOTFOUND : BASE_E_IO, "%s: %s", path,
                            strerror(errno));
    uint8_t *buf = base_alloc(PROBE_PREFIX);
    size_t n = fread(buf, 1, PROBE_PREFIX, f);
    int at_end = n < PROBE_PREFIX, need_more = 0, rc;
    fclose(f);
    rc = image_probe_ex(buf, n, info, &need_more, err);
    base_free(buf);
    if (rc && need_more && !at_end) {
        char *all = NULL;
        size_t len = 0;
        rc = base_file_read(path, IMAGE_MAX_FILE_BYTES, &all, &len, err);
        if (!rc)
            rc = image_probe_ex((const uint8_t *)all, len, info, &need_more, err);
        base_free(all);
    }
    return rc ? base_err_prefix(err, "%s: ", path) : 0;
}
