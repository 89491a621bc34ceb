/* scpd_download.c - ucp_scpd_download (BeginSCPDDownload): an operation
 * waiting on the SCPD cache, and ucp_cp_forget_device. UDA 2.0 §2.5. */
#include <stddef.h>
#include <string.h>

#include "../core/mem.h"
#include "../core/op.h"
#include "../http/url.h"
#include "../xml/description.h"
#include "control.h"

typedef struct scpd_op {
  ucp__op base;
  ucp__scpd_waiter w;
  const ucp__scpd *scpd; /* the result's reference */
  int from_cache;
  char pin[48];
  int64_t config_id;
  char *sid, *url; /* point into udn's allocation */
  char udn[];
} scpd_op;

static scpd_op *op_of(ucp__scpd_waiter *w) {
  return (scpd_op *)((char *)w - offsetof(scpd_op, w));
}

static void on_progress(ucp__scpd_waiter *w, int phase, uint64_t now,
                        uint64_t total) {
  ucp__op_progress(&op_of(w)->base, now, total, phase);
}

static void on_done(ucp__scpd_waiter *w, int status, int http_status,
                    const ucp__scpd *s, int from_cache, const char *detail) {
  scpd_op *op = op_of(w);
  if (status == UCP_OK) {
    op->scpd = ucp__scpd_ref(s);
    op->from_cache = from_cache;
    op->base.result.payload = op;
  }
  ucp__op_finish(&op->base, status, http_status, detail);
}

static int scpd_start(ucp__op *base) {
  scpd_op *op = (scpd_op *)base;
  ucp__scpd_key k = {op->udn, op->sid, op->url, op->pin[0] ? op->pin : NULL,
                     op->config_id};
  op->w.progress = on_progress;
  op->w.done = on_done;
  int rc = ucp__scpd_cache_get(base->cp, &k, base->deadline_ms, &op->w);
  if (rc != UCP_OK)
    return ucp__op_fail(base, rc, 0, "SCPD %s: cannot start: %s", op->url,
                        ucp_strerror(rc));
  return UCP_OK;
}

static void scpd_release(ucp__op *base) {
  scpd_op *op = (scpd_op *)base;
  ucp__scpd_cache_detach(base->cp, &op->w); /* the download goes on */
}

static void scpd_destroy(ucp__op *base) {
  scpd_op *op = (scpd_op *)base;
  ucp__scpd_unref(op->scpd);
  ucp__free(op);
}

static const ucp__op_vtable scpd_vt = {UCP_OP_SCPD_DOWNLOAD, "SCPD download",
                                       scpd_start, scpd_release, scpd_destroy};

static const char *or_empty(const char *s) { return s ? s : ""; }

/* One allocation: the op and its three key strings. */
static scpd_op *op_new(const ucp_service *svc, const char *url) {
  const char *udn = or_empty(svc->dev->f[UCP_DEVICE_UDN]);
  const char *sid = or_empty(svc->f[UCP_SERVICE_ID]);
  size_t nu = strlen(udn) + 1, ns = strlen(sid) + 1, nl = strlen(url) + 1;
  scpd_op *op = ucp__calloc(1, sizeof *op + nu + ns + nl);
  if (!op) return NULL;
  memcpy(op->udn, udn, nu);
  op->sid = op->udn + nu;
  memcpy(op->sid, sid, ns);
  op->url = op->sid + ns;
  memcpy(op->url, url, nl);
  op->config_id = svc->dev->desc ? svc->dev->desc->config_id : -1;
  return op;
}

int ucp_scpd_download(ucp_cp *cp, const ucp_service *svc,
                      const ucp_call_opts *opts, ucp_done_cb done, void *user,
                      uint64_t *id) {
  if (!cp || !svc || !done || !id) {
    ucp__detail_set("ucp_scpd_download: NULL argument");
    return UCP_E_INVALIDARG;
  }
  const char *url = svc->f[UCP_SERVICE_SCPD_URL];
  if (!url) {
    const char *why = svc->url_err[UCP_SERVICE_SCPD_URL];
    ucp__detail_set("service %s: no usable SCPDURL: %s",
                    or_empty(svc->f[UCP_SERVICE_ID]), why ? why : "absent");
    return UCP_E_URL;
  }
  char host[UCP__HOST_MAX];
  const char *why;
  if (ucp__url_check_http(url, host, sizeof host, &why) != UCP_OK) {
    ucp__detail_set("SCPD URL %.200s: %s", url, why);
    return UCP_E_URL;
  }
  scpd_op *op = op_new(svc, url);
  if (!op) {
    ucp__detail_set("ucp_scpd_download: out of memory");
    return UCP_E_NOMEM;
  }
  if (ucp__url_host_is_ip(host) && strlen(host) < sizeof op->pin)
    strcpy(op->pin, host);
  int rc = ucp__op_submit(cp, &op->base, &scpd_vt, opts, done, user, id);
  if (rc != UCP_OK) ucp__free(op);
  return rc;
}

const ucp_scpd *ucp_result_scpd(const ucp_result *r) {
  if (!r || r->kind != UCP_OP_SCPD_DOWNLOAD || r->status != UCP_OK ||
      !r->payload)
    return NULL;
  return ((const scpd_op *)r->payload)->scpd;
}

int ucp_result_from_cache(const ucp_result *r) {
  if (!r || r->kind != UCP_OP_SCPD_DOWNLOAD || !r->payload) return 0;
  return ((const scpd_op *)r->payload)->from_cache;
}

/* ------------------------------------------------------------ forget */

typedef struct forget_task {
  ucp__task t;
  char udn[];
} forget_task;

static void forget_run(ucp_cp *cp, ucp__task *t, int live) {
  forget_task *f = (forget_task *)t;
  if (live) ucp__scpd_cache_forget(cp, f->udn);
  ucp__free(f);
}

int ucp_cp_forget_device(ucp_cp *cp, const char *udn) {
  if (!cp || !udn) return UCP_E_INVALIDARG;
  size_t n = strlen(udn) + 1;
  forget_task *f = ucp__calloc(1, sizeof *f + n);
  if (!f) return UCP_E_NOMEM;
  memcpy(f->udn, udn, n);
  f->t.run = forget_run;
  int rc = ucp__cp_post_task(cp, &f->t);
  if (rc != UCP_OK) ucp__free(f);
  return rc;
}
