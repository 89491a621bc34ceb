/* http.c - see http.h: picks the engine for a request (http_engine.h) and
 * holds what both engines share. */
#include "http_engine.h"

#include <stdarg.h>
#include <stdio.h>

#include "../core/mem.h"
#include "url.h"

void ucp__http_base_init(ucp__http_req *b, int engine,
                         const ucp__http_spec *spec,
                         const ucp__http_sink *sink, void *ctx) {
  b->engine = engine;
  b->sink = *sink;
  b->ctx = ctx;
  b->url = spec->url;
  b->method = spec->method ? spec->method : "GET";
  b->err_detail = NULL;
}

int ucp__http_start(ucp_cp *cp, const ucp__http_spec *spec,
                    const ucp__http_sink *sink, void *ctx,
                    ucp__http_req **out) {
  char host[UCP__HOST_MAX];
  unsigned port;
  const char *path;
  if (ucp__url_split_plain(spec->url, host, sizeof host, &port, &path))
    return ucp__h1_start(cp, spec, host, port, path, sink, ctx, out);
  return ucp__curl_start(cp, spec, sink, ctx, out);
}

void ucp__http_abort(ucp__http_req *req) {
  if (!req) return;
  if (req->engine == UCP__HTTP_H1) ucp__h1_abort(req);
  else ucp__curl_abort(req);
}

const char *ucp__http_header(ucp__http_req *req, const char *name) {
  return req->engine == UCP__HTTP_H1 ? ucp__h1_header(req, name)
                                     : ucp__curl_header(req, name);
}

int ucp__http_retarget(ucp__http_req *req, const ucp__http_sink *sink,
                       void *ctx) {
  int rc = req->engine == UCP__HTTP_H1 ? ucp__h1_own(req) : ucp__curl_own(req);
  if (rc != UCP_OK) return rc;
  req->sink = *sink;
  req->ctx = ctx;
  return UCP_OK;
}

void ucp__http_set_error(ucp__http_req *req, const char *fmt, ...) {
  if (req->err_detail) return; /* keep the first reason */
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  req->err_detail = ucp__strdup(buf);
}

const char *ucp__http_url(const ucp__http_req *req) { return req->url; }
