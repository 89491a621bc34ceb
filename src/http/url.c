/* url.c - see url.h. */
#include "url.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <string.h>
#include <strings.h>

#include "../core/mem.h"
#include "upnpcp.h"

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
  char scheme[16];
  char *user = NULL;
  if (get_part(u, CURLUPART_SCHEME, scheme, sizeof scheme) != 0 ||
      strcasecmp(scheme, "http") != 0) {
    *why = "only http:// URLs are allowed";
    return UCP_E_URL;
  }
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

int ucp__url_check_http(const char *url, char *host, size_t hostlen,
                        const char **why) {
  *why = NULL;
  if (!url || strlen(url) > UCP__URL_MAX) {
    *why = "URL longer than 2048 bytes";
    return UCP_E_URL;
  }
  CURLU *u = curl_url();
  if (!u) return UCP_E_NOMEM;
  int rc = UCP_OK;
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
    *why = "malformed URL";
    rc = UCP_E_URL;
  } else {
    rc = check_parsed(u, host, hostlen, why);
  }
  curl_url_cleanup(u);
  return rc;
}

char *ucp__url_resolve(const char *base, const char *ref, const char **why) {
  *why = NULL;
  if (strlen(ref) > UCP__URL_MAX) {
    *why = "URL longer than 2048 bytes";
    return NULL;
  }
  CURLU *u = curl_url();
  if (!u) return NULL;
  char *out = NULL, *res = NULL;
  if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
      curl_url_set(u, CURLUPART_URL, ref, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK) {
    *why = "malformed URL";
  } else {
    res = ucp__strdup(out);
  }
  curl_free(out);
  curl_url_cleanup(u);
  return res;
}

int ucp__url_host_is_ip(const char *host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host, buf) == 1 ||
         inet_pton(AF_INET6, host, buf) == 1;
}
