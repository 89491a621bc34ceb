/*
 * sim_soap.c - the simulator's control side (UDA 1.0/2.0 section 3.2).
 *
 * A SOAP request (SOAPACTION value and body bytes) is parsed with expat,
 * checked against tables that mirror the SCPDs of sim_docs.c, executed on
 * the device's state under its mutex, and answered with a response or a
 * UPnPError into a fixed buffer. No sockets here: sim.c does the HTTP side
 * (routes, methods, MAN, faults). The answers are documented in sim.h.
 */
#include "sim.h"

#include <expat.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SOAP_ENV_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP_ENC_NS "http://schemas.xmlsoap.org/soap/encoding/"
#define CTL_NS "urn:schemas-upnp-org:control-1-0"
#define NS_SEP ' ' /* expat (2.4.5+) rejects it inside namespace URIs */

#define SIM_MAX_ARGS 4 /* arguments kept; more are counted (402) */
#define SIM_NAME_MAX 64
#define SIM_NS_MAX 128
#define SIM_VAL_MAX 255

/* ------------------------------------------------------------------ */
/* The services: state variables and actions of the SCPDs             */
/* ------------------------------------------------------------------ */

typedef enum { T_BOOL, T_UI1, T_UI4, T_STRING } sim_vtype;

typedef struct sim_var {
  const char *name;
  sim_vtype type;
  bool evented;               /* sendEvents="yes" */
  uint32_t def, min, max;     /* T_STRING: indexes into allowed */
  const char *const *allowed; /* T_STRING: allowedValueList, NULL-ended */
} sim_var;

enum { SP_TARGET, SP_STATUS, SP_NVARS };
enum {
  DIM_LLT, DIM_LLS, DIM_OEL, DIM_OE, DIM_SD, DIM_RR, DIM_RT, DIM_IR, DIM_RP,
  DIM_NVARS
};
#define SIM_MAX_VARS DIM_NVARS

static const char *const sim_on_effects[] = {"OnEffectLevel", "LastSetting",
                                             "Default", NULL};

static const sim_var sim_sp_vars[SP_NVARS] = {
    {"Target", T_BOOL, false, 0, 0, 1, NULL},
    {"Status", T_BOOL, true, 0, 0, 1, NULL},
};

static const sim_var sim_dim_vars[DIM_NVARS] = {
    {"LoadLevelTarget", T_UI1, false, 0, 0, 100, NULL},
    {"LoadLevelStatus", T_UI1, true, 0, 0, 100, NULL},
    {"OnEffectLevel", T_UI1, false, 100, 0, 100, NULL},
    {"OnEffect", T_STRING, false, 2, 0, 2, sim_on_effects},
    {"StepDelta", T_UI1, true, 10, 1, 100, NULL},
    {"RampRate", T_UI1, true, 0, 0, 100, NULL},
    {"RampTime", T_UI4, false, 0, 0, UINT32_MAX, NULL},
    {"IsRamping", T_BOOL, true, 0, 0, 1, NULL},
    {"RampPaused", T_BOOL, true, 0, 0, 1, NULL},
};

typedef struct sim_dstate {
  pthread_mutex_t lock;
  uint32_t v[UCP__SIM_NSVC][SIM_MAX_VARS];
} sim_dstate;

struct ucp__sim_ctl {
  sim_dstate *devs;
  int ndevs;
  atomic_uint_fast64_t actions, faults, changes;
  ucp__sim_gena *gena; /* set before the servers start; NULL = none */
};

struct sim_action;

/* One execution: the action, its checked in-values, the locked state. */
typedef struct sim_exec {
  ucp__sim_ctl *ctl;
  int dev, svc;
  const struct sim_action *act;
  const uint32_t *in;
  const struct sim_var *vars; /* the service's table */
  uint32_t *v; /* the service's values; the device lock is held */
  unsigned changed; /* bit i: evented variable i changed */
} sim_exec;

/* 0, or a UPnPError code (checked before anything is changed). */
typedef int (*sim_act_fn)(sim_exec *x);

typedef struct sim_arg {
  const char *name;
  int var; /* relatedStateVariable */
} sim_arg;

typedef struct sim_action {
  const char *name;
  int nin, nout;
  sim_arg in[2], out[2];
  sim_act_fn fn; /* NULL: store the in-arguments in their variables */
} sim_action;

typedef struct sim_service {
  const char *type;
  const sim_var *vars;
  int nvars;
  const sim_action *acts;
  int nacts;
} sim_service;

/*
 * The GENA hook: every change of an evented variable comes here, with the
 * device lock held. It is noted; sim_flush_events_locked() turns the
 * changes of one action into one event message (UDA 2.0 section 4.2).
 */
static void sim_evented_changed_locked(sim_exec *x, int var, uint32_t val) {
  (void)val;
  x->changed |= 1u << var;
  atomic_fetch_add(&x->ctl->changes, 1);
}

static void sim_prop(ucp__sim_prop *p, const sim_var *v, uint32_t val) {
  p->name = v->name;
  if (v->type == T_STRING)
    snprintf(p->val, sizeof p->val, "%s", v->allowed[val]);
  else
    snprintf(p->val, sizeof p->val, "%u", (unsigned)val);
}

/* Still under the device lock, so events leave in the order of changes. */
static void sim_flush_events_locked(sim_exec *x) {
  if (!x->changed || !x->ctl->gena) return;
  ucp__sim_prop p[SIM_MAX_VARS];
  int n = 0;
  for (int i = 0; i < SIM_MAX_VARS; i++)
    if (x->changed & (1u << i)) sim_prop(&p[n++], &x->vars[i], x->v[i]);
  x->changed = 0;
  ucp__sim_gena_event_locked(x->ctl->gena, x->dev, x->svc, p, n);
}

/* The only way a state variable changes. */
static void sim_set_locked(sim_exec *x, int var, uint32_t val) {
  if (x->v[var] == val) return;
  x->v[var] = val;
  if (x->vars[var].evented)
    sim_evented_changed_locked(x, var, val);
}

static int sim_store_in(sim_exec *x) {
  for (int i = 0; i < x->act->nin; i++)
    sim_set_locked(x, x->act->in[i].var, x->in[i]);
  return 0;
}

static int sim_sp_set_target(sim_exec *x) {
  sim_store_in(x);
  sim_set_locked(x, SP_STATUS, x->v[SP_TARGET]);
  return 0;
}

/* Ramps complete at once: the status reaches the target. */
static void sim_dim_go_locked(sim_exec *x, uint32_t level) {
  sim_set_locked(x, DIM_LLT, level);
  sim_set_locked(x, DIM_LLS, level);
}

static int sim_dim_set_target(sim_exec *x) {
  sim_store_in(x); /* LoadLevelTarget, and RampTime for StartRampToLevel */
  sim_dim_go_locked(x, x->v[DIM_LLT]);
  return 0;
}

static int sim_dim_step_up(sim_exec *x) {
  uint32_t l = x->v[DIM_LLS] + x->v[DIM_SD];
  sim_dim_go_locked(x, l > 100 ? 100 : l);
  return 0;
}

static int sim_dim_step_down(sim_exec *x) {
  uint32_t l = x->v[DIM_LLS], d = x->v[DIM_SD];
  sim_dim_go_locked(x, l > d ? l - d : 0);
  return 0;
}

static int sim_dim_ramp_up(sim_exec *x) {
  sim_dim_go_locked(x, 100);
  return 0;
}

static int sim_dim_ramp_down(sim_exec *x) {
  sim_dim_go_locked(x, 0);
  return 0;
}

static int sim_dim_stop_ramp(sim_exec *x) {
  sim_set_locked(x, DIM_IR, 0);
  sim_set_locked(x, DIM_RP, 0);
  sim_set_locked(x, DIM_LLT, x->v[DIM_LLS]);
  return 0;
}

static int sim_dim_pause(sim_exec *x) {
  sim_set_locked(x, DIM_RP, 1);
  return 0;
}

static int sim_dim_resume(sim_exec *x) {
  if (!x->v[DIM_RP]) return 501; /* nothing paused */
  sim_set_locked(x, DIM_RP, 0);
  return 0;
}

#define IN1(n, v) .nin = 1, .in = {{n, v}}
#define OUT1(n, v) .nout = 1, .out = {{n, v}}

static const sim_action sim_sp_acts[] = {
    {"SetTarget", IN1("newTargetValue", SP_TARGET), .fn = sim_sp_set_target},
    {"GetTarget", OUT1("RetTargetValue", SP_TARGET)},
    {"GetStatus", OUT1("ResultStatus", SP_STATUS)},
};

static const sim_action sim_dim_acts[] = {
    {"SetLoadLevelTarget", IN1("newLoadlevelTarget", DIM_LLT),
     .fn = sim_dim_set_target},
    {"GetLoadLevelTarget", OUT1("retLoadlevelTarget", DIM_LLT)},
    {"GetLoadLevelStatus", OUT1("retLoadlevelStatus", DIM_LLS)},
    {"SetOnEffectLevel", IN1("newOnEffectLevel", DIM_OEL)},
    {"SetOnEffect", IN1("newOnEffect", DIM_OE)},
    {"GetOnEffectParameters", .nout = 2,
     .out = {{"retOnEffect", DIM_OE}, {"retOnEffectLevel", DIM_OEL}}},
    {"StepUp", .fn = sim_dim_step_up},
    {"StepDown", .fn = sim_dim_step_down},
    {"StartRampUp", .fn = sim_dim_ramp_up},
    {"StartRampDown", .fn = sim_dim_ramp_down},
    {"StopRamp", .fn = sim_dim_stop_ramp},
    {"StartRampToLevel", .nin = 2,
     .in = {{"newLoadLevelTarget", DIM_LLT}, {"newRampTime", DIM_RT}},
     .fn = sim_dim_set_target},
    {"SetStepDelta", IN1("newStepDelta", DIM_SD)},
    {"GetStepDelta", OUT1("retStepDelta", DIM_SD)},
    {"SetRampRate", IN1("newRampRate", DIM_RR)},
    {"GetRampRate", OUT1("retRampRate", DIM_RR)},
    {"PauseRamp", .fn = sim_dim_pause},
    {"ResumeRamp", .fn = sim_dim_resume},
    {"GetIsRamping", OUT1("retIsRamping", DIM_IR)},
    {"GetRampPaused", OUT1("retRampPaused", DIM_RP)},
    {"GetRampTime", OUT1("retRampTime", DIM_RT)},
};

#define SIM_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const sim_service sim_services[UCP__SIM_NSVC] = {
    {"urn:schemas-upnp-org:service:SwitchPower:1", sim_sp_vars, SP_NVARS,
     sim_sp_acts, SIM_COUNT(sim_sp_acts)},
    {"urn:schemas-upnp-org:service:Dimming:1", sim_dim_vars, DIM_NVARS,
     sim_dim_acts, SIM_COUNT(sim_dim_acts)},
};

static const sim_action *sim_find_action(const sim_service *svc,
                                         const char *name) {
  for (int i = 0; i < svc->nacts; i++)
    if (strcmp(svc->acts[i].name, name) == 0) return &svc->acts[i];
  return NULL;
}

static int sim_find_var(const sim_service *svc, const char *name) {
  for (int i = 0; i < svc->nvars; i++)
    if (strcmp(svc->vars[i].name, name) == 0) return i;
  return -1;
}

/* ------------------------------------------------------------------ */
/* Life cycle and accessors                                           */
/* ------------------------------------------------------------------ */

static void sim_dstate_init(sim_dstate *d) {
  for (int s = 0; s < UCP__SIM_NSVC; s++)
    for (int i = 0; i < sim_services[s].nvars; i++)
      d->v[s][i] = sim_services[s].vars[i].def;
}

ucp__sim_ctl *ucp__sim_ctl_new(int ndevs) {
  ucp__sim_ctl *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->devs = calloc((size_t)(ndevs > 0 ? ndevs : 1), sizeof *c->devs);
  if (!c->devs) {
    free(c);
    return NULL;
  }
  for (; c->ndevs < ndevs; c->ndevs++) {
    sim_dstate *d = &c->devs[c->ndevs];
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
      ucp__sim_ctl_free(c);
      return NULL;
    }
    sim_dstate_init(d);
  }
  return c;
}

void ucp__sim_ctl_free(ucp__sim_ctl *c) {
  if (!c) return;
  for (int i = 0; i < c->ndevs; i++) pthread_mutex_destroy(&c->devs[i].lock);
  free(c->devs);
  free(c);
}

static bool sim_read_var(ucp__sim_ctl *c, int dev, int svc, int var,
                         uint32_t *val) {
  if (!c || dev < 0 || dev >= c->ndevs) return false;
  sim_dstate *d = &c->devs[dev];
  pthread_mutex_lock(&d->lock);
  *val = d->v[svc][var];
  pthread_mutex_unlock(&d->lock);
  return true;
}

int ucp__sim_ctl_switch_status(ucp__sim_ctl *c, int dev) {
  uint32_t v;
  if (!sim_read_var(c, dev, UCP__SIM_SVC_SWITCHPOWER, SP_STATUS, &v))
    return -1;
  return (int)v;
}

unsigned ucp__sim_ctl_load_level(ucp__sim_ctl *c, int dev) {
  uint32_t v;
  if (!sim_read_var(c, dev, UCP__SIM_SVC_DIMMING, DIM_LLS, &v)) return UINT_MAX;
  return (unsigned)v;
}

uint64_t ucp__sim_ctl_actions(const ucp__sim_ctl *c) {
  return c ? (uint64_t)atomic_load(&((ucp__sim_ctl *)(uintptr_t)c)->actions)
           : 0;
}

uint64_t ucp__sim_ctl_faults(const ucp__sim_ctl *c) {
  return c ? (uint64_t)atomic_load(&((ucp__sim_ctl *)(uintptr_t)c)->faults)
           : 0;
}

uint64_t ucp__sim_ctl_changes(const ucp__sim_ctl *c) {
  return c ? (uint64_t)atomic_load(&((ucp__sim_ctl *)(uintptr_t)c)->changes)
           : 0;
}

void ucp__sim_ctl_set_gena(ucp__sim_ctl *c, ucp__sim_gena *g) { c->gena = g; }

/* The initial event's variables (UDA 2.0 section 4.2.1), read under the
 * same lock as the changes, so none is missed or sent twice. */
int ucp__sim_ctl_evented(ucp__sim_ctl *c, int dev, int svc,
                         ucp__sim_props_fn fn, void *arg) {
  if (!c || dev < 0 || dev >= c->ndevs || svc < 0 || svc >= UCP__SIM_NSVC)
    return -1;
  const sim_service *sv = &sim_services[svc];
  sim_dstate *d = &c->devs[dev];
  ucp__sim_prop p[SIM_MAX_VARS];
  int n = 0;
  pthread_mutex_lock(&d->lock);
  for (int i = 0; i < sv->nvars; i++)
    if (sv->vars[i].evented) sim_prop(&p[n++], &sv->vars[i], d->v[svc][i]);
  fn(arg, p, n);
  pthread_mutex_unlock(&d->lock);
  return 0;
}

/* ------------------------------------------------------------------ */
/* The request: expat with namespaces, DOCTYPE refused                */
/* ------------------------------------------------------------------ */

typedef struct sim_arg_in {
  char name[SIM_NAME_MAX]; /* local name; "" if too long (never matches) */
  char val[SIM_VAL_MAX + 1];
  size_t len;
  bool too_long;
} sim_arg_in;

/* Envelope (depth 1) / Body (2) / action (3) / arguments (4). */
typedef struct sim_msg {
  XML_Parser xp;
  int depth;
  int skip;      /* depth of an ignored subtree (s:Header), 0 if none */
  bool doctype;  /* refused */
  bool bad;      /* not Envelope/Body/one action element */
  bool body_seen, have_action, nested;
  char ns[SIM_NS_MAX], name[SIM_NAME_MAX]; /* the action element */
  int nargs; /* children of the action element; may exceed SIM_MAX_ARGS */
  sim_arg_in args[SIM_MAX_ARGS];
} sim_msg;

/* "uri local" or "local": copies both parts; false if one is too long. */
static bool sim_split_name(const char *name, char *ns, size_t nscap,
                           char *local, size_t lcap) {
  const char *sep = strrchr(name, NS_SEP);
  const char *l = sep ? sep + 1 : name;
  size_t nl = sep ? (size_t)(sep - name) : 0;
  if (nl >= nscap || strlen(l) >= lcap) return false;
  memcpy(ns, name, nl);
  ns[nl] = '\0';
  strcpy(local, l);
  return true;
}

static void sim_on_body_child(sim_msg *m, const char *name) {
  if (m->have_action ||
      !sim_split_name(name, m->ns, sizeof m->ns, m->name, sizeof m->name))
    m->bad = true;
  m->have_action = true;
}

static void sim_on_arg(sim_msg *m, const char *name) {
  int i = m->nargs++;
  if (i >= SIM_MAX_ARGS) return;
  char ns[SIM_NS_MAX];
  if (!sim_split_name(name, ns, sizeof ns, m->args[i].name,
                      sizeof m->args[i].name))
    m->args[i].name[0] = '\0';
}

static void XMLCALL sim_on_start(void *ud, const XML_Char *name,
                                 const XML_Char **atts) {
  sim_msg *m = ud;
  (void)atts;
  int d = ++m->depth;
  if (m->skip || m->bad) return;
  if (d == 1) {
    m->bad = strcmp(name, SOAP_ENV_NS " Envelope") != 0;
  } else if (d == 2) {
    if (strcmp(name, SOAP_ENV_NS " Header") == 0 && !m->body_seen)
      m->skip = d;
    else if (strcmp(name, SOAP_ENV_NS " Body") == 0 && !m->body_seen)
      m->body_seen = true;
    else
      m->bad = true;
  } else if (d == 3) {
    sim_on_body_child(m, name);
  } else if (d == 4) {
    sim_on_arg(m, name);
  } else {
    m->nested = true;
  }
}

static void XMLCALL sim_on_end(void *ud, const XML_Char *name) {
  sim_msg *m = ud;
  (void)name;
  if (m->skip == m->depth) m->skip = 0;
  m->depth--;
}

static void XMLCALL sim_on_text(void *ud, const XML_Char *s, int len) {
  sim_msg *m = ud;
  if (m->skip || m->bad || m->depth != 4 || m->nargs > SIM_MAX_ARGS) return;
  sim_arg_in *a = &m->args[m->nargs - 1];
  if ((size_t)len > SIM_VAL_MAX - a->len) {
    a->too_long = true;
    return;
  }
  memcpy(a->val + a->len, s, (size_t)len);
  a->len += (size_t)len;
  a->val[a->len] = '\0';
}

static void XMLCALL sim_on_doctype(void *ud, const XML_Char *name,
                                   const XML_Char *sysid,
                                   const XML_Char *pubid, int has_internal) {
  sim_msg *m = ud;
  (void)name;
  (void)sysid;
  (void)pubid;
  (void)has_internal;
  m->doctype = true;
  XML_StopParser(m->xp, XML_FALSE);
}

/* The connection's parser, reset for reuse, or a new one stored there. */
static XML_Parser sim_parser(void **slot) {
  if (slot && *slot) {
    if (XML_ParserReset(*slot, NULL)) return *slot;
    XML_ParserFree(*slot);
    *slot = NULL;
  }
  XML_Parser xp = XML_ParserCreateNS(NULL, NS_SEP);
  if (slot) *slot = xp;
  return xp;
}

void ucp__sim_soap_parser_free(void *parser) {
  if (parser) XML_ParserFree(parser);
}

/* 0 well-formed, -1 not XML or a DOCTYPE, -2 out of memory. */
static int sim_parse(void **slot, const char *body, size_t len, sim_msg *m) {
  XML_Parser xp = sim_parser(slot);
  if (!xp) return -2;
  m->xp = xp;
  XML_SetUserData(xp, m);
  XML_SetElementHandler(xp, sim_on_start, sim_on_end);
  XML_SetCharacterDataHandler(xp, sim_on_text);
  XML_SetStartDoctypeDeclHandler(xp, sim_on_doctype);
  XML_SetParamEntityParsing(xp, XML_PARAM_ENTITY_PARSING_NEVER);
  enum XML_Status st = len > INT_MAX
                           ? XML_STATUS_ERROR
                           : XML_Parse(xp, body, (int)len, XML_TRUE);
  if (!slot) XML_ParserFree(xp);
  return st == XML_STATUS_OK && !m->doctype ? 0 : -1;
}

/* "serviceType#action", optionally quoted (UDA 1.0 section 3.2.1). */
static bool sim_split_soapaction(const char *h, char *type, size_t tcap,
                                 char *act, size_t acap) {
  const char *b = h + strspn(h, " \t");
  const char *e = b + strlen(b);
  while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
  if (e - b >= 2 && *b == '"' && e[-1] == '"') {
    b++;
    e--;
  }
  const char *hash = NULL;
  for (const char *p = b; p < e; p++)
    if (*p == '#') hash = p;
  if (!hash || hash == b || hash + 1 == e) return false;
  size_t tl = (size_t)(hash - b), al = (size_t)(e - hash - 1);
  if (tl >= tcap || al >= acap) return false;
  memcpy(type, b, tl);
  type[tl] = '\0';
  memcpy(act, hash + 1, al);
  act[al] = '\0';
  return true;
}

/* ------------------------------------------------------------------ */
/* Argument values (UDA 2.0 section 2.5 data types)                   */
/* ------------------------------------------------------------------ */

static bool sim_xml_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool sim_parse_bool(const char *s, size_t n, uint32_t *out) {
  static const char *const words[] = {"0", "false", "no", "1", "true", "yes"};
  for (int i = 0; i < 6; i++) {
    if (strlen(words[i]) == n && strncasecmp(s, words[i], n) == 0) {
      *out = i >= 3;
      return true;
    }
  }
  return false;
}

/* 0, 600 (not a number of the type) or 601 (outside the range). */
static int sim_parse_uint(const sim_var *v, const char *s, size_t n,
                          uint32_t *out) {
  uint64_t max = v->type == T_UI1 ? 255u : UINT32_MAX, x = 0;
  if (n == 0) return 600;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 600;
    x = x * 10 + (uint64_t)(s[i] - '0');
    if (x > max) return 600;
  }
  if (x < v->min || x > v->max) return 601;
  *out = (uint32_t)x;
  return 0;
}

static int sim_parse_enum(const sim_var *v, const char *s, uint32_t *out) {
  for (uint32_t i = 0; v->allowed[i]; i++) {
    if (strcmp(v->allowed[i], s) == 0) {
      *out = i;
      return 0;
    }
  }
  return 600;
}

static int sim_parse_value(const sim_var *v, const sim_arg_in *a,
                           uint32_t *out) {
  if (a->too_long) return 600;
  if (v->type == T_STRING) return sim_parse_enum(v, a->val, out);
  const char *s = a->val;
  size_t n = a->len;
  while (n && sim_xml_space(*s)) s++, n--;
  while (n && sim_xml_space(s[n - 1])) n--;
  if (v->type == T_BOOL) return sim_parse_bool(s, n, out) ? 0 : 600;
  return sim_parse_uint(v, s, n, out);
}

/* Names first (402), then values (600/601), as UDA asks for the most
 * specific error. */
static int sim_check_args(const sim_service *svc, const sim_action *a,
                          const sim_msg *m, uint32_t *vals) {
  if (m->nested || m->nargs != a->nin) return 402;
  for (int i = 0; i < a->nin; i++)
    if (strcmp(m->args[i].name, a->in[i].name) != 0) return 402;
  for (int i = 0; i < a->nin; i++) {
    int code = sim_parse_value(&svc->vars[a->in[i].var], &m->args[i], &vals[i]);
    if (code) return code;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Answers                                                            */
/* ------------------------------------------------------------------ */

#define SIM_ENV_HEAD                                         \
  "<?xml version=\"1.0\"?>\n"                                \
  "<s:Envelope xmlns:s=\"" SOAP_ENV_NS "\" s:encodingStyle=\"" \
  SOAP_ENC_NS "\"><s:Body>"
#define SIM_ENV_TAIL "</s:Body></s:Envelope>"

static void sim_put(ucp__sim_soap_out *o, const char *s) {
  size_t n = strlen(s);
  if (n >= sizeof o->body - o->len) { /* cannot happen: table data */
    o->status = 503;
    return;
  }
  memcpy(o->body + o->len, s, n + 1);
  o->len += n;
}

static void sim_text(ucp__sim_soap_out *o, unsigned status, const char *t) {
  o->status = status;
  o->ctype = "text/plain";
  o->len = 0;
  sim_put(o, t);
}

static const char *sim_error_text(int code) {
  switch (code) {
    case 401: return "Invalid Action";
    case 402: return "Invalid Args";
    case 404: return "Invalid Var";
    case 501: return "Action Failed";
    case 600: return "Argument Value Invalid";
    case 601: return "Argument Value Out of Range";
    default: return "Action Failed";
  }
}

/* UDA 2.0 section 3.2.5: HTTP 500 with a SOAP fault. */
static void sim_fault(ucp__sim_ctl *c, ucp__sim_soap_out *o, int code) {
  char num[16];
  snprintf(num, sizeof num, "%d", code);
  o->status = 500;
  o->ctype = "text/xml; charset=\"utf-8\"";
  o->upnp_error = code;
  o->len = 0;
  sim_put(o, SIM_ENV_HEAD "<s:Fault><faultcode>s:Client</faultcode>"
             "<faultstring>UPnPError</faultstring><detail>"
             "<UPnPError xmlns=\"" CTL_NS "\"><errorCode>");
  sim_put(o, num);
  sim_put(o, "</errorCode><errorDescription>");
  sim_put(o, sim_error_text(code));
  sim_put(o, "</errorDescription></UPnPError></detail></s:Fault>"
             SIM_ENV_TAIL);
  atomic_fetch_add(&c->faults, 1);
}

/* Up to the response element's start tag (UDA 2.0 section 3.2.2). */
static void sim_response_head(ucp__sim_soap_out *o, const char *type,
                              const char *act) {
  o->status = 200;
  o->ctype = "text/xml; charset=\"utf-8\"";
  o->len = 0;
  sim_put(o, SIM_ENV_HEAD "<u:");
  sim_put(o, act);
  sim_put(o, "Response xmlns:u=\"");
  sim_put(o, type);
  sim_put(o, "\">");
  o->head_len = o->val_start = o->val_end = o->len;
}

static void sim_response_arg(ucp__sim_soap_out *o, const char *name,
                             const char *val) {
  sim_put(o, "<");
  sim_put(o, name);
  sim_put(o, ">");
  if (o->nout++ == 0) o->val_start = o->len;
  sim_put(o, val);
  if (o->nout == 1) o->val_end = o->len;
  sim_put(o, "</");
  sim_put(o, name);
  sim_put(o, ">");
}

static void sim_response_tail(ucp__sim_soap_out *o, const char *act) {
  sim_put(o, "</u:");
  sim_put(o, act);
  sim_put(o, "Response>" SIM_ENV_TAIL);
}

/* Booleans as 0/1 (UDA 2.0 section 2.5: the canonical form). */
static const char *sim_format(const sim_var *v, uint32_t val, char *buf,
                              size_t cap) {
  if (v->type == T_STRING) return v->allowed[val];
  snprintf(buf, cap, "%u", (unsigned)val);
  return buf;
}

/* Runs a checked action under the device lock; 0 or a UPnPError code.
 * outv may be NULL. */
static int sim_exec_run(ucp__sim_ctl *c, int dev, int svc, const sim_action *a,
                        const uint32_t *vals, uint32_t *outv) {
  sim_dstate *d = &c->devs[dev];
  pthread_mutex_lock(&d->lock);
  sim_exec x = {c, dev, svc, a, vals, sim_services[svc].vars, d->v[svc], 0};
  int code = a->fn ? a->fn(&x) : sim_store_in(&x);
  for (int i = 0; outv && i < a->nout; i++) outv[i] = x.v[a->out[i].var];
  sim_flush_events_locked(&x);
  pthread_mutex_unlock(&d->lock);
  return code;
}

static int sim_execute(ucp__sim_ctl *c, const ucp__sim_soap_in *in,
                       const sim_action *a, const uint32_t *vals,
                       uint32_t *outv) {
  int code = sim_exec_run(c, in->dev, in->svc, a, vals, outv);
  if (code == 0) atomic_fetch_add(&c->actions, 1);
  return code;
}

/* SetTarget's path without SOAP (tests and benchmarks): same events. */
int ucp__sim_ctl_set_switch(ucp__sim_ctl *c, int dev, int on) {
  if (!c || dev < 0 || dev >= c->ndevs) return -1;
  const sim_service *sv = &sim_services[UCP__SIM_SVC_SWITCHPOWER];
  uint32_t val = on != 0;
  return sim_exec_run(c, dev, UCP__SIM_SVC_SWITCHPOWER,
                      sim_find_action(sv, "SetTarget"), &val, NULL);
}

static int sim_run_action(ucp__sim_ctl *c, const ucp__sim_soap_in *in,
                          const sim_msg *m, ucp__sim_soap_out *o) {
  const sim_service *svc = &sim_services[in->svc];
  const sim_action *a = sim_find_action(svc, m->name);
  if (!a || strcmp(m->ns, svc->type) != 0) return 401;
  uint32_t vals[2] = {0}, outv[2] = {0};
  int code = sim_check_args(svc, a, m, vals);
  if (code) return code;
  if (in->execute && (code = sim_execute(c, in, a, vals, outv)) != 0)
    return code;
  sim_response_head(o, svc->type, a->name);
  if (!in->execute) return 0;
  for (int i = 0; i < a->nout; i++) {
    char buf[16];
    const sim_var *v = &svc->vars[a->out[i].var];
    sim_response_arg(o, a->out[i].name, sim_format(v, outv[i], buf, sizeof buf));
  }
  sim_response_tail(o, a->name);
  return 0;
}

/* UDA 1.0 section 3.2.2 (deprecated since 1.1): QueryStateVariable. */
static int sim_run_query(ucp__sim_ctl *c, const ucp__sim_soap_in *in,
                         const sim_msg *m, ucp__sim_soap_out *o) {
  const sim_service *svc = &sim_services[in->svc];
  if (strcmp(m->name, "QueryStateVariable") != 0) return 401;
  if (m->nested || m->nargs != 1 || strcmp(m->args[0].name, "varName") != 0)
    return 402;
  int var = m->args[0].too_long ? -1 : sim_find_var(svc, m->args[0].val);
  if (var < 0) return 404;
  sim_response_head(o, CTL_NS, "QueryStateVariable");
  if (!in->execute) return 0;
  uint32_t val = 0;
  sim_read_var(c, in->dev, in->svc, var, &val);
  atomic_fetch_add(&c->actions, 1);
  char buf[16];
  sim_response_arg(o, "return", sim_format(&svc->vars[var], val, buf,
                                           sizeof buf));
  sim_response_tail(o, "QueryStateVariable");
  return 0;
}

/* The header's type and action must be the element's (401 otherwise). */
static int sim_run(ucp__sim_ctl *c, const ucp__sim_soap_in *in,
                   const char *type, const char *act, const sim_msg *m,
                   ucp__sim_soap_out *o) {
  if (m->bad || !m->have_action || strcmp(m->ns, type) != 0 ||
      strcmp(m->name, act) != 0)
    return 401;
  if (strcmp(type, CTL_NS) == 0) return sim_run_query(c, in, m, o);
  return sim_run_action(c, in, m, o);
}

void ucp__sim_soap_handle(ucp__sim_ctl *c, const ucp__sim_soap_in *in,
                          ucp__sim_soap_out *o) {
  char type[SIM_NS_MAX], act[SIM_NAME_MAX];
  o->len = o->head_len = o->val_start = o->val_end = 0;
  o->nout = 0;
  o->upnp_error = 0;
  o->body[0] = '\0';
  if (in->dev < 0 || in->dev >= c->ndevs || in->svc < 0 ||
      in->svc >= UCP__SIM_NSVC) {
    sim_text(o, 404, "no such service\n");
    return;
  }
  if (!in->soapaction || !sim_split_soapaction(in->soapaction, type,
                                               sizeof type, act, sizeof act)) {
    sim_text(o, 400, "missing or malformed SOAPACTION\n");
    return;
  }
  sim_msg m;
  memset(&m, 0, sizeof m);
  int rc = sim_parse(in->parser, in->body ? in->body : "", in->body_len, &m);
  if (rc != 0) {
    sim_text(o, rc == -2 ? 503 : 400,
             rc == -2    ? "out of memory\n"
             : m.doctype ? "DOCTYPE refused\n"
                         : "body is not well-formed XML\n");
    return;
  }
  int code = sim_run(c, in, type, act, &m, o);
  if (code) sim_fault(c, o, code);
}
