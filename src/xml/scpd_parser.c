/* scpd_parser.c - streaming service description (SCPD) parser on expat.
 * Same rules as desc_parser.c: elements matched by local name,
 * case-insensitively, in any order and whatever their namespace; DOCTYPE
 * refused; depth, text, byte and element counts capped here; expat's
 * memory through ucp__malloc; a document broken only by a bare '&' parsed
 * again with it escaped. What is tolerated and what is dropped is listed in
 * scpd.h. Parse-time nodes live in a scratch arena; finish copies them into
 * the model's arrays and builds the name indexes. */
#include <ctype.h>
#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "xml_common.h"
#include "../core/mem.h"
#include "scpd.h"

/* Where the parser stands: one context per open element. */
enum ctx {
  C_SKIP, /* inside an element we do not care about */
  C_DOC,  /* before the document element */
  C_ROOT,
  C_SPEC, C_SPEC_MAJOR, C_SPEC_MINOR,
  C_ACTIONLIST, C_ACTION, C_ACT_NAME,
  C_ARGLIST, C_ARG, C_ARG_NAME, C_ARG_DIR, C_ARG_REL, C_ARG_RETVAL,
  C_SST, C_VAR, C_VAR_NAME, C_VAR_TYPE, C_VAR_DEFAULT, C_VAR_SENDEV,
  C_AVL, C_AV, C_AVR, C_AVR_MIN, C_AVR_MAX, C_AVR_STEP
};

static const struct {
  unsigned char parent;
  unsigned char child;
  const char *name;
} children[] = {
    {C_ROOT, C_SPEC, "specVersion"},
    {C_ROOT, C_ACTIONLIST, "actionList"},
    {C_ROOT, C_SST, "serviceStateTable"},
    {C_SPEC, C_SPEC_MAJOR, "major"},
    {C_SPEC, C_SPEC_MINOR, "minor"},
    {C_ACTIONLIST, C_ACTION, "action"},
    {C_ACTION, C_ACT_NAME, "name"},
    {C_ACTION, C_ARGLIST, "argumentList"},
    {C_ARGLIST, C_ARG, "argument"},
    {C_ARG, C_ARG_NAME, "name"},
    {C_ARG, C_ARG_DIR, "direction"},
    {C_ARG, C_ARG_REL, "relatedStateVariable"},
    {C_ARG, C_ARG_RETVAL, "retval"},
    {C_SST, C_VAR, "stateVariable"},
    {C_VAR, C_VAR_NAME, "name"},
    {C_VAR, C_VAR_TYPE, "dataType"},
    {C_VAR, C_VAR_DEFAULT, "defaultValue"},
    {C_VAR, C_VAR_SENDEV, "sendEventsAttribute"}, /* pre-UDA 1.0 form */
    {C_VAR, C_AVL, "allowedValueList"},
    {C_VAR, C_AVR, "allowedValueRange"},
    {C_AVL, C_AV, "allowedValue"},
    {C_AVR, C_AVR_MIN, "minimum"},
    {C_AVR, C_AVR_MAX, "maximum"},
    {C_AVR, C_AVR_STEP, "step"},
};

enum { MAX_WARNINGS_LEN = 8192, WARN_RESERVE = 64, MAX_ATTRS = 64 };

/* Parse-time nodes (scratch arena). */
typedef struct str_node {
  const char *s;
  struct str_node *next;
} str_node;

typedef struct var_node {
  ucp__statevar v;
  unsigned long line;
  size_t nav_seen, nav;
  str_node *av_head, *av_tail;
  int sendev_attr; /* sendEvents came from the attribute */
  int dup;
  size_t idx;
  struct var_node *next;
} var_node;

typedef struct arg_node {
  ucp__arg a;
  const char *dir_raw; /* an unusable <direction>, for the warning */
  unsigned long line, rel_line;
  struct arg_node *next;
} arg_node;

typedef struct act_node {
  ucp__action a;
  unsigned long line;
  size_t nargs_seen;
  arg_node *arg_head, *arg_tail;
  int dup;
  size_t idx;
  struct act_node *next;
} act_node;

struct ucp__scpd_parser {
  XML_Parser xp;
  ucp__scpd_limits lim;
  ucp__scpd *s;
  ucp__arena scratch;
  unsigned char *stack;
  size_t depth;
  act_node *act_head, *act_tail, *cur_act;
  var_node *var_head, *var_tail, *cur_var;
  arg_node *cur_arg;
  size_t nact_seen, nvar_seen, nact, nvar;
  char *text;
  size_t text_len;
  int root_done;
  int status;
  char err[512];
  char warn[MAX_WARNINGS_LEN];
  size_t warn_len, warn_dropped;
  char *raw; /* the body so far, for the repair pass */
  size_t raw_len, raw_cap, total;
  const char *whole; /* the caller's complete document (ucp__scpd_parse) */
  size_t whole_len;
  int repairing;
};


void ucp__scpd_limits_default(ucp__scpd_limits *l) {
  l->max_depth = 32;
  l->max_text = 8 * 1024;
  l->max_actions = 1024;
  l->max_args = 64;
  l->max_vars = 4096;
  l->max_allowed = 1024;
  l->max_bytes = 1024 * 1024;
}

/* ------------------------------------------------------- names and types */

static int lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* ASCII only, whatever the locale. */
static int ascii_casecmp(const char *a, const char *b) {
  const unsigned char *x = (const unsigned char *)a;
  const unsigned char *y = (const unsigned char *)b;
  while (*x && lower(*x) == lower(*y)) x++, y++;
  return lower(*x) - lower(*y);
}

static int ascii_ieq_n(const char *s, size_t len, const char *lit) {
  size_t i = 0;
  for (; i < len && lit[i]; i++)
    if (lower((unsigned char)s[i]) != lower((unsigned char)lit[i])) return 0;
  return i == len && lit[i] == '\0';
}

static int ascii_ieq(const char *s, const char *lit) {
  return ascii_ieq_n(s, strlen(s), lit);
}

static int ascii_alpha(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int ucp__scpd_name_valid(const char *name) {
  if (!name) return 0;
  const unsigned char *c = (const unsigned char *)name;
  if (!ascii_alpha(*c) && *c != '_') return 0;
  for (c++; *c; c++)
    if (!ascii_alpha(*c) && !(*c >= '0' && *c <= '9') && *c != '_' &&
        *c != '.' && *c != '-')
      return 0;
  return 1;
}

static const char *local_name(const char *name) {
  const char *c = strrchr(name, ':');
  return c ? c + 1 : name;
}

static unsigned char child_ctx(unsigned char parent, const char *l) {
  if (parent == C_DOC) return C_ROOT;
  size_t len = strlen(l);
  for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
    if (children[i].parent == parent && ascii_ieq_n(l, len, children[i].name))
      return children[i].child;
  return C_SKIP;
}

static int collects_text(unsigned char ctx) {
  switch (ctx) {
    case C_SPEC_MAJOR: case C_SPEC_MINOR: case C_ACT_NAME: case C_ARG_NAME:
    case C_ARG_DIR: case C_ARG_REL: case C_VAR_NAME: case C_VAR_TYPE:
    case C_VAR_DEFAULT: case C_VAR_SENDEV: case C_AV: case C_AVR_MIN:
    case C_AVR_MAX: case C_AVR_STEP:
      return 1;
    default:
      return 0;
  }
}

/* ----------------------------------------------------------- diagnostics */

static unsigned long cur_line(const ucp__scpd_parser *p) {
  return p->xp ? (unsigned long)XML_GetCurrentLineNumber(p->xp) : 0ul;
}

static void fail(ucp__scpd_parser *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(ucp__scpd_parser *p, int code, const char *fmt, ...) {
  if (p->status != UCP_OK) return;
  p->status = code;
  int n = snprintf(p->err, sizeof p->err, "line %lu: ", cur_line(p));
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof p->err)
    vsnprintf(p->err + n, sizeof p->err - (size_t)n, fmt, ap);
  va_end(ap);
  if (p->xp) XML_StopParser(p->xp, XML_FALSE);
}

static void add_warning(ucp__scpd_parser *p, const char *line) {
  size_t l = strlen(line);
  if (p->warn_len + l + 1 >= sizeof p->warn - WARN_RESERVE) {
    p->warn_dropped++;
    return;
  }
  memcpy(p->warn + p->warn_len, line, l);
  p->warn_len += l;
  p->warn[p->warn_len++] = '\n';
  p->warn[p->warn_len] = '\0';
}

static void warn_at(ucp__scpd_parser *p, unsigned long line, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));

static void warn_at(ucp__scpd_parser *p, unsigned long line, const char *fmt,
                    ...) {
  char buf[320];
  int n = snprintf(buf, sizeof buf, "line %lu: ", line);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof buf)
    vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
  va_end(ap);
  add_warning(p, buf);
}

#define warn(p, ...) warn_at((p), cur_line(p), __VA_ARGS__)

/* ------------------------------------------------------------ text values */

static char *trimmed_text(ucp__scpd_parser *p) {
  const char *s = p->text;
  size_t n = p->text_len;
  while (n && isspace((unsigned char)*s)) s++, n--;
  while (n && isspace((unsigned char)s[n - 1])) n--;
  char *t = ucp__arena_strndup(&p->s->arena, s, n);
  if (!t) fail(p, UCP_E_NOMEM, "out of memory");
  return t;
}

static void *scratch_alloc(ucp__scpd_parser *p, size_t n) {
  void *m = ucp__arena_alloc(&p->scratch, n);
  if (!m) fail(p, UCP_E_NOMEM, "out of memory");
  return m;
}

static int parse_small_int(const char *s, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < 0 || v > 1000000) return -1;
  *out = (int)v;
  return 0;
}

/* yes/no, as UDA writes it; true/false and 1/0 tolerated. Any case. */
static int parse_yes_no(const char *s, int *out) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) n--;
  if (ascii_ieq_n(s, n, "yes") || ascii_ieq_n(s, n, "true") ||
      ascii_ieq_n(s, n, "1")) {
    *out = 1;
    return 0;
  }
  if (ascii_ieq_n(s, n, "no") || ascii_ieq_n(s, n, "false") ||
      ascii_ieq_n(s, n, "0")) {
    *out = 0;
    return 0;
  }
  return -1;
}

static void set_once(ucp__scpd_parser *p, const char **slot, const char *v,
                     const char *name) {
  if (*slot) {
    warn(p, "duplicate <%s> ignored", name);
    return;
  }
  *slot = v;
}

static void check_name(ucp__scpd_parser *p, const char *what, const char *v) {
  if (*v && !ucp__scpd_name_valid(v))
    warn(p, "%s name '%.64s' is not a UPnP name ([A-Za-z_][A-Za-z0-9_.-]*)",
         what, v);
}

static void store_text(ucp__scpd_parser *p, unsigned char ctx) {
  char *v = trimmed_text(p);
  if (!v) return;
  var_node *var = p->cur_var;
  arg_node *arg = p->cur_arg;
  switch (ctx) {
    case C_SPEC_MAJOR:
      if (parse_small_int(v, &p->s->spec_major)) warn(p, "bad specVersion major");
      break;
    case C_SPEC_MINOR:
      if (parse_small_int(v, &p->s->spec_minor)) warn(p, "bad specVersion minor");
      break;
    case C_ACT_NAME:
      if (!p->cur_act->a.name) check_name(p, "action", v);
      set_once(p, &p->cur_act->a.name, v, "name");
      break;
    case C_ARG_NAME:
      if (!arg->a.name) check_name(p, "argument", v);
      set_once(p, &arg->a.name, v, "name");
      break;
    case C_ARG_DIR:
      if (arg->a.dir || arg->dir_raw) {
        warn(p, "duplicate <direction> ignored");
      } else if (ascii_ieq(v, "in")) {
        arg->a.dir = UCP__DIR_IN;
      } else if (ascii_ieq(v, "out")) {
        arg->a.dir = UCP__DIR_OUT;
      } else {
        arg->dir_raw = v;
      }
      break;
    case C_ARG_REL:
      if (!*v) break; /* empty: as if absent */
      if (!arg->a.related) arg->rel_line = cur_line(p);
      set_once(p, &arg->a.related, v, "relatedStateVariable");
      break;
    case C_VAR_NAME:
      if (!var->v.name) check_name(p, "stateVariable", v);
      set_once(p, &var->v.name, v, "name");
      break;
    case C_VAR_TYPE:
      if (var->v.type_name) {
        warn(p, "duplicate <dataType> ignored");
        break;
      }
      var->v.type_name = v;
      var->v.type = ucp__type_from_name(v, strlen(v));
      if (var->v.type == UCP_TYPE_UNKNOWN)
        warn(p, "unknown dataType '%.64s' (kept as written)", v);
      break;
    case C_VAR_DEFAULT:
      set_once(p, &var->v.default_value, v, "defaultValue");
      break;
    case C_VAR_SENDEV:
      if (var->sendev_attr) break; /* the attribute wins */
      if (parse_yes_no(v, &var->v.send_events))
        warn(p, "sendEventsAttribute '%.32s' is not yes/no", v);
      break;
    case C_AV: {
      str_node *n = scratch_alloc(p, sizeof *n);
      if (!n) return;
      n->s = v;
      if (var->av_tail) var->av_tail->next = n;
      else var->av_head = n;
      var->av_tail = n;
      var->nav++;
      break;
    }
    case C_AVR_MIN: set_once(p, &var->v.min, v, "minimum"); break;
    case C_AVR_MAX: set_once(p, &var->v.max, v, "maximum"); break;
    case C_AVR_STEP: set_once(p, &var->v.step, v, "step"); break;
  }
}

/* --------------------------------------------------------- open / close */

static void open_action(ucp__scpd_parser *p) {
  if (++p->nact_seen > p->lim.max_actions) {
    fail(p, UCP_E_TOO_LARGE, "more than %zu actions", p->lim.max_actions);
    return;
  }
  act_node *a = scratch_alloc(p, sizeof *a);
  if (!a) return;
  a->line = cur_line(p);
  p->cur_act = a;
}

static void close_action(ucp__scpd_parser *p) {
  act_node *a = p->cur_act;
  p->cur_act = NULL;
  if (!a->a.name || !*a->a.name) {
    warn_at(p, a->line, "<action> without a name ignored");
    return;
  }
  /* An argument name twice: a later one of the same direction is dropped,
   * one of the other direction is kept. At most max_args squared. */
  arg_node **link = &a->arg_head;
  a->arg_tail = NULL;
  while (*link) {
    arg_node *g = *link;
    int drop = 0;
    for (arg_node *e = a->arg_head; e != g; e = e->next) {
      if (strcmp(e->a.name, g->a.name) != 0) continue;
      drop = e->a.dir == g->a.dir;
      warn_at(p, g->line, "argument '%.64s' of action '%.64s' appears twice%s",
              g->a.name, a->a.name, drop ? "; the second is ignored" : "");
      break;
    }
    if (drop) {
      *link = g->next;
      a->a.nargs--;
    } else {
      a->arg_tail = g;
      link = &g->next;
    }
  }
  if (p->act_tail) p->act_tail->next = a;
  else p->act_head = a;
  p->act_tail = a;
  p->nact++;
}

static void open_arg(ucp__scpd_parser *p) {
  act_node *a = p->cur_act;
  if (++a->nargs_seen > p->lim.max_args) {
    fail(p, UCP_E_TOO_LARGE, "more than %zu arguments in one action",
         p->lim.max_args);
    return;
  }
  arg_node *g = scratch_alloc(p, sizeof *g);
  if (!g) return;
  g->line = cur_line(p);
  p->cur_arg = g;
}

static void close_arg(ucp__scpd_parser *p) {
  arg_node *g = p->cur_arg;
  act_node *a = p->cur_act;
  p->cur_arg = NULL;
  if (!g->a.name || !*g->a.name) {
    warn_at(p, g->line, "<argument> without a name ignored");
    return;
  }
  if (!g->a.dir) {
    if (g->dir_raw)
      warn_at(p, g->line, "argument '%.64s': direction '%.32s' is neither "
              "in nor out; ignored", g->a.name, g->dir_raw);
    else
      warn_at(p, g->line, "argument '%.64s' has no <direction>; ignored",
              g->a.name);
    return;
  }
  if (a->arg_tail) a->arg_tail->next = g;
  else a->arg_head = g;
  a->arg_tail = g;
  a->a.nargs++;
}

static void var_attrs(ucp__scpd_parser *p, var_node *v, const char **atts) {
  for (size_t i = 0; atts[i]; i += 2) {
    const char *l = local_name(atts[i]);
    if (ascii_ieq(l, "sendEvents")) {
      if (parse_yes_no(atts[i + 1], &v->v.send_events))
        warn(p, "sendEvents='%.32s' is not yes/no", atts[i + 1]);
      else
        v->sendev_attr = 1;
    } else if (ascii_ieq(l, "multicast")) {
      if (parse_yes_no(atts[i + 1], &v->v.multicast))
        warn(p, "multicast='%.32s' is not yes/no", atts[i + 1]);
    }
  }
}

static void open_var(ucp__scpd_parser *p, const char **atts) {
  if (++p->nvar_seen > p->lim.max_vars) {
    fail(p, UCP_E_TOO_LARGE, "more than %zu state variables",
         p->lim.max_vars);
    return;
  }
  var_node *v = scratch_alloc(p, sizeof *v);
  if (!v) return;
  v->line = cur_line(p);
  v->v.send_events = 1; /* UDA: sendEvents defaults to "yes" */
  var_attrs(p, v, atts);
  p->cur_var = v;
}

static void close_var(ucp__scpd_parser *p) {
  var_node *v = p->cur_var;
  p->cur_var = NULL;
  if (!v->v.name || !*v->v.name) {
    warn_at(p, v->line, "<stateVariable> without a name ignored");
    return;
  }
  if (!v->v.type_name)
    warn_at(p, v->line, "stateVariable '%.64s' has no <dataType>", v->v.name);
  if (v->v.has_range && (!v->v.min || !v->v.max))
    warn_at(p, v->line, "stateVariable '%.64s': allowedValueRange without "
            "minimum or maximum", v->v.name);
  if (p->var_tail) p->var_tail->next = v;
  else p->var_head = v;
  p->var_tail = v;
  p->nvar++;
}

/* --------------------------------------------------------- expat handlers */

static void root_attrs(ucp__scpd_parser *p, const char **atts) {
  for (size_t i = 0; atts[i]; i += 2) {
    if (!ascii_ieq(local_name(atts[i]), "configId")) continue;
    char *end;
    long long v = strtoll(atts[i + 1], &end, 10);
    if (end == atts[i + 1] || *end || v < 0 || v > 16777215)
      warn(p, "configId '%.40s' is not in 0..16777215 (UDA 1.1)", atts[i + 1]);
    else
      p->s->config_id = v;
  }
}

static int count_attrs(const char **atts) {
  int n = 0;
  while (atts[n]) n += 2;
  return n / 2;
}

static void on_start(void *ud, const char *name, const char **atts) {
  ucp__scpd_parser *p = ud;
  if (p->status != UCP_OK) return; /* expat may call on after a stop */
  if (p->depth + 1 > p->lim.max_depth) {
    fail(p, UCP_E_TOO_LARGE, "elements nested deeper than %zu",
         p->lim.max_depth);
    return;
  }
  if (count_attrs(atts) > MAX_ATTRS) {
    fail(p, UCP_E_TOO_LARGE, "<%.64s> has more than %d attributes", name,
         MAX_ATTRS);
    return;
  }
  const char *l = local_name(name);
  unsigned char top = p->depth ? p->stack[p->depth - 1] : C_DOC;
  unsigned char f = top == C_SKIP ? C_SKIP : child_ctx(top, l);
  if (f == C_ROOT) {
    if (!ascii_ieq(l, "scpd")) {
      fail(p, UCP_E_PROTOCOL, "document element is <%.64s>, expected <scpd>",
           l);
      return;
    }
    root_attrs(p, atts);
  }
  p->stack[p->depth++] = f;
  p->text_len = 0;
  switch (f) {
    case C_ACTION: open_action(p); break;
    case C_ARG: open_arg(p); break;
    case C_VAR: open_var(p, atts); break;
    case C_ARG_RETVAL: p->cur_arg->a.retval = 1; break;
    case C_AVR: p->cur_var->v.has_range = 1; break;
    case C_AV:
      if (++p->cur_var->nav_seen > p->lim.max_allowed)
        fail(p, UCP_E_TOO_LARGE, "more than %zu allowed values in one state "
             "variable", p->lim.max_allowed);
      break;
    default: break;
  }
}

static void on_end(void *ud, const char *name) {
  ucp__scpd_parser *p = ud;
  (void)name;
  if (p->depth == 0 || p->status != UCP_OK) return;
  unsigned char f = p->stack[--p->depth];
  if (collects_text(f)) store_text(p, f);
  p->text_len = 0;
  if (p->status != UCP_OK) return;
  switch (f) {
    case C_ACTION: close_action(p); break;
    case C_ARG: close_arg(p); break;
    case C_VAR: close_var(p); break;
    case C_ROOT:
      /* Stop at </scpd>: trailing bytes are not part of the document. */
      p->root_done = 1;
      XML_StopParser(p->xp, XML_FALSE);
      break;
    default: break;
  }
}

static void on_text(void *ud, const char *s, int len) {
  ucp__scpd_parser *p = ud;
  if (p->status != UCP_OK || !p->depth ||
      !collects_text(p->stack[p->depth - 1]))
    return;
  if (p->text_len + (size_t)len > p->lim.max_text) {
    fail(p, UCP_E_TOO_LARGE, "element text longer than %zu bytes",
         p->lim.max_text);
    return;
  }
  memcpy(p->text + p->text_len, s, (size_t)len);
  p->text_len += (size_t)len;
}

static void on_doctype(void *ud, const char *name, const char *sysid,
                       const char *pubid, int has_internal_subset) {
  (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
  fail(ud, UCP_E_DOCTYPE, "DOCTYPE refused (entity expansion attacks)");
}

static void on_entity_decl(void *ud, const char *name, int is_param,
                           const char *value, int vlen, const char *base,
                           const char *sysid, const char *pubid,
                           const char *notation) {
  (void)name, (void)is_param, (void)value, (void)vlen, (void)base;
  (void)sysid, (void)pubid, (void)notation;
  fail(ud, UCP_E_DOCTYPE, "entity declaration refused");
}

/* ------------------------------------------------------------- lifecycle */

static void drop_model(ucp__scpd_parser *p) {
  if (p->s) {
    ucp__arena_free(&p->s->arena);
    ucp__free(p->s);
    p->s = NULL;
  }
  ucp__arena_free(&p->scratch);
}

static int reset_state(ucp__scpd_parser *p) {
  drop_model(p);
  p->s = ucp__calloc(1, sizeof *p->s);
  p->xp = ucp__xml_parser(p->xp);
  if (!p->s || !p->xp) return UCP_E_NOMEM;
  ucp__arena_init(&p->s->arena);
  p->s->config_id = -1;
  p->depth = 0;
  p->act_head = p->act_tail = p->cur_act = NULL;
  p->var_head = p->var_tail = p->cur_var = NULL;
  p->cur_arg = NULL;
  p->nact_seen = p->nvar_seen = p->nact = p->nvar = 0;
  p->text_len = 0;
  p->root_done = 0;
  p->status = UCP_OK;
  p->err[0] = '\0';
  p->warn_len = p->warn_dropped = 0;
  p->warn[0] = '\0';
  XML_SetUserData(p->xp, p);
  XML_SetElementHandler(p->xp, on_start, on_end);
  XML_SetCharacterDataHandler(p->xp, on_text);
  XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
  XML_SetEntityDeclHandler(p->xp, on_entity_decl);
  XML_SetParamEntityParsing(p->xp, XML_PARAM_ENTITY_PARSING_NEVER);
  return UCP_OK;
}

ucp__scpd_parser *ucp__scpd_parser_new(const ucp__scpd_limits *lim) {
  ucp__scpd_limits def;
  if (!lim) {
    ucp__scpd_limits_default(&def);
    lim = &def;
  }
  ucp__scpd_parser *p = ucp__calloc(1, sizeof *p);
  if (!p) return NULL;
  p->lim = *lim;
  ucp__arena_init(&p->scratch);
  p->stack = ucp__malloc(p->lim.max_depth ? p->lim.max_depth : 1);
  p->text = ucp__malloc(p->lim.max_text + 1);
  if (!p->stack || !p->text || reset_state(p) != UCP_OK) {
    ucp__scpd_parser_free(p);
    return NULL;
  }
  return p;
}

void ucp__scpd_parser_free(ucp__scpd_parser *p) {
  if (!p) return;
  drop_model(p);
  if (p->xp) XML_ParserFree(p->xp);
  ucp__free(p->stack);
  ucp__free(p->text);
  ucp__free(p->raw);
  ucp__free(p);
}

const char *ucp__scpd_parser_error(const ucp__scpd_parser *p) {
  return p->err;
}

static void expat_failed(ucp__scpd_parser *p) {
  enum XML_Error e = XML_GetErrorCode(p->xp);
  fail(p, e == XML_ERROR_NO_MEMORY ? UCP_E_NOMEM : UCP_E_XML,
       "column %lu: %s", (unsigned long)XML_GetCurrentColumnNumber(p->xp),
       XML_ErrorString(e));
}

static void parse_piece(ucp__scpd_parser *p, const char *buf, size_t len,
                        int final) {
  while (p->status == UCP_OK && !p->root_done) {
    size_t n = len > (1u << 30) ? (1u << 30) : len;
    if (XML_Parse(p->xp, buf, (int)n, final && n == len) == XML_STATUS_ERROR) {
      if (p->status == UCP_OK && !p->root_done) expat_failed(p);
      return;
    }
    buf += n;
    len -= n;
    if (!len) return;
  }
}

/* The body so far, kept for the bare-'&' repair pass. */
static int keep_raw(ucp__scpd_parser *p, const char *buf, size_t len) {
  return ucp__bytes_append(&p->raw, &p->raw_len, &p->raw_cap, buf, len) == 0
             ? UCP_OK
             : UCP_E_NOMEM;
}

int ucp__scpd_parser_feed(ucp__scpd_parser *p, const char *buf, size_t len) {
  p->total += len;
  if (p->total > p->lim.max_bytes) {
    if (p->status == UCP_E_XML) p->status = UCP_OK; /* the cap wins */
    fail(p, UCP_E_TOO_LARGE, "document larger than %zu bytes",
         p->lim.max_bytes);
    return p->status;
  }
  if (!p->root_done && len && keep_raw(p, buf, len) != UCP_OK) {
    fail(p, UCP_E_NOMEM, "out of memory");
    return p->status;
  }
  if (p->status == UCP_OK) parse_piece(p, buf, len, 0);
  /* A repairable XML error is decided at finish, with the whole body. */
  return p->status == UCP_E_XML ? UCP_OK : p->status;
}


/* ---------------------------------------------------- the '&' repair */

static int repairable(const ucp__scpd_parser *p) {
  const char *doc = p->whole ? p->whole : p->raw;
  size_t doc_len = p->whole ? p->whole_len : p->raw_len;
  if (p->status != UCP_E_XML || p->repairing || !doc) return 0;
  enum XML_Error e = XML_GetErrorCode(p->xp);
  return (e == XML_ERROR_INVALID_TOKEN || e == XML_ERROR_UNDEFINED_ENTITY) &&
         memchr(doc, '&', doc_len) != NULL;
}

/* The repaired document keeps every cap: a failure of the re-parse other
 * than malformed XML is the answer; when it is still malformed, the first
 * error, on the device's own bytes, is kept. */
static void try_repair(ucp__scpd_parser *p) {
  size_t len, fixed;
  const char *doc = p->whole ? p->whole : p->raw;
  size_t doc_len = p->whole ? p->whole_len : p->raw_len;
  char saved_err[sizeof p->err];
  memcpy(saved_err, p->err, sizeof saved_err);
  char *fixed_doc = ucp__xml_escape_bare_amps(doc, doc_len, &len, &fixed);
  if (!fixed_doc) {
    p->status = UCP_E_NOMEM;
    snprintf(p->err, sizeof p->err, "out of memory repairing '&'");
    return;
  }
  int rc = UCP_E_XML;
  if (fixed > 0) {
    rc = reset_state(p);
    if (rc == UCP_OK) {
      p->repairing = 1;
      parse_piece(p, fixed_doc, len, 1);
      if (p->status == UCP_OK && !p->root_done)
        fail(p, UCP_E_XML, "document ended before </scpd>");
      rc = p->status;
    } else {
      p->status = rc;
      snprintf(p->err, sizeof p->err, "out of memory repairing '&'");
    }
  }
  ucp__free(fixed_doc);
  if (rc == UCP_OK) {
    char note[200];
    snprintf(note, sizeof note, "%zu unescaped '&' repaired (first: %.100s)",
             fixed, saved_err);
    add_warning(p, note);
  } else if (rc == UCP_E_XML) {
    memcpy(p->err, saved_err, sizeof saved_err);
    p->status = UCP_E_XML;
  }
}

/* ------------------------------------------------------------ finishing */

typedef struct sort_ent {
  const char *name;
  size_t seq;
  void *node;
} sort_ent;

/* Case-insensitive, then exact byte order: one total order in which both
 * lookups are binary searches. */
static int name_order(const char *a, const char *b) {
  int c = ascii_casecmp(a, b);
  return c ? c : strcmp(a, b);
}

static int sort_ent_cmp(const void *x, const void *y) {
  const sort_ent *a = x, *b = y;
  int c = name_order(a->name, b->name);
  if (c) return c;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The n nodes of a list sorted by (name_order, document order), in a
 * ucp__malloc'd array; NULL when out of memory. */
static sort_ent *sorted_names(size_t n, const char *(*name_of)(void *),
                              void *(*next_of)(void *), void *head) {
  sort_ent *e = ucp__malloc((n ? n : 1) * sizeof *e);
  if (!e) return NULL;
  size_t i = 0;
  for (void *node = head; node && i < n; node = next_of(node), i++)
    e[i] = (sort_ent){name_of(node), i, node};
  qsort(e, i, sizeof *e, sort_ent_cmp);
  return e;
}

static const char *var_name_of(void *n) { return ((var_node *)n)->v.name; }
static void *var_next_of(void *n) { return ((var_node *)n)->next; }
static const char *act_name_of(void *n) { return ((act_node *)n)->a.name; }
static void *act_next_of(void *n) { return ((act_node *)n)->next; }

static int build_vars(ucp__scpd_parser *p) {
  ucp__scpd *s = p->s;
  size_t n = p->nvar;
  sort_ent *e = sorted_names(n, var_name_of, var_next_of, p->var_head);
  if (!e) return UCP_E_NOMEM;
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    var_node *v = e[i].node;
    if (i > 0 && strcmp(e[i - 1].name, e[i].name) == 0) {
      var_node *first = e[i - 1].node;
      v->dup = 1;
      e[i].node = first; /* carry the run's kept node forward */
      warn_at(p, v->line, "duplicate stateVariable '%.64s' ignored (first at "
              "line %lu)", v->v.name, first->line);
    } else {
      kept++;
    }
  }
  s->vars = ucp__arena_alloc(&s->arena, (kept + 1) * sizeof *s->vars);
  s->var_index = ucp__arena_alloc(&s->arena, (kept + 1) * sizeof(void *));
  if (!s->vars || !s->var_index) {
    ucp__free(e);
    return UCP_E_NOMEM;
  }
  for (var_node *v = p->var_head; v; v = v->next) {
    if (v->dup) continue;
    ucp__statevar *d = &s->vars[s->nvars];
    *d = v->v;
    d->allowed = ucp__arena_alloc(&s->arena, (v->nav + 1) * sizeof(char *));
    if (!d->allowed) {
      ucp__free(e);
      return UCP_E_NOMEM;
    }
    for (str_node *a = v->av_head; a; a = a->next)
      d->allowed[d->nallowed++] = a->s;
    v->idx = s->nvars++;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    var_node *v = e[i].node;
    if (i > 0 && e[i].node == e[i - 1].node) continue; /* a duplicate */
    s->var_index[k++] = &s->vars[v->idx];
  }
  ucp__free(e);
  return k == s->nvars ? UCP_OK : UCP_E_INTERNAL;
}

#define DEFINE_FIND(fn, T)                                                  \
  static const T *fn(const T *const *idx, size_t n, const char *name) {    \
    size_t lo = 0, hi = n;                                                  \
    while (lo < hi) {                                                       \
      size_t mid = lo + (hi - lo) / 2;                                      \
      if (name_order(idx[mid]->name, name) < 0) lo = mid + 1;               \
      else hi = mid;                                                        \
    }                                                                       \
    if (lo < n && strcmp(idx[lo]->name, name) == 0) return idx[lo];         \
    lo = 0, hi = n;                                                         \
    while (lo < hi) {                                                       \
      size_t mid = lo + (hi - lo) / 2;                                      \
      if (ascii_casecmp(idx[mid]->name, name) < 0) lo = mid + 1;            \
      else hi = mid;                                                        \
    }                                                                       \
    if (lo < n && ascii_casecmp(idx[lo]->name, name) == 0) return idx[lo];  \
    return NULL;                                                            \
  }

DEFINE_FIND(find_var, ucp__statevar)
DEFINE_FIND(find_action, ucp__action)

static void resolve_arg(ucp__scpd_parser *p, const ucp__action *act,
                        ucp__arg *g, const arg_node *src) {
  ucp__scpd *s = p->s;
  if (!g->related) {
    warn_at(p, src->line, "argument '%.64s' of action '%.64s' has no "
            "relatedStateVariable", g->name, act->name);
    return;
  }
  g->var = find_var(s->var_index, s->nvars, g->related);
  if (!g->var)
    warn_at(p, src->rel_line, "relatedStateVariable '%.64s' of %.64s/%.64s "
            "is not declared", g->related, act->name, g->name);
  else if (strcmp(g->var->name, g->related) != 0)
    warn_at(p, src->rel_line, "relatedStateVariable '%.64s' of %.64s/%.64s "
            "matches '%.64s' only ignoring case", g->related, act->name,
            g->name, g->var->name);
}

static int build_actions(ucp__scpd_parser *p) {
  ucp__scpd *s = p->s;
  size_t n = p->nact;
  sort_ent *e = sorted_names(n, act_name_of, act_next_of, p->act_head);
  if (!e) return UCP_E_NOMEM;
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    act_node *a = e[i].node;
    if (i > 0 && strcmp(e[i - 1].name, e[i].name) == 0) {
      act_node *first = e[i - 1].node;
      a->dup = 1;
      e[i].node = first;
      warn_at(p, a->line, "duplicate action '%.64s' ignored (first at line "
              "%lu)", a->a.name, first->line);
    } else {
      kept++;
    }
  }
  s->actions = ucp__arena_alloc(&s->arena, (kept + 1) * sizeof *s->actions);
  s->action_index = ucp__arena_alloc(&s->arena, (kept + 1) * sizeof(void *));
  int rc = s->actions && s->action_index ? UCP_OK : UCP_E_NOMEM;
  for (act_node *a = p->act_head; rc == UCP_OK && a; a = a->next) {
    if (a->dup) continue;
    ucp__action *d = &s->actions[s->nactions];
    *d = a->a;
    d->args = ucp__arena_alloc(&s->arena, (a->a.nargs + 1) * sizeof *d->args);
    if (!d->args) {
      rc = UCP_E_NOMEM;
      break;
    }
    d->nargs = d->nin = d->nout = 0;
    for (arg_node *g = a->arg_head; g; g = g->next) {
      ucp__arg *t = &d->args[d->nargs++];
      *t = g->a;
      if (t->dir == UCP__DIR_IN) d->nin++;
      else d->nout++;
      resolve_arg(p, d, t, g);
    }
    a->idx = s->nactions++;
  }
  size_t k = 0;
  for (size_t i = 0; rc == UCP_OK && i < n; i++) {
    if (i > 0 && e[i].node == e[i - 1].node) continue;
    s->action_index[k++] = &s->actions[((act_node *)e[i].node)->idx];
  }
  ucp__free(e);
  return rc;
}

static int finalize(ucp__scpd_parser *p) {
  int rc = build_vars(p);
  if (rc == UCP_OK) rc = build_actions(p);
  if (rc != UCP_OK) return rc;
  if (p->warn_dropped) {
    char note[WARN_RESERVE];
    snprintf(note, sizeof note, "(%zu more warnings not shown)",
             p->warn_dropped);
    size_t l = strlen(note);
    memcpy(p->warn + p->warn_len, note, l);
    p->warn_len += l;
    p->warn[p->warn_len++] = '\n';
    p->warn[p->warn_len] = '\0';
  }
  p->s->warnings = ucp__arena_strndup(&p->s->arena, p->warn, p->warn_len);
  return p->s->warnings ? UCP_OK : UCP_E_NOMEM;
}

int ucp__scpd_parser_finish(ucp__scpd_parser *p, ucp__scpd **out) {
  *out = NULL;
  if (!p->s && p->status == UCP_OK) return UCP_E_INVALIDARG; /* twice */
  if (p->status == UCP_OK && !p->root_done) parse_piece(p, "", 0, 1);
  if (repairable(p)) try_repair(p);
  if (p->status != UCP_OK) return p->status;
  if (!p->root_done) {
    fail(p, UCP_E_XML, "document ended before </scpd>");
    return p->status;
  }
  int rc = finalize(p);
  if (rc != UCP_OK) {
    p->status = rc;
    snprintf(p->err, sizeof p->err, "%s", ucp_strerror(rc));
    return rc;
  }
  ucp__arena_free(&p->scratch);
  atomic_init(&p->s->refs, 1);
  *out = p->s;
  p->s = NULL; /* root_done stays set: later feeds parse nothing */
  return UCP_OK;
}

int ucp__scpd_parse(const char *xml, size_t len, ucp__scpd **out,
                    char *detail, size_t detail_len) {
  if (detail && detail_len) detail[0] = '\0';
  if (!out) return UCP_E_INVALIDARG;
  *out = NULL;
  if (!xml && len) return UCP_E_INVALIDARG;
  ucp__scpd_parser *p = ucp__scpd_parser_new(NULL);
  if (!p) {
    if (detail && detail_len) snprintf(detail, detail_len, "out of memory");
    return UCP_E_NOMEM;
  }
  int rc;
  if (len > p->lim.max_bytes) {
    fail(p, UCP_E_TOO_LARGE, "document larger than %zu bytes",
         p->lim.max_bytes);
    rc = p->status;
  } else {
    p->whole = xml; /* no copy: the repair pass reads the caller's buffer */
    p->whole_len = len;
    parse_piece(p, xml ? xml : "", len, 1);
    rc = ucp__scpd_parser_finish(p, out);
  }
  if (rc != UCP_OK && detail && detail_len)
    snprintf(detail, detail_len, "%s", p->err);
  ucp__scpd_parser_free(p);
  return rc;
}

/* ------------------------------------------------------------ the model */

const ucp__scpd *ucp__scpd_ref(const ucp__scpd *cs) {
  ucp__scpd *s = (ucp__scpd *)cs;
  if (s) atomic_fetch_add(&s->refs, 1);
  return cs;
}

void ucp__scpd_unref(const ucp__scpd *cs) {
  ucp__scpd *s = (ucp__scpd *)cs;
  if (!s || atomic_fetch_sub(&s->refs, 1) != 1) return;
  ucp__arena arena = s->arena; /* the struct itself lives outside it */
  ucp__arena_free(&arena);
  ucp__free(s);
}

const ucp__action *ucp__scpd_action(const ucp__scpd *s, const char *name) {
  if (!s || !name) return NULL;
  return find_action(s->action_index, s->nactions, name);
}

const ucp__statevar *ucp__scpd_var(const ucp__scpd *s, const char *name) {
  if (!s || !name) return NULL;
  return find_var(s->var_index, s->nvars, name);
}
