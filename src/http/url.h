/* url.h - URL checks and resolution with curl's URL API, so the policy
 * check and the transfer use the same parser (SECURITY.md). */
#ifndef UCP_HTTP_URL_H
#define UCP_HTTP_URL_H

#include <stddef.h>

enum { UCP__URL_MAX = 2048, UCP__HOST_MAX = 256 };

/* An absolute http:// URL without userinfo, at most UCP__URL_MAX bytes.
 * Writes its host (IPv6 without brackets) to `host`. UCP_OK, or UCP_E_URL
 * with *why naming the problem (static text). */
int ucp__url_check_http(const char *url, char *host, size_t hostlen,
                        const char **why);
/* Resolve `ref` against `base` (RFC 3986). Returns a fresh absolute URL, or
 * NULL with *why set (static text); NULL with *why NULL means no memory. */
char *ucp__url_resolve(const char *base, const char *ref, const char **why);
/* 1 when `host` is an IPv4 or IPv6 literal. */
int ucp__url_host_is_ip(const char *host);

#endif
