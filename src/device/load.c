/* load.c - ucp_load_description: the operation around one description
 * fetch (IUPnPDescriptionDocument::LoadAsync). UDA 2.0 §2.1. */
#include <string.h>

#include "../core/mem.h"
#include "../core/op.h"
#include "../http/url.h"
#include "device.h"

typedef struct load_op {
  ucp__op base;
  ucp__desc_fetch *fetch;
  ucp_description *desc;
  char pin[48]; /* the URL's host when an IP literal: connect only there */
  char url[];   /* flexible: one allocation per pending load */
} load_op;

static void on_progress(void *ctx, int phase, uint64_t now, uint64_t total) {
  load_op *op = ctx;
  ucp__op_progress(&op->base, now, total, phase);
}

static void on_fetched(void *ctx, int status, int http_status,
                       ucp_description *d, const char *detail) {
  load_op *op = ctx;
  op->fetch = NULL; /* it frees itself after this returns */
  op->desc = d;
  op->base.result.payload = d;
  ucp__op_finish(&op->base, status, http_status, detail);
}

static int load_start(ucp__op *base) {
  load_op *op = (load_op *)base;
  int rc = ucp__desc_fetch_start(base->cp, op->url, op->pin[0] ? op->pin : NULL,
                                 on_fetched, on_progress, op, &op->fetch);
  if (rc != UCP_OK)
    return ucp__op_fail(base, rc, 0, "description %s: cannot start: %s",
                        op->url, ucp_strerror(rc));
  return UCP_OK;
}

static void load_release(ucp__op *base) {
  load_op *op = (load_op *)base;
  ucp__desc_fetch_abort(op->fetch);
  op->fetch = NULL;
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
  if (!cp || !url || !done || !id) {
    ucp__detail_set("ucp_load_description: NULL argument");
    return UCP_E_INVALIDARG;
  }
  size_t n = strlen(url);
  if (n > UCP__URL_MAX) {
    ucp__detail_set("description URL %.200s...: over 2 KiB", url);
    return UCP_E_URL;
  }
  load_op *op = ucp__calloc(1, sizeof *op + n + 1);
  if (!op) {
    ucp__detail_set("ucp_load_description: out of memory");
    return UCP_E_NOMEM;
  }
  memcpy(op->url, url, n + 1);
  const char *why;
  char host[UCP__HOST_MAX];
  int rc = ucp__url_check_http(url, host, sizeof host, &why);
  if (rc != UCP_OK)
    ucp__detail_set("description URL %.200s: %s", url,
                    why ? why : ucp_strerror(rc));
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
