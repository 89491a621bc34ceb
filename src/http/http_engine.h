/* http_engine.h - inside the HTTP layer: the two engines behind http.h.
 * h1.c (libuv TCP and Node's http_parser, keep-alive pooled per host)
 * takes every URL of the plain shape "http://a.b.c.d[:port]/path": what
 * UPnP devices announce. http_curl.c (libcurl's multi-socket API) takes the
 * rest: host names, IPv6 literals, unusual spellings. http.c picks one and
 * owns what both share: the base below. */
#ifndef UCP_HTTP_ENGINE_H
#define UCP_HTTP_ENGINE_H

#include "http.h"

enum { UCP__HTTP_CURL = 1, UCP__HTTP_H1 = 2 };

/* The first member of each engine's request. */
struct ucp__http_req {
  int engine;         /* UCP__HTTP_CURL or UCP__HTTP_H1 */
  ucp__http_sink sink;
  void *ctx;
  const char *url;    /* borrowed from the spec, like every string */
  const char *method;
  char *err_detail;   /* the first ucp__http_set_error text, or NULL */
};

/* Fill the base from the spec (the method defaults to GET). */
void ucp__http_base_init(ucp__http_req *b, int engine,
                         const ucp__http_spec *spec,
                         const ucp__http_sink *sink, void *ctx);

/* The engines; their contracts are those of http.h. */
int ucp__curl_start(ucp_cp *cp, const ucp__http_spec *spec,
                    const ucp__http_sink *sink, void *ctx,
                    ucp__http_req **out);
void ucp__curl_abort(ucp__http_req *req);
int ucp__curl_own(ucp__http_req *req);
const char *ucp__curl_header(ucp__http_req *req, const char *name);

/* `host`, `port` and `path` are the URL's parts (ucp__url_split_plain). */
int ucp__h1_start(ucp_cp *cp, const ucp__http_spec *spec, const char *host,
                  unsigned port, const char *path, const ucp__http_sink *sink,
                  void *ctx, ucp__http_req **out);
void ucp__h1_abort(ucp__http_req *req);
/* For ucp__http_retarget: stop borrowing the old owner's strings. */
int ucp__h1_own(ucp__http_req *req);
const char *ucp__h1_header(ucp__http_req *req, const char *name);

#endif
