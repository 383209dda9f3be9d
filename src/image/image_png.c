/* PNG through libpng's classic interface: every colour type and bit depth is expanded to 8-bit
 * RGB(A); alpha is composited onto white. libpng's errors longjmp back here and become values.
 * A file that ends inside its image data keeps the rows decoded so far and the rest is grey;
 * an interlaced one is read in libpng's "rectangle" mode, so its first pass already covers the
 * whole picture coarsely. */
#include "image_int.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

struct png_src {
    const uint8_t *d;
    size_t len, pos;
    int eof; /* a read went past the end of the data */
    char msg[128];
};

static void src_read(png_structp png, png_bytep dst, png_size_t n)
{
    struct png_src *s = png_get_io_ptr(png);
    if (s->len - s->pos < n) {
        s->eof = 1;
        png_error(png, "truncated file");
    }
    memcpy(dst, s->d + s->pos, n);
    s->pos += n;
}

static void on_error(png_structp png, png_const_charp msg)
{
    struct png_src *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Expands whatever the file holds to 8-bit RGB or RGBA; returns the channel count and sets
 * *passes (1, or 7 for Adam7). */
static int set_transforms(png_structp png, png_infop info, int *passes)
{
    int type = png_get_color_type(png, info);
    png_set_scale_16(png);
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    *passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    return png_get_channels(png, info);
}

/* Rows [0, *done) hold data once each row has been through the first pass. Interlaced rows go
 * to libpng's display argument, which replicates each pass's pixels over the rows and columns
 * that later passes refine (the final picture is the same). */
static void read_rows(png_structp png, png_bytep *rows, size_t h, int passes, volatile size_t *done)
{
    for (int p = 0; p < passes; p++)
        for (size_t y = 0; y < h; y++) {
            png_read_row(png, passes > 1 ? NULL : rows[y], passes > 1 ? rows[y] : NULL);
            if (p == 0)
                *done = y + 1;
        }
}

/* After a longjmp: keeps what a truncated file gave (at least one row), or reports the error. */
static int finish_partial(const struct png_src *src, uint8_t *pixels, size_t w, size_t h,
                          int channels, size_t done, int *truncated, struct base_err *err)
{
    if (!src->eof || !pixels || !done)
        return base_err_set(err, BASE_E_INVALID, "png: %s", src->msg);
    image_fill_grey_rows(pixels, w, channels, done, h);
    *truncated = 1;
    return 0;
}

static void to_rgb(uint8_t *pixels, size_t w, size_t h, int channels, struct image *out)
{
    if (channels == 4) {
        image_flatten_rgba(pixels, w * h);
        pixels = base_realloc(pixels, w * h * 3);
    }
    out->width = (int)w;
    out->height = (int)h;
    out->pixels = pixels;
}

int image_decode_png(const uint8_t *d, size_t len, const struct image_info *info, struct image *out,
                     int *truncated, struct base_err *err)
{
    struct png_src src = {d, len, 0, 0, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    png_infop pinfo = png ? png_create_info_struct(png) : NULL;
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    volatile size_t w = 0, h = 0, done = 0;
    volatile int channels = 0;
    if (!pinfo) {
        png_destroy_read_struct(&png, NULL, NULL);
        return base_err_set(err, BASE_E_NOMEM, "png: cannot create decoder");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        base_free(rows);
        if (finish_partial(&src, pixels, w, h, channels, done, truncated, err)) {
            base_free(pixels);
            return -1;
        }
        to_rgb(pixels, w, h, channels, out);
        return 0;
    }
    png_set_user_limits(png, IMAGE_MAX_SIDE, IMAGE_MAX_SIDE);
    png_set_read_fn(png, &src, src_read);
    png_read_info(png, pinfo);
    w = png_get_image_width(png, pinfo), h = png_get_image_height(png, pinfo);
    if ((int)w != info->stored_width || (int)h != info->stored_height)
        png_error(png, "inconsistent header");
    int passes;
    channels = set_transforms(png, pinfo, &passes);
    if ((channels != 3 && channels != 4) || png_get_rowbytes(png, pinfo) != w * (size_t)channels)
        png_error(png, "unexpected pixel layout");
    pixels = base_alloc(w * h * (size_t)channels);
    rows = base_alloc(h * sizeof *rows);
    for (size_t y = 0; y < h; y++)
        rows[y] = pixels + y * w * (size_t)channels;
    read_rows(png, rows, h, passes, &done);
    png_destroy_read_struct(&png, &pinfo, NULL);
    base_free(rows);
    to_rgb(pixels, w, h, channels, out);
    return 0;
}

/* Adds one decoded row (packed RGB) into the column sums of its band of k rows. */
static void add_row(const uint8_t *row, size_t w, int k, uint64_t *sums)
{
    for (size_t x0 = 0; x0 < w; x0 += (size_t)k, sums += 3) {
        size_t end = x0 + (size_t)k < w ? x0 + (size_t)k : w;
        unsigned sum[3] = {0, 0, 0}; /* k <= 65500 pixels of 255: fits */
        for (size_t x = x0; x < end; x++)
            for (int c = 0; c < 3; c++)
                sum[c] += row[x * 3 + (size_t)c];
        for (int c = 0; c < 3; c++)
            sums[c] += sum[c];
    }
}

/* Turns the sums of a band of `rows` rows into one output row of box averages. */
static void emit_band(uint64_t *sums, size_t w, int k, int rows, uint8_t *out)
{
    size_t ow = (w + (size_t)k - 1) / (size_t)k;
    for (size_t ox = 0; ox < ow; ox++) {
        size_t cols = w - ox * (size_t)k < (size_t)k ? w - ox * (size_t)k : (size_t)k;
        uint64_t n = cols * (uint64_t)rows;
        for (int c = 0; c < 3; c++)
            out[ox * 3 + (size_t)c] = (uint8_t)((sums[ox * 3 + (size_t)c] + n / 2) / n);
    }
    memset(sums, 0, ow * 3 * sizeof *sums);
}

/* A truncated file keeps the bands read so far; the rest of the picture is grey. */
static int finish_scaled(const struct png_src *src, uint8_t *pixels, size_t ow, size_t oh,
                         size_t bands, int *truncated, struct base_err *err)
{
    if (!src->eof || !pixels || !bands)
        return base_err_set(err, BASE_E_INVALID, "png: %s", src->msg);
    image_fill_grey_rows(pixels, ow, 3, bands, oh);
    *truncated = 1;
    return 0;
}

int image_decode_png_scaled(const uint8_t *d, size_t len, const struct image_info *info, int k,
                            struct image *out, int *truncated, struct base_err *err)
{
    struct png_src src = {d, len, 0, 0, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    png_infop pinfo = png ? png_create_info_struct(png) : NULL;
    uint8_t *volatile pixels = NULL, *volatile row = NULL;
    uint64_t *volatile sums = NULL;
    volatile size_t ow = 0, oh = 0, bands = 0;
    if (!pinfo) {
        png_destroy_read_struct(&png, NULL, NULL);
        return base_err_set(err, BASE_E_NOMEM, "png: cannot create decoder");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        base_free(row), base_free(sums);
        if (finish_scaled(&src, pixels, ow, oh, bands, truncated, err)) {
            base_free(pixels);
            return -1;
        }
        *out = (struct image){(int)ow, (int)oh, pixels};
        return 0;
    }
    png_set_user_limits(png, IMAGE_MAX_SIDE, IMAGE_MAX_SIDE);
    png_set_read_fn(png, &src, src_read);
    png_read_info(png, pinfo);
    size_t w = png_get_image_width(png, pinfo), h = png_get_image_height(png, pinfo);
    if ((int)w != info->stored_width || (int)h != info->stored_height)
        png_error(png, "inconsistent header");
    if (png_get_interlace_type(png, pinfo) != PNG_INTERLACE_NONE) {
        png_destroy_read_struct(&png, &pinfo, NULL); /* rows come in passes: decode whole */
        return image_decode_png(d, len, info, out, truncated, err);
    }
    int passes;
    int channels = set_transforms(png, pinfo, &passes);
    if ((channels != 3 && channels != 4) || png_get_rowbytes(png, pinfo) != w * (size_t)channels)
        png_error(png, "unexpected pixel layout");
    ow = (w + (size_t)k - 1) / (size_t)k, oh = (h + (size_t)k - 1) / (size_t)k;
    row = base_alloc(w * (size_t)channels);
    sums = base_calloc(ow * 3, sizeof *sums);
    pixels = base_alloc(ow * oh * 3);
    for (size_t y = 0; y < h; y++) {
        png_read_row(png, row, NULL);
        if (channels == 4)
            image_flatten_rgba(row, w);
        add_row(row, w, k, sums);
        if ((y + 1) % (size_t)k == 0 || y + 1 == h) {
            emit_band(sums, w, k, (int)(y % (size_t)k) + 1, pixels + (y / (size_t)k) * ow * 3);
            bands = y / (size_t)k + 1;
        }
    }
    png_destroy_read_struct(&png, &pinfo, NULL);
    base_free(row), base_free(sums);
    *out = (struct image){(int)ow, (int)oh, pixels};
    return 0;
}
