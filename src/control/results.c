/* results.c - the out-arguments of invoke and query results. */
#include <string.h>
#include <strings.h>

#include "../core/op.h"
#include "control.h"

static const ucp__outs *outs_of(const ucp_result *r) {
  if (!r || (r->kind != UCP_OP_INVOKE && r->kind != UCP_OP_QUERY) ||
      r->status != UCP_OK)
    return NULL;
  return r->payload;
}

static const ucp__out *out_at(const ucp_result *r, size_t i) {
  const ucp__outs *o = outs_of(r);
  return o && i < o->n ? &o->items[i] : NULL;
}

size_t ucp_result_out_count(const ucp_result *r) {
  const ucp__outs *o = outs_of(r);
  return o ? o->n : 0;
}
const char *ucp_result_out_name(const ucp_result *r, size_t i) {
  const ucp__out *it = out_at(r, i);
  return it ? it->name : NULL;
}
const char *ucp_result_out_value(const ucp_result *r, size_t i) {
  const ucp__out *it = out_at(r, i);
  return it ? it->value : NULL;
}
ucp_type ucp_result_out_type(const ucp_result *r, size_t i) {
  const ucp__out *it = out_at(r, i);
  return it ? it->v.type : UCP_TYPE_UNKNOWN;
}

const char *ucp_result_out_find(const ucp_result *r, const char *name) {
  const ucp__outs *o = outs_of(r);
  if (!o || !name) return NULL;
  for (size_t i = 0; i < o->n; i++)
    if (strcmp(o->items[i].name, name) == 0) return o->items[i].value;
  for (size_t i = 0; i < o->n; i++)
    if (strcasecmp(o->items[i].name, name) == 0) return o->items[i].value;
  return NULL;
}

static int is_unsigned(ucp_type t) {
  return t >= UCP_TYPE_UI1 && t <= UCP_TYPE_UI8;
}
static int is_signed(ucp_type t) { return t >= UCP_TYPE_I1 && t <= UCP_TYPE_INT; }

int ucp_result_out_int(const ucp_result *r, size_t i, int64_t *v) {
  const ucp__out *it = out_at(r, i);
  if (!it || !it->value || !v) return UCP_E_INVALIDARG;
  if (is_signed(it->v.type)) *v = it->v.v.i;
  else if (is_unsigned(it->v.type) && it->v.v.u <= INT64_MAX)
    *v = (int64_t)it->v.v.u;
  else return UCP_E_INVALIDARG;
  return UCP_OK;
}

int ucp_result_out_uint(const ucp_result *r, size_t i, uint64_t *v) {
  const ucp__out *it = out_at(r, i);
  if (!it || !it->value || !v || !is_unsigned(it->v.type))
    return UCP_E_INVALIDARG;
  *v = it->v.v.u;
  return UCP_OK;
}

int ucp_result_out_double(const ucp_result *r, size_t i, double *v) {
  const ucp__out *it = out_at(r, i);
  if (!it || !it->value || !v || !ucp__type_is_numeric(it->v.type))
    return UCP_E_INVALIDARG;
  if (is_unsigned(it->v.type)) *v = (double)it->v.v.u;
  else if (is_signed(it->v.type)) *v = (double)it->v.v.i;
  else *v = it->v.v.r;
  return UCP_OK;
}

int ucp_result_out_bool(const ucp_result *r, size_t i, int *v) {
  const ucp__out *it = out_at(r, i);
  if (!it || !it->value || !v || it->v.type != UCP_TYPE_BOOLEAN)
    return UCP_E_INVALIDARG;
  *v = it->v.v.b;
  return UCP_OK;
}

const char *ucp_result_warnings(const ucp_result *r) {
  const ucp__outs *o = outs_of(r);
  return o && o->warnings ? o->warnings : "";
}
