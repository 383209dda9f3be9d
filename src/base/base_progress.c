/* Terminal progress bars for long work (imports, training, exports). */
#include "base_int.h"

#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct base_progress {
    char label[48];
    char unit[16];
    uint64_t total;
    uint64_t done;
    double start;
    /* The rate is measured from the first update on: a bar created after its first unit of work
     * (the trainer's, after step 1) would otherwise report that unit as done in no time. */
    double rate_t0;
    uint64_t rate_done0;
    double last_draw;
    int tty;
    int last_decile;
};

struct base_progress *base_progress_new(const char *label, uint64_t total, const char *unit)
{
    struct base_progress *p = base_calloc(1, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "it");
    p->total = total;
    p->start = base_now();
    p->rate_t0 = -1;
    p->last_draw = -1;
    p->tty = isatty(STDERR_FILENO);
    p->last_decile = -1;
    return p;
}

static void fmt_eta(double secs, char out[16])
{
    if (secs < 0 || secs > 360000) {
        snprintf(out, 16, "--:--");
        return;
    }
    int s = (int)(secs + 0.5);
    if (s >= 3600)
        snprintf(out, 16, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, 16, "%02d:%02d", s / 60, s % 60);
}

/* Units per second since the first update; 0 while there is nothing to measure yet. */
static double rate_now(const struct base_progress *p, double now)
{
    double dt = now - p->rate_t0;
    if (p->rate_t0 < 0 || p->done <= p->rate_done0 || dt <= 0)
        return 0;
    return (double)(p->done - p->rate_done0) / dt;
}

/* Columns of the terminal on stderr (80 when it cannot be asked): a bar line longer than that
 * would wrap and the next redraw could not overwrite it. */
static int term_columns(void)
{
    struct winsize ws;
    if (!ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

/* Characters (not bytes) of a UTF-8 string. */
static int utf8_chars(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Cuts a line to at most `cols` characters, ending in "..." when cut. */
static void fit_line(char *line, int cols)
{
    if (cols < 4 || utf8_chars(line) <= cols)
        return;
    int n = 0;
    for (char *c = line; *c; c++)
        if (((unsigned char)*c & 0xC0) != 0x80 && n++ == cols - 3) {
            memcpy(c, "...", 4);
            return;
        }
}

/* The bar's line with a bar `width` characters wide (0: none). */
static void format_line(const struct base_progress *p, const char *detail, int final, int width,
                        char *line, size_t size)
{
    double now = base_now();
    double elapsed = now - p->start;
    double rate = final ? (elapsed > 0 ? (double)p->done / elapsed : 0) : rate_now(p, now);
    double frac = p->total ? (double)p->done / (double)p->total : 0;
    if (frac > 1)
        frac = 1;
    char eta[16], rtext[24] = "--", bar[40] = "";
    if (rate > 0)
        snprintf(rtext, sizeof rtext, "%.1f", rate);
    int len;
    if (p->total) {
        fmt_eta(final ? elapsed : (rate > 0 ? (double)(p->total - p->done) / rate : -1), eta);
        int fill = (int)(frac * width);
        bar[0] = ' ';
        bar[1] = '[';
        for (int i = 0; i < width; i++)
            bar[i + 2] = i < fill ? '#' : (i == fill ? '>' : '.');
        snprintf(bar + width + 2, sizeof bar - (size_t)width - 2, "]");
        len = snprintf(line, size, "%s%s %3.0f%% %llu/%llu %s %s/s %s %s", p->label,
                       width ? bar : "", frac * 100, (unsigned long long)p->done,
                       (unsigned long long)p->total, rtext, p->unit, final ? "in" : "eta", eta);
    } else { /* the amount of work is not known: no bar, no percentage, no ETA */
        fmt_eta(elapsed, eta);
        len = snprintf(line, size, "%s %llu %s %s %s/s %s", p->label, (unsigned long long)p->done,
                       p->unit, rtext, p->unit, eta);
    }
    if (detail && *detail && len > 0 && (size_t)len < size)
        snprintf(line + len, size - (size_t)len, "  %s", detail);
}

static void draw(struct base_progress *p, const char *detail, int final)
{
    char line[1024];
    int width = 24;
    format_line(p, detail, final, width, line, sizeof line);
    if (p->tty) { /* narrow terminal: a shorter bar first, then the detail's end is cut */
        int cols = term_columns() - 1, over = utf8_chars(line) - cols;
        if (over > 0) {
            width = over >= 16 ? 8 : width - over;
            format_line(p, detail, final, width, line, sizeof line);
        }
        fit_line(line, cols);
    }
    fflush(stdout); /* what the command printed before comes first */
    fprintf(stderr, "%s%s", p->tty ? "\r\033[K" : "", line);
    if (final || !p->tty)
        fputc('\n', stderr);
    fflush(stderr);
    if (p->tty)
        base_log_bar_line(!final);
}

void base_progress_set_total(struct base_progress *p, uint64_t total)
{
    if (p)
        p->total = total;
}

void base_progress_update(struct base_progress *p, uint64_t done, const char *detail)
{
    if (!p)
        return;
    p->done = done;
    if (p->rate_t0 < 0) {
        p->rate_t0 = base_now();
        p->rate_done0 = done;
    }
    if (p->tty) {
        double now = base_now();
        if (now - p->last_draw < 0.1)
            return;
        p->last_draw = now;
        draw(p, detail, 0);
        return;
    }
    /* without a total: one line per power of two, so a long job still shows it is alive */
    int decile = p->total ? (int)(10 * done / p->total) : (done ? 64 - __builtin_clzll(done) : 0);
    if (decile > p->last_decile) {
        p->last_decile = decile;
        draw(p, detail, 0);
    }
}

void base_progress_finish(struct base_progress *p, const char *detail)
{
    if (!p)
        return;
    draw(p, detail, 1);
    base_free(p);
}
