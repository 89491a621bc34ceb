/* event.c - building ucp_event objects and their public accessors. */
#include "event.h"

#include <string.h>

#include "../core/mem.h"

static void event_free(ucp__event *e) {
  ucp_event *ev = (ucp_event *)e;
  ucp__lastchange_free(ev->lc);
  ucp__arena_free(&ev->arena);
  ucp__free(ev);
}

static const char *dup(ucp__arena *a, const char *s, int *nomem) {
  char *d = ucp__arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
  if (!d) *nomem = 1;
  return d;
}

static ucp_event *event_new(ucp_event_kind kind, const char *sid) {
  ucp_event *ev = ucp__calloc(1, sizeof *ev);
  if (!ev) return NULL;
  ucp__arena_init(&ev->arena);
  ev->kind = kind;
  ev->base.free = event_free;
  int nomem = 0;
  ev->sid = dup(&ev->arena, sid, &nomem);
  ev->detail = ev->warnings = "";
  if (nomem) {
    event_free(&ev->base);
    return NULL;
  }
  return ev;
}

ucp_event *ucp__event_state(ucp_sub_state st, const char *sid,
                            uint32_t timeout, const char *detail) {
  ucp_event *ev = event_new(UCP_EVENT_STATE, sid);
  if (!ev) return NULL;
  ev->state = st;
  ev->timeout = timeout;
  int nomem = 0;
  ev->detail = dup(&ev->arena, detail, &nomem);
  if (nomem) {
    event_free(&ev->base);
    return NULL;
  }
  return ev;
}

/* One variable: typed by its SCPD variable when there is one. */
static void type_var(ucp_event *ev, ucp__ev_var *v, const ucp__scpd *scpd,
                     int *nomem) {
  const ucp__statevar *sv = scpd ? ucp__scpd_var(scpd, v->name) : NULL;
  memset(&v->v, 0, sizeof v->v);
  if (!sv || sv->type == UCP_TYPE_UNKNOWN) return;
  size_t n = strlen(v->value);
  char *buf = ucp__arena_alloc(&ev->arena, n + 32);
  const char *why;
  if (!buf) {
    *nomem = 1;
    return;
  }
  if (ucp__value_parse(sv->type, v->value, n, buf, n + 32, &v->v, &why) ==
      UCP_OK)
    v->value = v->v.text;
  else
    memset(&v->v, 0, sizeof v->v); /* kept as sent */
}

/* The first LastChange variable, read into changes; what could not be
 * read, or only in part, becomes a warning. */
static void read_lastchange(ucp_event *ev, const ucp__ev_var *v, int *nomem) {
  char detail[256];
  if (ev->lc || strcmp(v->name, "LastChange") != 0) return;
  if (ucp__lastchange_parse(v->value, strlen(v->value), &ev->lc, detail,
                            sizeof detail) != UCP_OK) {
    ev->warnings = dup(&ev->arena, detail, nomem);
    ev->lc = NULL;
  } else if (ev->lc->partial || *ev->lc->warnings) {
    ev->warnings = dup(&ev->arena, ev->lc->partial
                                       ? "LastChange cut short: the changes "
                                         "before the cut are kept"
                                       : ev->lc->warnings,
                       nomem);
  }
}

ucp_event *ucp__event_notify(ucp__notify *n, const ucp__scpd *scpd) {
  ucp__propset *ps = n->props;
  n->props = NULL;
  ucp_event *ev = event_new(UCP_EVENT_NOTIFY, n->sid);
  int nomem = !ev;
  if (ev) {
    ev->seq = n->seq;
    ev->vars = ucp__arena_alloc(&ev->arena,
                                (ps->n ? ps->n : 1) * sizeof *ev->vars);
    nomem = !ev->vars;
  }
  for (size_t i = 0; !nomem && i < ps->n; i++) {
    ucp__ev_var *v = &ev->vars[ev->nvars++];
    v->name = dup(&ev->arena, ps->props[i].name, &nomem);
    v->value = dup(&ev->arena, ps->props[i].value, &nomem);
    if (!nomem) type_var(ev, v, scpd, &nomem);
    if (!nomem) read_lastchange(ev, v, &nomem);
  }
  if (!nomem && ps->warnings && *ps->warnings && !*ev->warnings)
    ev->warnings = dup(&ev->arena, ps->warnings, &nomem);
  ucp__propset_free(ps);
  if (nomem && ev) {
    event_free(&ev->base);
    ev = NULL;
  }
  return ev;
}

/* ------------------------------------------------------------ accessors */

ucp_event_kind ucp_event_get_kind(const ucp_event *ev) {
  return ev ? ev->kind : (ucp_event_kind)0;
}
ucp_sub_state ucp_event_state(const ucp_event *ev) {
  return ev && ev->kind == UCP_EVENT_STATE ? ev->state : (ucp_sub_state)0;
}
const char *ucp_event_detail(const ucp_event *ev) {
  return ev ? ev->detail : "";
}
const char *ucp_event_sid(const ucp_event *ev) { return ev ? ev->sid : ""; }
uint32_t ucp_event_seq(const ucp_event *ev) { return ev ? ev->seq : 0; }
uint32_t ucp_event_timeout(const ucp_event *ev) {
  return ev ? ev->timeout : 0;
}
size_t ucp_event_var_count(const ucp_event *ev) { return ev ? ev->nvars : 0; }
const char *ucp_event_var_name(const ucp_event *ev, size_t i) {
  return ev && i < ev->nvars ? ev->vars[i].name : NULL;
}
const char *ucp_event_var_value(const ucp_event *ev, size_t i) {
  return ev && i < ev->nvars ? ev->vars[i].value : NULL;
}
ucp_type ucp_event_var_type(const ucp_event *ev, size_t i) {
  return ev && i < ev->nvars ? ev->vars[i].v.type : UCP_TYPE_UNKNOWN;
}
size_t ucp_event_change_count(const ucp_event *ev) {
  return ev && ev->lc ? ev->lc->n : 0;
}
int ucp_event_change(const ucp_event *ev, size_t i, const char **instance,
                     const char **variable, const char **value,
                     const char **channel) {
  if (!ev || !ev->lc || i >= ev->lc->n) return UCP_E_INVALIDARG;
  const ucp__lc_change *c = &ev->lc->changes[i];
  if (instance) *instance = c->instance;
  if (variable) *variable = c->variable;
  if (value) *value = c->value;
  if (channel) *channel = c->channel;
  return UCP_OK;
}
const char *ucp_event_warnings(const ucp_event *ev) {
  return ev ? ev->warnings : "";
}
