/* Shared between the files of src/image: the per-format probe and decode entry points that
 * image_decode.c dispatches to, and big-endian/little-endian readers for header parsing. */
#ifndef LL_IMAGE_INT_H
#define LL_IMAGE_INT_H

#include "image.h"

/* Probes one format. *need_more is set when the bytes end before the header does (so a caller
 * holding a file prefix can read more and retry). */
int image_probe_jpeg(const uint8_t *d, size_t len, struct image_info *info, int *need_more,
                     struct base_err *err);
int image_probe_png(const uint8_t *d, size_t len, struct image_info *info, int *need_more,
                    struct base_err *err);
int image_probe_webp(const uint8_t *d, size_t len, struct image_info *info, int *need_more,
                     struct base_err *err);
int image_probe_ex(const uint8_t *d, size_t len, struct image_info *info, int *need_more,
                   struct base_err *err);

/* Decoders produce the stored orientation; scale_eighths (1..8) is the JPEG DCT scale and
 * fit_* (0 for none, stored orientation) the WebP scaling box. info comes from the probe.
 * *truncated is set to 1 (and left alone otherwise) when the data ended inside the pixels and
 * the rest of the picture was filled; data that ends before any row of pixels is an error. */
int image_decode_jpeg(const uint8_t *d, size_t len, const struct image_info *info,
                      int scale_eighths, struct image *out, int *truncated, struct base_err *err);
int image_decode_png(const uint8_t *d, size_t len, const struct image_info *info, struct image *out,
                     int *truncated, struct base_err *err);
/* A PNG shrunk while it is read, a row at a time: each output pixel is the average of a k x k
 * block (k >= 2), so memory is a few rows plus the result whatever the picture's size (an
 * interlaced PNG cannot be read so and is decoded whole). */
int image_decode_png_scaled(const uint8_t *d, size_t len, const struct image_info *info, int k,
                            struct image *out, int *truncated, struct base_err *err);
int image_decode_webp(const uint8_t *d, size_t len, const struct image_info *info, int fit_w,
                      int fit_h, struct image *out, int *truncated, struct base_err *err);

/* Fills rows [from, h) of a packed picture of `channels` (3 or 4) with opaque mid grey: what a
 * truncated file's missing part becomes (libjpeg's own fill is the same grey). */
void image_fill_grey_rows(uint8_t *p, size_t width, int channels, size_t from, size_t h);

/* Composites packed RGBA onto white in place, leaving packed RGB in the first 3*npix bytes. */
void image_flatten_rgba(uint8_t *p, size_t npix);

static inline uint32_t image_be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static inline uint32_t image_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t image_le16(const uint8_t *p)
{
    return (uint32_t)p[1] << 8 | p[0];
}

static inline uint32_t image_le24(const uint8_t *p)
{
    return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint32_t image_le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

#endif
