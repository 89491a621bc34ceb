/* fetch.c - one description download streamed into the parser: the I/O
 * half of ucp_load_description, shared with discovery, which loads the
 * description of every device it finds. Loop thread only. UDA 2.0 §2.1. */
#include <stdio.h>
#include <string.h>

#include "../core/mem.h"
#include "../core/op.h"
#include "../http/http.h"
#include "device.h"

struct ucp__desc_fetch {
  ucp_cp *cp;
  ucp__http_req *req;
  ucp__desc_parser *parser;
  ucp__desc_fetch_cb done;
  ucp__desc_fetch_progress_cb progress;
  void *ctx;
  char pin[48];
  char url[]; /* borrowed by the HTTP request until it ends */
};

static void fetch_free(ucp__desc_fetch *f) {
  ucp__desc_parser_free(f->parser);
  ucp__free(f);
}

/* The parser is made when the body starts, so a fetch waiting for a slot
 * or a response costs no parser buffers. */
static int on_headers(void *ctx, int http_status, uint64_t content_length) {
  ucp__desc_fetch *f = ctx;
  (void)content_length;
  if (http_status < 200 || http_status >= 300) {
    ucp__http_set_error(f->req, "HTTP status %d", http_status);
    return UCP_E_HTTP;
  }
  ucp__desc_limits lim;
  ucp__desc_limits_from_cp(f->cp, &lim);
  f->parser = ucp__desc_parser_new(&lim);
  if (f->parser) return UCP_OK;
  ucp__http_set_error(f->req, "out of memory for the parser");
  return UCP_E_NOMEM;
}

static int on_body(void *ctx, const char *p, size_t n) {
  ucp__desc_fetch *f = ctx;
  int rc = ucp__desc_parser_feed(f->parser, p, n);
  if (rc != UCP_OK)
    ucp__http_set_error(f->req, "%s", ucp__desc_parser_error(f->parser));
  return rc;
}

static void on_progress(void *ctx, int phase, uint64_t now, uint64_t total) {
  ucp__desc_fetch *f = ctx;
  if (f->progress) f->progress(f->ctx, phase, now, total);
}

static void report(ucp__desc_fetch *f, int rc, int http, ucp_description *d,
                   const char *why) {
  char detail[768] = "";
  if (rc != UCP_OK)
    snprintf(detail, sizeof detail, "description %s: %s", f->url, why);
  f->done(f->ctx, rc, http, d, detail);
}

static void parsed(ucp__desc_fetch *f, int http) {
  ucp_description *d = NULL;
  if (!f->parser) { /* 2xx with no body at all */
    report(f, UCP_E_XML, http, NULL, "empty response");
    return;
  }
  int rc = ucp__desc_parser_finish(f->parser, &d);
  if (rc != UCP_OK) {
    report(f, rc, http, NULL, ucp__desc_parser_error(f->parser));
    return;
  }
  rc = ucp__desc_resolve(d, f->url);
  if (rc != UCP_OK) {
    ucp_description_unref(d);
    report(f, rc, http, NULL, ucp_strerror(rc));
    return;
  }
  report(f, UCP_OK, http, d, "");
}

static void on_done(void *ctx, const ucp__http_outcome *o) {
  ucp__desc_fetch *f = ctx;
  f->req = NULL;
  if (o->status != UCP_OK) f->done(f->ctx, o->status, o->http_status, NULL, o->detail);
  else parsed(f, o->http_status);
  fetch_free(f);
}

static const ucp__http_sink sink = {on_headers, on_body, on_progress, on_done};

int ucp__desc_fetch_start(ucp_cp *cp, const char *url, const char *pin_ip,
                          ucp__desc_fetch_cb done,
                          ucp__desc_fetch_progress_cb progress, void *ctx,
                          ucp__desc_fetch **out) {
  size_t n = strlen(url);
  ucp__desc_fetch *f = ucp__calloc(1, sizeof *f + n + 1);
  if (!f) return UCP_E_NOMEM;
  memcpy(f->url, url, n + 1);
  if (pin_ip && strlen(pin_ip) < sizeof f->pin) strcpy(f->pin, pin_ip);
  f->cp = cp;
  f->done = done;
  f->progress = progress;
  f->ctx = ctx;
  ucp__http_spec spec = {
      .method = "GET",
      .url = f->url,
      .max_body = ucp__cp_limit(cp, UCP_LIMIT_DESC_BYTES),
      .max_headers = ucp__cp_limit(cp, UCP_LIMIT_HEADER_BYTES),
      .pin_ip = f->pin[0] ? f->pin : NULL,
  };
  int rc = ucp__http_start(cp, &spec, &sink, f, &f->req);
  if (rc != UCP_OK) {
    fetch_free(f);
    return rc;
  }
  *out = f;
  return UCP_OK;
}

void ucp__desc_fetch_abort(ucp__desc_fetch *f) {
  if (!f) return;
  ucp__http_abort(f->req);
  fetch_free(f);
}
