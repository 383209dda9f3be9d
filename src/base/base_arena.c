/* Bump allocator: request and parse lifetimes free everything at once. */
#include "base.h"

#include <string.h>

#define ARENA_ALIGN 16

struct block {
    struct block *next;
    size_t size;
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct base_arena {
    struct block *head;
    size_t block_size;
};

static struct block *block_new(size_t size)
{
    struct block *b = base_alloc(sizeof *b + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

struct base_arena *base_arena_new(size_t block_size)
{
    struct base_arena *a = base_alloc(sizeof *a);
    a->block_size = block_size < 1024 ? 1024 : block_size;
    a->head = block_new(a->block_size);
    return a;
}

static void free_chain(struct block *b)
{
    while (b) {
        struct block *next = b->next;
        base_free(b);
        b = next;
    }
}

void base_arena_free(struct base_arena *a)
{
    if (!a)
        return;
    free_chain(a->head);
    base_free(a);
}

void base_arena_reset(struct base_arena *a)
{
    struct block *last = a->head;
    while (last->next)
        last = last->next;
    /* Keep the oldest block (the tail): it has the configured size. */
    struct block *b = a->head;
    while (b != last) {
        struct block *next = b->next;
        base_free(b);
        b = next;
    }
    last->used = 0;
    a->head = last;
}

void *base_arena_alloc(struct base_arena *a, size_t size)
{
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct block *b = a->head;
    if (b->size - b->used < size) {
        size_t want = size > a->block_size ? size : a->block_size;
        b = block_new(want);
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

void *base_arena_calloc(struct base_arena *a, size_t n, size_t size)
{
    size_t total;
    if (base_mul_overflow(n, size, &total))
        base_panic(__FILE__, __LINE__, "arena allocation overflow");
    void *p = base_arena_alloc(a, total);
    memset(p, 0, total);
    return p;
}

char *base_arena_strndup(struct base_arena *a, const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *out = base_arena_alloc(a, len + 1);
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

char *base_arena_strdup(struct base_arena *a, const char *s)
{
    return base_arena_strndup(a, s, strlen(s));
}

char *base_arena_printf(struct base_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *out = base_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}
