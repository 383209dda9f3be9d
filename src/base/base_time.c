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

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (the era arithmetic of
 * H. Hinnant's "chrono-compatible low-level date algorithms"); month and day may overflow their
 * ranges linearly, as timegm lets them. Exports format and parse two stamps per annotation, and
 * strftime/sscanf/timegm were several percent of an export. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static char *put_digits(char *p, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

static void format(int64_t us, char out[32], char sep, int iso)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    int64_t days = secs / 86400, sod = secs % 86400, y;
    if (sod < 0) {
        sod += 86400;
        days -= 1;
    }
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 1000 || y > 9999) { /* strftime's %Y: no padding below 1000, more digits above */
        time_t t = (time_t)secs;
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t n = strftime(out, 32, "%Y", &tm);
        snprintf(out + n, 32 - n, "-%02d-%02d", m, d);
    } else {
        char *p = put_digits(out, y, 4);
        *p++ = '-';
        p = put_digits(p, m, 2);
        *p++ = '-';
        put_digits(p, d, 2);
        out[10] = '\0';
    }
    char *p = out + strlen(out);
    *p++ = sep;
    p = put_digits(p, sod / 3600, 2);
    *p++ = ':';
    p = put_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, sod % 60, 2);
    if (frac || !iso) {
        *p++ = '.';
        p = put_digits(p, frac, 6);
    }
    if (iso)
        *p++ = 'Z';
    *p = '\0';
}

void base_time_iso(int64_t us, char out[32])
{
    format(us, out, 'T', 1);
}

void base_time_sql(int64_t us, char out[32])
{
    format(us, out, ' ', 0);
}

/* "YYYY-MM-DD?hh:mm:ss" with plain digits (what we write), read without sscanf; anything else
 * (signs, spaces, short fields) goes through sscanf. */
static int parse_plain(const char *s, struct tm *tm, char *sep, int *consumed)
{
    static const char shape[] = "dddd-dd-dd?dd:dd:dd";
    for (int i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : shape[i] != '?' && s[i] != shape[i])
            return -1;
    int v[6], at[6] = {0, 5, 8, 11, 14, 17}, width[6] = {4, 2, 2, 2, 2, 2};
    for (int k = 0; k < 6; k++) {
        v[k] = 0;
        for (int i = 0; i < width[k]; i++)
            v[k] = v[k] * 10 + (s[at[k] + i] - '0');
    }
    tm->tm_year = v[0], tm->tm_mon = v[1], tm->tm_mday = v[2];
    tm->tm_hour = v[3], tm->tm_min = v[4], tm->tm_sec = v[5];
    *sep = s[10];
    *consumed = 19;
    return 0;
}

int base_time_parse(const char *s, int64_t *us)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int consumed = 0;
    char sep;
    if ((parse_plain(s, &tm, &sep, &consumed) &&
         sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &sep,
                &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 7) ||
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
    int64_t days = days_from_civil(tm.tm_year, tm.tm_mon, tm.tm_mday);
    *us = ((days * 24 + tm.tm_hour) * 60 + tm.tm_min) * 60 * 1000000 + tm.tm_sec * 1000000 + frac;
    return 0;
}
