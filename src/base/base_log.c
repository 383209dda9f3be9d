/* Logging to stderr with a level; the only mutable global the project allows (the level, and
 * whether a progress bar holds the terminal's current line). */
#include "base_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static _Atomic int log_level = BASE_LOG_INFO;
static _Atomic int bar_line_open;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void base_log_bar_line(int open)
{
    atomic_store(&bar_line_open, open);
}

void base_log_set_level(enum base_log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum base_log_level base_log_get_level(void)
{
    return (enum base_log_level)atomic_load(&log_level);
}

void base_log(enum base_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "off"};
    if ((int)level < atomic_load(&log_level) || level >= BASE_LOG_OFF)
        return;
    char stamp[32];
    base_time_iso(base_time_us(), stamp);
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&log_lock);
    if (atomic_exchange(&bar_line_open, 0))
        fputs("\r\033[K", stderr);
    fprintf(stderr, "%s %-5s ", stamp, names[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_lock);
    va_end(ap);
}
