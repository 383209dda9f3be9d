/* Errors as values: the one vocabulary every module returns, plus the loud abort for bugs. */
#include "base.h"

#include <stdlib.h>
#include <string.h>

int base_err_vset(struct base_err *err, enum base_status status, const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    err->status = status;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return -1;
}

int base_err_set(struct base_err *err, enum base_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    base_err_vset(err, status, fmt, ap);
    va_end(ap);
    return -1;
}

int base_err_prefix(struct base_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[BASE_ERR_MSG];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t plen = n < 0 ? 0 : (size_t)n;
    if (plen >= sizeof err->msg)
        plen = sizeof err->msg - 1;
    /* Keep as much of the old message as fits after the prefix; truncation is acceptable. */
    size_t keep = strnlen(err->msg, sizeof err->msg - 1);
    if (keep > sizeof err->msg - 1 - plen)
        keep = sizeof err->msg - 1 - plen;
    memmove(err->msg + plen, err->msg, keep);
    memcpy(err->msg, prefix, plen);
    err->msg[plen + keep] = '\0';
    return -1;
}

void base_err_clear(struct base_err *err)
{
    if (!err)
        return;
    err->status = BASE_OK;
    err->msg[0] = '\0';
}

const char *base_status_name(enum base_status status)
{
    static const char *const names[] = {
        [BASE_OK] = "ok",
        [BASE_E_INVALID] = "invalid",
        [BASE_E_NOTFOUND] = "not found",
        [BASE_E_CONFLICT] = "conflict",
        [BASE_E_TOOBIG] = "too big",
        [BASE_E_AUTH] = "unauthorized",
        [BASE_E_FORBIDDEN] = "forbidden",
        [BASE_E_UNSUPPORTED] = "unsupported",
        [BASE_E_IO] = "i/o error",
        [BASE_E_NOMEM] = "out of memory",
        [BASE_E_CANCELLED] = "cancelled",
        [BASE_E_BUSY] = "busy",
        [BASE_E_INTERNAL] = "internal error",
    };
    if ((unsigned)status >= sizeof names / sizeof names[0] || !names[status])
        return "unknown";
    return names[status];
}

void base_panic(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "labelloop: fatal: %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}
