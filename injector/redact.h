/* redact.h: untrusted server text (AWS error messages, the container, IMDS and STS answers,
 * libcurl's error text) made safe to print: bounded, printable ASCII, credentials replaced by
 * REDACT_MARK. The one place that decides what a credential looks like in text. */
#ifndef INJ_REDACT_H
#define INJ_REDACT_H

#include <stddef.h>

#define REDACT_MARK "[redacted]"

/* Copies in[0..in_len) (stops at a NUL) into out[0..n) as printable ASCII (other bytes
 * become '?'), cut to n - 1 bytes, with these replaced by REDACT_MARK:
 *  - each of the known secrets[0..nsecrets) (NULL or "" entries are skipped: pass the secret
 *    access key, the session token, a web identity or container token): the whole value, any
 *    16-byte piece of it (a value echoed only partly or cut by the server), also where the
 *    text URL-encodes it (%2B %2F %3D) or JSON-escapes it (\/ \" \\ \uXXXX below 0x80);
 *    the mark covers the run of token characters around the piece, escapes included;
 *  - the value after an `Authorization` header or field name (for AWS4-HMAC-SHA256, up to
 *    and including its Signature), after `X-Amz-Security-Token`, `X-aws-ec2-metadata-token`,
 *    `SecretAccessKey`, `secret_access_key`, `SessionToken` and `session_token`, and the
 *    hex of `Signature=` / `X-Amz-Signature=` (names in any case, `:` or `=` after them);
 *  - any run of 80 or more base64/URL-encoded characters ([A-Za-z0-9+/_-], %XX): a
 *    session token or a JWT echoed without a name (secret names that long are cut too).
 * Every rule looks at the text with those escapes decoded; what is not marked is copied as it
 * came, escapes and all. The access key id (AKIA..., ASIA...) is kept: it is not secret, AWS prints it itself, and
 * it tells which key was refused. Looks at the whole input, not just what fits in out: a token
 * cut by the cap is still found. n == 0 writes nothing. */
void redact_text(const char *in, size_t in_len, const char *const *secrets, size_t nsecrets,
                 char *out, size_t n);

#endif
