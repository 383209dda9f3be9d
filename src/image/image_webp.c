/* WebP through libwebp: still images only (an animation is refused), scaled by libwebp's own
 * rescaler when a smaller picture is wanted, alpha composited onto white. Decoded through the
 * incremental decoder, which says how many rows it produced from a file that ends early: those
 * are kept and the rest is grey. */
#include "image_int.h"

#include <webp/decode.h>

static int status_error(VP8StatusCode st, struct base_err *err)
{
    if (st == VP8_STATUS_NOT_ENOUGH_DATA)
        return base_err_set(err, BASE_E_INVALID, "webp: truncated file");
    if (st == VP8_STATUS_UNSUPPORTED_FEATURE)
        return base_err_set(err, BASE_E_UNSUPPORTED, "webp: unsupported feature");
    return base_err_set(err, BASE_E_INVALID, "webp: corrupt data (libwebp status %d)", (int)st);
}

/* Feeds all the data at once; SUSPENDED means it ended early, *rows says how far it got. */
static VP8StatusCode decode_rows(const uint8_t *d, size_t len, WebPDecoderConfig *cfg, int *rows)
{
    WebPIDecoder *idec = WebPIDecode(NULL, 0, cfg);
    if (!idec)
        return VP8_STATUS_OUT_OF_MEMORY;
    VP8StatusCode st = WebPIUpdate(idec, d, len);
    if (st == VP8_STATUS_SUSPENDED && !WebPIDecGetRGB(idec, rows, NULL, NULL, NULL))
        *rows = 0;
    WebPIDelete(idec);
    return st;
}

int image_decode_webp(const uint8_t *d, size_t len, const struct image_info *info, int fit_w,
                      int fit_h, struct image *out, int *truncated, struct base_err *err)
{
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg))
        return base_err_set(err, BASE_E_INTERNAL, "webp: library version mismatch");
    VP8StatusCode st = WebPGetFeatures(d, len, &cfg.input);
    if (st != VP8_STATUS_OK)
        return status_error(st, err);
    if (cfg.input.has_animation)
        return base_err_set(err, BASE_E_UNSUPPORTED, "webp: animated images are not supported");
    int w = info->stored_width, h = info->stored_height;
    if (fit_w > 0 && fit_h > 0 && (fit_w < w || fit_h < h)) {
        cfg.options.use_scaling = 1;
        cfg.options.scaled_width = fit_w;
        cfg.options.scaled_height = fit_h;
        w = fit_w;
        h = fit_h;
    }
    int channels = cfg.input.has_alpha ? 4 : 3;
    size_t size = (size_t)w * (size_t)h * (size_t)channels;
    uint8_t *pixels = base_alloc(size);
    cfg.output.colorspace = channels == 4 ? MODE_RGBA : MODE_RGB;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = pixels;
    cfg.output.u.RGBA.stride = w * channels;
    cfg.output.u.RGBA.size = size;
    int rows = 0;
    st = decode_rows(d, len, &cfg, &rows);
    WebPFreeDecBuffer(&cfg.output);
    if (st == VP8_STATUS_SUSPENDED && rows > 0) {
        image_fill_grey_rows(pixels, (size_t)w, channels, (size_t)rows, (size_t)h);
        *truncated = 1;
        st = VP8_STATUS_OK;
    }
    if (st != VP8_STATUS_OK) {
        base_free(pixels);
        return status_error(st == VP8_STATUS_SUSPENDED ? VP8_STATUS_NOT_ENOUGH_DATA : st, err);
    }
    if (channels == 4) {
        image_flatten_rgba(pixels, (size_t)w * (size_t)h);
        pixels = base_realloc(pixels, (size_t)w * (size_t)h * 3);
    }
    out->width = w;
    out->height = h;
    out->pixels = pixels;
    return 0;
}
