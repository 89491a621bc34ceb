/* scpd_api.c - the public, read-only view of the SCPD model (scpd.h):
 * accessors over the immutable tree, NULL- and range-safe. */
#include <string.h>

#include "../xml/scpd.h"

int ucp_scpd_parse(const char *xml, size_t len, const ucp_scpd **out,
                   char *detail, size_t detail_len) {
  if (detail && detail_len) detail[0] = '\0';
  if (!out) return UCP_E_INVALIDARG;
  *out = NULL;
  if (!xml) return UCP_E_INVALIDARG;
  char buf[512];
  ucp__scpd *s = NULL;
  int rc = ucp__scpd_parse(xml, len, &s, buf, sizeof buf);
  if (rc == UCP_OK) *out = s;
  else if (detail && detail_len) {
    size_t n = strlen(buf);
    if (n >= detail_len) n = detail_len - 1;
    memcpy(detail, buf, n);
    detail[n] = '\0';
  }
  return rc;
}

const ucp_scpd *ucp_scpd_ref(const ucp_scpd *s) { return ucp__scpd_ref(s); }
void ucp_scpd_unref(const ucp_scpd *s) { ucp__scpd_unref(s); }

void ucp_scpd_spec_version(const ucp_scpd *s, int *major, int *minor) {
  if (major) *major = s ? s->spec_major : 0;
  if (minor) *minor = s ? s->spec_minor : 0;
}
int64_t ucp_scpd_config_id(const ucp_scpd *s) { return s ? s->config_id : -1; }
const char *ucp_scpd_warnings(const ucp_scpd *s) {
  return s && s->warnings ? s->warnings : "";
}
size_t ucp_scpd_action_count(const ucp_scpd *s) { return s ? s->nactions : 0; }
const ucp_action *ucp_scpd_action(const ucp_scpd *s, size_t i) {
  return s && i < s->nactions ? &s->actions[i] : NULL;
}
const ucp_action *ucp_scpd_find_action(const ucp_scpd *s, const char *name) {
  return s && name ? ucp__scpd_action(s, name) : NULL;
}
size_t ucp_scpd_statevar_count(const ucp_scpd *s) { return s ? s->nvars : 0; }
const ucp_statevar *ucp_scpd_statevar(const ucp_scpd *s, size_t i) {
  return s && i < s->nvars ? &s->vars[i] : NULL;
}
const ucp_statevar *ucp_scpd_find_statevar(const ucp_scpd *s,
                                           const char *name) {
  return s && name ? ucp__scpd_var(s, name) : NULL;
}

const char *ucp_action_name(const ucp_action *a) { return a ? a->name : NULL; }
size_t ucp_action_argument_count(const ucp_action *a) {
  return a ? a->nargs : 0;
}
const ucp_argument *ucp_action_argument(const ucp_action *a, size_t i) {
  return a && i < a->nargs ? &a->args[i] : NULL;
}

const char *ucp_argument_name(const ucp_argument *g) {
  return g ? g->name : NULL;
}
ucp_direction ucp_argument_direction(const ucp_argument *g) {
  return g && g->dir == UCP__DIR_OUT ? UCP_DIR_OUT : UCP_DIR_IN;
}
int ucp_argument_is_retval(const ucp_argument *g) { return g ? g->retval : 0; }
const char *ucp_argument_related_name(const ucp_argument *g) {
  return g ? g->related : NULL;
}
const ucp_statevar *ucp_argument_statevar(const ucp_argument *g) {
  return g ? g->var : NULL;
}

const char *ucp_statevar_name(const ucp_statevar *v) {
  return v ? v->name : NULL;
}
ucp_type ucp_statevar_type(const ucp_statevar *v) {
  return v ? v->type : UCP_TYPE_UNKNOWN;
}
const char *ucp_statevar_type_name(const ucp_statevar *v) {
  return v ? v->type_name : NULL;
}
const char *ucp_statevar_default(const ucp_statevar *v) {
  return v ? v->default_value : NULL;
}
int ucp_statevar_sends_events(const ucp_statevar *v) {
  return v ? v->send_events : 0;
}
int ucp_statevar_multicast(const ucp_statevar *v) {
  return v ? v->multicast : 0;
}
size_t ucp_statevar_allowed_count(const ucp_statevar *v) {
  return v ? v->nallowed : 0;
}
const char *ucp_statevar_allowed(const ucp_statevar *v, size_t i) {
  return v && i < v->nallowed ? v->allowed[i] : NULL;
}
int ucp_statevar_range(const ucp_statevar *v, const char **min,
                       const char **max, const char **step) {
  int has = v && v->has_range;
  if (min) *min = has ? v->min : NULL;
  if (max) *max = has ? v->max : NULL;
  if (step) *step = has ? v->step : NULL;
  return has;
}
