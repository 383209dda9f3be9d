/* Decoding front door: probe, check the limits, pick the decode scale, dispatch to the format's
 * decoder, then turn the picture the way EXIF says a browser shows it. Also the picture's
 * lifecycle and the decode-shrink-encode path for thumbnails. */
#include "image_int.h"

#include <math.h>
#include <string.h>

/* PNGs larger than this are shrunk while read when a fit allows (a 10950 x 10950 PNG of a few
 * hundred KB would otherwise take 480 MB); smaller ones keep the exact full-size path. */
#define IMAGE_PNG_SCALED_FROM ((uint64_t)4 * 1000 * 1000)

int image_alloc(struct image *img, int width, int height, struct base_err *err)
{
    memset(img, 0, sizeof *img);
    if (width < 1 || height < 1)
        return base_err_set(err, BASE_E_INVALID, "image size %dx%d is empty", width, height);
    if ((uint64_t)width * (uint64_t)height > IMAGE_DEFAULT_MAX_PIXELS)
        return base_err_set(err, BASE_E_TOOBIG, "image size %dx%d exceeds the pixel limit", width,
                            height);
    img->pixels = base_alloc((size_t)width * (size_t)height * 3);
    img->width = width;
    img->height = height;
    return 0;
}

void image_release(struct image *img)
{
    if (!img)
        return;
    base_free(img->pixels);
    memset(img, 0, sizeof *img);
}

void image_flatten_rgba(uint8_t *p, size_t npix)
{
    for (size_t i = 0; i < npix; i++) {
        unsigned a = p[4 * i + 3];
        for (int k = 0; k < 3; k++)
            p[3 * i + k] = (uint8_t)((p[4 * i + k] * a + 255 * (255 - a) + 127) / 255);
    }
}

void image_fill_grey_rows(uint8_t *p, size_t width, int channels, size_t from, size_t h)
{
    if (from >= h)
        return;
    size_t n = (h - from) * width;
    uint8_t *q = p + from * width * (size_t)channels;
    memset(q, 128, n * (size_t)channels);
    for (size_t i = 0; channels == 4 && i < n; i++)
        q[4 * i + 3] = 255;
}

/* EXIF orientations as (swap axes, flip source x, flip source y): the output pixel (x, y) reads
 * the source pixel (u, v) with s = swap ? y : x, t = swap ? x : y, u = flip_u ? w-1-s : s,
 * v = flip_v ? h-1-t : t. */
static const struct {
    uint8_t swap, flip_u, flip_v;
} orientations[9] = {
    [1] = {0, 0, 0}, [2] = {0, 1, 0}, [3] = {0, 1, 1}, [4] = {0, 0, 1},
    [5] = {1, 0, 0}, [6] = {1, 0, 1}, [7] = {1, 1, 1}, [8] = {1, 1, 0},
};

void image_orient(struct image *img, int o)
{
    if (o < 2 || o > 8 || !img->pixels)
        return;
    int w = img->width, h = img->height, sw = orientations[o].swap;
    int ow = sw ? h : w, oh = sw ? w : h;
    uint8_t *dst = base_alloc((size_t)w * (size_t)h * 3);
    for (int y = 0; y < oh; y++) {
        for (int x = 0; x < ow; x++) {
            int s = sw ? y : x, t = sw ? x : y;
            int u = orientations[o].flip_u ? w - 1 - s : s;
            int v = orientations[o].flip_v ? h - 1 - t : t;
            memcpy(dst + ((size_t)y * ow + x) * 3, img->pixels + ((size_t)v * w + u) * 3, 3);
        }
    }
    base_free(img->pixels);
    img->pixels = dst;
    img->width = ow;
    img->height = oh;
}

/* The letterbox scale of the displayed picture into the fit box (1 when there is no box). */
static double fit_scale(const struct image_info *hdr, const struct image_decode_opts *o)
{
    if (o->fit_width <= 0 || o->fit_height <= 0)
        return 1.0;
    double s = fmin((double)o->fit_width / hdr->width, (double)o->fit_height / hdr->height);
    return s < 1.0 ? s : 1.0;
}

static int decode_pixels(const uint8_t *d, size_t len, struct image_info *hdr, double s,
                         struct image *out, struct base_err *err)
{
    switch (hdr->format) {
    case IMAGE_FORMAT_JPEG: {
        int m = (int)ceil(8.0 * s - 1e-9);
        return image_decode_jpeg(d, len, hdr, m < 1 ? 1 : m > 8 ? 8 : m, out, &hdr->truncated, err);
    }
    case IMAGE_FORMAT_PNG: {
        int k = (int)floor(1.0 / s + 1e-9); /* whole blocks that keep the fit covered */
        uint64_t pixels = (uint64_t)hdr->stored_width * (uint64_t)hdr->stored_height;
        if (k >= 2 && pixels > IMAGE_PNG_SCALED_FROM)
            return image_decode_png_scaled(d, len, hdr, k, out, &hdr->truncated, err);
        return image_decode_png(d, len, hdr, out, &hdr->truncated, err);
    }
    case IMAGE_FORMAT_WEBP: {
        int fw = s < 1.0 ? (int)ceil(hdr->stored_width * s) : 0;
        int fh = s < 1.0 ? (int)ceil(hdr->stored_height * s) : 0;
        return image_decode_webp(d, len, hdr, fw, fh, out, &hdr->truncated, err);
    }
    default:
        return base_err_set(err, BASE_E_UNSUPPORTED, "unsupported image format");
    }
}

int image_decode(const void *data, size_t len, const struct image_decode_opts *opts,
                 struct image *out, struct image_info *info, struct base_err *err)
{
    static const struct image_decode_opts defaults;
    const struct image_decode_opts *o = opts ? opts : &defaults;
    struct image_info hdr;
    memset(out, 0, sizeof *out);
    if (image_probe(data, len, &hdr, err))
        return -1;
    uint64_t limit = o->max_pixels ? o->max_pixels : IMAGE_DEFAULT_MAX_PIXELS;
    if ((uint64_t)hdr.stored_width * (uint64_t)hdr.stored_height > limit)
        return base_err_set(err, BASE_E_TOOBIG, "%s: image of %dx%d exceeds the pixel limit",
                            image_format_name(hdr.format), hdr.stored_width, hdr.stored_height);
    if (decode_pixels(data, len, &hdr, fit_scale(&hdr, o), out, err))
        return -1;
    if (!o->keep_orientation)
        image_orient(out, hdr.orientation);
    if (info)
        *info = hdr;
    return 0;
}

int image_decode_file(const char *path, const struct image_decode_opts *opts, struct image *out,
                      struct image_info *info, struct base_err *err)
{
    char *data = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    int rc = base_file_read(path, IMAGE_MAX_FILE_BYTES, &data, &len, err);
    if (!rc && (rc = image_decode(data, len, opts, out, info, err)))
        base_err_prefix(err, "%s: ", path);
    base_free(data);
    return rc;
}

int image_load_fit(const void *data, size_t len, int max_side, int enlarge, struct image *out,
                   struct image_info *info, struct base_err *err)
{
    if (max_side < 1)
        return base_err_set(err, BASE_E_INVALID, "image: bad target size %d", max_side);
    struct image_decode_opts o = {.fit_width = max_side, .fit_height = max_side};
    struct image full;
    if (image_decode(data, len, &o, &full, info, err))
        return -1;
    int longer = full.width > full.height ? full.width : full.height;
    if (longer == max_side || (longer < max_side && !enlarge)) {
        *out = full;
        return 0;
    }
    double s = (double)max_side / longer;
    int w = (int)lround(full.width * s), h = (int)lround(full.height * s);
    int rc = image_resize(&full, w < 1 ? 1 : w, h < 1 ? 1 : h, IMAGE_FILTER_AREA, out, err);
    image_release(&full);
    return rc;
}

int image_thumbnail(const void *data, size_t len, int max_side, int quality, uint8_t **out,
                    size_t *out_len, struct base_err *err)
{
    struct image img;
    *out = NULL;
    *out_len = 0;
    if (image_load_fit(data, len, max_side, 0, &img, NULL, err))
        return -1;
    int rc = image_encode_jpeg(&img, quality, out, out_len, err);
    image_release(&img);
    return rc;
}
