/* JPEG through libjpeg-turbo: decode with the scaled inverse DCT (a 4000x3000 photo wanted at 320
 * is decoded at 1/8 for a fraction of the work) and encode thumbnails. libjpeg reports errors by
 * longjmp; it is caught here and turned into an error value. A file that ends inside its image
 * data is decoded as far as it goes, as browsers and PIL do: libjpeg's "premature end" warning
 * leaves the missing blocks grey, and the caller learns the picture is truncated. */
#include "image_int.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

/* A progressive JPEG may carry thousands of tiny scans to make decoding crawl; real ones have
 * a dozen. */
#define JPEG_MAX_SCANS 500

struct jpeg_guard {
    struct jpeg_error_mgr pub;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    int hit_eof;
    int short_data;       /* after the end, a scan still wanted bits: the picture is cut */
    int short_scan;       /* the scan that ran short (1 = the first) */
    JDIMENSION short_row; /* its iMCU rows complete by then */
};

static void guard_error_exit(j_common_ptr c)
{
    struct jpeg_guard *g = (struct jpeg_guard *)c->err;
    c->err->format_message(c, g->msg);
    longjmp(g->jump, 1);
}

static void guard_message(j_common_ptr c, int level)
{
    struct jpeg_guard *g = (struct jpeg_guard *)c->err;
    if (level >= 0 || !c->is_decompressor)
        return;
    /* The Huffman decoder reads ahead, so a file lacking only its end marker also meets the end
     * of the data; only a scan that then runs out of bits ("hit marker") is missing pixels. */
    if (c->err->msg_code == JWRN_JPEG_EOF)
        g->hit_eof = 1;
    if (c->err->msg_code == JWRN_HIT_MARKER && g->hit_eof && !g->short_data) {
        g->short_data = 1;
        g->short_scan = ((j_decompress_ptr)c)->input_scan_number;
        g->short_row = ((j_decompress_ptr)c)->input_iMCU_row;
    }
}

static void guard_progress(j_common_ptr c)
{
    struct jpeg_guard *g = (struct jpeg_guard *)c->err;
    if (c->is_decompressor && ((j_decompress_ptr)c)->input_scan_number > JPEG_MAX_SCANS) {
        snprintf(g->msg, sizeof g->msg, "more than %d scans", JPEG_MAX_SCANS);
        longjmp(g->jump, 1);
    }
}

static void guard_init(struct jpeg_guard *g, j_common_ptr c)
{
    memset(g, 0, sizeof *g);
    c->err = jpeg_std_error(&g->pub);
    g->pub.error_exit = guard_error_exit;
    g->pub.emit_message = guard_message;
    g->progress.progress_monitor = guard_progress;
}

/* Adobe writes CMYK inverted; others plain. Both approximated without a colour profile. */
static void cmyk_to_rgb(const uint8_t *src, uint8_t *dst, int w, int inverted)
{
    for (int x = 0; x < w; x++, src += 4, dst += 3) {
        unsigned c = src[0], m = src[1], y = src[2], k = src[3];
        if (!inverted) {
            c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
        }
        dst[0] = (uint8_t)((c * k + 127) / 255);
        dst[1] = (uint8_t)((m * k + 127) / 255);
        dst[2] = (uint8_t)((y * k + 127) / 255);
    }
}

static void read_rows(j_decompress_ptr c, uint8_t *pixels, uint8_t *cmyk_row)
{
    while (c->output_scanline < c->output_height) {
        uint8_t *dst = pixels + (size_t)c->output_scanline * c->output_width * 3;
        JSAMPROW row = cmyk_row ? cmyk_row : dst;
        if (jpeg_read_scanlines(c, &row, 1) != 1)
            break;
        if (cmyk_row)
            cmyk_to_rgb(cmyk_row, dst, (int)c->output_width, c->saw_Adobe_marker);
    }
}

/* A progressive file whose data ended before every coefficient reached full precision: it was
 * cut between scans (a complete file lacking only its end marker has them all). */
static int coefficients_missing(j_decompress_ptr c)
{
    if (!c->progressive_mode || !c->coef_bits)
        return 0;
    for (int ci = 0; ci < c->num_components; ci++)
        for (int k = 0; k < DCTSIZE2; k++)
            if (c->coef_bits[ci][k] != 0)
                return 1;
    return 0;
}

/* Data that ended inside a scan leaves grey blocks; between the scans of a progressive file, a
 * whole but coarser picture. Either is a truncation; a first scan cut before its first row
 * leaves nothing but grey. */
static int check_eof(j_decompress_ptr c, const struct jpeg_guard *g, int *truncated, char *msg)
{
    if (!g->short_data && !(g->hit_eof && coefficients_missing(c)))
        return 0;
    *truncated = 1;
    if (g->short_data && g->short_scan <= 1 && g->short_row == 0) {
        snprintf(msg, JMSG_LENGTH_MAX, "truncated before the first row of pixels");
        return -1;
    }
    return 0;
}

/* *at_end: the error came after the data had run out. */
static int decode_once(const uint8_t *d, size_t len, const struct image_info *info,
                       int scale_eighths, struct image *out, int *truncated, int *at_end,
                       struct base_err *err)
{
    struct jpeg_decompress_struct c;
    struct jpeg_guard g;
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile cmyk_row = NULL;
    guard_init(&g, (j_common_ptr)&c);
    if (setjmp(g.jump)) {
        jpeg_destroy_decompress(&c);
        base_free(pixels);
        base_free(cmyk_row);
        *at_end = g.hit_eof;
        return base_err_set(err, BASE_E_INVALID, "jpeg: %s", g.msg);
    }
    jpeg_create_decompress(&c);
    c.progress = &g.progress;
    jpeg_mem_src(&c, d, (unsigned long)len);
    jpeg_read_header(&c, TRUE);
    if ((int)c.image_width != info->stored_width || (int)c.image_height != info->stored_height) {
        snprintf(g.msg, sizeof g.msg, "inconsistent frame headers");
        longjmp(g.jump, 1);
    }
    int cmyk = c.jpeg_color_space == JCS_CMYK || c.jpeg_color_space == JCS_YCCK;
    c.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    c.scale_num = (unsigned)scale_eighths;
    c.scale_denom = 8;
    jpeg_start_decompress(&c);
    pixels = base_alloc((size_t)c.output_width * c.output_height * 3);
    if (cmyk)
        cmyk_row = base_alloc((size_t)c.output_width * 4);
    read_rows(&c, pixels, cmyk_row);
    if (c.output_scanline < c.output_height) {
        snprintf(g.msg, sizeof g.msg, "decoder stopped at row %u", c.output_scanline);
        longjmp(g.jump, 1);
    }
    if (check_eof(&c, &g, truncated, g.msg))
        longjmp(g.jump, 1);
    jpeg_finish_decompress(&c);
    out->width = (int)c.output_width;
    out->height = (int)c.output_height;
    out->pixels = pixels;
    jpeg_destroy_decompress(&c);
    base_free(cmyk_row);
    return 0;
}

/* Where the last marker segment starts: 0xFF followed by neither a stuffed zero, a fill byte nor
 * a restart marker, none of which begin a segment. 0 when there is none after SOI. */
static size_t last_marker(const uint8_t *d, size_t len)
{
    for (size_t i = len - 1; i > 2; i--)
        if (d[i - 1] == 0xFF && d[i] != 0x00 && d[i] != 0xFF && (d[i] < 0xD0 || d[i] > 0xD7))
            return i - 1;
    return 0;
}

int image_decode_jpeg(const uint8_t *d, size_t len, const struct image_info *info,
                      int scale_eighths, struct image *out, int *truncated, struct base_err *err)
{
    int at_end = 0;
    if (!decode_once(d, len, info, scale_eighths, out, truncated, &at_end, err))
        return 0;
    /* A progressive file cut inside the tables or header of a later scan: libjpeg cannot go on
     * from there, but the scans before that segment make a whole, coarser picture. */
    size_t cut = at_end && len > 4 ? last_marker(d, len) : 0;
    struct base_err again;
    if (!cut || decode_once(d, cut, info, scale_eighths, out, truncated, &at_end, &again))
        return -1;
    *truncated = 1;
    return 0;
}

int image_encode_jpeg(const struct image *img, int quality, uint8_t **out, size_t *out_len,
                      struct base_err *err)
{
    *out = NULL;
    *out_len = 0;
    if (!img || !img->pixels || img->width < 1 || img->height < 1)
        return base_err_set(err, BASE_E_INVALID, "jpeg: cannot encode an empty image");
    struct jpeg_compress_struct c;
    struct jpeg_guard g;
    unsigned char *volatile buf = NULL;
    unsigned long len = 0;
    guard_init(&g, (j_common_ptr)&c);
    if (setjmp(g.jump)) {
        jpeg_destroy_compress(&c);
        free(buf); /* allocated by libjpeg with malloc */
        return base_err_set(err, BASE_E_INTERNAL, "jpeg encode: %s", g.msg);
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, (unsigned char **)&buf, &len);
    c.image_width = (JDIMENSION)img->width;
    c.image_height = (JDIMENSION)img->height;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality < 1 ? 1 : quality > 100 ? 100 : quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = img->pixels + (size_t)c.next_scanline * (size_t)img->width * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *out = base_alloc(len);
    memcpy(*out, buf, len);
    *out_len = len;
    free(buf);
    return 0;
}
