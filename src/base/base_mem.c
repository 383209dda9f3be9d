/* Allocation wrappers and the bounded growable buffer. */
#include "base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check(void *p, size_t size)
{
    if (!p && size)
        base_panic(__FILE__, __LINE__, "out of memory allocating %zu bytes", size);
    return p;
}

void *base_alloc(size_t size)
{
    return check(malloc(size ? size : 1), size);
}

void *base_calloc(size_t n, size_t size)
{
    size_t total;
    if (base_mul_overflow(n, size, &total))
        base_panic(__FILE__, __LINE__, "allocation size overflow (%zu x %zu)", n, size);
    return check(calloc(total ? n : 1, total ? size : 1), total);
}

void *base_realloc(void *p, size_t size)
{
    return check(realloc(p, size ? size : 1), size);
}

char *base_strdup(const char *s)
{
    return base_strndup(s, strlen(s));
}

char *base_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *out = base_alloc(len + 1);
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

char *base_strprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    BASE_ASSERT(n >= 0);
    char *out = base_alloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

void base_free(void *p)
{
    free(p);
}

int base_mul_overflow(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}

void base_buf_init(struct base_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

void base_buf_release(struct base_buf *b)
{
    if (!b)
        return;
    base_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void base_buf_reset(struct base_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int reserve(struct base_buf *b, size_t extra, struct base_err *err)
{
    if (extra > b->limit || b->len > b->limit - extra)
        return base_err_set(err, BASE_E_TOOBIG, "buffer limit of %zu bytes exceeded", b->limit);
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->limit < SIZE_MAX && cap > b->limit + 1) /* fast paths may trust cap (base_jw_put) */
        cap = b->limit + 1;
    b->data = base_realloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int base_buf_append(struct base_buf *b, const void *p, size_t n, struct base_err *err)
{
    if (reserve(b, n, err))
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int base_buf_puts(struct base_buf *b, const char *s, struct base_err *err)
{
    return base_buf_append(b, s, strlen(s), err);
}

int base_buf_printf(struct base_buf *b, struct base_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return base_err_set(err, BASE_E_INTERNAL, "bad format string");
    if (reserve(b, (size_t)n, err))
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *base_buf_steal(struct base_buf *b, size_t *len)
{
    if (!b->data)
        reserve(b, 0, NULL);
    char *out = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return out;
}
