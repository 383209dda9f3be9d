/* The last lines a worker printed, kept whole for its job row (the server's view of a child,
 * and a standing worker's view of itself). */
#include "loop_int.h"

#include <string.h>

static void take_line(struct loop_tail *t, const char *s, size_t n)
{
    if (t->on_line)
        t->on_line(t->ctx, s, n);
    if (n + 1 > LOOP_LOG_TAIL)
        s += n + 1 - LOOP_LOG_TAIL, n = LOOP_LOG_TAIL - 1;
    if (t->len + n + 1 > LOOP_LOG_TAIL) { /* drop whole lines from the front */
        size_t cut = t->len + n + 1 - LOOP_LOG_TAIL;
        char *nl = memchr(t->text + cut, '\n', t->len - cut);
        cut = nl ? (size_t)(nl + 1 - t->text) : t->len;
        memmove(t->text, t->text + cut, t->len - cut);
        t->len -= cut;
    }
    memcpy(t->text + t->len, s, n);
    t->len += n;
    t->text[t->len++] = '\n';
    t->text[t->len] = '\0';
}

void loop_tail_feed(struct loop_tail *t, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || t->line_len == sizeof t->line) {
            take_line(t, t->line, t->line_len);
            t->line_len = 0;
            if (buf[i] == '\n')
                continue;
        }
        if (buf[i] != '\r')
            t->line[t->line_len++] = buf[i];
    }
}

void loop_tail_end(struct loop_tail *t)
{
    if (t->line_len)
        take_line(t, t->line, t->line_len);
    t->line_len = 0;
}

const char *loop_tail_last(const struct loop_tail *t, size_t *n)
{
    size_t end = t->len ? t->len - 1 : 0, start = end;
    while (start > 0 && t->text[start - 1] != '\n')
        start--;
    *n = end - start;
    return t->text + start;
}
