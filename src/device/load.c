/* load.c - ucp_load_description: GET a device description and stream it
 * into the parser (IUPnPDescriptionDocument::LoadAsync). UDA 2.0 §2.1. */
#include <stdio.h>
#include <string.h>

#include "../core/mem.h"
#include "../core/op.h"
#include "../http/http.h"
#include "../http/url.h"
#include "device.h"

typedef struct load_op {
  ucp__op base;
  ucp__http_req *req;
  ucp__desc_parser *parser;
  ucp_description *desc;
  char pin[48]; /* the URL's host when an IP literal: connect only there */
  char url[]; /* flexible: one allocation per pending load */
} load_op;

/* The parser is made when the body starts, so a load waiting for a slot or
 * a response costs no parser buffers. */
static int on_headers(void *ctx, int http_status, uint64_t content_length) {
  load_op *op = ctx;
  (void)content_length;
  if (http_status < 200 || http_status >= 300) {
    ucp__http_set_error(op->req, "HTTP status %d", http_status);
    return UCP_E_HTTP;
  }
  ucp__desc_limits lim;
  ucp__desc_limits_from_cp(op->base.cp, &lim);
  op->parser = ucp__desc_parser_new(&lim);
  if (op->parser) return UCP_OK;
  ucp__http_set_error(op->req, "out of memory for the parser");
  return UCP_E_NOMEM;
}

static int on_body(void *ctx, const char *p, size_t n) {
  load_op *op = ctx;
  int rc = ucp__desc_parser_feed(op->parser, p, n);
  if (rc != UCP_OK)
    ucp__http_set_error(op->req, "%s", ucp__desc_parser_error(op->parser));
  return rc;
}

static void on_progress(void *ctx, int phase, uint64_t now, uint64_t total) {
  load_op *op = ctx;
  ucp__op_progress(&op->base, now, total, phase);
}

static void parsed(load_op *op, int http_status) {
  if (!op->parser) { /* 2xx with no body at all */
    ucp__op_fail(&op->base, UCP_E_XML, http_status,
                 "description %s: empty response", op->url);
    return;
  }
  int rc = ucp__desc_parser_finish(op->parser, &op->desc);
  if (rc != UCP_OK) {
    ucp__op_fail(&op->base, rc, http_status, "description %s: %s", op->url,
                 ucp__desc_parser_error(op->parser));
    return;
  }
  rc = ucp__desc_resolve(op->desc, op->url);
  if (rc != UCP_OK) {
    ucp__op_fail(&op->base, rc, http_status, "description %s: %s", op->url,
                 ucp_strerror(rc));
    return;
  }
  op->base.result.payload = op->desc;
  ucp__op_finish(&op->base, UCP_OK, http_status, NULL);
}

static void on_done(void *ctx, const ucp__http_outcome *o) {
  load_op *op = ctx;
  op->req = NULL;
  if (o->status != UCP_OK) {
    ucp__op_finish(&op->base, o->status, o->http_status, o->detail);
    return;
  }
  parsed(op, o->http_status);
}

static const ucp__http_sink sink = {on_headers, on_body, on_progress, on_done};

static int load_start(ucp__op *base) {
  load_op *op = (load_op *)base;
  ucp_cp *cp = base->cp;
  ucp__http_spec spec = {
      .method = "GET",
      .url = op->url,
      .max_body = ucp__cp_limit(cp, UCP_LIMIT_DESC_BYTES),
      .max_headers = ucp__cp_limit(cp, UCP_LIMIT_HEADER_BYTES),
      .pin_ip = op->pin[0] ? op->pin : NULL,
  };
  int rc = ucp__http_start(cp, &spec, &sink, op, &op->req);
  if (rc != UCP_OK)
    return ucp__op_fail(base, rc, 0, "description %s: cannot start: %s",
                        op->url, ucp_strerror(rc));
  return UCP_OK;
}

static void load_release(ucp__op *base) {
  load_op *op = (load_op *)base;
  ucp__http_abort(op->req);
  op->req = NULL;
  ucp__desc_parser_free(op->parser);
  op->parser = NULL;
}

static void load_destroy(ucp__op *base) {
  load_op *op = (load_op *)base;
  ucp_description_unref(op->desc);
  ucp__free(op);
}

static const ucp__op_vtable load_vt = {
    UCP_OP_LOAD_DESCRIPTION, "description load", load_start, load_release,
    load_destroy};

int ucp_load_description(ucp_cp *cp, const char *url,
                         const ucp_call_opts *opts, ucp_done_cb done,
                         void *user, uint64_t *id) {
  if (!cp || !url || !done || !id) return UCP_E_INVALIDARG;
  size_t n = strlen(url);
  if (n > UCP__URL_MAX) return UCP_E_URL;
  load_op *op = ucp__calloc(1, sizeof *op + n + 1);
  if (!op) return UCP_E_NOMEM;
  memcpy(op->url, url, n + 1);
  const char *why;
  char host[UCP__HOST_MAX];
  int rc = ucp__url_check_http(url, host, sizeof host, &why);
  if (rc == UCP_OK) {
    if (ucp__url_host_is_ip(host) && strlen(host) < sizeof op->pin)
      strcpy(op->pin, host);
    rc = ucp__op_submit(cp, &op->base, &load_vt, opts, done, user, id);
  }
  if (rc != UCP_OK) ucp__free(op);
  return rc;
}

const ucp_description *ucp_result_description(const ucp_result *r) {
  if (!r || r->kind != UCP_OP_LOAD_DESCRIPTION || r->status != UCP_OK)
    return NULL;
  return r->payload;
}
