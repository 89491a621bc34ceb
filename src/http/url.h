/* url.h - URL checks and resolution with curl's URL API, so the policy
 * check and the transfer use the same parser (SECURITY.md). */
#ifndef UCP_HTTP_URL_H
#define UCP_HTTP_URL_H

#include <stddef.h>

enum { UCP__URL_MAX = 2048, UCP__HOST_MAX = 256 };

/* curl_global_init, once per process, before any other curl call. */
void ucp__curl_init_once(void);

/* An absolute http:// URL without userinfo, at most UCP__URL_MAX bytes.
 * Writes its host (IPv6 without brackets) to `host`. UCP_OK, or UCP_E_URL
 * with *why naming the problem (static text). */
int ucp__url_check_http(const char *url, char *host, size_t hostlen,
                        const char **why);
/* The parts of a URL of the plain shape "http://a.b.c.d[:port][/path]"
 * (a canonical IPv4 literal, plain path characters; the shape the start
 * calls check without curl): 1 with the host, the port (80 when none) and
 * the path ("" when none, else starting with '/'), else 0. */
int ucp__url_split_plain(const char *url, char *host, size_t hostlen,
                         unsigned *port, const char **path);
/* A parsed base URL, for resolving many references against it cheaply
 * (one curl_url_dup and one parse per reference). */
typedef struct ucp__url_base ucp__url_base;
/* NULL with *why set (static text) when `base` is not an acceptable
 * absolute http:// URL; NULL with *why NULL when out of memory. */
ucp__url_base *ucp__url_base_new(const char *base, const char **why);
/* The base's host (IPv6 without brackets). */
const char *ucp__url_base_host(const ucp__url_base *b);
void ucp__url_base_free(ucp__url_base *b);
/* Resolve `ref` against `b` into an absolute http:// URL and its host.
 * Returns a fresh string, or NULL with *why set (static text) when the
 * result is malformed, not http or has user information; NULL with *why
 * NULL means no memory. */
char *ucp__url_base_resolve(const ucp__url_base *b, const char *ref,
                            char *host, size_t hostlen, const char **why);
/* 1 when `host` is an IPv4 or IPv6 literal. */
int ucp__url_host_is_ip(const char *host);

#endif
