/* s3: a small client of the S3 API for Label Studio's cloud storages (bucket listing, object
 * reads and writes, presigned URLs for the browser). Requests are signed by libcurl's built-in
 * SigV4 (CURLOPT_AWS_SIGV4); presigned URLs, which libcurl does not make, are signed here with
 * OpenSSL's libcrypto. A custom endpoint (MinIO, s3rver, ...) is addressed path-style
 * (<endpoint>/<bucket>/<key>), AWS itself virtual-host style (<bucket>.s3.<region>.amazonaws.com).
 * Transient failures (5xx, 429, timeouts, refused connections) are retried a bounded number of
 * times with backoff; secrets never reach a log line or an error message. */
#ifndef LL_S3_H
#define LL_S3_H

#include "base/base.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Where and as whom: strings borrowed by s3_new (which copies them). NULL or "" = not set. */
struct s3_config {
    const char *bucket;
    const char *region;     /* default us-east-1 */
    const char *endpoint;   /* e.g. "http://127.0.0.1:9000"; NULL = AWS */
    const char *access_key; /* NULL: anonymous (unsigned) requests */
    const char *secret_key;
    const char *session_token; /* temporary credentials */
};

/* The config of a Label Studio storage's JSON fields (bucket, region_name, s3_endpoint,
 * aws_access_key_id, aws_secret_access_key, aws_session_token): strings borrowed from o. */
void s3_config_from_json(const json_t *o, struct s3_config *c);

/* How hard a client tries: tries per request (>= 1) and the first backoff (doubled each time). */
struct s3_retry {
    int tries;
    int backoff_ms;
    int timeout_ms; /* of one try */
};
#define S3_RETRY_DEFAULT ((struct s3_retry){.tries = 4, .backoff_ms = 200, .timeout_ms = 30000})

struct s3;
/* BASE_E_INVALID when the bucket name or endpoint is not one S3 accepts. */
struct s3 *s3_new(const struct s3_config *c, struct base_err *err);
void s3_free(struct s3 *s);
void s3_set_retry(struct s3 *s, struct s3_retry r);
/* Requests made (tries, retries included) since s3_new: what the tests and benchmarks count. */
int64_t s3_requests(const struct s3 *s);

/* Errors of the calls below: BASE_E_NOTFOUND (no such bucket or key), BASE_E_FORBIDDEN (the
 * credentials were refused: the message carries S3's error code, never the secret),
 * BASE_E_INVALID (S3 said the request was bad), BASE_E_TOOBIG (over `max`), BASE_E_IO (network,
 * or still failing after the last try: "... failed after N tries: ..."). */

/* HeadBucket: the bucket exists and the credentials may read it. */
int s3_head_bucket(struct s3 *s, struct base_err *err);

/* One object of a listing (valid during the callback). */
struct s3_object {
    const char *key;
    int64_t size;
};
typedef int (*s3_list_fn)(void *ctx, const struct s3_object *o, struct base_err *err);
/* ListObjectsV2 of every key under `prefix` (NULL = all), following continuation tokens; with
 * `delimiter` ("/"), keys below the next delimiter are left out (a non-recursive scan). fn is
 * called for each object until it returns non-zero, which is returned. `max` (0 = no limit) stops
 * after that many objects. */
int s3_list(struct s3 *s, const char *prefix, const char *delimiter, int64_t max, s3_list_fn fn,
            void *ctx, struct base_err *err);

/* GetObject into `out` (its limit bounds the size: BASE_E_TOOBIG beyond). */
int s3_get(struct s3 *s, const char *key, struct base_buf *out, struct base_err *err);
/* GetObject into the file `path` (written to a temporary name and renamed, so a reader never
 * sees half a file); at most `max` bytes. */
int s3_get_file(struct s3 *s, const char *key, const char *path, uint64_t max,
                struct base_err *err);
/* PutObject of `n` bytes in one request (the payload is hashed and signed). S3 takes at most
 * 5 GiB in one PUT; labelloop writes only annotation JSON, so there is no multipart upload and
 * bodies over S3_PUT_MAX are refused (BASE_E_TOOBIG). */
#define S3_PUT_MAX ((size_t)64 << 20)
int s3_put(struct s3 *s, const char *key, const void *body, size_t n, const char *content_type,
           struct base_err *err);

/* A presigned GET URL of `key` valid for `ttl_s` seconds from `now` (new string). */
char *s3_presign(struct s3 *s, const char *key, int64_t ttl_s, time_t now);

/* ---- the pieces, public for the unit tests and the fuzz target ---------------------------- */

/* SigV4 query-string presigning of method + https?://host + path (path already URI-encoded,
 * starting with '/'; no query). Credentials and scope as named; `amz_date` "YYYYMMDDTHHMMSSZ".
 * Returns the full URL (new string). */
struct s3_presign_in {
    const char *method, *scheme, *host, *path;
    const char *access_key, *secret_key, *session_token, *region, *service;
    const char *amz_date;
    int64_t expires_s;
};
char *s3_presign_url(const struct s3_presign_in *in);
/* The SigV4 signing key of (secret, yyyymmdd, region, service) as hex (65 bytes). */
void s3_signing_key_hex(const char *secret, const char *date, const char *region,
                        const char *service, char out[65]);
/* SHA-256 of n bytes as lowercase hex. */
void s3_sha256_hex(const void *p, size_t n, char out[65]);
/* S3's URI encoding: unreserved bytes (A-Z a-z 0-9 - . _ ~) kept, others %XX; '/' kept unless
 * `slash` is 0. Appended to out. */
int s3_uri_encode(struct base_buf *out, const char *s, int slash, struct base_err *err);

/* A parsed ListObjectsV2 page (s3_page_release). */
struct s3_page {
    struct s3_object *objects;
    size_t n;
    int truncated;
    char *next_token; /* NextContinuationToken or NULL */
};
/* Parses a ListBucketResult document; BASE_E_INVALID naming the problem otherwise. */
int s3_page_parse(const char *xml, size_t len, struct s3_page *out, struct base_err *err);
void s3_page_release(struct s3_page *p);
/* The Code and Message of an S3 <Error> document into code/msg ("" when absent). */
void s3_error_parse(const char *xml, size_t len, char code[64], char msg[256]);

#endif
