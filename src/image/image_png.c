/* PNG through libpng's classic interface: every colour type and bit depth is expanded to 8-bit
 * RGB(A); alpha is composited onto white. libpng's errors longjmp back here and become values. */
#include "image_int.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

struct png_src {
    const uint8_t *d;
    size_t len, pos;
    char msg[128];
};

static void src_read(png_structp png, png_bytep dst, png_size_t n)
{
    struct png_src *s = png_get_io_ptr(png);
    if (s->len - s->pos < n)
        png_error(png, "truncated file");
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

/* Expands whatever the file holds to 8-bit RGB or RGBA; returns the channel count. */
static int set_transforms(png_structp png, png_infop info)
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
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    return png_get_channels(png, info);
}

int image_decode_png(const uint8_t *d, size_t len, const struct image_info *info, struct image *out,
                     struct base_err *err)
{
    struct png_src src = {d, len, 0, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    png_infop pinfo = png ? png_create_info_struct(png) : NULL;
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!pinfo) {
        png_destroy_read_struct(&png, NULL, NULL);
        return base_err_set(err, BASE_E_NOMEM, "png: cannot create decoder");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        base_free(pixels);
        base_free(rows);
        return base_err_set(err, BASE_E_INVALID, "png: %s", src.msg);
    }
    png_set_user_limits(png, IMAGE_MAX_SIDE, IMAGE_MAX_SIDE);
    png_set_read_fn(png, &src, src_read);
    png_read_info(png, pinfo);
    size_t w = png_get_image_width(png, pinfo), h = png_get_image_height(png, pinfo);
    if ((int)w != info->stored_width || (int)h != info->stored_height)
        png_error(png, "inconsistent header");
    int channels = set_transforms(png, pinfo);
    if ((channels != 3 && channels != 4) || png_get_rowbytes(png, pinfo) != w * (size_t)channels)
        png_error(png, "unexpected pixel layout");
    pixels = base_alloc(w * h * (size_t)channels);
    rows = base_alloc(h * sizeof *rows);
    for (size_t y = 0; y < h; y++)
        rows[y] = pixels + y * w * (size_t)channels;
    png_read_image(png, rows);
    png_destroy_read_struct(&png, &pinfo, NULL);
    base_free(rows);
    if (channels == 4) {
        image_flatten_rgba(pixels, w * h);
        pixels = base_realloc(pixels, w * h * 3);
    }
    out->width = (int)w;
    out->height = (int)h;
    out->pixels = pixels;
    return 0;
}
