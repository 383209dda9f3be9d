/* Time stamps in the two text forms Label Studio uses (API ISO-8601 and SQLite naive UTC). */
#include "base.h"

#include <string.h>
#include <time.h>

double base_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int64_t base_time_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void format(int64_t us, char out[32], char sep, int iso)
{
    time_t secs = (time_t)(us / 1000000);
    int frac = (int)(us % 1000000);
    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%d", &tm);
    n += (size_t)snprintf(out + n, 32 - n, "%c%02d:%02d:%02d", sep, tm.tm_hour, tm.tm_min,
                          tm.tm_sec);
    if (frac || !iso)
        n += (size_t)snprintf(out + n, 32 - n, ".%06d", frac);
    if (iso)
        snprintf(out + n, 32 - n, "Z");
}

void base_time_iso(int64_t us, char out[32])
{
    format(us, out, 'T', 1);
}

void base_time_sql(int64_t us, char out[32])
{
    format(us, out, ' ', 0);
}

int base_time_parse(const char *s, int64_t *us)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int consumed = 0;
    char sep;
    if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &sep,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 7 ||
        (sep != 'T' && sep != ' '))
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    const char *p = s + consumed;
    int64_t frac = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 6)
                frac = frac * 10 + (*p - '0');
        if (!digits)
            return -1;
        for (; digits < 6; digits++)
            frac *= 10;
    }
    if (*p == 'Z')
        p++;
    else if (!strcmp(p, "+00:00"))
        p += 6;
    if (*p)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *us = (int64_t)timegm(&tm) * 1000000 + frac;
    return 0;
}
