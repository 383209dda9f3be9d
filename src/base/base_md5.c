/* MD5 (RFC 1321), written from the RFC: Label Studio records the md5 of every export snapshot,
 * and clients compare it. Not for security. */
#include "base.h"

#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

/* The per-round shifts of RFC 1321 section 3.4. */
static const int SHIFT[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

static void block(uint32_t h[4], const uint32_t k[64], const unsigned char *p)
{
    uint32_t x[16], a = h[0], b = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 16; i++)
        x[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
               (uint32_t)p[4 * i + 3] << 24;
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g, round = i / 16;
        if (round == 0)
            f = (b & c) | (~b & d), g = i;
        else if (round == 1)
            f = (d & b) | (~d & c), g = (5 * i + 1) % 16;
        else if (round == 2)
            f = b ^ c ^ d, g = (3 * i + 5) % 16;
        else
            f = c ^ (b | ~d), g = (7 * i) % 16;
        uint32_t t = d;
        d = c;
        c = b;
        b = b + rol(a + f + k[i] + x[g], SHIFT[round][i % 4]);
        a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d;
}

void base_md5_init(struct base_md5 *m)
{
    memset(m, 0, sizeof *m);
    m->h[0] = 0x67452301u, m->h[1] = 0xefcdab89u, m->h[2] = 0x98badcfeu, m->h[3] = 0x10325476u;
    for (int i = 0; i < 64; i++) /* floor(2^32 * |sin(i + 1)|), exact in double precision */
        m->k[i] = (uint32_t)floor(fabs(sin((double)(i + 1))) * 4294967296.0);
}

void base_md5_update(struct base_md5 *m, const void *data, size_t len)
{
    const unsigned char *p = data;
    m->total += len;
    while (len) {
        size_t take = 64 - m->n < len ? 64 - m->n : len;
        memcpy(m->buf + m->n, p, take);
        m->n += take, p += take, len -= take;
        if (m->n == 64) {
            block(m->h, m->k, m->buf);
            m->n = 0;
        }
    }
}

void base_md5_final(struct base_md5 *m, char hex[33])
{
    uint64_t bits = m->total * 8;
    unsigned char pad[72] = {0x80};
    size_t npad = (m->n < 56 ? 56 : 120) - m->n;
    for (int i = 0; i < 8; i++)
        pad[npad + (size_t)i] = (unsigned char)(bits >> (8 * i));
    base_md5_update(m, pad, npad + 8);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned)(m->h[i / 4] >> (8 * (i % 4))) & 0xffu);
}

int base_md5_file(const char *path, char hex[33], struct base_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return base_err_set(err, BASE_E_IO, "cannot read %s", path);
    struct base_md5 m;
    base_md5_init(&m);
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        base_md5_update(&m, buf, (size_t)n);
    close(fd);
    if (n < 0)
        return base_err_set(err, BASE_E_IO, "cannot read %s", path);
    base_md5_final(&m, hex);
    return 0;
}
