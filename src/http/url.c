/* url.c - see url.h. */
#include "url.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "../core/mem.h"
#include "upnpcp.h"

static uv_once_t curl_once = UV_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }
void ucp__curl_init_once(void) { uv_once(&curl_once, curl_init); }

static int get_part(CURLU *u, CURLUPart part, char *out, size_t outlen) {
  char *v = NULL;
  if (curl_url_get(u, part, &v, 0) != CURLUE_OK) return -1;
  size_t n = strlen(v);
  int ok = n < outlen;
  if (ok) memcpy(out, v, n + 1);
  curl_free(v);
  return ok ? 0 : -1;
}

static void strip_brackets(char *host) {
  size_t n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
    memmove(host, host + 1, n - 2);
    host[n - 2] = '\0';
  }
}

static int check_parsed(CURLU *u, char *host, size_t hostlen,
                        const char **why) {
  char *user = NULL;
  if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
    curl_free(user);
    *why = "URL with user information refused";
    return UCP_E_URL;
  }
  if (get_part(u, CURLUPART_HOST, host, hostlen) != 0 || !*host) {
    *why = "URL has no usable host";
    return UCP_E_URL;
  }
  strip_brackets(host);
  return UCP_OK;
}

static int plain_char(unsigned char c);

/* A canonical dotted quad: four decimal parts 0..255 without leading
 * zeros. curl reads other numeric forms (hex, octal, fewer parts) its own
 * way, so those are left to it. Returns the length, 0 if not one. */
static size_t dotted_quad(const char *s) {
  const char *p = s;
  for (int part = 0; part < 4; part++) {
    if (part && *p++ != '.') return 0;
    int v = 0, digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 4) v = v * 10 + (*p++ - '0'), digits++;
    if (!digits || digits > 3 || v > 255 || (digits > 1 && p[-digits] == '0'))
      return 0;
  }
  return (size_t)(p - s);
}

/* The common shape "http://a.b.c.d[:port][/path]", checked without a curl
 * URL handle (the start call's hot path). The grammar is strict enough
 * that curl reads the same host from it: a canonical IPv4 literal, no '@',
 * '%' or '\\', plain path characters only. Anything else is decided by
 * curl_url. Returns 1 with the host, the port (80 when none) and the path
 * ("" or from the '/') when it matches. */
static int plain_http_url(const char *url, char *host, size_t hostlen,
                          unsigned *port, const char **path) {
  if (strncasecmp(url, "http://", 7) != 0) return 0;
  const char *h = url + 7, *e = h + dotted_quad(h);
  if (e == h || (size_t)(e - h) >= hostlen) return 0;
  const char *p = e;
  int n = 80;
  if (*p == ':') {
    const char *d = ++p;
    while (*p >= '0' && *p <= '9' && p - d < 5) p++;
    n = atoi(d);
    if (p == d || n > 65535 || n == 0) return 0;
  }
  if (*p && *p != '/') return 0;
  for (const char *c = p; *c; c++)
    if (!plain_char((unsigned char)*c)) return 0;
  memcpy(host, h, (size_t)(e - h));
  host[e - h] = '\0';
  *port = (unsigned)n;
  *path = p;
  return 1;
}

int ucp__url_split_plain(const char *url, char *host, size_t hostlen,
                         unsigned *port, const char **path) {
  return url && strlen(url) <= UCP__URL_MAX &&
         plain_http_url(url, host, hostlen, port, path);
}

int ucp__url_check_http(const char *url, char *host, size_t hostlen,
                        const char **why) {
  *why = NULL;
  if (!url || strlen(url) > UCP__URL_MAX) {
    *why = "URL longer than 2048 bytes";
    return UCP_E_URL;
  }
  unsigned port;
  const char *path;
  if (plain_http_url(url, host, hostlen, &port, &path)) return UCP_OK;
  ucp__curl_init_once();
  CURLU *u = curl_url();
  if (!u) return UCP_E_NOMEM;
  int rc = UCP_OK;
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
    *why = "malformed URL";
    rc = UCP_E_URL;
  } else if (strncasecmp(url, "http://", 7) != 0) {
    *why = "only http:// URLs are allowed";
    rc = UCP_E_URL;
  } else {
    rc = check_parsed(u, host, hostlen, why);
  }
  curl_url_cleanup(u);
  return rc;
}

int ucp__url_host_is_ip(const char *host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host, buf) == 1 ||
         inet_pton(AF_INET6, host, buf) == 1;
}

struct ucp__url_base {
  CURLU *u;
  char *origin; /* "http://host:port", for the fast paths */
  char *dir;    /* origin + the base path up to its last '/' */
  char host[UCP__HOST_MAX];
};

/* The host of curl's normalized "http://[user@]host[:port]/...". */
static int split_host(const char *norm, char *host, size_t hostlen,
                      const char **why) {
  const char *hp = norm + 7;
  size_t n = strcspn(hp, "/?#");
  if (memchr(hp, '@', n)) {
    *why = "URL with user information refused";
    return UCP_E_URL;
  }
  const char *h = hp, *e;
  if (*h == '[') {
    e = memchr(h, ']', n);
    h++;
  } else {
    e = memchr(h, ':', n);
    if (!e) e = hp + n;
  }
  if (!e || e == h || (size_t)(e - h) >= hostlen) {
    *why = "URL has no usable host";
    return UCP_E_URL;
  }
  memcpy(host, h, (size_t)(e - h));
  host[e - h] = '\0';
  return UCP_OK;
}

/* Split curl's normalized form of the base, "http://hostport/path?q",
 * into origin, directory and host: one curl_url_get instead of five. The
 * split is exact because curl wrote the string (no userinfo: refused). */
static int split_normalized(ucp__url_base *b, const char *norm) {
  const char *hp = norm + 7, *path = strchr(hp, '/');
  if (!path) path = hp + strlen(hp);
  const char *q = path + strcspn(path, "?#");
  const char *slash = q;
  while (slash > path && slash[-1] != '/') slash--;
  b->origin = ucp__strndup(norm, (size_t)(path - norm));
  b->dir = slash > path ? ucp__strndup(norm, (size_t)(slash - norm))
                        : ucp__aprintf("%.*s/", (int)(path - norm), norm);
  return b->origin && b->dir ? 0 : -1;
}

ucp__url_base *ucp__url_base_new(const char *base, const char **why) {
  *why = NULL;
  ucp__curl_init_once();
  ucp__url_base *b = ucp__calloc(1, sizeof *b);
  if (!b) return NULL;
  b->u = curl_url();
  if (!b->u) goto fail;
  if (strlen(base) > UCP__URL_MAX) {
    *why = "URL longer than 2048 bytes";
  } else if (curl_url_set(b->u, CURLUPART_URL, base, 0) != CURLUE_OK) {
    *why = "malformed URL";
  } else if (strncasecmp(base, "http://", 7) != 0) {
    *why = "only http:// URLs are allowed";
  } else {
    char *norm = NULL;
    if (curl_url_get(b->u, CURLUPART_URL, &norm, 0) == CURLUE_OK &&
        strncasecmp(norm, "http://", 7) == 0 &&
        split_host(norm, b->host, sizeof b->host, why) == UCP_OK &&
        split_normalized(b, norm) == 0) {
      curl_free(norm);
      return b;
    }
    curl_free(norm);
  }
fail:
  ucp__url_base_free(b);
  return NULL;
}

const char *ucp__url_base_host(const ucp__url_base *b) { return b->host; }

void ucp__url_base_free(ucp__url_base *b) {
  if (!b) return;
  curl_url_cleanup(b->u);
  ucp__free(b->origin);
  ucp__free(b->dir);
  ucp__free(b);
}

/* A root-relative reference made only of characters that curl's parser
 * keeps as they are, with no dot segments: resolving it is appending it to
 * the origin, and the host is the base's by construction. Everything else
 * goes through curl_url. */
static int plain_char(unsigned char c) {
  static const char extra[] = "-._~!$&'()*+,;=:@/?";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c && memchr(extra, c, sizeof extra - 1));
}

static int plain_chars(const char *ref) {
  for (const char *p = ref; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (!plain_char(c)) return 0;
    if (c == '.' && (p == ref || p[-1] == '/') &&
        (p[1] == '/' || p[1] == '\0' || p[1] == '?' ||
         (p[1] == '.' && (p[2] == '/' || p[2] == '\0' || p[2] == '?'))))
      return 0;
  }
  return 1;
}

static int plain_root_relative(const char *ref) {
  return ref[0] == '/' && ref[1] != '/' && plain_chars(ref);
}

/* "Services/x.xml": a path relative to the base's directory, with no
 * scheme (no ':' before the first '/'), no query and no dot segments. */
static int plain_dir_relative(const char *ref) {
  size_t pre = strcspn(ref, ":/?");
  return ref[0] && ref[0] != '/' && ref[pre] != ':' && !strchr(ref, '?') &&
         plain_chars(ref);
}

static char *concat(const char *a, const char *b) {
  size_t al = strlen(a), bl = strlen(b);
  char *res = ucp__malloc(al + bl + 1);
  if (res) {
    memcpy(res, a, al);
    memcpy(res + al, b, bl + 1);
  }
  return res;
}

/* "http://host[:port]/..." with a plain host: the host, for the early
 * refusal of a URL naming another host than the base's. Only a refusal is
 * decided on this parse; acceptance always comes from curl_url or from the
 * exact-origin fast path. */
static int plain_absolute_host(const char *ref, char *host, size_t hostlen) {
  if (strncasecmp(ref, "http://", 7) != 0) return 0;
  const char *h = ref + 7, *e = h;
  while ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') ||
         (*e >= '0' && *e <= '9') || *e == '.' || *e == '-')
    e++;
  const char *after = e;
  if (*after == ':')
    for (after++; *after >= '0' && *after <= '9'; after++) {
    }
  if (e == h || (size_t)(e - h) >= hostlen || (*after != '/' && *after))
    return 0;
  memcpy(host, h, (size_t)(e - h));
  host[e - h] = '\0';
  return 1;
}

char *ucp__url_base_resolve(const ucp__url_base *b, const char *ref,
                            char *host, size_t hostlen, const char **why) {
  *why = NULL;
  if (plain_absolute_host(ref, host, hostlen) &&
      strcasecmp(host, b->host) != 0) {
    char *res = ucp__strdup(ref); /* the caller sees another host */
    return res;
  }
  if (strlen(ref) > UCP__URL_MAX) {
    *why = "URL longer than 2048 bytes";
    return NULL;
  }
  size_t ol = strlen(b->origin);
  /* An absolute URL naming exactly the base's origin is a root-relative
   * reference for the fast path (devices often write them out in full). */
  if (strncasecmp(ref, b->origin, ol) == 0 && ref[ol] == '/') ref += ol;
  int root = plain_root_relative(ref);
  if (root || plain_dir_relative(ref)) {
    if (strlen(b->host) >= hostlen) {
      *why = "URL has no usable host";
      return NULL;
    }
    strcpy(host, b->host);
    return concat(root ? b->origin : b->dir, ref);
  }
  CURLU *u = curl_url_dup(b->u);
  if (!u) return NULL;
  char *out = NULL, *res = NULL;
  if (curl_url_set(u, CURLUPART_URL, ref, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK) {
    *why = "malformed URL";
  } else if (strncasecmp(out, "http://", 7) != 0) {
    *why = "only http:// URLs are allowed";
  } else if (check_parsed(u, host, hostlen, why) == UCP_OK) {
    res = ucp__strdup(out);
  }
  curl_free(out);
  curl_url_cleanup(u);
  return res;
}
