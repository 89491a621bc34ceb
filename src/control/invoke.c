/* invoke.c - ucp_invoke and ucp_query_state_variable (BeginInvokeAction,
 * BeginQueryStateVariable): one SOAP exchange over HTTP, UDA 2.0 §3.2.
 * POST first; on 405 once more as M-POST (UDA 1.0 §3.2.1). The request
 * body is built and checked by the start call, so a bad argument fails
 * there, with no id issued. */
#include <stdio.h>
#include <string.h>

#include "../core/mem.h"
#include "../core/op.h"
#include "../http/http.h"
#include "../http/url.h"
#include "../xml/description.h"
#include "control.h"

#define CT_HEADER "Content-Type: text/xml; charset=\"utf-8\""
#define MAN_HEADER "MAN: \"http://schemas.xmlsoap.org/soap/envelope/\"; ns=01"
#define QSV_TYPE "urn:schemas-upnp-org:control-1-0"
#define QSV_ACTION "QueryStateVariable"

typedef struct invoke_op {
  ucp__op base;
  ucp__http_req *req;
  ucp__soap_parser *parser;
  const ucp__scpd *scpd;       /* reference, or NULL (raw) */
  const ucp__action *act;      /* in scpd (invoke) */
  const ucp__statevar *qvar;   /* in scpd (query) */
  int query, mpost, retry_mpost, http_status;
  ucp__outs *outs;
  char *body;
  size_t body_len;
  const char *headers[5];
  char pin[48];
  char *url, *name, *sa_post, *sa_mpost; /* in `strings` */
  char strings[];
} invoke_op;

/* ------------------------------------------------------ parsers, reused */

/* Response parsers kept per control point: a reset expat parser costs a
 * fraction of a new one (docs/benchmarks.md). As many as responses can be
 * read at once (UCP_LIMIT_HTTP_ACTIVE, at most POOL_MAX), each with at most
 * POOL_KEEP_BYTES of buffers. Loop thread only. */
enum { POOL_MAX = 256, POOL_KEEP_BYTES = 64 * 1024 };

typedef struct soap_pool {
  size_t n, cap;
  ucp__soap_parser *p[POOL_MAX];
} soap_pool;

static void pool_close(void *ext) {
  soap_pool *pl = ext;
  while (pl->n) ucp__soap_parser_free(pl->p[--pl->n]);
  ucp__free(pl);
}

static ucp__soap_parser *parser_get(ucp_cp *cp, const char *action,
                                    size_t cap) {
  soap_pool *pl = ucp__cp_ext(cp, UCP__EXT_SOAP_POOL);
  if (!pl || !pl->n) return ucp__soap_parser_new(action, cap, cap);
  ucp__soap_parser *p = pl->p[--pl->n];
  if (ucp__soap_parser_reuse(p, action, cap, cap) == UCP_OK) return p;
  ucp__soap_parser_free(p);
  return NULL;
}

static void parser_put(ucp_cp *cp, ucp__soap_parser *p) {
  if (!p) return;
  soap_pool *pl = ucp__cp_ext(cp, UCP__EXT_SOAP_POOL);
  if (!pl && (pl = ucp__calloc(1, sizeof *pl))) {
    uint64_t active = ucp__cp_limit(cp, UCP_LIMIT_HTTP_ACTIVE);
    pl->cap = active < POOL_MAX ? (size_t)active : POOL_MAX;
    ucp__cp_set_ext(cp, UCP__EXT_SOAP_POOL, pl, pool_close);
  }
  if (pl && pl->n < pl->cap &&
      ucp__soap_parser_retained(p) <= POOL_KEEP_BYTES)
    pl->p[pl->n++] = p;
  else
    ucp__soap_parser_free(p);
}

/* ------------------------------------------------------------ the exchange */

static int on_headers(void *ctx, int http_status, uint64_t content_length) {
  invoke_op *op = ctx;
  (void)content_length;
  op->http_status = http_status;
  if (http_status == 405 && !op->mpost) {
    op->retry_mpost = 1; /* its body is dropped */
    return UCP_OK;
  }
  uint64_t cap = ucp__cp_limit(op->base.cp, UCP_LIMIT_SOAP_BYTES);
  op->parser = parser_get(op->base.cp, op->query ? QSV_ACTION : op->name,
                          (size_t)cap);
  if (op->parser) return UCP_OK;
  ucp__http_set_error(op->req, "out of memory for the parser");
  return UCP_E_NOMEM;
}

static int on_body(void *ctx, const char *p, size_t n) {
  invoke_op *op = ctx;
  if (op->retry_mpost) return UCP_OK;
  int rc = ucp__soap_parser_feed(op->parser, p, n);
  /* An error status without a SOAP body is reported from on_done. */
  if (rc == UCP_OK || op->http_status < 200 || op->http_status > 299)
    return UCP_OK;
  ucp__http_set_error(op->req, "%s", ucp__soap_parser_error(op->parser));
  return rc;
}

static void on_progress(void *ctx, int phase, uint64_t now, uint64_t total) {
  invoke_op *op = ctx;
  ucp__op_progress(&op->base, now, total, phase);
}

static int send_request(invoke_op *op);

static const char *what(const invoke_op *op) {
  return op->query ? "QueryStateVariable" : op->name;
}

static void finish_fault(invoke_op *op, const ucp__soap_result *res) {
  const char *desc = *res->upnp_description ? res->upnp_description
                                            : res->fault_string;
  op->base.result.upnp_error = res->upnp_error;
  op->base.result.upnp_desc = ucp__strdup(desc);
  /* A fault has no out-arguments to carry warnings: the first goes into
   * the detail (an errorCode that is not an integer reads as 0 and says
   * so there). */
  const char *w = res->warnings ? res->warnings : "";
  int wn = (int)strcspn(w, "\n");
  ucp__op_fail(&op->base, UCP_E_FAULT, op->http_status,
               "%s at %s: SOAP fault %s: UPnPError %d: %s%s%.*s%s", what(op),
               op->url, res->fault_code, res->upnp_error, desc,
               wn ? " (warning: " : "", wn, w, wn ? ")" : "");
}

static void finish_response(invoke_op *op, const ucp__soap_result *res) {
  if (op->http_status < 200 || op->http_status > 299) {
    ucp__op_fail(&op->base, UCP_E_HTTP, op->http_status,
                 "%s at %s: HTTP status %d with a response body", what(op),
                 op->url, op->http_status);
    return;
  }
  const char *why = NULL;
  int rc = op->query ? ucp__outs_from_query(op->name, op->qvar, res,
                                            &op->outs, &why)
                     : ucp__outs_from_response(op->act, res, &op->outs);
  if (rc != UCP_OK) {
    ucp__op_fail(&op->base, rc, op->http_status, "%s at %s: %s", what(op),
                 op->url, why ? why : ucp_strerror(rc));
    return;
  }
  op->base.result.payload = op->outs;
  ucp__op_finish(&op->base, UCP_OK, op->http_status, NULL);
}

static void finish_body(invoke_op *op) {
  ucp__soap_result *res = NULL;
  int rc = op->parser ? ucp__soap_parser_finish(op->parser, &res) : UCP_E_XML;
  const char *err = op->parser ? ucp__soap_parser_error(op->parser)
                               : "empty response";
  if (rc != UCP_OK) {
    int error_status = op->http_status < 200 || op->http_status > 299;
    ucp__op_fail(&op->base, error_status ? UCP_E_HTTP : rc, op->http_status,
                 error_status ? "%s at %s: HTTP status %d without a SOAP "
                                "fault (body: %s)"
                              : "%s at %s: HTTP status %d, bad response: %s",
                 what(op), op->url, op->http_status, err);
    return;
  }
  if (res->is_fault) finish_fault(op, res);
  else finish_response(op, res);
  ucp__soap_result_free(res);
}

static void on_done(void *ctx, const ucp__http_outcome *o) {
  invoke_op *op = ctx;
  op->req = NULL;
  if (o->status != UCP_OK) {
    ucp__op_fail(&op->base, o->status, o->http_status, "%s: %s", what(op),
                 o->detail);
    return;
  }
  if (op->retry_mpost) {
    op->retry_mpost = 0;
    op->mpost = 1;
    int rc = send_request(op);
    if (rc != UCP_OK)
      ucp__op_fail(&op->base, rc, 405, "%s at %s: M-POST after 405: %s",
                   what(op), op->url, ucp_strerror(rc));
    return;
  }
  finish_body(op);
}

static const ucp__http_sink sink = {on_headers, on_body, on_progress, on_done};

static int send_request(invoke_op *op) {
  int n = 0;
  op->headers[n++] = CT_HEADER;
  if (op->mpost) op->headers[n++] = MAN_HEADER;
  op->headers[n++] = op->mpost ? op->sa_mpost : op->sa_post;
  op->headers[n++] = "Expect:"; /* no 100-continue round trip */
  op->headers[n] = NULL;
  parser_put(op->base.cp, op->parser);
  op->parser = NULL;
  uint64_t limit_s = op->base.deadline_ms / 1000 + 1;
  ucp__http_spec spec = {
      .method = op->mpost ? "M-POST" : "POST",
      .url = op->url,
      .headers = op->headers,
      .body = op->body,
      .body_len = op->body_len,
      .low_speed_time_s = limit_s, /* the deadline governs */
      .max_body = ucp__cp_limit(op->base.cp, UCP_LIMIT_SOAP_BYTES),
      .max_headers = ucp__cp_limit(op->base.cp, UCP_LIMIT_HEADER_BYTES),
      .pin_ip = op->pin[0] ? op->pin : NULL,
  };
  return ucp__http_start(op->base.cp, &spec, &sink, op, &op->req);
}

/* ------------------------------------------------------------ the op */

static int invoke_start(ucp__op *base) {
  invoke_op *op = (invoke_op *)base;
  int rc = send_request(op);
  if (rc != UCP_OK)
    return ucp__op_fail(base, rc, 0, "%s at %s: cannot start: %s", what(op),
                        op->url, ucp_strerror(rc));
  return UCP_OK;
}

static void invoke_release(ucp__op *base) {
  invoke_op *op = (invoke_op *)base;
  ucp__http_abort(op->req);
  op->req = NULL;
  parser_put(op->base.cp, op->parser);
  op->parser = NULL;
}

static void invoke_destroy(ucp__op *base) {
  invoke_op *op = (invoke_op *)base;
  ucp__outs_free(op->outs);
  ucp__scpd_unref(op->scpd);
  ucp__free(op->body);
  ucp__free(op);
}

static const ucp__op_vtable invoke_vt = {UCP_OP_INVOKE, "invoke", invoke_start,
                                         invoke_release, invoke_destroy};
static const ucp__op_vtable query_vt = {UCP_OP_QUERY, "query", invoke_start,
                                        invoke_release, invoke_destroy};

/* ------------------------------------------------------------ start calls */

/* The op with its strings in one allocation: URL, name, and the two
 * SOAPACTION header lines. */
static invoke_op *op_new(const char *url, const char *name, const char *sa) {
  size_t nu = strlen(url) + 1, nn = strlen(name) + 1, ns = strlen(sa);
  size_t np = sizeof "SOAPACTION: " + ns, nm = sizeof "01-SOAPACTION: " + ns;
  invoke_op *op = ucp__calloc(1, sizeof *op + nu + nn + np + nm);
  if (!op) return NULL;
  op->url = op->strings;
  memcpy(op->url, url, nu);
  op->name = op->url + nu;
  memcpy(op->name, name, nn);
  op->sa_post = op->name + nn;
  snprintf(op->sa_post, np, "SOAPACTION: %s", sa);
  op->sa_mpost = op->sa_post + np;
  snprintf(op->sa_mpost, nm, "01-SOAPACTION: %s", sa);
  return op;
}

/* Name the argument that the SOAP builder refused: build each alone. */
static void blame_argument(const char *type, const char *action,
                           const ucp__inargs *in, const char *why) {
  for (size_t i = 0; i < in->n; i++) {
    char *b = NULL;
    size_t len;
    const char *w = NULL;
    if (ucp__soap_build_request(type, action, &in->names[i], &in->values[i],
                                1, &b, &len, NULL, 0, &w) != UCP_OK) {
      ucp__detail_set("%s argument '%.64s': %s", action,
                      in->names[i] ? in->names[i] : "(null)", w ? w : why);
      return;
    }
    ucp__free(b);
  }
  ucp__detail_set("%s: %s", action, why);
}

typedef struct request {
  const char *url, *type, *action;
  const ucp__scpd *scpd;
  const ucp__action *act;
  const ucp__statevar *qvar;
  int query;
} request;

static int submit(ucp_cp *cp, const request *rq, const ucp__inargs *in,
                  const char *pin, const ucp_call_opts *opts, ucp_done_cb done,
                  void *user, uint64_t *id) {
  char *body = NULL, sa[600];
  size_t len = 0;
  const char *why = NULL;
  int rc = ucp__soap_build_request(rq->type, rq->action, in->names, in->values,
                                   in->n, &body, &len, sa, sizeof sa, &why);
  if (rc == UCP_E_INVALIDARG) blame_argument(rq->type, rq->action, in, why);
  if (rc != UCP_OK) {
    if (rc != UCP_E_INVALIDARG) ucp__detail_set("%s: %s", rq->action,
                                                ucp_strerror(rc));
    return rc;
  }
  const char *name = rq->query ? in->values[0] : rq->action;
  invoke_op *op = op_new(rq->url, name, sa);
  if (!op) {
    ucp__free(body);
    ucp__detail_set("%s: out of memory", rq->action);
    return UCP_E_NOMEM;
  }
  op->body = body;
  op->body_len = len;
  op->query = rq->query;
  op->scpd = ucp__scpd_ref(rq->scpd);
  op->act = rq->act;
  op->qvar = rq->qvar;
  if (pin) strcpy(op->pin, pin);
  rc = ucp__op_submit(cp, &op->base, rq->query ? &query_vt : &invoke_vt, opts,
                      done, user, id);
  if (rc != UCP_OK) invoke_destroy(&op->base);
  return rc;
}

/* The control URL: http, and its host as a pin when it is an IP literal. */
static int check_url(const char *url, char *pin, size_t pin_cap) {
  char host[UCP__HOST_MAX];
  const char *why;
  if (strlen(url) > UCP__URL_MAX ||
      ucp__url_check_http(url, host, sizeof host, &why) != UCP_OK) {
    ucp__detail_set("control URL %.200s: %s", url,
                    strlen(url) > UCP__URL_MAX ? "over 2 KiB" : why);
    return UCP_E_URL;
  }
  pin[0] = '\0';
  if (ucp__url_host_is_ip(host) && strlen(host) < pin_cap) strcpy(pin, host);
  return UCP_OK;
}

int ucp_invoke_url(ucp_cp *cp, const char *control_url,
                   const char *service_type, const ucp_scpd *scpd,
                   const char *action, const ucp_arg *args, size_t nargs,
                   const ucp_call_opts *opts, ucp_done_cb done, void *user,
                   uint64_t *id) {
  if (!cp || !control_url || !service_type || !action || !done || !id ||
      (nargs && !args)) {
    ucp__detail_set("ucp_invoke: NULL argument");
    return UCP_E_INVALIDARG;
  }
  char pin[48];
  int rc = check_url(control_url, pin, sizeof pin);
  if (rc != UCP_OK) return rc;
  request rq = {control_url, service_type, action, scpd, NULL, NULL, 0};
  ucp__inargs in;
  char why[512] = "";
  if (scpd) {
    rq.act = ucp__scpd_action(scpd, action);
    if (!rq.act) {
      ucp__detail_set("%.128s has no action '%.64s'", service_type, action);
      return UCP_E_NOT_FOUND;
    }
    rq.action = rq.act->name;
    rc = ucp__inargs_from_scpd(rq.act, args, nargs, &in, why, sizeof why);
  } else {
    rc = ucp__inargs_raw(args, nargs, &in);
    if (rc != UCP_OK) snprintf(why, sizeof why, "out of memory");
  }
  if (rc != UCP_OK) {
    ucp__detail_set("%s", why);
    return rc;
  }
  rc = submit(cp, &rq, &in, pin[0] ? pin : NULL, opts, done, user, id);
  ucp__inargs_free(&in);
  return rc;
}

/* The control URL and type of a service, or a failure naming the service. */
static int service_target(const ucp_service *svc, const char **url,
                          const char **type) {
  const char *sid = svc->f[UCP_SERVICE_ID] ? svc->f[UCP_SERVICE_ID] : "?";
  *url = svc->f[UCP_SERVICE_CONTROL_URL];
  *type = svc->f[UCP_SERVICE_TYPE];
  if (!*url) {
    const char *why = svc->url_err[UCP_SERVICE_CONTROL_URL];
    ucp__detail_set("service %.128s: no usable controlURL: %s", sid,
                    why ? why : "absent");
    return UCP_E_URL;
  }
  if (!*type) {
    ucp__detail_set("service %.128s has no serviceType", sid);
    return UCP_E_INVALIDARG;
  }
  return UCP_OK;
}

int ucp_invoke(ucp_cp *cp, const ucp_service *svc, const ucp_scpd *scpd,
               const char *action, const ucp_arg *args, size_t nargs,
               const ucp_call_opts *opts, ucp_done_cb done, void *user,
               uint64_t *id) {
  const char *url, *type;
  if (!svc) {
    ucp__detail_set("ucp_invoke: NULL service");
    return UCP_E_INVALIDARG;
  }
  int rc = service_target(svc, &url, &type);
  if (rc != UCP_OK) return rc;
  return ucp_invoke_url(cp, url, type, scpd, action, args, nargs, opts, done,
                        user, id);
}

int ucp_query_state_variable_url(ucp_cp *cp, const char *control_url,
                                 const ucp_scpd *scpd, const char *variable,
                                 const ucp_call_opts *opts, ucp_done_cb done,
                                 void *user, uint64_t *id) {
  if (!cp || !control_url || !variable || !done || !id) {
    ucp__detail_set("ucp_query_state_variable: NULL argument");
    return UCP_E_INVALIDARG;
  }
  char pin[48];
  int rc = check_url(control_url, pin, sizeof pin);
  if (rc != UCP_OK) return rc;
  request rq = {control_url, QSV_TYPE, QSV_ACTION, scpd, NULL, NULL, 1};
  if (scpd) {
    rq.qvar = ucp__scpd_var(scpd, variable);
    if (!rq.qvar) {
      ucp__detail_set("no state variable '%.64s' in the SCPD", variable);
      return UCP_E_NOT_FOUND;
    }
    variable = rq.qvar->name;
  }
  if (!ucp__soap_name_ok(variable)) {
    ucp__detail_set("state variable name '%.64s': must be 1..255 letters, "
                    "digits, '_', '-', '.', not starting with a digit, '-' "
                    "or '.'", variable);
    return UCP_E_INVALIDARG;
  }
  const char *name = "u:varName";
  ucp__inargs in = {1, &name, &variable, NULL};
  return submit(cp, &rq, &in, pin[0] ? pin : NULL, opts, done, user, id);
}

int ucp_query_state_variable(ucp_cp *cp, const ucp_service *svc,
                             const ucp_scpd *scpd, const char *variable,
                             const ucp_call_opts *opts, ucp_done_cb done,
                             void *user, uint64_t *id) {
  const char *url, *type;
  if (!svc) {
    ucp__detail_set("ucp_query_state_variable: NULL service");
    return UCP_E_INVALIDARG;
  }
  int rc = service_target(svc, &url, &type);
  if (rc != UCP_OK) return rc;
  return ucp_query_state_variable_url(cp, url, scpd, variable, opts, done,
                                      user, id);
}
