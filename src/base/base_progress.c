/* Terminal progress bars for long work (imports, training, exports). */
#include "base.h"

#include <string.h>
#include <unistd.h>

struct base_progress {
    char label[48];
    char unit[16];
    uint64_t total;
    uint64_t done;
    double start;
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

static void draw(struct base_progress *p, const char *detail, int final)
{
    double elapsed = base_now() - p->start;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    double frac = p->total ? (double)p->done / (double)p->total : 0;
    if (frac > 1)
        frac = 1;
    char eta[16];
    fmt_eta(final ? elapsed : (rate > 0 ? (double)(p->total - p->done) / rate : -1), eta);
    const int width = 24;
    char bar[32];
    int fill = (int)(frac * width);
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : (i == fill ? '>' : '.');
    bar[width] = '\0';
    fprintf(stderr, "%s%s [%s] %3.0f%% %llu/%llu %.1f %s/s %s %s%s", p->tty ? "\r\033[K" : "",
            p->label, bar, frac * 100, (unsigned long long)p->done, (unsigned long long)p->total,
            rate, p->unit, final ? "in" : "eta", eta, detail && *detail ? "  " : "");
    if (detail && *detail)
        fputs(detail, stderr);
    if (final || !p->tty)
        fputc('\n', stderr);
    fflush(stderr);
}

void base_progress_update(struct base_progress *p, uint64_t done, const char *detail)
{
    if (!p)
        return;
    p->done = done;
    if (p->tty) {
        double now = base_now();
        if (now - p->last_draw < 0.1)
            return;
        p->last_draw = now;
        draw(p, detail, 0);
        return;
    }
    int decile = p->total ? (int)(10 * done / p->total) : 0;
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
