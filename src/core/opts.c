/* opts.c - control point and per-call options, results accessors. */
#include <string.h>

#include "cp_internal.h"
#include "mem.h"

static const uint64_t limit_defaults[UCP_LIMIT__COUNT] = {
    [UCP_LIMIT_PENDING_OPS] = 65536,
    [UCP_LIMIT_HTTP_ACTIVE] = 64,
    [UCP_LIMIT_HTTP_PER_HOST] = 8,
    [UCP_LIMIT_DESC_BYTES] = 1024 * 1024,
    [UCP_LIMIT_HEADER_BYTES] = 64 * 1024,
    [UCP_LIMIT_XML_DEPTH] = 32,
    [UCP_LIMIT_XML_TEXT] = 8 * 1024,
    [UCP_LIMIT_DEVICES] = 256,
    [UCP_LIMIT_SERVICES] = 1024,
    [UCP_LIMIT_SEARCH_DEVICES] = 4096,
    [UCP_LIMIT_SEARCH_PER_HOST] = 256,
    [UCP_LIMIT_SCPD_CACHE] = 1024,
    [UCP_LIMIT_SOAP_BYTES] = 1024 * 1024,
    [UCP_LIMIT_SUBSCRIPTIONS] = 4096,
    [UCP_LIMIT_NOTIFY_BYTES] = 256 * 1024,
    [UCP_LIMIT_CALLBACK_CONNS] = 256,
};

void ucp__opts_defaults(ucp_cp_opts *o) {
  memset(o, 0, sizeof *o);
  memcpy(o->limits, limit_defaults, sizeof o->limits);
  o->deadlines[UCP_OP_LOAD_DESCRIPTION] = 10000;
  o->deadlines[UCP_OP_SEARCH] = 60000;
  o->deadlines[UCP_OP_SCPD_DOWNLOAD] = 10000;
  o->deadlines[UCP_OP_INVOKE] = 30000;
  o->deadlines[UCP_OP_QUERY] = 30000;
  o->deadlines[UCP_OP_SUBSCRIBE] = 30000;
}

ucp_cp_opts *ucp_cp_opts_new(void) {
  ucp_cp_opts *o = ucp__malloc(sizeof *o);
  if (o) ucp__opts_defaults(o);
  return o;
}

void ucp_cp_opts_free(ucp_cp_opts *o) { ucp__free(o); }

int ucp_cp_opts_set_loop(ucp_cp_opts *o, void *uv_loop) {
  if (!o) return UCP_E_INVALIDARG;
  o->loop = uv_loop;
  return UCP_OK;
}

int ucp_cp_opts_set_limit(ucp_cp_opts *o, ucp_limit which, uint64_t value) {
  if (!o || (unsigned)which >= UCP_LIMIT__COUNT || value == 0)
    return UCP_E_INVALIDARG;
  o->limits[which] = value;
  return UCP_OK;
}

int ucp_cp_opts_set_deadline(ucp_cp_opts *o, ucp_op_kind kind, uint64_t ms) {
  if (!o || kind <= 0 || kind >= UCP_OP__COUNT || ms == 0)
    return UCP_E_INVALIDARG;
  o->deadlines[kind] = ms;
  return UCP_OK;
}

ucp_call_opts *ucp_call_opts_new(void) {
  return ucp__calloc(1, sizeof(ucp_call_opts));
}

void ucp_call_opts_free(ucp_call_opts *o) { ucp__free(o); }

int ucp_call_opts_set_deadline(ucp_call_opts *o, uint64_t ms) {
  if (!o) return UCP_E_INVALIDARG;
  o->deadline_ms = ms;
  return UCP_OK;
}

int ucp_call_opts_set_progress(ucp_call_opts *o, ucp_progress_cb cb) {
  if (!o) return UCP_E_INVALIDARG;
  o->progress = cb;
  return UCP_OK;
}

int ucp_result_status(const ucp_result *r) {
  return r ? r->status : UCP_E_INVALIDARG;
}
int ucp_result_http_status(const ucp_result *r) {
  return r ? r->http_status : 0;
}
const char *ucp_result_detail(const ucp_result *r) {
  return r && r->detail ? r->detail : "";
}
int ucp_result_upnp_error(const ucp_result *r) { return r ? r->upnp_error : 0; }
const char *ucp_result_upnp_error_description(const ucp_result *r) {
  return r ? r->upnp_desc : NULL;
}
ucp_op_kind ucp_result_kind(const ucp_result *r) {
  return r ? r->kind : (ucp_op_kind)0;
}
