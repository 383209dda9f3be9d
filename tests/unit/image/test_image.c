/* Tests of src/image: hand-built EXIF blocks, the eight orientations, codecs round trips,
 * scaled decoding, resize and letterbox arithmetic, and corrupt or truncated files. */
#include "image/image.h"
#include "test.h"

#include <jpeglib.h>
#include <png.h>
#include <stdio.h>
#include <unistd.h>
#include <webp/encode.h>

/* A w x h picture whose pixel (x, y) is (x, y, 7): positions survive transforms exactly. */
static void make_coords(struct image *img, int w, int h)
{
    image_alloc(img, w, h, NULL);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->pixels + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)x, p[1] = (uint8_t)y, p[2] = 7;
        }
}

static void make_gradient(struct image *img, int w, int h)
{
    image_alloc(img, w, h, NULL);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->pixels + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(x * 255 / (w - 1)), p[1] = (uint8_t)(y * 255 / (h - 1)), p[2] = 100;
        }
}

/* TIFF block with one IFD0 entry: tag, type, count, value. */
static size_t tiff_block(uint8_t *b, int little, int tag, int type, int value)
{
    static const uint8_t le[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0};
    static const uint8_t be[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1};
    memcpy(b, little ? le : be, 10);
    uint8_t *e = b + 10;
    memset(e, 0, 16);
    if (little) {
        e[0] = (uint8_t)tag, e[1] = (uint8_t)(tag >> 8), e[2] = (uint8_t)type, e[4] = 1;
        e[8] = (uint8_t)value;
    } else {
        e[0] = (uint8_t)(tag >> 8), e[1] = (uint8_t)tag, e[3] = (uint8_t)type, e[7] = 1;
        e[type == 3 ? 9 : 11] = (uint8_t)value;
    }
    return 10 + 12 + 4;
}

static void test_exif_orientation(void)
{
    uint8_t b[64];
    size_t n = tiff_block(b, 1, 0x0112, 3, 6);
    CHECK_EQ_INT(image_exif_orientation(b, n), 6);
    n = tiff_block(b, 0, 0x0112, 3, 8);
    CHECK_EQ_INT(image_exif_orientation(b, n), 8);
    n = tiff_block(b, 0, 0x0112, 4, 3);
    CHECK_EQ_INT(image_exif_orientation(b, n), 3);
    n = tiff_block(b, 1, 0x0110, 3, 6); /* another tag */
    CHECK_EQ_INT(image_exif_orientation(b, n), 1);
    n = tiff_block(b, 1, 0x0112, 3, 9); /* out of range */
    CHECK_EQ_INT(image_exif_orientation(b, n), 1);
    n = tiff_block(b, 1, 0x0112, 3, 6);
    CHECK_EQ_INT(image_exif_orientation(b, 21), 1); /* entry cut short */
    uint8_t pre[70] = "Exif\0\0";
    memcpy(pre + 6, b, n);
    CHECK_EQ_INT(image_exif_orientation(pre, n + 6), 6);
    b[4] = 0xF0; /* IFD offset beyond the block */
    CHECK_EQ_INT(image_exif_orientation(b, n), 1);
    CHECK_EQ_INT(image_exif_orientation(NULL, 0), 1);
    CHECK_EQ_INT(image_exif_orientation((const uint8_t *)"MM", 2), 1);
}

/* Where the source pixel (u, v) of a 3x2 picture lands, per orientation, by hand. */
static void test_orient(void)
{
    /* output picture size and the source coordinates of output (0,0), (1,0) and (0,1) */
    static const int want[9][8] = {
        [1] = {3, 2, 0, 0, 1, 0, 0, 1}, [2] = {3, 2, 2, 0, 1, 0, 2, 1},
        [3] = {3, 2, 2, 1, 1, 1, 2, 0}, [4] = {3, 2, 0, 1, 1, 1, 0, 0},
        [5] = {2, 3, 0, 0, 0, 1, 1, 0}, [6] = {2, 3, 0, 1, 0, 0, 1, 1},
        [7] = {2, 3, 2, 1, 2, 0, 1, 1}, [8] = {2, 3, 2, 0, 2, 1, 1, 0},
    };
    for (int o = 1; o <= 8; o++) {
        struct image img;
        make_coords(&img, 3, 2);
        image_orient(&img, o);
        CHECK_EQ_INT(img.width, want[o][0]);
        CHECK_EQ_INT(img.height, want[o][1]);
        const uint8_t *p = img.pixels;
        CHECK(p[0] == want[o][2] && p[1] == want[o][3]);
        CHECK(p[3] == want[o][4] && p[4] == want[o][5]);
        const uint8_t *q = p + (size_t)img.width * 3;
        CHECK(q[0] == want[o][6] && q[1] == want[o][7]);
        image_release(&img);
    }
}

static void encode(const struct image *img, uint8_t **out, size_t *len)
{
    struct base_err err;
    CHECK_EQ_INT(image_encode_jpeg(img, 95, out, len, &err), 0);
}

/* Inserts an APP1 Exif segment with the given orientation right after SOI. */
static uint8_t *with_exif(const uint8_t *jpg, size_t len, int orientation, size_t *out_len)
{
    uint8_t tiff[64];
    size_t tn = tiff_block(tiff, 0, 0x0112, 3, orientation);
    size_t seg = 2 + 6 + tn;
    uint8_t *out = base_alloc(len + 2 + seg);
    memcpy(out, jpg, 2);
    uint8_t *p = out + 2;
    p[0] = 0xFF, p[1] = 0xE1, p[2] = (uint8_t)(seg >> 8), p[3] = (uint8_t)seg;
    memcpy(p + 4, "Exif\0\0", 6);
    memcpy(p + 10, tiff, tn);
    memcpy(p + 2 + seg, jpg + 2, len - 2);
    *out_len = len + 2 + seg;
    return out;
}

static int mean_abs_diff(const struct image *a, const struct image *b)
{
    if (a->width != b->width || a->height != b->height)
        return 999;
    long sum = 0;
    size_t n = (size_t)a->width * a->height * 3;
    for (size_t i = 0; i < n; i++)
        sum += labs((long)a->pixels[i] - b->pixels[i]);
    return (int)(sum / (long)n);
}

static void test_jpeg_round_trip(void)
{
    struct image src, dec;
    struct image_info info;
    struct base_err err;
    uint8_t *jpg;
    size_t len;
    make_gradient(&src, 64, 48);
    encode(&src, &jpg, &len);
    CHECK_EQ_INT(image_probe(jpg, len, &info, &err), 0);
    CHECK_EQ_INT(info.format, IMAGE_FORMAT_JPEG);
    CHECK(info.width == 64 && info.height == 48 && info.orientation == 1);
    CHECK_EQ_INT(image_decode(jpg, len, NULL, &dec, &info, &err), 0);
    CHECK(mean_abs_diff(&src, &dec) <= 2);
    image_release(&dec);
    /* fit 16x16: scale 1/4 covers it (16x12), the smallest DCT scale that does */
    struct image_decode_opts o = {.fit_width = 16, .fit_height = 16};
    CHECK_EQ_INT(image_decode(jpg, len, &o, &dec, NULL, &err), 0);
    CHECK(dec.width == 16 && dec.height == 12);
    image_release(&dec);
    o.fit_width = o.fit_height = 20; /* needs 20/64: 3/8 gives 24x18 */
    CHECK_EQ_INT(image_decode(jpg, len, &o, &dec, NULL, &err), 0);
    CHECK(dec.width == 24 && dec.height == 18);
    image_release(&dec);
    CHECK_EQ_INT(image_load_fit(jpg, len, 20, 0, &dec, NULL, &err), 0);
    CHECK(dec.width == 20 && dec.height == 15);
    image_release(&dec);
    base_free(jpg);
    image_release(&src);
}

static void test_jpeg_exif(void)
{
    struct image src, dec;
    struct image_info info;
    struct base_err err;
    uint8_t *jpg, *rot;
    size_t len, rlen;
    make_gradient(&src, 64, 32);
    encode(&src, &jpg, &len);
    rot = with_exif(jpg, len, 6, &rlen);
    CHECK_EQ_INT(image_probe(rot, rlen, &info, &err), 0);
    CHECK(info.orientation == 6 && info.width == 32 && info.height == 64);
    CHECK(info.stored_width == 64 && info.stored_height == 32);
    CHECK_EQ_INT(image_decode(rot, rlen, NULL, &dec, NULL, &err), 0);
    CHECK(dec.width == 32 && dec.height == 64);
    image_orient(&src, 6);
    CHECK(mean_abs_diff(&src, &dec) <= 2);
    image_release(&dec);
    struct image_decode_opts keep = {.keep_orientation = 1};
    CHECK_EQ_INT(image_decode(rot, rlen, &keep, &dec, NULL, &err), 0);
    CHECK(dec.width == 64 && dec.height == 32);
    image_release(&dec);
    base_free(rot);
    base_free(jpg);
    image_release(&src);
}

static void test_png(void)
{
    /* 2x1 RGBA: opaque red, half-transparent black -> red, mid grey on white */
    uint8_t rgba[8] = {255, 0, 0, 255, 0, 0, 0, 128};
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = 2, pi.height = 1, pi.format = PNG_FORMAT_RGBA;
    png_alloc_size_t n = 0;
    CHECK(png_image_write_to_memory(&pi, NULL, &n, 0, rgba, 0, NULL));
    uint8_t *buf = base_alloc(n);
    CHECK(png_image_write_to_memory(&pi, buf, &n, 0, rgba, 0, NULL));
    struct image dec;
    struct image_info info;
    struct base_err err;
    CHECK_EQ_INT(image_decode(buf, n, NULL, &dec, &info, &err), 0);
    CHECK_EQ_INT(info.format, IMAGE_FORMAT_PNG);
    CHECK(dec.width == 2 && dec.height == 1);
    CHECK(dec.pixels[0] == 255 && dec.pixels[1] == 0 && dec.pixels[2] == 0);
    CHECK(dec.pixels[3] == 127 && dec.pixels[4] == 127 && dec.pixels[5] == 127);
    image_release(&dec);
    CHECK(image_decode(buf, n - 20, NULL, &dec, NULL, &err) < 0);
    CHECK(dec.pixels == NULL);
    base_free(buf);
    /* 16-bit grey: top byte survives */
    uint16_t grey[3] = {0, 0x8000, 0xFFFF};
    pi.width = 3, pi.format = PNG_FORMAT_LINEAR_Y;
    n = 0;
    png_image_write_to_memory(&pi, NULL, &n, 0, grey, 0, NULL);
    buf = base_alloc(n);
    CHECK(png_image_write_to_memory(&pi, buf, &n, 0, grey, 0, NULL));
    CHECK_EQ_INT(image_decode(buf, n, NULL, &dec, NULL, &err), 0);
    CHECK(dec.width == 3 && dec.pixels[0] == 0 && dec.pixels[8] == 255);
    CHECK(dec.pixels[3] == dec.pixels[4] && dec.pixels[4] == dec.pixels[5]);
    image_release(&dec);
    base_free(buf);
}

static void test_webp(void)
{
    struct image src, dec;
    struct image_info info;
    struct base_err err;
    make_gradient(&src, 40, 30);
    uint8_t *w = NULL;
    size_t n = WebPEncodeLosslessRGB(src.pixels, 40, 30, 120, &w);
    CHECK(n > 0);
    CHECK_EQ_INT(image_probe(w, n, &info, &err), 0);
    CHECK(info.format == IMAGE_FORMAT_WEBP && info.width == 40 && info.height == 30);
    CHECK_EQ_INT(image_decode(w, n, NULL, &dec, NULL, &err), 0);
    CHECK_EQ_INT(mean_abs_diff(&src, &dec), 0);
    image_release(&dec);
    struct image_decode_opts o = {.fit_width = 20, .fit_height = 20};
    CHECK_EQ_INT(image_decode(w, n, &o, &dec, NULL, &err), 0);
    CHECK(dec.width == 20 && dec.height == 15);
    image_release(&dec);
    CHECK(image_decode(w, n / 2, NULL, &dec, NULL, &err) < 0);
    WebPFree(w);
    image_release(&src);
}

static void test_bad_input(void)
{
    struct image src, dec;
    struct image_info info;
    struct base_err err;
    uint8_t *jpg;
    size_t len;
    make_gradient(&src, 48, 40);
    encode(&src, &jpg, &len);
    /* every truncation is an error or a whole picture marked truncated, never a crash; a cut
     * before the first row of pixels is always an error */
    int decoded = 0;
    for (size_t cut = 0; cut < len - 2; cut += 1 + cut / 8) {
        memset(&info, 0, sizeof info);
        if (image_decode(jpg, cut, NULL, &dec, &info, &err)) {
            CHECK(dec.pixels == NULL);
            continue;
        }
        decoded++;
        CHECK(dec.width == 48 && dec.height == 40 && info.truncated == 1);
        image_release(&dec);
    }
    CHECK(decoded > 0);
    CHECK(image_decode(jpg, len / 8, NULL, &dec, &info, &err) < 0); /* inside the tables */
    CHECK_EQ_INT(err.status, BASE_E_INVALID);
    /* corrupt entropy data: an error or a picture, but no crash */
    for (size_t i = len / 2; i < len - 2; i += 7)
        jpg[i] ^= 0x5A;
    if (!image_decode(jpg, len, NULL, &dec, NULL, &err))
        image_release(&dec);
    base_free(jpg);
    image_release(&src);
    CHECK(image_probe("", 0, &info, &err) < 0 && err.status == BASE_E_INVALID);
    CHECK(image_probe("GIF89a......", 12, &info, &err) < 0 && err.status == BASE_E_UNSUPPORTED);
    /* a frame header claiming 60000x60000 is refused before any allocation */
    static const uint8_t huge[] = {0xFF, 0xD8, 0xFF, 0xC0, 0,    11, 8,    0xEA, 0x60,
                                   0xEA, 0x60, 1,    1,    0x11, 0,  0xFF, 0xD9};
    CHECK(image_decode(huge, sizeof huge, NULL, &dec, NULL, &err) < 0);
    CHECK_EQ_INT(err.status, BASE_E_TOOBIG);
    static const uint8_t zero[] = {0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 0, 0, 16, 1, 1, 0x11, 0};
    CHECK(image_probe(zero, sizeof zero, &info, &err) < 0);
    CHECK(image_decode_file("/nonexistent.jpg", NULL, &dec, NULL, &err) < 0);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
}

static void test_resize(void)
{
    struct image src, dst;
    struct base_err err;
    image_alloc(&src, 4, 2, NULL);
    static const uint8_t v[8] = {0, 40, 80, 120, 10, 50, 90, 130};
    for (int i = 0; i < 8; i++)
        memset(src.pixels + i * 3, v[i], 3);
    CHECK_EQ_INT(image_resize(&src, 2, 1, IMAGE_FILTER_AREA, &dst, &err), 0);
    CHECK_EQ_INT(dst.pixels[0], 25); /* (0+40+10+50)/4 */
    CHECK_EQ_INT(dst.pixels[3], 105);
    image_release(&dst);
    CHECK_EQ_INT(image_resize(&src, 3, 2, IMAGE_FILTER_AREA, &dst, &err), 0);
    /* 4->3 area: output 1 covers source [4/3, 8/3): (2/3*40 + 1*80... */
    CHECK_EQ_INT(dst.pixels[3], 60); /* (40*2/3 + 80*2/3) / (4/3) */
    image_release(&dst);
    CHECK_EQ_INT(image_resize(&src, 8, 2, IMAGE_FILTER_BILINEAR, &dst, &err), 0);
    CHECK_EQ_INT(dst.pixels[0], 0);       /* clamped edge */
    CHECK_EQ_INT(dst.pixels[1 * 3], 10);  /* x=1: centre 0.25 -> 0.75*0 + 0.25*40 */
    CHECK_EQ_INT(dst.pixels[2 * 3], 30);  /* x=2: centre 0.75 */
    CHECK_EQ_INT(dst.pixels[7 * 3], 120); /* clamped edge */
    image_release(&dst);
    CHECK(image_resize(&src, 0, 2, IMAGE_FILTER_AREA, &dst, &err) < 0);
    image_release(&src);
}

static void test_letterbox(void)
{
    struct image_letterbox m;
    image_letterbox_plan(640, 480, 320, 320, &m);
    CHECK(m.content_width == 320 && m.content_height == 240);
    CHECK_NEAR(m.scale_x, 0.5, 1e-7);
    float x = 100, y = 479;
    image_letterbox_from_src(&m, &x, &y);
    CHECK_NEAR(x, 50, 1e-5);
    CHECK_NEAR(y, 239.5, 1e-5);
    image_letterbox_to_src(&m, &x, &y);
    CHECK_NEAR(x, 100, 1e-4);
    CHECK_NEAR(y, 479, 1e-4);
    image_letterbox_plan(259, 194, 320, 320, &m); /* enlarged: 320 x 240 (239.7 rounded) */
    CHECK(m.content_width == 320 && m.content_height == 240);
    CHECK_NEAR(m.scale_y, 240.0 / 194, 1e-6);

    struct image src, dst;
    struct base_err err;
    make_gradient(&src, 60, 20);
    CHECK_EQ_INT(image_letterbox(&src, 32, 32, 114, &dst, &m, &err), 0);
    CHECK(dst.width == 32 && dst.height == 32 && m.content_width == 32);
    CHECK(m.content_height == 11);
    CHECK_EQ_INT(dst.pixels[(31 * 32 + 31) * 3], 114); /* padding */
    CHECK(dst.pixels[0] < 10);                         /* content: dark corner of the gradient */
    image_release(&dst);
    image_release(&src);
}

/* Every raccoon photo: probe size equals the annotation's, decode+thumbnail works. */
static void test_raccoon_files(void)
{
    char path[1024];
    struct image_info info;
    struct base_err err;
    int ok = 0;
    for (int i = 1; i <= 200; i++) {
        snprintf(path, sizeof path, "%s/datasets/raccoon/images/raccoon-%d.jpg", test_shared_dir(),
                 i);
        if (image_probe_file(path, &info, &err))
            continue;
        ok += info.format == IMAGE_FORMAT_JPEG && info.width > 0;
    }
    CHECK_EQ_INT(ok, 200);
    snprintf(path, sizeof path, "%s/datasets/raccoon/images/raccoon-1.jpg", test_shared_dir());
    char *data;
    size_t len;
    CHECK_EQ_INT(base_file_read(path, IMAGE_MAX_FILE_BYTES, &data, &len, &err), 0);
    uint8_t *thumb;
    size_t tlen;
    CHECK_EQ_INT(image_thumbnail(data, len, 128, 80, &thumb, &tlen, &err), 0);
    CHECK_EQ_INT(image_probe(thumb, tlen, &info, &err), 0);
    CHECK(info.width == 128 && info.height == 82); /* 650x417 -> 128x82 */
    base_free(thumb);
    base_free(data);
}

/* ---- files cut short, and garbage -------------------------------------------------------------
 */

/* A temporary folder of this process for the files the tests write (removed by rm_temp). */
static const char *temp_dir(void)
{
    static char dir[256];
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/ll-image-test-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir))
            snprintf(dir, sizeof dir, "/tmp");
    }
    return dir;
}

static const char *temp_file(const char *name, const void *data, size_t len)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    struct base_err err;
    snprintf(p, 512, "%s/%s", temp_dir(), name);
    CHECK_EQ_INT(base_file_write_atomic(p, data, len, &err), 0);
    return p;
}

/* Rows of a and b (same size) whose every byte is equal. */
static int same_rows(const struct image *a, const struct image *b)
{
    int n = 0;
    size_t stride = (size_t)a->width * 3;
    for (int y = 0; y < a->height && a->width == b->width && a->height == b->height; y++)
        n += !memcmp(a->pixels + y * stride, b->pixels + y * stride, stride);
    return n;
}

static int row_is_grey(const struct image *img, int y)
{
    size_t stride = (size_t)img->width * 3;
    for (size_t i = 0; i < stride; i++)
        if (img->pixels[y * stride + i] != 128)
            return 0;
    return 1;
}

/* Pixels no codec can predict, so that files are large and every byte carries picture. */
static void make_noise(struct image *img, int w, int h)
{
    image_alloc(img, w, h, NULL);
    uint32_t x = 12345;
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        x = x * 1103515245u + 12345u;
        img->pixels[i] = (uint8_t)(x >> 24);
    }
}

/* A photo cut in half, as a failed copy leaves it: the top half decodes exactly as in the whole
 * file, the missing part is grey, and the picture says it is truncated. */
static void test_truncated_jpeg(void)
{
    char src[1024], *data;
    size_t len;
    struct base_err err;
    struct image full, half;
    struct image_info info;
    snprintf(src, sizeof src, "%s/datasets/raccoon/images/raccoon-1.jpg", test_shared_dir());
    CHECK_EQ_INT(base_file_read(src, IMAGE_MAX_FILE_BYTES, &data, &len, &err), 0);
    CHECK_EQ_INT(image_decode_file(src, NULL, &full, &info, &err), 0);
    CHECK_EQ_INT(info.truncated, 0);
    const char *cut = temp_file("half.jpg", data, len / 2);
    info.truncated = 0;
    CHECK_EQ_INT(image_decode_file(cut, NULL, &half, &info, &err), 0);
    CHECK_EQ_INT(info.truncated, 1);
    CHECK(half.width == 650 && half.height == 417);
    int same = same_rows(&full, &half);
    fprintf(stderr, "half a JPEG: %d of %d rows as in the whole file\n", same, full.height);
    CHECK(same >= full.height / 3 && same < full.height);
    CHECK(same_rows(&full, &half) >= 100 && !memcmp(full.pixels, half.pixels, 100 * 650 * 3));
    CHECK(row_is_grey(&half, half.height - 1));
    image_release(&half);
    /* scaled straight to the detector's size, as training decodes it */
    CHECK_EQ_INT(image_load_fit(data, len / 2, 320, 1, &half, &info, &err), 0);
    CHECK(info.truncated == 1 && half.width == 320);
    image_release(&half);
    /* a file lacking only its end marker is whole */
    CHECK_EQ_INT(image_decode(data, len - 2, NULL, &half, &info, &err), 0);
    CHECK_EQ_INT(info.truncated, 0);
    CHECK_EQ_INT(same_rows(&full, &half), full.height);
    image_release(&half);
    remove(cut);
    image_release(&full);
    base_free(data);
}

static uint8_t *encode_progressive(const struct image *img, size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *buf = NULL;
    unsigned long n = 0;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &n);
    c.image_width = (JDIMENSION)img->width, c.image_height = (JDIMENSION)img->height;
    c.input_components = 3, c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = img->pixels + (size_t)c.next_scanline * img->width * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    uint8_t *out = base_alloc(n);
    memcpy(out, buf, n);
    free(buf);
    *len = n;
    return out;
}

/* A progressive JPEG cut after its first scans is the whole picture, coarser. */
static void test_truncated_progressive(void)
{
    struct image src, full, cut;
    struct image_info info;
    struct base_err err;
    size_t len;
    make_gradient(&src, 160, 120);
    uint8_t *jpg = encode_progressive(&src, &len);
    CHECK_EQ_INT(image_decode(jpg, len, NULL, &full, &info, &err), 0);
    CHECK_EQ_INT(info.truncated, 0);
    CHECK_EQ_INT(image_decode(jpg, len * 6 / 10, NULL, &cut, &info, &err), 0);
    CHECK_EQ_INT(info.truncated, 1);
    fprintf(stderr, "progressive JPEG at 60%%: mean difference %d\n", mean_abs_diff(&full, &cut));
    CHECK(mean_abs_diff(&full, &cut) <= 8);
    CHECK(!row_is_grey(&cut, cut.height - 1));
    image_release(&cut);
    /* wherever it is cut after the first scan: inside a scan, between scans, inside a later
     * scan's tables (where libjpeg gives up and the scans before them are used) */
    int failed = 0;
    for (size_t n = len / 3; n < len - 2; n++) {
        if (image_decode(jpg, n, NULL, &cut, &info, &err))
            failed++;
        else
            CHECK_EQ_INT(info.truncated, 1);
        image_release(&cut);
    }
    CHECK_EQ_INT(failed, 0);
    image_release(&full);
    image_release(&src);
    base_free(jpg);
}

struct png_mem {
    uint8_t *d;
    size_t len;
};

static void png_mem_write(png_structp png, png_bytep data, png_size_t n)
{
    struct png_mem *m = png_get_io_ptr(png);
    m->d = base_realloc(m->d, m->len + n);
    memcpy(m->d + m->len, data, n);
    m->len += n;
}

static void png_mem_flush(png_structp png)
{
    (void)png;
}

/* RGB PNG through libpng's classic writer (IDAT chunks of 8 KB), Adam7 when interlaced. */
static uint8_t *encode_png(const struct image *img, int interlaced, size_t *len)
{
    struct png_mem m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_set_write_fn(png, &m, png_mem_write, png_mem_flush);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 PNG_COLOR_TYPE_RGB, interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < img->height; y++)
            png_write_row(png, img->pixels + (size_t)y * img->width * 3);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    *len = m.len;
    return m.d;
}

/* A PNG cut short keeps the rows decoded so far; an interlaced one is whole after its first
 * pass, and decoding it in libpng's rectangle mode changes nothing in a complete file. */
static void test_truncated_png(void)
{
    struct image src, dec;
    struct image_info info;
    struct base_err err;
    size_t len;
    make_noise(&src, 128, 96);
    uint8_t *png = encode_png(&src, 0, &len);
    const char *cut = temp_file("cut.png", png, len * 6 / 10);
    CHECK_EQ_INT(image_decode_file(cut, NULL, &dec, &info, &err), 0);
    CHECK_EQ_INT(info.truncated, 1);
    int same = same_rows(&src, &dec);
    fprintf(stderr, "60%% of a PNG: %d of %d rows\n", same, src.height);
    CHECK(same >= src.height / 3 && same < src.height);
    CHECK(!memcmp(src.pixels, dec.pixels, (size_t)same * src.width * 3)); /* the top rows */
    CHECK(row_is_grey(&dec, dec.height - 1));
    image_release(&dec);
    remove(cut);
    CHECK(image_decode(png, 60, NULL, &dec, &info, &err) < 0); /* no pixel data at all */
    CHECK(dec.pixels == NULL);
    base_free(png);

    png = encode_png(&src, 1, &len);
    CHECK_EQ_INT(image_decode(png, len, NULL, &dec, &info, &err), 0);
    CHECK_EQ_INT(info.truncated, 0);
    CHECK_EQ_INT(same_rows(&src, &dec), src.height);
    image_release(&dec);
    CHECK_EQ_INT(image_decode(png, len * 6 / 10, NULL, &dec, &info, &err), 0);
    CHECK_EQ_INT(info.truncated, 1);
    CHECK(!row_is_grey(&dec, dec.height - 1));
    image_release(&dec);
    base_free(png);
    image_release(&src);
}

/* A lossy WebP cut short keeps the rows decoded so far. */
static void test_truncated_webp(void)
{
    struct image src, full, dec;
    struct image_info info;
    struct base_err err;
    make_noise(&src, 128, 96);
    uint8_t *w = NULL;
    size_t n = WebPEncodeRGB(src.pixels, 128, 96, 128 * 3, 90, &w);
    CHECK(n > 0);
    CHECK_EQ_INT(image_decode(w, n, NULL, &full, &info, &err), 0);
    CHECK_EQ_INT(info.truncated, 0);
    CHECK_EQ_INT(image_decode(w, n * 6 / 10, NULL, &dec, &info, &err), 0);
    CHECK_EQ_INT(info.truncated, 1);
    int same = same_rows(&full, &dec);
    fprintf(stderr, "60%% of a WebP: %d of %d rows\n", same, full.height);
    CHECK(same >= full.height / 3 && same < full.height);
    CHECK(row_is_grey(&dec, dec.height - 1));
    image_release(&dec);
    CHECK(image_decode(w, 40, NULL, &dec, &info, &err) < 0);
    image_release(&full);
    image_release(&src);
    WebPFree(w);
}

/* Files that are not pictures at all stay errors that name the file and say why. */
static void test_garbage_file(void)
{
    uint8_t junk[1000];
    struct image dec;
    struct base_err err;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    const char *path = temp_file("garbage.jpg", junk, sizeof junk);
    CHECK(image_decode_file(path, NULL, &dec, NULL, &err) < 0);
    CHECK(dec.pixels == NULL);
    CHECK_EQ_INT(err.status, BASE_E_UNSUPPORTED);
    CHECK(strstr(err.msg, "garbage.jpg") && strstr(err.msg, "not a JPEG, PNG or WebP image"));
    remove(path);
    junk[0] = 0xFF, junk[1] = 0xD8, junk[2] = 0xFF, junk[3] = 0x01; /* a JPEG start, then junk */
    path = temp_file("junk.jpg", junk, sizeof junk);
    CHECK(image_decode_file(path, NULL, &dec, NULL, &err) < 0);
    CHECK_EQ_INT(err.status, BASE_E_INVALID);
    CHECK(strstr(err.msg, "junk.jpg: jpeg: ") != NULL);
    remove(path);
    rmdir(temp_dir());
}

TEST_MAIN(TEST_CASE(test_exif_orientation), TEST_CASE(test_orient), TEST_CASE(test_jpeg_round_trip),
          TEST_CASE(test_jpeg_exif), TEST_CASE(test_png), TEST_CASE(test_webp),
          TEST_CASE(test_bad_input), TEST_CASE(test_resize), TEST_CASE(test_letterbox),
          TEST_CASE(test_raccoon_files), TEST_CASE(test_truncated_jpeg),
          TEST_CASE(test_truncated_progressive), TEST_CASE(test_truncated_png),
          TEST_CASE(test_truncated_webp), TEST_CASE(test_garbage_file))
