/* args.c - action arguments against the SCPD (UDA 2.0 §2.5, §3.2):
 * checking and ordering what an invoke sends, typing what comes back.
 * Sans-I/O: no sockets, no loop. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/mem.h"
#include "control.h"

/* ------------------------------------------------------------ helpers */

/* A value quoted for a message: at most 40 bytes, controls as '?', cut
 * between UTF-8 characters (not inside one). */
static void quote_value(const char *v, char *out, size_t cap) {
  size_t n = 0;
  for (; v && *v && n + 4 < cap && n < 40; v++)
    out[n++] = (unsigned char)*v < 0x20 || *v == 0x7f ? '?' : *v;
  if (v && *v) {
    while (n && ((unsigned char)*v & 0xC0) == 0x80) /* *v continues out[n-1] */
      v--, n--;
    if (n + 4 <= cap) out[n++] = '.', out[n++] = '.', out[n++] = '.';
  }
  out[n] = '\0';
}

static const char *type_label(const ucp__statevar *var) {
  const char *n = var ? ucp_type_name(var->type) : NULL;
  return n ? n : "string";
}

/* ------------------------------------------------------------ in-arguments */

/* Index in act->args of the in-argument named `name`: exact, else any
 * case; -1 if none. */
static long find_in_arg(const ucp__action *act, const char *name) {
  for (size_t j = 0; j < act->nargs; j++)
    if (act->args[j].dir == UCP__DIR_IN && strcmp(act->args[j].name, name) == 0)
      return (long)j;
  for (size_t j = 0; j < act->nargs; j++)
    if (act->args[j].dir == UCP__DIR_IN &&
        strcasecmp(act->args[j].name, name) == 0)
      return (long)j;
  return -1;
}

/* Match every given argument to an SCPD in-argument: given[j] is the index
 * in `args` for act->args[j], or -1. */
static int match_args(const ucp__action *act, const ucp_arg *args,
                      size_t nargs, long *given, char *why, size_t cap) {
  for (size_t j = 0; j < act->nargs; j++) given[j] = -1;
  for (size_t i = 0; i < nargs; i++) {
    if (!args[i].name) {
      snprintf(why, cap, "%s: argument %zu has no name", act->name, i);
      return UCP_E_INVALIDARG;
    }
    long j = find_in_arg(act, args[i].name);
    if (j < 0) {
      snprintf(why, cap, "%s has no in-argument '%.64s'", act->name,
               args[i].name);
      return UCP_E_INVALIDARG;
    }
    if (given[j] >= 0) {
      snprintf(why, cap, "%s: argument '%s' given twice", act->name,
               act->args[j].name);
      return UCP_E_INVALIDARG;
    }
    given[j] = (long)i;
  }
  for (size_t j = 0; j < act->nargs; j++)
    if (act->args[j].dir == UCP__DIR_IN && given[j] < 0) {
      snprintf(why, cap, "%s needs argument '%s' (%s)", act->name,
               act->args[j].name, type_label(act->args[j].var));
      return UCP_E_INVALIDARG;
    }
  return UCP_OK;
}

/* Check one value against its variable; the canonical text goes to
 * buf[0..cap). */
static int check_value(const ucp__action *act, const ucp__arg *a,
                       const char *value, char *buf, size_t cap,
                       const char **canon, char *why, size_t why_cap) {
  const ucp__statevar *var = a->var;
  *canon = value;
  if (!var || var->type == UCP_TYPE_UNKNOWN) return UCP_OK;
  ucp__value v;
  const char *rule = NULL;
  int rc = ucp__value_parse(var->type, value, strlen(value), buf, cap, &v,
                            &rule);
  if (rc == UCP_OK && var->has_range)
    rc = ucp__value_check_range(&v, var->min, var->max, var->step, &rule);
  if (rc == UCP_OK && var->nallowed)
    rc = ucp__value_check_list(&v, var->allowed, var->nallowed, &rule);
  if (rc != UCP_OK) {
    char q[64];
    quote_value(value, q, sizeof q);
    snprintf(why, why_cap, "%s argument '%s' = '%s': %s", act->name, a->name,
             q, rule ? rule : "invalid value");
    return UCP_E_INVALIDARG;
  }
  *canon = v.text;
  return UCP_OK;
}

static int inargs_alloc(ucp__inargs *out, size_t n, size_t store) {
  memset(out, 0, sizeof *out);
  out->names = ucp__calloc(n ? n : 1, sizeof *out->names);
  out->values = ucp__calloc(n ? n : 1, sizeof *out->values);
  out->store = store ? ucp__malloc(store) : NULL;
  if (!out->names || !out->values || (store && !out->store)) {
    ucp__inargs_free(out);
    return UCP_E_NOMEM;
  }
  return UCP_OK;
}

/* Bytes of canonical text the arguments may need: n + 32 each. */
static size_t store_size(const ucp_arg *args, size_t nargs) {
  size_t total = 0;
  for (size_t i = 0; i < nargs; i++)
    total += (args[i].value ? strlen(args[i].value) : 0) + 32;
  return total;
}

int ucp__inargs_from_scpd(const ucp__action *act, const ucp_arg *args,
                          size_t nargs, ucp__inargs *out, char *why,
                          size_t why_cap) {
  memset(out, 0, sizeof *out);
  long *given = ucp__calloc(act->nargs ? act->nargs : 1, sizeof *given);
  if (!given) return UCP_E_NOMEM;
  int rc = match_args(act, args, nargs, given, why, why_cap);
  size_t cap = store_size(args, nargs);
  if (rc == UCP_OK) rc = inargs_alloc(out, act->nin, cap);
  char *store = out->store;
  for (size_t j = 0; rc == UCP_OK && j < act->nargs; j++) {
    const ucp__arg *a = &act->args[j];
    if (a->dir != UCP__DIR_IN) continue;
    const char *value = args[given[j]].value ? args[given[j]].value : "";
    const char *canon;
    size_t room = cap - (size_t)(store - out->store);
    rc = check_value(act, a, value, store, room, &canon, why, why_cap);
    if (rc != UCP_OK) break;
    out->names[out->n] = a->name;
    out->values[out->n++] = canon;
    if (canon == store) store += strlen(store) + 1;
  }
  ucp__free(given);
  if (rc != UCP_OK) ucp__inargs_free(out);
  else if (rc == UCP_OK && why_cap) why[0] = '\0';
  if (rc == UCP_E_NOMEM) snprintf(why, why_cap, "out of memory");
  return rc;
}

int ucp__inargs_raw(const ucp_arg *args, size_t nargs, ucp__inargs *out) {
  int rc = inargs_alloc(out, nargs, 0);
  for (size_t i = 0; rc == UCP_OK && i < nargs; i++) {
    out->names[i] = args[i].name;
    out->values[i] = args[i].value ? args[i].value : "";
  }
  if (rc == UCP_OK) out->n = nargs;
  return rc;
}

void ucp__inargs_free(ucp__inargs *a) {
  ucp__free(a->names);
  ucp__free(a->values);
  ucp__free(a->store);
  memset(a, 0, sizeof *a);
}

/* ------------------------------------------------------------ out-arguments */

typedef struct outs_build {
  ucp__outs *o;
  char *warn;
  size_t warn_len, warn_cap;
  int nomem;
} outs_build;

static void warnf(outs_build *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void warnf(outs_build *b, const char *fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t len = strlen(line);
  line[len++] = '\n';
  if (ucp__bytes_append(&b->warn, &b->warn_len, &b->warn_cap, line, len))
    b->nomem = 1;
}

static int outs_new(outs_build *b, size_t cap) {
  memset(b, 0, sizeof *b);
  b->o = ucp__calloc(1, sizeof *b->o);
  if (!b->o) return UCP_E_NOMEM;
  ucp__arena_init(&b->o->arena);
  b->o->items = ucp__arena_alloc(&b->o->arena, (cap ? cap : 1) * sizeof(ucp__out));
  if (!b->o->items) {
    ucp__outs_free(b->o);
    return UCP_E_NOMEM;
  }
  return UCP_OK;
}

/* Append one out-argument, typed by `type` (UNKNOWN keeps the text). */
static void outs_add(outs_build *b, const char *name, const char *value,
                     ucp_type type) {
  ucp__outs *o = b->o;
  ucp__out *it = &o->items[o->n++];
  it->name = ucp__arena_strndup(&o->arena, name, strlen(name));
  if (!it->name) b->nomem = 1;
  it->v.type = UCP_TYPE_UNKNOWN;
  if (!value) return;
  size_t n = strlen(value);
  if (type != UCP_TYPE_UNKNOWN) {
    char *buf = ucp__arena_alloc(&o->arena, n + 32);
    const char *rule = NULL;
    if (!buf) b->nomem = 1;
    else if (ucp__value_parse(type, value, n, buf, n + 32, &it->v, &rule) ==
             UCP_OK) {
      it->value = it->v.text;
      return;
    } else {
      char q[64];
      quote_value(value, q, sizeof q);
      warnf(b, "out-argument '%.64s' = '%s': %s (kept as sent)", name, q,
            rule ? rule : "invalid");
    }
  }
  memset(&it->v, 0, sizeof it->v);
  it->v.text = it->value = ucp__arena_strndup(&o->arena, value, n);
  it->v.len = n;
  if (!it->value) b->nomem = 1;
}

static int outs_finish(outs_build *b, const ucp__soap_result *res,
                       ucp__outs **out) {
  if (res->warnings && *res->warnings)
    if (ucp__bytes_append(&b->warn, &b->warn_len, &b->warn_cap, res->warnings,
                          strlen(res->warnings)))
      b->nomem = 1;
  ucp__outs *o = b->o;
  o->warnings = b->warn ? ucp__arena_strndup(&o->arena, b->warn, b->warn_len)
                        : "";
  ucp__free(b->warn);
  if (b->nomem || !o->warnings) {
    ucp__outs_free(o);
    return UCP_E_NOMEM;
  }
  *out = o;
  return UCP_OK;
}

/* Index in res of the out-argument `name` not used yet: exact, else any
 * case; -1 if none. */
static long find_out(const ucp__soap_result *res, const char *name,
                     const unsigned char *used) {
  for (size_t i = 0; i < res->nargs; i++)
    if (!used[i] && strcmp(res->names[i], name) == 0) return (long)i;
  for (size_t i = 0; i < res->nargs; i++)
    if (!used[i] && strcasecmp(res->names[i], name) == 0) return (long)i;
  return -1;
}

static void add_scpd_outs(outs_build *b, const ucp__action *act,
                          const ucp__soap_result *res, unsigned char *used) {
  for (size_t j = 0; j < act->nargs; j++) {
    const ucp__arg *a = &act->args[j];
    if (a->dir != UCP__DIR_OUT) continue;
    long i = find_out(res, a->name, used);
    if (i < 0) {
      warnf(b, "out-argument '%.64s' missing from the response", a->name);
      outs_add(b, a->name, NULL, UCP_TYPE_UNKNOWN);
      continue;
    }
    used[i] = 1;
    outs_add(b, a->name, res->values[i],
             a->var ? a->var->type : UCP_TYPE_UNKNOWN);
  }
}

int ucp__outs_from_response(const ucp__action *act,
                            const ucp__soap_result *res, ucp__outs **out) {
  *out = NULL;
  outs_build b;
  size_t cap = res->nargs + (act ? act->nout : 0);
  if (outs_new(&b, cap) != UCP_OK) return UCP_E_NOMEM;
  unsigned char *used = ucp__calloc(res->nargs ? res->nargs : 1, 1);
  if (!used) {
    ucp__outs_free(b.o);
    return UCP_E_NOMEM;
  }
  if (act) add_scpd_outs(&b, act, res, used);
  for (size_t i = 0; i < res->nargs; i++) {
    if (used[i]) continue;
    if (act)
      warnf(&b, "out-argument '%.64s' is not in the SCPD (kept as a string)",
            res->names[i]);
    outs_add(&b, res->names[i], res->values[i], UCP_TYPE_UNKNOWN);
  }
  ucp__free(used);
  return outs_finish(&b, res, out);
}

int ucp__outs_from_query(const char *variable, const ucp__statevar *var,
                         const ucp__soap_result *res, ucp__outs **out,
                         const char **why) {
  *out = NULL;
  if (res->nargs < 1) {
    *why = "QueryStateVariableResponse has no <return> value";
    return UCP_E_PROTOCOL;
  }
  outs_build b;
  if (outs_new(&b, 1) != UCP_OK) return UCP_E_NOMEM;
  if (strcasecmp(res->names[0], "return") != 0)
    warnf(&b, "value element is <%.64s>, not <return>", res->names[0]);
  if (res->nargs > 1) warnf(&b, "%zu extra elements ignored", res->nargs - 1);
  outs_add(&b, variable, res->values[0], var ? var->type : UCP_TYPE_UNKNOWN);
  return outs_finish(&b, res, out);
}

void ucp__outs_free(ucp__outs *o) {
  if (!o) return;
  ucp__arena_free(&o->arena);
  ucp__free(o);
}
