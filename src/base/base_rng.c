/* Seeded xoshiro256** for reproducible training; the OS generator for secrets. */
#include "base.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/random.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void base_rng_seed(struct base_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t base_rng_next(struct base_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double base_rng_uniform(struct base_rng *r)
{
    return (double)(base_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t base_rng_below(struct base_rng *r, uint64_t n)
{
    BASE_ASSERT(n > 0);
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = base_rng_next(r);
    while (x >= limit);
    return x % n;
}

double base_rng_normal(struct base_rng *r)
{
    double u1 = base_rng_uniform(r);
    double u2 = base_rng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void base_rng_shuffle(struct base_rng *r, void *items, size_t n, size_t size)
{
    unsigned char *p = items;
    unsigned char tmp[256];
    BASE_ASSERT(size <= sizeof tmp);
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)base_rng_below(r, i);
        memcpy(tmp, p + (i - 1) * size, size);
        memcpy(p + (i - 1) * size, p + j * size, size);
        memcpy(p + j * size, tmp, size);
    }
}

int base_random_bytes(void *out, size_t n, struct base_err *err)
{
    unsigned char *p = out;
    while (n) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return base_err_set(err, BASE_E_IO, "getrandom: %s", strerror(errno));
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

int base_random_hex(char *out, size_t n, struct base_err *err)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char bytes[64];
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done < sizeof bytes ? n - done : sizeof bytes;
        if (base_random_bytes(bytes, chunk, err))
            return -1;
        for (size_t i = 0; i < chunk; i++) {
            out[2 * (done + i)] = hex[bytes[i] >> 4];
            out[2 * (done + i) + 1] = hex[bytes[i] & 15];
        }
        done += chunk;
    }
    out[2 * n] = '\0';
    return 0;
}
