/* base: the vocabulary every other module shares — errors as values, logging, bounded buffers,
 * arenas, files written atomically, time stamps, a seeded random generator, progress bars and
 * number formatting. Depends on libc (and jansson for the JSON helpers) only. */
#ifndef LL_BASE_H
#define LL_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- errors ---------------------------------------------------------------------------------- */

/* One project-wide error vocabulary. Foreign codes (SQLite, oneDNN, libmicrohttpd, libcurl) are
 * translated into these at the module boundary; the API layer maps them to HTTP statuses. */
enum base_status {
    BASE_OK = 0,
    BASE_E_INVALID,     /* bad input from outside: malformed, wrong type, out of range (400) */
    BASE_E_NOTFOUND,    /* no such object (404) */
    BASE_E_CONFLICT,    /* state forbids it: in use, already exists (409) */
    BASE_E_TOOBIG,      /* a size limit was exceeded (413) */
    BASE_E_AUTH,        /* missing or wrong credentials (401) */
    BASE_E_FORBIDDEN,   /* authenticated but not allowed (403) */
    BASE_E_UNSUPPORTED, /* unsupported media type or format (415) */
    BASE_E_IO,          /* file system or network failure (500) */
    BASE_E_NOMEM,       /* allocation refused (500) */
    BASE_E_CANCELLED,   /* the caller asked to stop */
    BASE_E_BUSY,        /* try again later: database locked, queue full (503) */
    BASE_E_INTERNAL,    /* a bug or a library failure we cannot classify (500) */
};

#define BASE_ERR_MSG 256

/* Caller-owned error slot. Functions that can fail take `struct base_err *err` last, return 0 on
 * success or -1 on failure after filling it. `err` may be NULL when the caller does not care. */
struct base_err {
    enum base_status status;
    char msg[BASE_ERR_MSG];
};

/* Fills `err` (if not NULL) and returns -1, so callers can `return base_err_set(...)`. */
int base_err_set(struct base_err *err, enum base_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same for wrappers that take their own format arguments. */
int base_err_vset(struct base_err *err, enum base_status status, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Prepends context ("train.json: ") to an already-set message; returns -1. */
int base_err_prefix(struct base_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void base_err_clear(struct base_err *err);
/* Stable lower-case name of a status ("invalid", "not found", ...). */
const char *base_status_name(enum base_status status);

/* Broken invariants (bugs, not bad input) abort loudly with file and line. */
#define BASE_ASSERT(cond)                                                                          \
    ((cond) ? (void)0 : base_panic(__FILE__, __LINE__, "assertion failed: %s", #cond))
_Noreturn void base_panic(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- memory ---------------------------------------------------------------------------------- */

/* malloc/calloc/realloc that abort on exhaustion: with overcommit a failed small allocation means
 * the process cannot continue anyway. Sizes from outside input must be checked against a limit
 * before they reach these. base_free accepts NULL. */
void *base_alloc(size_t size);
void *base_calloc(size_t n, size_t size);
void *base_realloc(void *p, size_t size);
char *base_strdup(const char *s);
char *base_strndup(const char *s, size_t n);
/* A new string sized to what fmt makes of the arguments (free with base_free): no hand-sized
 * buffer to get wrong. */
char *base_strprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void base_free(void *p);
/* Returns 0 and sets *out = a*b unless it overflows (-1). */
int base_mul_overflow(size_t a, size_t b, size_t *out);

/* ---- bounded growable buffer ----------------------------------------------------------------- */

/* A byte buffer with a hard cap set at init: appends beyond `limit` fail with BASE_E_TOOBIG.
 * data is always NUL-terminated (the terminator is not counted in len), and cap never exceeds
 * limit + 1, so whatever fits in cap is within the limit. */
struct base_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t limit;
};

void base_buf_init(struct base_buf *b, size_t limit);
void base_buf_release(struct base_buf *b);
void base_buf_reset(struct base_buf *b);
int base_buf_append(struct base_buf *b, const void *p, size_t n, struct base_err *err);
int base_buf_puts(struct base_buf *b, const char *s, struct base_err *err);
int base_buf_printf(struct base_buf *b, struct base_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Hands the bytes to the caller (free with base_free) and leaves b empty. */
char *base_buf_steal(struct base_buf *b, size_t *len);

/* ---- arena ----------------------------------------------------------------------------------- */

/* Bump allocator for request and parse lifetimes: many small allocations, freed at once. */
struct base_arena;

struct base_arena *base_arena_new(size_t block_size);
void base_arena_free(struct base_arena *a);
/* Frees every allocation but keeps the first block for reuse. */
void base_arena_reset(struct base_arena *a);
void *base_arena_alloc(struct base_arena *a, size_t size);
void *base_arena_calloc(struct base_arena *a, size_t n, size_t size);
char *base_arena_strdup(struct base_arena *a, const char *s);
char *base_arena_strndup(struct base_arena *a, const char *s, size_t n);
char *base_arena_printf(struct base_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- files ----------------------------------------------------------------------------------- */

/* Reads a whole file of at most `limit` bytes. *data is NUL-terminated, freed with base_free. */
int base_file_read(const char *path, size_t limit, char **data, size_t *len, struct base_err *err);
/* Writes to "<path>.tmp-<random>", fsyncs, renames over `path` and fsyncs the directory, so a
 * reader sees either the old file or the whole new one. */
int base_file_write_atomic(const char *path, const void *data, size_t len, struct base_err *err);

/* Streaming version of the above for large outputs (checkpoints, exports). */
struct base_afile;
struct base_afile *base_afile_open(const char *path, struct base_err *err);
FILE *base_afile_stream(struct base_afile *f);
/* Flushes, fsyncs and renames into place; frees f in all cases. */
int base_afile_commit(struct base_afile *f, struct base_err *err);
/* Removes the temporary file and frees f. Accepts NULL. */
void base_afile_abort(struct base_afile *f);

/* mkdir -p with mode 0755. */
int base_mkdirs(const char *path, struct base_err *err);
int base_file_exists(const char *path);
/* Removes a file or a whole directory tree; a missing path is not an error. */
int base_remove_tree(const char *path, struct base_err *err);
/* Joins two path parts with exactly one '/'. Returns a base_alloc'd string. */
char *base_path_join(const char *a, const char *b);

/* ---- time ------------------------------------------------------------------------------------ */

/* Monotonic seconds, for durations. */
double base_now(void);
/* Wall clock, microseconds since the Unix epoch (UTC). */
int64_t base_time_us(void);
/* "2022-11-24T07:35:05.224656Z" (microseconds dropped when zero), as Label Studio's API writes. */
void base_time_iso(int64_t us, char out[32]);
/* "2022-11-24 07:35:05.224656", as stored in SQLite. */
void base_time_sql(int64_t us, char out[32]);
/* Parses either form above (with 'T' or ' ', optional fraction and 'Z'). */
int base_time_parse(const char *s, int64_t *us);

/* ---- md5 ----------------------------------------------------------------------------------- */

/* MD5 of a stream (export checksums, as Label Studio records them; not for security). */
struct base_md5 {
    uint32_t h[4], k[64];
    unsigned char buf[64];
    size_t n;
    uint64_t total;
};
void base_md5_init(struct base_md5 *m);
void base_md5_update(struct base_md5 *m, const void *data, size_t len);
/* 32 lower-case hex digits and a NUL. */
void base_md5_final(struct base_md5 *m, char hex[33]);
/* The MD5 of a file's bytes. BASE_E_IO when it cannot be read. */
int base_md5_file(const char *path, char hex[33], struct base_err *err);

/* ---- random ---------------------------------------------------------------------------------- */

/* xoshiro256** seeded with splitmix64: fast, reproducible given a seed, never shared globally. */
struct base_rng {
    uint64_t s[4];
};

void base_rng_seed(struct base_rng *r, uint64_t seed);
uint64_t base_rng_next(struct base_rng *r);
/* Uniform in [0, 1). */
double base_rng_uniform(struct base_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t base_rng_below(struct base_rng *r, uint64_t n);
/* Standard normal (Box-Muller). */
double base_rng_normal(struct base_rng *r);
/* Fisher-Yates shuffle of n elements of `size` bytes. */
void base_rng_shuffle(struct base_rng *r, void *items, size_t n, size_t size);
/* Fills `out` with `n` bytes from the operating system's secure generator. */
int base_random_bytes(void *out, size_t n, struct base_err *err);
/* Fills `out` with 2*n lower-case hex characters from secure random bytes, NUL-terminated. */
int base_random_hex(char *out, size_t n, struct base_err *err);

/* ---- logging --------------------------------------------------------------------------------- */

enum base_log_level { BASE_LOG_DEBUG, BASE_LOG_INFO, BASE_LOG_WARN, BASE_LOG_ERROR, BASE_LOG_OFF };

/* The logger is the one piece of mutable global state: set once at start-up, thread-safe. */
void base_log_set_level(enum base_log_level level);
enum base_log_level base_log_get_level(void);
void base_log(enum base_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define BASE_DEBUG(...) base_log(BASE_LOG_DEBUG, __VA_ARGS__)
#define BASE_INFO(...)  base_log(BASE_LOG_INFO, __VA_ARGS__)
#define BASE_WARN(...)  base_log(BASE_LOG_WARN, __VA_ARGS__)
#define BASE_ERROR(...) base_log(BASE_LOG_ERROR, __VA_ARGS__)

/* ---- progress -------------------------------------------------------------------------------- */

/* A terminal progress bar on stderr: bar, count, rate, ETA and a caller-supplied detail string.
 * Redraws at most ~10 times a second on a TTY, cut to the terminal's width so it never wraps;
 * when stderr is not a TTY it prints one plain line every 10%. With a total of 0 (unknown) it
 * shows the count and rate only. Not thread-safe: update from one thread. */
struct base_progress;

struct base_progress *base_progress_new(const char *label, uint64_t total, const char *unit);
void base_progress_update(struct base_progress *p, uint64_t done, const char *detail);
/* Sets the amount of work once it is known (a bar made with total 0 shows a count only). */
void base_progress_set_total(struct base_progress *p, uint64_t total);
/* Draws the final state, ends the line and frees p. Accepts NULL. */
void base_progress_finish(struct base_progress *p, const char *detail);

/* ---- numbers and strings --------------------------------------------------------------------- */

/* Shortest text that reads back as the same double, in Python's repr style ("42.3718109130859",
 * "1.0", "1e-05", "1e+16"), which Label Studio's JSON uses. out must hold 32 bytes. Returns the
 * length. NaN and infinities are written as "NaN", "Infinity", "-Infinity" like Python. */
int base_fmt_double(double v, char out[32]);
/* Writes v in decimal, without a terminator, to out; returns the length (at most 20). Integer
 * exports write millions of these, so it avoids printf. */
int base_fmt_int(int64_t v, char out[24]);
/* A valid JSON number token (n bytes: an integer, or a real with '.' or an exponent) as strtod
 * (real) or strtoll (int) would read it, computed exactly without them: 0, or -1 when the token
 * is outside the fast cases (more than 18 integer / 19 significant digits, a decimal exponent
 * beyond +-27, a rounding tie) and strtod/strtoll must decide. */
int base_num_token_real(const char *s, size_t n, double *out);
int base_num_token_int(const char *s, size_t n, long long *out);
/* Strict integer parse of a whole string (no trailing junk, no overflow). */
int base_parse_i64(const char *s, int64_t *out);
int base_parse_double(const char *s, double *out);
/* Case-sensitive suffix test. */
int base_str_ends_with(const char *s, const char *suffix);

/* ---- JSON (jansson) -------------------------------------------------------------------------- */

/* jansson's json_t is `typedef struct json_t json_t`, so these take `struct json_t` and base.h
 * need not include jansson.h; callers that do include it pass json_t * as usual. */
struct json_t;

/* Parses UTF-8 JSON text of any top-level type (object, array, scalar). Returns a new reference,
 * or NULL with BASE_E_INVALID and a message such as
 * "JSON parse error - '[' or '{' expected near 'x': line 1 column 1". Nesting depth is bounded
 * by jansson (2048); numbers too large for 64 bits are rejected. Thread-safe. */
struct json_t *base_json_parse(const char *text, size_t len, struct base_err *err);

/* Output styles of base_json_dump: compact (",", ":") as Django REST framework answers, or
 * Python json.dumps' default (", ", ": ") as Label Studio writes into files and its database. */
enum base_json_style { BASE_JSON_COMPACT, BASE_JSON_PYTHON };

/* Appends `v` to `out` as JSON: object keys in insertion order, floats in Python repr
 * (base_fmt_double: 1.0, 42.3718109130859), non-ASCII characters as raw UTF-8, control
 * characters escaped. Fails only when `out` reaches its limit (BASE_E_TOOBIG). Thread-safe for
 * distinct buffers. */
int base_json_dump(const struct json_t *v, enum base_json_style style, struct base_buf *out,
                   struct base_err *err);
/* Same into a new NUL-terminated string (free with base_free); *len may be NULL. Never fails. */
char *base_json_dumps(const struct json_t *v, enum base_json_style style, size_t *len);

/* ---- JSON text in: the one tokenizer -----------------------------------------------------------
 * The token layer of every hand-written JSON reader (base_json_parse's fast path, the exporters'
 * re-emitter and arena parser): white space, strings (UTF-8 checked, escapes decoded), numbers
 * and literals read exactly as jansson reads them, so a reader built on it accepts what jansson
 * accepts and means the same by it. The grammar and depth limits are the reader's. */
struct base_jtok {
    const char *p, *end;
    const char *why; /* what the last failure was ("invalid UTF-8 in string") */
    char *tmp;       /* decoded strings and number tokens: grows, the owner base_frees it */
    size_t tmpcap;
    int allow_nul; /* accept \u0000 (jansson does only when asked) */
};
void base_jtok_ws(struct base_jtok *t);
/* A string, t->p just after its opening quote: its bytes in [*s, *s + *len), in the text when it
 * has no escapes (*raw = 1), else decoded into t->tmp (until the next token). 0, or -1 (t->why). */
int base_jtok_string(struct base_jtok *t, const char **s, size_t *len, int *raw);
/* A number at t->p: *real, and the value in *iv or *dv as strtoll / strtod read it (overflow
 * rejected). 0, or -1 (t->why). */
int base_jtok_number(struct base_jtok *t, int *real, long long *iv, double *dv);
/* true, false or null at t->p: 0, 1 or 2; -1 (t->why) for anything else. */
int base_jtok_literal(struct base_jtok *t);

/* ---- JSON text out: the one emitter ------------------------------------------------------------
 * Every JSON text labelloop writes goes through a base_jw: the tree dump above, the exporters'
 * hand-assembled text around stored JSON, the API's export shape. One escaper (Python's
 * json.dumps with ensure_ascii=False: '"', '\\' and control characters escaped, the short forms
 * where Python has them, every other byte raw UTF-8), one number form (base_fmt_int and
 * base_fmt_double) and one layout (separators and indent of json.dumps). The text goes into a
 * bounded base_buf or, through a 16 KB window, into a FILE. Writes never fail one by one: the
 * first failure (the buffer's limit, BASE_E_TOOBIG, or a write error) is kept and reported by
 * base_jw_end, so callers check once and the error still reaches them. */
struct base_jw {
    struct base_buf *b;  /* where the text goes: the caller's buffer, or &win */
    struct base_buf win; /* FILE mode: a window on `stack`, flushed to f when full */
    FILE *f;
    int indent;  /* spaces per level; < 0: one line */
    int compact; /* separators "," and ":" (else ", " and ": ", or "," before a newline) */
    int failed;  /* err holds the first failure */
    struct base_err err;
    char stack[16384];
};
/* Text into `b` (its limit applies). The struct is large: one per call, on the stack. */
void base_jw_init_buf(struct base_jw *w, struct base_buf *b, enum base_json_style style,
                      int indent);
/* Text into `f` (written in 16 KB pieces; nothing is left unwritten after base_jw_end). */
void base_jw_init_file(struct base_jw *w, FILE *f, enum base_json_style style, int indent);
/* Flushes a FILE; 0, or -1 with the first failure of any write since init. */
int base_jw_end(struct base_jw *w, struct base_err *err);
/* The slow half of base_jw_put: grows the buffer (within its limit) or flushes the window. */
void base_jw_put_slow(struct base_jw *w, const char *s, size_t n);
static inline void base_jw_put(struct base_jw *w, const char *s, size_t n)
{
    struct base_buf *b = w->b;
    if (n < b->cap - b->len) { /* b->cap is 0 while data is NULL: never taken then */
        __builtin_memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return;
    }
    base_jw_put_slow(w, s, n);
}
#define BASE_JW_LIT(w, lit) base_jw_put(w, lit, sizeof lit - 1)
void base_jw_string(struct base_jw *w, const char *s, size_t n);
void base_jw_int(struct base_jw *w, int64_t v);
/* Python's repr (base_fmt_double). */
void base_jw_real(struct base_jw *w, double v);
/* A line break and the indent of `level` (nothing on one line). */
void base_jw_newline(struct base_jw *w, int level);
/* Before element (or member) i of a container at `level`: the separator after the previous one
 * and, when indented, the new line. */
void base_jw_sep(struct base_jw *w, size_t i, int level);
/* A member's key and its separator ("key": ). */
void base_jw_key(struct base_jw *w, const char *key, size_t n);
/* The closing bracket of a non-empty container at `level`, on its own line when indented. */
void base_jw_close(struct base_jw *w, char bracket, int level);
/* A jansson value at `level` (object keys in insertion order, floats as base_jw_real). */
void base_jw_value(struct base_jw *w, const struct json_t *v, int level);

/* Walks the elements of a top-level JSON array held in memory without building them, so a huge
 * list can be parsed one element at a time (base_json_parse on each range). Only the structure
 * is checked here (brackets, strings, commas); the caller's parse checks each element. */
struct base_json_items {
    const char *p, *end;
    size_t index; /* elements returned so far */
    int state;    /* 0 before '[', 1 inside, 2 done */
};
/* Returns 1 if `text` (after white space) starts a JSON array, 0 otherwise. */
int base_json_items_init(struct base_json_items *it, const char *text, size_t len);
/* 1 with the next element's bytes in [*item, *item + *len), 0 after the closing ']' (only white
 * space may follow), -1 with BASE_E_INVALID on a structural error ("element 3: ..."). */
int base_json_items_next(struct base_json_items *it, const char **item, size_t *len,
                         struct base_err *err);

#endif
