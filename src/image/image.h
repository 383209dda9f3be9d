/* image: read the pictures people label. Probe format and displayed size from a file's header,
 * decode JPEG (scaled DCT straight to near the size wanted), PNG and WebP into 8-bit RGB with the
 * EXIF orientation applied (browsers show photos rotated, so boxes live in that frame), resize,
 * letterbox for the detector with coordinate mapping both ways, and encode JPEG thumbnails.
 * Every decoder rejects corrupt or oversized input with an error and none crashes; a file cut
 * short inside its pixels is decoded as far as it goes, as other tools do, and says so. */
#ifndef LL_IMAGE_H
#define LL_IMAGE_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>

enum image_format {
    IMAGE_FORMAT_UNKNOWN = 0,
    IMAGE_FORMAT_JPEG,
    IMAGE_FORMAT_PNG,
    IMAGE_FORMAT_WEBP,
};

/* "jpeg", "png", "webp" or "unknown". */
const char *image_format_name(enum image_format format);

/* What a header says. width/height are the size as displayed (after EXIF orientation: 5..8 swap
 * the sides); stored_* are the size as encoded. orientation is the EXIF value 1..8 (1 when the file
 * has none or an invalid one). truncated is set by decoding (the probe leaves it 0): 1 when the
 * data ended inside the pixels and the picture's missing part was filled with grey. */
struct image_info {
    enum image_format format;
    int width, height;
    int stored_width, stored_height;
    int orientation;
    int truncated;
};

/* Largest accepted image, in stored pixels (a 108 MP phone photo fits), and side. Larger files are
 * rejected with BASE_E_TOOBIG before any pixel buffer is allocated. */
#define IMAGE_DEFAULT_MAX_PIXELS ((uint64_t)120 * 1000 * 1000)
#define IMAGE_MAX_SIDE           65500
/* Largest file image_*_file reads (bytes). */
#define IMAGE_MAX_FILE_BYTES ((size_t)256 << 20)

/* Reads format, sizes and orientation from the first bytes of a file without decoding pixels.
 * Errors: BASE_E_UNSUPPORTED (not JPEG/PNG/WebP), BASE_E_INVALID (corrupt or truncated header),
 * BASE_E_TOOBIG (beyond IMAGE_MAX_SIDE). Thread-safe. */
int image_probe(const void *data, size_t len, struct image_info *info, struct base_err *err);
/* Same for a file; reads only as much of the file as the header needs. */
int image_probe_file(const char *path, struct image_info *info, struct base_err *err);

/* An 8-bit RGB picture, rows packed (stride = 3 * width). Owned by whoever initialised it. */
struct image {
    int width, height;
    uint8_t *pixels;
};

/* Allocates a w x h picture (contents undefined). Errors: BASE_E_INVALID for w or h < 1,
 * BASE_E_TOOBIG beyond IMAGE_DEFAULT_MAX_PIXELS. */
int image_alloc(struct image *img, int width, int height, struct base_err *err);
/* Frees the pixels and zeroes img. Accepts NULL and released images. */
void image_release(struct image *img);

/* How to decode. Zero-initialised options mean: full size, orientation applied, default limit. */
struct image_decode_opts {
    /* When both > 0, the result only needs to cover a fit_width x fit_height box (as displayed):
     * JPEG is decoded with the smallest DCT scale M/8 (M = 1..8) that keeps the image at least as
     * large as the largest aspect-preserving fit of that box, and WebP likewise. The result is
     * not resized to the box exactly; see image_load_fit for that. PNG is always decoded full. */
    int fit_width, fit_height;
    int keep_orientation; /* nonzero: leave pixels as stored, do not apply EXIF orientation */
    uint64_t max_pixels;  /* 0: IMAGE_DEFAULT_MAX_PIXELS (stored pixels) */
};

/* Decodes a JPEG, PNG or WebP held in memory into *out, which is overwritten (it must not own
 * pixels: zeroed or released). info (may be NULL) receives the header facts. Alpha is composited
 * onto white; grey, palette, 16-bit and CMYK become 8-bit RGB. Data that ends inside the pixels
 * (a file cut short by a failed copy or download) is not an error: what it holds is decoded, the
 * rest is mid grey (JPEG: the missing blocks; PNG and WebP: the missing rows; an interlaced PNG
 * or progressive JPEG cut after its first pass is whole but coarse) and info->truncated is 1.
 * Errors: those of image_probe, BASE_E_INVALID for corrupt data or data that ends before the
 * first row of pixels, BASE_E_TOOBIG over the pixel limit, BASE_E_UNSUPPORTED for animated WebP.
 * On error *out is left zeroed. Thread-safe (no shared state). */
int image_decode(const void *data, size_t len, const struct image_decode_opts *opts,
                 struct image *out, struct image_info *info, struct base_err *err);
int image_decode_file(const char *path, const struct image_decode_opts *opts, struct image *out,
                      struct image_info *info, struct base_err *err);

/* Decodes (scaled) and resizes so the whole picture fits a max_side x max_side box with its
 * aspect kept and its longer side exactly max_side (smaller pictures are not enlarged unless
 * `enlarge`). The common path for thumbnails and the detector's image cache. */
int image_load_fit(const void *data, size_t len, int max_side, int enlarge, struct image *out,
                   struct image_info *info, struct base_err *err);

/* Applies an EXIF orientation (1..8) to img in place (5..8 swap the sides). Values outside 1..8
 * are treated as 1. Allocation failure aborts (base_alloc). */
void image_orient(struct image *img, int orientation);

/* Reads the orientation tag (0x0112) of IFD0 from a TIFF-structured EXIF block (starting at the
 * "II*\0"/"MM\0*" byte-order mark; a leading "Exif\0\0" is skipped). Returns 1..8, or 1 when the
 * block is absent, malformed or the value is out of range. Never reads outside [tiff, tiff+len). */
int image_exif_orientation(const uint8_t *tiff, size_t len);

enum image_filter {
    IMAGE_FILTER_BILINEAR, /* 2x2 taps, pixel-centre aligned: for enlarging and small changes */
    IMAGE_FILTER_AREA,     /* exact area average when shrinking (bilinear when enlarging) */
};

/* Resizes src into a new width x height picture in *dst (overwritten). src is not modified; src
 * and dst must differ. Errors: BASE_E_INVALID for sizes < 1 or an empty src. */
int image_resize(const struct image *src, int width, int height, enum image_filter filter,
                 struct image *dst, struct base_err *err);

/* The affine map between a source picture and its letterboxed copy:
 * dst = src * scale + pad, per axis. */
struct image_letterbox {
    float scale_x, scale_y;
    float pad_x, pad_y;
    int src_width, src_height;         /* the source picture */
    int width, height;                 /* the letterboxed picture */
    int content_width, content_height; /* the scaled picture inside it, at (pad_x, pad_y) */
};

/* Computes the letterbox of a src_w x src_h picture into width x height: the largest
 * aspect-preserving scale, content at the top-left corner, the rest padding. */
void image_letterbox_plan(int src_width, int src_height, int width, int height,
                          struct image_letterbox *map);
/* Scales src (area filter) into a width x height picture padded with grey `fill`, filling *map.
 * Errors as image_resize. */
int image_letterbox(const struct image *src, int width, int height, uint8_t fill, struct image *dst,
                    struct image_letterbox *map, struct base_err *err);
/* Maps a point from letterboxed to source coordinates and back (no clamping). */
void image_letterbox_to_src(const struct image_letterbox *map, float *x, float *y);
void image_letterbox_from_src(const struct image_letterbox *map, float *x, float *y);

/* Encodes img as a baseline JPEG of quality 1..100 (clamped). *out is base_alloc'd, the caller
 * frees it with base_free. Errors: BASE_E_INVALID for an empty image. */
int image_encode_jpeg(const struct image *img, int quality, uint8_t **out, size_t *out_len,
                      struct base_err *err);

/* Decodes data (any supported format, scaled), orients, shrinks to fit max_side and encodes a
 * JPEG: what the web UI shows in task lists. Errors as image_decode. */
int image_thumbnail(const void *data, size_t len, int max_side, int quality, uint8_t **out,
                    size_t *out_len, struct base_err *err);

#endif
