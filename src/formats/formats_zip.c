/* The zip container of the COCO, YOLO and VOC exports, written front to back into an atomic file:
 * each entry's local header and data as it arrives, the central directory at the end. Only the
 * directory stays in memory (~70 bytes and the name per entry). 100,000 label files cost one
 * buffered write each, where libzip spooled them, read them back and sought back over every entry
 * to patch its header (one flush and write syscall per entry). Zip64 records where sizes, offsets
 * or the entry count need them. */
#include "formats_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* Entries below this size are stored: zlib sets up ~300 KB of state per deflated stream, which for
 * 100,000 small label files costs far more than the bytes it saves. */
#define ZIP_STORE_BELOW 16384
#define ZIP_CHUNK       65536

enum { ZIP_STORE = 0, ZIP_DEFLATE = 8 };

struct zip_ent {
    size_t name_at; /* in z->names */
    uint16_t name_len, method, flags, dostime, dosdate;
    uint32_t crc, mode;
    uint64_t usize, csize, at; /* at: offset of the local header */
    int late, written;
};

struct zip_slot {
    uint32_t ent; /* entry index + 1, 0: free */
    uint32_t hash;
};

struct formats_zip {
    struct base_afile *af;
    FILE *f;
    char *path;
    uint64_t at, zip64_from;
    uint16_t dostime, dosdate; /* of entries made here */
    struct zip_ent *ents;
    size_t n, cap;
    struct zip_slot *slots; /* names -> entries, open addressing */
    size_t nslots;
    struct base_buf names;
    struct base_buf held; /* the last formats_zip_add entry, written when the next one comes */
    size_t held_ent;
    int holding;
    /* the entry being written */
    size_t cur;
    uint64_t size; /* announced */
    int open, patch, local64;
    z_stream zs;
    int zs_ready;
    unsigned char *chunk;
};

/* ---- little-endian records ----------------------------------------------------------------- */

static unsigned char *le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        *p++ = (unsigned char)(v >> (8 * i));
    return p;
}

static int put(struct formats_zip *z, const void *p, size_t n, struct base_err *err)
{
    if (n && fwrite_unlocked(p, 1, n, z->f) != n)
        return base_err_set(err, BASE_E_IO, "%s: write failed: %s", z->path, strerror(errno));
    z->at += n;
    return 0;
}

static void dos_time(time_t t, uint16_t *tm_out, uint16_t *date_out)
{
    struct tm tm;
    localtime_r(&t, &tm);
    if (tm.tm_year < 80)
        tm = (struct tm){.tm_year = 80, .tm_mday = 1};
    if (tm.tm_year > 207)
        tm = (struct tm){.tm_year = 207, .tm_mon = 11, .tm_mday = 31, .tm_hour = 23, .tm_min = 59};
    *date_out = (uint16_t)((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
    *tm_out = (uint16_t)(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
}

static const char *ent_name(const struct formats_zip *z, const struct zip_ent *e)
{
    return z->names.data + e->name_at;
}

/* ---- the name index ------------------------------------------------------------------------ */

static uint32_t name_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return (uint32_t)(h ^ h >> 32);
}

/* The slot holding `name` (hash h), or the free slot where it would go. The hash kept in the slot
 * spares most probes a look at the entry and its name. */
static size_t slot_of(const struct formats_zip *z, const char *name, size_t n, uint32_t h)
{
    size_t mask = z->nslots - 1, i = h & mask;
    for (; z->slots[i].ent; i = (i + 1) & mask) {
        const struct zip_ent *e = &z->ents[z->slots[i].ent - 1];
        if (z->slots[i].hash == h && e->name_len == n && !memcmp(ent_name(z, e), name, n))
            break;
    }
    return i;
}

static void slots_grow(struct formats_zip *z)
{
    struct zip_slot *old = z->slots;
    size_t nold = z->nslots;
    z->nslots = z->nslots ? 2 * z->nslots : 1024;
    z->slots = base_calloc(z->nslots, sizeof *z->slots);
    for (size_t k = 0; k < nold; k++)
        if (old[k].ent) {
            size_t i = old[k].hash & (z->nslots - 1);
            while (z->slots[i].ent)
                i = (i + 1) & (z->nslots - 1);
            z->slots[i] = old[k];
        }
    base_free(old);
}

int formats_zip_has(const struct formats_zip *z, const char *name)
{
    size_t n = strlen(name);
    return z->nslots && z->slots[slot_of(z, name, n, name_hash(name, n))].ent != 0;
}

/* The entry named `name`, made at the end of the directory if new. */
static int ent_get(struct formats_zip *z, const char *name, int late, size_t *out,
                   struct base_err *err)
{
    size_t n = strlen(name);
    if (n == 0 || n > 0xFFFF || z->n >= UINT32_MAX - 1)
        return base_err_set(err, BASE_E_INVALID, "zip entry \"%.64s\": bad name", name);
    if ((z->n + 1) * 2 > z->nslots)
        slots_grow(z);
    uint32_t h = name_hash(name, n);
    size_t s = slot_of(z, name, n, h);
    if (z->slots[s].ent) {
        *out = z->slots[s].ent - 1;
        if (z->holding && z->held_ent == *out)
            z->holding = 0; /* replaced before it was written */
        return 0;
    }
    if (z->n == z->cap) {
        z->cap = z->cap ? 2 * z->cap : 1024;
        z->ents = base_realloc(z->ents, z->cap * sizeof *z->ents);
    }
    z->ents[z->n] =
        (struct zip_ent){.name_at = z->names.len, .name_len = (uint16_t)n, .late = late};
    if (base_buf_append(&z->names, name, n + 1, err))
        return -1;
    z->slots[s] = (struct zip_slot){.ent = (uint32_t)(z->n + 1), .hash = h};
    *out = z->n++;
    return 0;
}

/* ---- open, write, close ---------------------------------------------------------------------- */

struct formats_zip *formats_zip_open(const char *path, int64_t now_us, uint64_t zip64_from,
                                     struct base_err *err)
{
    struct base_afile *af = base_afile_open(path, err);
    if (!af)
        return NULL;
    struct formats_zip *z = base_calloc(1, sizeof *z);
    z->af = af;
    z->f = base_afile_stream(af);
    setvbuf(z->f, NULL, _IOFBF, 1 << 20);
    z->path = base_strdup(path);
    z->zip64_from = zip64_from < 0xFFFFFFFFu ? zip64_from : 0xFFFFFFFFu;
    dos_time((time_t)(now_us / 1000000), &z->dostime, &z->dosdate);
    base_buf_init(&z->names, FORMATS_TEXT_MAX);
    base_buf_init(&z->held, FORMATS_TEXT_MAX);
    z->chunk = base_alloc(ZIP_CHUNK);
    return z;
}

/* Writes the local header of entry i and starts its data. crc is known for stored memory data;
 * otherwise crc and sizes are patched in at formats_zip_end. */
static int ent_start(struct formats_zip *z, size_t i, uint64_t size, int method, time_t mtime,
                     const uint32_t *crc, struct base_err *err)
{
    struct zip_ent *e = &z->ents[i];
    const char *name = ent_name(z, e);
    int utf8 = 0;
    for (size_t k = 0; k < e->name_len; k++)
        utf8 |= (unsigned char)name[k] >= 0x80;
    e->at = z->at, e->method = (uint16_t)method, e->written = 1;
    e->flags = (uint16_t)((method == ZIP_DEFLATE ? 0x4 : 0) | (utf8 ? 0x800 : 0));
    e->mode = name[e->name_len - 1] == '/' ? 040755 : 0100644;
    e->crc = crc ? *crc : 0, e->usize = e->csize = crc ? size : 0;
    if (mtime)
        dos_time(mtime, &e->dostime, &e->dosdate);
    else
        e->dostime = z->dostime, e->dosdate = z->dosdate;
    uint64_t bound = method == ZIP_DEFLATE ? compressBound((uLong)size) : size;
    z->cur = i, z->size = size, z->open = 1, z->patch = !crc;
    z->local64 = bound >= z->zip64_from;
    unsigned char h[50], *p = le(h, 0x04034b50, 4);
    p = le(p, z->local64 ? 45 : method == ZIP_DEFLATE ? 20 : 10, 2);
    p = le(le(le(p, e->flags, 2), e->method, 2), e->dostime, 2);
    p = le(le(p, e->dosdate, 2), e->crc, 4);
    p = le(le(p, z->local64 ? 0xFFFFFFFFu : e->csize, 4), z->local64 ? 0xFFFFFFFFu : e->usize, 4);
    p = le(le(p, e->name_len, 2), z->local64 ? 20 : 0, 2);
    if (put(z, h, (size_t)(p - h), err) || put(z, name, e->name_len, err))
        return -1;
    p = le(le(le(h, 1, 2), 16, 2), e->usize, 8);
    p = le(p, e->csize, 8);
    if (z->local64 && put(z, h, (size_t)(p - h), err))
        return -1;
    if (method == ZIP_DEFLATE) {
        int zrc = z->zs_ready
                      ? deflateReset(&z->zs)
                      : deflateInit2(&z->zs, 1, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
        if (zrc != Z_OK)
            return base_err_set(err, BASE_E_NOMEM, "zlib: cannot start deflate");
        z->zs_ready = 1;
    }
    return 0;
}

static int deflate_some(struct formats_zip *z, const void *p, size_t n, int flush,
                        struct base_err *err)
{
    struct zip_ent *e = &z->ents[z->cur];
    z->zs.next_in = (Bytef *)p;
    z->zs.avail_in = (uInt)n;
    int zrc;
    do {
        z->zs.next_out = z->chunk;
        z->zs.avail_out = ZIP_CHUNK;
        zrc = deflate(&z->zs, flush);
        size_t out = ZIP_CHUNK - z->zs.avail_out;
        if (zrc == Z_STREAM_ERROR)
            return base_err_set(err, BASE_E_INTERNAL, "zlib: deflate failed");
        if (put(z, z->chunk, out, err))
            return -1;
        e->csize += out;
    } while (z->zs.avail_out == 0 || (flush == Z_FINISH && zrc != Z_STREAM_END));
    return 0;
}

int formats_zip_write(struct formats_zip *z, const void *p, size_t n, struct base_err *err)
{
    BASE_ASSERT(z->open);
    struct zip_ent *e = &z->ents[z->cur];
    if (!z->patch) /* stored with the crc known: the header is final */
        return put(z, p, n, err);
    e->crc = (uint32_t)crc32_z(e->crc, p, n);
    e->usize += n;
    for (size_t done = 0; e->method == ZIP_DEFLATE && done < n;) {
        size_t k = n - done < 0x40000000u ? n - done : 0x40000000u;
        if (deflate_some(z, (const char *)p + done, k, Z_NO_FLUSH, err))
            return -1;
        done += k;
    }
    if (e->method == ZIP_STORE) {
        e->csize += n;
        return put(z, p, n, err);
    }
    return 0;
}

/* Writes crc and sizes into the local header (already on its way to the file). */
static int ent_patch(struct formats_zip *z, const struct zip_ent *e, struct base_err *err)
{
    unsigned char h[16];
    int fd = fileno(z->f);
    le(le(le(h, e->crc, 4), e->csize, 4), e->usize, 4);
    int bad = fflush(z->f) || pwrite(fd, h, 4, (off_t)e->at + 14) != 4;
    if (!z->local64)
        bad = bad || pwrite(fd, h + 4, 8, (off_t)e->at + 18) != 8;
    le(le(h, e->usize, 8), e->csize, 8);
    off_t extra = (off_t)(e->at + 30 + e->name_len + 4);
    if (z->local64)
        bad = bad || pwrite(fd, h, 16, extra) != 16;
    return bad ? base_err_set(err, BASE_E_IO, "%s: write failed: %s", z->path, strerror(errno)) : 0;
}

int formats_zip_end(struct formats_zip *z, struct base_err *err)
{
    BASE_ASSERT(z->open);
    struct zip_ent *e = &z->ents[z->cur];
    z->open = 0;
    if (e->method == ZIP_DEFLATE && deflate_some(z, NULL, 0, Z_FINISH, err))
        return -1;
    if (z->patch && e->usize != z->size)
        return base_err_set(err, BASE_E_IO, "zip entry %s: %llu bytes announced, %llu written",
                            ent_name(z, e), (unsigned long long)z->size,
                            (unsigned long long)e->usize);
    return z->patch ? ent_patch(z, e, err) : 0;
}

static int write_mem(struct formats_zip *z, size_t i, const void *data, size_t len,
                     struct base_err *err)
{
    int method = len < ZIP_STORE_BELOW ? ZIP_STORE : ZIP_DEFLATE;
    uint32_t crc = method == ZIP_STORE ? (uint32_t)crc32_z(0, data, len) : 0;
    if (ent_start(z, i, len, method, 0, method == ZIP_STORE ? &crc : NULL, err) ||
        formats_zip_write(z, data, len, err))
        return -1;
    return formats_zip_end(z, err);
}

static int flush_held(struct formats_zip *z, struct base_err *err)
{
    if (!z->holding)
        return 0;
    z->holding = 0;
    return write_mem(z, z->held_ent, z->held.data, z->held.len, err);
}

int formats_zip_add(struct formats_zip *z, const char *name, const void *data, size_t len, int late,
                    struct base_err *err)
{
    size_t i;
    if (ent_get(z, name, late, &i, err) || flush_held(z, err))
        return -1;
    base_buf_reset(&z->held);
    if (len && base_buf_append(&z->held, data, len, err))
        return -1;
    z->held_ent = i, z->holding = 1;
    return 0;
}

int formats_zip_dir(struct formats_zip *z, const char *name, struct base_err *err)
{
    size_t n = strlen(name), i;
    char *dir = base_alloc(n + 2);
    memcpy(dir, name, n);
    memcpy(dir + n, "/", 2);
    uint32_t crc = 0;
    int rc = ent_get(z, dir, 0, &i, err) || ent_start(z, i, 0, ZIP_STORE, 0, &crc, err) ||
                     formats_zip_end(z, err)
                 ? -1
                 : 0;
    base_free(dir);
    return rc;
}

int formats_zip_begin(struct formats_zip *z, const char *name, uint64_t size, struct base_err *err)
{
    size_t i;
    if (ent_get(z, name, 0, &i, err))
        return -1;
    return ent_start(z, i, size, size < ZIP_STORE_BELOW ? ZIP_STORE : ZIP_DEFLATE, 0, NULL, err);
}

int formats_zip_add_file(struct formats_zip *z, const char *name, const char *path,
                         struct base_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW); /* a link is never followed out */
    FILE *in = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!in && fd >= 0)
        close(fd);
    struct stat st;
    char buf[ZIP_CHUNK];
    size_t i, n;
    int rc = -1;
    if (!in || fstat(fileno(in), &st)) {
        base_err_set(err, BASE_E_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (ent_get(z, name, 0, &i, err) ||
        ent_start(z, i, (uint64_t)st.st_size, ZIP_STORE, st.st_mtime, NULL, err))
        goto out;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (formats_zip_write(z, buf, n, err))
            goto out;
    if (ferror(in)) {
        base_err_set(err, BASE_E_IO, "%s: read failed", path);
        goto out;
    }
    rc = formats_zip_end(z, err);
out:
    if (in)
        fclose(in);
    return rc;
}

/* ---- the central directory ------------------------------------------------------------------ */

static int put_central(struct formats_zip *z, const struct zip_ent *e, struct base_err *err)
{
    uint64_t lim = z->zip64_from;
    int bu = e->usize >= lim, bc = e->csize >= lim, ba = e->at >= lim;
    unsigned char h[46 + 28], *p = le(h, 0x02014b50, 4), *x;
    int need = bu || bc || ba ? 45 : e->method == ZIP_DEFLATE || e->mode == 040755 ? 20 : 10;
    p = le(le(le(p, 3 << 8 | 45, 2), need, 2), e->flags, 2);
    p = le(le(le(p, e->method, 2), e->dostime, 2), e->dosdate, 2);
    p = le(le(p, e->crc, 4), bc ? 0xFFFFFFFFu : e->csize, 4);
    p = le(le(p, bu ? 0xFFFFFFFFu : e->usize, 4), e->name_len, 2);
    x = p;
    p = le(le(le(p, 0, 2), 0, 2), 0, 2); /* extra length (below), comment, disk */
    p = le(le(p, 0, 2), (uint64_t)e->mode << 16 | (e->mode == 040755 ? 0x10 : 0), 4);
    p = le(p, ba ? 0xFFFFFFFFu : e->at, 4);
    unsigned char ext[28], *q = ext + 4;
    q = bu ? le(q, e->usize, 8) : q;
    q = bc ? le(q, e->csize, 8) : q;
    q = ba ? le(q, e->at, 8) : q;
    size_t nx = q - ext > 4 ? (size_t)(q - ext) : 0;
    le(le(ext, 1, 2), nx ? nx - 4 : 0, 2);
    le(x, nx, 2);
    if (put(z, h, (size_t)(p - h), err) || put(z, ent_name(z, e), e->name_len, err))
        return -1;
    return put(z, ext, nx, err);
}

/* Zip64 end record and locator, then the classic end record (fields that do not fit: 0xFF..). */
static int put_end(struct formats_zip *z, uint64_t cd_at, uint64_t cd_len, struct base_err *err)
{
    uint64_t lim = z->zip64_from, n = z->n;
    int many = n >= 0xFFFF || n >= lim, big_at = cd_at >= lim, big_len = cd_len >= lim;
    unsigned char h[56 + 20 + 22], *p = h;
    if (many || big_at || big_len) {
        uint64_t at = z->at;
        p = le(le(le(p, 0x06064b50, 4), 44, 8), 3 << 8 | 45, 2);
        p = le(le(le(p, 45, 2), 0, 4), 0, 4);
        p = le(le(le(le(p, n, 8), n, 8), cd_len, 8), cd_at, 8);
        p = le(le(le(le(p, 0x07064b50, 4), 0, 4), at, 8), 1, 4);
    }
    p = le(le(le(p, 0x06054b50, 4), 0, 2), 0, 2);
    p = le(le(p, many ? 0xFFFF : n, 2), many ? 0xFFFF : n, 2);
    p = le(le(p, big_len ? 0xFFFFFFFFu : cd_len, 4), big_at ? 0xFFFFFFFFu : cd_at, 4);
    p = le(p, 0, 2);
    return put(z, h, (size_t)(p - h), err);
}

static void zip_free(struct formats_zip *z)
{
    if (z->zs_ready)
        deflateEnd(&z->zs);
    base_buf_release(&z->names);
    base_buf_release(&z->held);
    base_free(z->ents), base_free(z->slots), base_free(z->chunk), base_free(z->path);
    base_free(z);
}

int formats_zip_commit(struct formats_zip *z, struct base_err *err)
{
    BASE_ASSERT(!z->open);
    int rc = flush_held(z, err);
    uint64_t cd_at = z->at;
    for (int late = 0; late < 2 && !rc; late++) /* late entries follow all the others */
        for (size_t i = 0; i < z->n && !rc; i++)
            if (z->ents[i].late == late)
                rc = z->ents[i].written ? put_central(z, &z->ents[i], err)
                                        : base_err_set(err, BASE_E_INTERNAL, "zip: %s unwritten",
                                                       ent_name(z, &z->ents[i]));
    if (!rc)
        rc = put_end(z, cd_at, z->at - cd_at, err);
    if (rc)
        base_afile_abort(z->af);
    else
        rc = base_afile_commit(z->af, err);
    zip_free(z);
    return rc;
}

void formats_zip_abort(struct formats_zip *z)
{
    if (!z)
        return;
    base_afile_abort(z->af);
    zip_free(z);
}
