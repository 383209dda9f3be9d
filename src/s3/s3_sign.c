/* AWS Signature Version 4 for presigned URLs: libcurl signs the requests labelloop makes, but a
 * URL handed to a browser must carry its signature in the query string, which libcurl does not
 * make. The chain (canonical request, string to sign, HMAC-SHA256 signing key) follows AWS's
 * "Authenticating Requests: Using Query Parameters"; the unit tests check it against AWS's
 * published example. */
#include "s3.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <string.h>

static void hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void s3_sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(p, n, md);
    hex(md, sizeof md, out);
}

static void hmac(const unsigned char *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &n);
}

static void signing_key(const char *secret, const char *date, const char *region,
                        const char *service, unsigned char out[32])
{
    char *k = base_strprintf("AWS4%s", secret);
    unsigned char a[32], b[32];
    hmac((const unsigned char *)k, strlen(k), date, a);
    hmac(a, 32, region, b);
    hmac(b, 32, service, a);
    hmac(a, 32, "aws4_request", out);
    memset(k, 0, strlen(k)); /* the secret does not linger in freed memory */
    base_free(k);
}

void s3_signing_key_hex(const char *secret, const char *date, const char *region,
                        const char *service, char out[65])
{
    unsigned char k[32];
    signing_key(secret, date, region, service, k);
    hex(k, 32, out);
}

int s3_uri_encode(struct base_buf *out, const char *s, int slash, struct base_err *err)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                   (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
                   (slash && *p == '/');
        if (keep ? base_buf_append(out, p, 1, err) : base_buf_printf(out, err, "%%%02X", *p))
            return -1;
    }
    return 0;
}

/* "X-Amz-Algorithm=...&X-Amz-Credential=...": the presigned query, sorted by name as the
 * canonical request needs it, without the signature. */
static int presign_query(const struct s3_presign_in *in, struct base_buf *q)
{
    struct base_err *err = NULL;
    char *cred = base_strprintf("%s/%.8s/%s/%s/aws4_request", in->access_key, in->amz_date,
                                in->region, in->service);
    int rc = base_buf_puts(q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=", err) ||
             s3_uri_encode(q, cred, 0, err) ||
             base_buf_printf(q, err, "&X-Amz-Date=%s&X-Amz-Expires=%lld", in->amz_date,
                             (long long)in->expires_s);
    base_free(cred);
    if (!rc && in->session_token && *in->session_token)
        rc = base_buf_puts(q, "&X-Amz-Security-Token=", err) ||
             s3_uri_encode(q, in->session_token, 0, err);
    return rc || base_buf_puts(q, "&X-Amz-SignedHeaders=host", err);
}

char *s3_presign_url(const struct s3_presign_in *in)
{
    struct base_buf q, canon;
    base_buf_init(&q, (size_t)1 << 20);
    base_buf_init(&canon, (size_t)1 << 20);
    char *url = NULL;
    if (presign_query(in, &q) ||
        base_buf_printf(&canon, NULL, "%s\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", in->method,
                        in->path, q.data, in->host))
        goto out;
    char chash[65], sig[65];
    s3_sha256_hex(canon.data, canon.len, chash);
    char *sts = base_strprintf("AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s", in->amz_date,
                               in->amz_date, in->region, in->service, chash);
    char date[9];
    snprintf(date, sizeof date, "%.8s", in->amz_date);
    unsigned char key[32], mac[32];
    signing_key(in->secret_key, date, in->region, in->service, key);
    hmac(key, 32, sts, mac);
    memset(key, 0, sizeof key);
    hex(mac, 32, sig);
    base_free(sts);
    url = base_strprintf("%s://%s%s?%s&X-Amz-Signature=%s", in->scheme, in->host, in->path, q.data,
                         sig);
out:
    base_buf_release(&q);
    base_buf_release(&canon);
    return url;
}
