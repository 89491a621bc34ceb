/* gena_parse.c - GENA event bodies (UDA 2.0 §4.3) and AV LastChange
 * documents, sans-I/O, on expat. As in soap_xml.c: no namespace
 * processing, local names, DOCTYPE refused, caps enforced here whatever
 * expat's version does, "line N: ..." errors. A document is parsed in one
 * piece, so a value holding raw markup is a slice of it, and a repair is a
 * new copy parsed again from the start (gena.h lists the repairs). */
#include <expat.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/arena.h"
#include "../core/mem.h"
#include "../xml/xml_common.h"
#include "gena.h"
#include "upnpcp.h"

/* Where the parser stands: the context of an open element. */
enum ctx {
  X_SKIP,     /* an element we ignore, and everything inside it */
  X_ROOT,     /* <propertyset> or <Event> */
  X_PROPERTY, /* <e:property> */
  X_VAR,      /* an evented variable inside a property */
  X_MARKUP,   /* an element inside a variable (unescaped markup) */
  X_INSTANCE, /* <InstanceID> */
  X_CHANGE    /* a variable inside an InstanceID */
};

enum kind { K_PROPSET, K_LASTCHANGE };

enum {
  MAX_ATTRS = 64,
  MAX_PASSES = 8,   /* parses of one document, repaired ones included */
  KNOWN_LEVELS = 4, /* contexts kept; deeper elements inherit level 4's */
  WARN_CAP = 2048,
  ERR_CAP = 512
};

/* Repairs applied (a bit each). */
enum { R_DECL = 1, R_AMP = 2, R_VALUE = 4, R_VALATTR = 8, R_CUT = 16 };

typedef struct gp {
  enum kind kind;
  ucp__gena_limits lim;
  XML_Parser xp;
  const char *doc; /* being parsed: the caller's bytes or `owned` */
  size_t len;
  char *owned;
  unsigned repairs, tried; /* R_* applied, tried */
  int passes, in_parse;
  int status;
  char err[ERR_CAP];
  char first_err[ERR_CAP]; /* the strict parse's error, on the device's bytes */
  /* one pass */
  size_t depth;
  unsigned char ctx[KNOWN_LEVELS];
  int root_open, root_done;
  size_t root_tag, root_end; /* offsets of <root and after </root> */
  size_t last_close;         /* after the last end tag of a root child */
  /* the expat error of the pass, for the repair decision */
  enum XML_Error xml_code;
  size_t xml_index, err_depth;
  int err_in_var;
  /* the current variable (propset) */
  size_t var_tag, var_inner;
  unsigned long var_line;
  int var_markup;
  char *text;
  size_t text_len, text_cap;
  /* the current InstanceID (LastChange) */
  const char *instance;
  /* what the pass found */
  ucp__arena arena;
  ucp__prop *props;
  ucp__lc_change *changes;
  size_t n, cap;
  int partial;
  char warn[WARN_CAP];
  size_t warn_len, notes_len; /* notes: repair lines kept across passes */
} gp;

/* ----------------------------------------------------------- diagnostics */

static unsigned long line_now(const gp *p) {
  return p->xp ? (unsigned long)XML_GetCurrentLineNumber(p->xp) : 1ul;
}

static void fail(gp *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(gp *p, int code, const char *fmt, ...) {
  if (p->status != UCP_OK) return;
  p->status = code;
  int n = snprintf(p->err, sizeof p->err, "line %lu: ", line_now(p));
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof p->err)
    vsnprintf(p->err + n, sizeof p->err - (size_t)n, fmt, ap);
  va_end(ap);
  if (p->in_parse) XML_StopParser(p->xp, XML_FALSE);
}

static void oom(gp *p) { fail(p, UCP_E_NOMEM, "out of memory"); }

/* Out of memory while repairing: replaces the XML error being repaired. */
static int repair_oom(gp *p) {
  p->status = UCP_OK;
  oom(p);
  return 0;
}

static void warn_at(gp *p, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Lines that do not fit are dropped: warnings never fail a parse. */
static void warn_at(gp *p, unsigned long line, const char *fmt, ...) {
  char buf[400];
  int n = snprintf(buf, sizeof buf, "line %lu: ", line);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof buf)
    vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
  va_end(ap);
  size_t l = strlen(buf);
  if (p->warn_len + l + 2 > sizeof p->warn) return;
  memcpy(p->warn + p->warn_len, buf, l);
  p->warn_len += l;
  p->warn[p->warn_len++] = '\n';
  p->warn[p->warn_len] = '\0';
}

#define warn(p, ...) warn_at((p), line_now(p), __VA_ARGS__)

/* The line of a byte offset of the document being parsed. */
static unsigned long line_of(const gp *p, size_t off) {
  unsigned long line = 1;
  for (size_t i = 0; i < off && i < p->len; i++) line += p->doc[i] == '\n';
  return line;
}

/* ----------------------------------------------------------- small helpers */

static int is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *local_name(const char *name) {
  const char *c = strrchr(name, ':');
  return c ? c + 1 : name;
}

static int name_is(const char *l, const char *name) {
  return strcasecmp(l, name) == 0;
}

static size_t cur_index(const gp *p) {
  XML_Index i = XML_GetCurrentByteIndex(p->xp);
  return i < 0 ? 0 : (size_t)i;
}

/* The offset just after the current event (a start or end tag). */
static size_t after_event(const gp *p) {
  return cur_index(p) + (size_t)XML_GetCurrentByteCount(p->xp);
}

static unsigned char ctx_top(const gp *p) {
  size_t d = p->depth < KNOWN_LEVELS ? p->depth : KNOWN_LEVELS;
  return p->ctx[d - 1];
}

static char *adup(gp *p, const char *s, size_t n) {
  char *d = ucp__arena_strndup(&p->arena, s, n);
  if (!d) oom(p);
  return d;
}

/* The attribute whose local name is `name` (any case), or NULL. */
static const char *attr(const char **atts, const char *name) {
  for (size_t i = 0; atts[i]; i += 2)
    if (name_is(local_name(atts[i]), name)) return atts[i + 1];
  return NULL;
}

/* Room for one more prop or change. */
static int grow(gp *p) {
  if (p->n >= p->lim.max_props) {
    fail(p, UCP_E_TOO_LARGE, "more than %zu %s", p->lim.max_props,
         p->kind == K_PROPSET ? "variables" : "changes");
    return -1;
  }
  if (p->n < p->cap) return 0;
  size_t cap = p->cap ? p->cap * 2 : 16;
  void *v = p->kind == K_PROPSET
                ? ucp__realloc(p->props, cap * sizeof *p->props)
                : ucp__realloc(p->changes, cap * sizeof *p->changes);
  if (!v) {
    oom(p);
    return -1;
  }
  if (p->kind == K_PROPSET)
    p->props = v;
  else
    p->changes = v;
  p->cap = cap;
  return 0;
}

/* Well-formed UTF-8 without NUL: a raw slice of a document that declared
 * another encoding is not. */
static int utf8_ok(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (k == 0 || c == 0 || c == 0xC0 || c == 0xC1 || c > 0xF4 || i + k > n)
      return 0;
    for (size_t j = 1; j < k; j++)
      if ((s[i + j] & 0xC0) != 0x80) return 0;
    i += k;
  }
  return 1;
}

/* ------------------------------------------------------ propertyset */

static void open_var(gp *p, const char *l) {
  if (grow(p)) return;
  ucp__prop *v = &p->props[p->n];
  if (!(v->name = adup(p, l, strlen(l)))) return;
  v->value = NULL;
  v->value_len = 0;
  p->n++;
  p->var_tag = cur_index(p);
  p->var_inner = after_event(p);
  p->var_line = line_now(p);
  p->var_markup = 0;
  p->text_len = 0;
}

/* The variable that just ended: its text, or its raw markup. */
static void close_var(gp *p) {
  ucp__prop *v = &p->props[p->n - 1];
  const char *s = p->text ? p->text : "";
  size_t n = p->text_len;
  if (p->var_markup) {
    size_t end = cur_index(p);
    s = p->doc + p->var_inner;
    n = end >= p->var_inner ? end - p->var_inner : 0;
    if (n > p->lim.max_value) {
      fail(p, UCP_E_TOO_LARGE, "value of <%.100s> longer than %zu bytes",
           v->name, p->lim.max_value);
      return;
    }
    if (!utf8_ok((const unsigned char *)s, n)) {
      fail(p, UCP_E_PROTOCOL, "the unescaped markup inside <%.100s> is not "
           "UTF-8", v->name);
      return;
    }
    warn_at(p, p->var_line, "<%.100s> holds unescaped markup (the device did "
            "not escape it): its value is that markup as sent", v->name);
  }
  if ((v->value = adup(p, s, n))) v->value_len = n;
}

static unsigned char ps_child(gp *p, unsigned char parent, const char *l) {
  switch (parent) {
    case X_ROOT:
      if (name_is(l, "property")) return X_PROPERTY;
      warn(p, "<%.100s> in <propertyset> ignored", l);
      return X_SKIP;
    case X_PROPERTY:
      open_var(p, l);
      return X_VAR;
    case X_VAR:
      p->var_markup = 1;
      return X_MARKUP;
    case X_MARKUP: return X_MARKUP;
    default: return X_SKIP;
  }
}

static void on_text(void *ud, const char *s, int len) {
  gp *p = ud;
  if (p->status != UCP_OK || p->root_done || !p->depth ||
      ctx_top(p) != X_VAR || p->var_markup)
    return;
  size_t n = (size_t)len;
  if (p->text_len + n > p->lim.max_value) {
    fail(p, UCP_E_TOO_LARGE, "value of <%.100s> longer than %zu bytes",
         p->props[p->n - 1].name, p->lim.max_value);
    return;
  }
  if (ucp__bytes_append(&p->text, &p->text_len, &p->text_cap, s, n)) oom(p);
}

/* ------------------------------------------------------- LastChange */

static const char *attr_value(gp *p, const char **atts, const char *name) {
  const char *v = attr(atts, name);
  if (!v) return NULL;
  size_t n = strlen(v);
  if (n > p->lim.max_value) {
    fail(p, UCP_E_TOO_LARGE, "%s attribute longer than %zu bytes", name,
         p->lim.max_value);
    return NULL;
  }
  return adup(p, v, n);
}

static void open_instance(gp *p, const char **atts) {
  p->instance = attr_value(p, atts, "val");
  if (p->status != UCP_OK || p->instance) return;
  warn(p, "<InstanceID> without val: its changes have instance \"\"");
  p->instance = "";
}

/* A change is complete with its start tag: all it says is in attributes. */
static void add_change(gp *p, const char *l, const char **atts) {
  if (grow(p)) return;
  ucp__lc_change *c = &p->changes[p->n];
  c->instance = p->instance;
  c->variable = adup(p, l, strlen(l));
  c->value = attr_value(p, atts, "val");
  c->channel = attr_value(p, atts, "channel");
  if (p->status == UCP_OK) p->n++;
}

static unsigned char lc_child(gp *p, unsigned char parent, const char *l,
                              const char **atts) {
  switch (parent) {
    case X_ROOT:
      if (name_is(l, "InstanceID")) {
        open_instance(p, atts);
        return X_INSTANCE;
      }
      warn(p, "<%.100s> in <Event> ignored (not in an <InstanceID>)", l);
      return X_SKIP;
    case X_INSTANCE:
      add_change(p, l, atts);
      return X_CHANGE;
    case X_CHANGE:
      warn(p, "<%.100s> inside a change ignored", l);
      return X_SKIP;
    default: return X_SKIP;
  }
}

/* --------------------------------------------------------- expat handlers */

static int open_root(gp *p, const char *name) {
  const char *want = p->kind == K_PROPSET ? "propertyset" : "Event";
  if (!name_is(local_name(name), want)) {
    fail(p, UCP_E_PROTOCOL, "document element is <%.100s>, expected <%s>",
         name, want);
    return -1;
  }
  p->root_open = 1;
  p->root_tag = cur_index(p);
  p->last_close = after_event(p);
  return 0;
}

static void on_start(void *ud, const char *name, const char **atts) {
  gp *p = ud;
  if (p->status != UCP_OK || p->root_done) return;
  if (p->depth + 1 > p->lim.max_depth) {
    fail(p, UCP_E_TOO_LARGE, "elements nested deeper than %zu",
         p->lim.max_depth);
    return;
  }
  size_t na = 0;
  while (atts[na]) na += 2;
  if (na / 2 > MAX_ATTRS) {
    fail(p, UCP_E_TOO_LARGE, "<%.100s> has more than %d attributes", name,
         MAX_ATTRS);
    return;
  }
  unsigned char c = X_ROOT;
  if (p->depth == 0) {
    if (open_root(p, name)) return;
  } else if (p->kind == K_PROPSET) {
    c = ps_child(p, ctx_top(p), local_name(name));
  } else {
    c = lc_child(p, ctx_top(p), local_name(name), atts);
  }
  if (p->status != UCP_OK) return;
  if (p->depth < KNOWN_LEVELS) p->ctx[p->depth] = c;
  p->depth++;
}

static void on_end(void *ud, const char *name) {
  gp *p = ud;
  (void)name;
  if (p->status != UCP_OK || p->root_done || !p->depth) return;
  unsigned char c = ctx_top(p);
  p->depth--;
  if (c == X_VAR) close_var(p);
  if (c == X_INSTANCE) p->instance = NULL;
  if (p->depth == 1) p->last_close = after_event(p);
  if (c == X_ROOT) {
    /* Stop at the end of the document element: what follows is not ours
     * (Denon and TerraTec send an old buffer's remains there). */
    p->root_done = 1;
    p->root_end = after_event(p);
    XML_StopParser(p->xp, XML_FALSE);
  }
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

/* ------------------------------------------------------------- one pass */

/* A fresh expat parser and empty findings; repair notes stay. */
static int reset_pass(gp *p) {
  ucp__arena_free(&p->arena);
  p->n = 0;
  p->depth = 0;
  p->root_open = p->root_done = 0;
  p->root_tag = p->root_end = p->last_close = 0;
  p->xml_code = XML_ERROR_NONE;
  p->err_in_var = 0;
  p->text_len = 0;
  p->instance = NULL;
  p->status = UCP_OK;
  p->err[0] = '\0';
  p->warn_len = p->notes_len;
  p->warn[p->warn_len] = '\0';
  if (!(p->xp = ucp__xml_parser(p->xp))) {
    oom(p);
    return -1;
  }
  XML_SetUserData(p->xp, p);
  XML_SetElementHandler(p->xp, on_start, on_end);
  if (p->kind == K_PROPSET) XML_SetCharacterDataHandler(p->xp, on_text);
  XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
  XML_SetEntityDeclHandler(p->xp, on_entity_decl);
  XML_SetParamEntityParsing(p->xp, XML_PARAM_ENTITY_PARSING_NEVER);
  return 0;
}

static void expat_failed(gp *p) {
  enum XML_Error e = XML_GetErrorCode(p->xp);
  p->xml_code = e;
  p->xml_index = cur_index(p);
  p->err_depth = p->depth;
  p->err_in_var = p->kind == K_PROPSET && p->depth >= 3 && p->ctx[2] == X_VAR;
  fail(p, e == XML_ERROR_NO_MEMORY ? UCP_E_NOMEM : UCP_E_XML,
       "column %lu: %s", (unsigned long)XML_GetCurrentColumnNumber(p->xp),
       XML_ErrorString(e));
}

static void note_trailing(gp *p) {
  size_t extra = 0;
  for (size_t i = p->root_end; i < p->len; i++) extra += !is_ws(p->doc[i]);
  if (extra)
    warn_at(p, line_of(p, p->root_end),
            "%zu bytes after the end of <%s> ignored", p->len - p->root_end,
            p->kind == K_PROPSET ? "propertyset" : "Event");
}

static void run_pass(gp *p) {
  p->passes++;
  if (reset_pass(p)) return;
  const char *buf = p->doc;
  size_t len = p->len;
  do {
    size_t n = len > (1u << 30) ? (1u << 30) : len;
    p->in_parse = 1;
    enum XML_Status st = XML_Parse(p->xp, buf, (int)n, n == len);
    p->in_parse = 0;
    if (st == XML_STATUS_ERROR) {
      if (p->status == UCP_OK && !p->root_done) expat_failed(p);
      break;
    }
    buf += n;
    len -= n;
  } while (len && p->status == UCP_OK);
  if (p->status == UCP_OK && !p->root_done)
    fail(p, UCP_E_XML, "document ended before the end of its root element");
  if (p->status == UCP_OK) note_trailing(p);
}

/* ------------------------------------------------------------- repairs */

typedef struct outbuf {
  char *b;
  size_t len, cap;
  int bad;
} outbuf;

static void put(outbuf *o, const char *s, size_t n) {
  if (n && !o->bad && ucp__bytes_append(&o->b, &o->len, &o->cap, s, n))
    o->bad = 1;
}

/* Parse `fixed` (owned) from now on. */
static void set_doc(gp *p, char *fixed, size_t len) {
  ucp__free(p->owned);
  p->owned = fixed;
  p->doc = fixed;
  p->len = len;
}

static int starts(const char *s, size_t n, size_t i, const char *lit) {
  size_t l = strlen(lit);
  return i <= n && n - i >= l && memcmp(s + i, lit, l) == 0;
}

/* Offset just after `lit` at or after i, or 0 when absent. */
static size_t skip_past(const char *s, size_t n, size_t i, const char *lit) {
  size_t l = strlen(lit);
  for (; i + l <= n; i++)
    if (memcmp(s + i, lit, l) == 0) return i + l;
  return 0;
}

/* A declaration after comments or white space (jupnp's comments): moved
 * to the front, what came before it blanked, line breaks kept. */
static int try_decl(gp *p) {
  const char *s = p->doc;
  size_t n = p->len, at = p->xml_index;
  size_t bom = starts(s, n, 0, "\xEF\xBB\xBF") ? 3 : 0, i = bom;
  if ((p->repairs & R_DECL) || p->xml_code != XML_ERROR_MISPLACED_XML_PI ||
      !starts(s, n, at, "<?xml"))
    return 0;
  while (i < at) {
    if (is_ws(s[i])) {
      i++;
    } else if (starts(s, n, i, "<!--")) {
      i = skip_past(s, n, i + 4, "-->");
      if (!i || i > at) return 0;
    } else {
      return 0;
    }
  }
  size_t end = skip_past(s, n, at, "?>");
  if (i != at || !end) return 0;
  char *d = ucp__malloc(n + 1);
  if (!d) return repair_oom(p);
  size_t dl = end - at;
  memcpy(d, s, bom);
  memcpy(d + bom, s + at, dl);
  for (size_t k = bom; k < at; k++) d[k + dl] = s[k] == '\n' ? '\n' : ' ';
  memcpy(d + end, s + end, n - end);
  d[n] = '\0';
  p->repairs |= R_DECL;
  warn_at(p, line_of(p, at), "XML declaration after comments or white space "
          "(%zu bytes) moved to the front; they are ignored", at - bom);
  set_doc(p, d, n);
  return 1;
}

/* Bare '&' (Marantz's query strings): escaped, once. */
static int try_amp(gp *p) {
  if ((p->tried & R_AMP) || (p->xml_code != XML_ERROR_INVALID_TOKEN &&
                             p->xml_code != XML_ERROR_UNDEFINED_ENTITY))
    return 0;
  p->tried |= R_AMP;
  size_t len, fixed;
  char *d = ucp__xml_escape_bare_amps(p->doc, p->len, &len, &fixed);
  if (!d) return repair_oom(p);
  if (!fixed) {
    ucp__free(d);
    return 0;
  }
  p->repairs |= R_AMP;
  warn_at(p, line_of(p, p->xml_index), "%zu unescaped '&' escaped (%s)",
          fixed, XML_ErrorString(p->xml_code));
  set_doc(p, d, len);
  return 1;
}

/* The first "</qname" + white space + ">" at or after i: its offset, or n. */
static size_t find_end_tag(const char *s, size_t n, size_t i,
                           const char *qname, size_t ql) {
  for (; i + ql + 3 <= n; i++) {
    if (s[i] != '<' || s[i + 1] != '/' || memcmp(s + i + 2, qname, ql) != 0)
      continue;
    size_t k = i + 2 + ql;
    while (k < n && is_ws(s[k])) k++;
    if (k < n && s[k] == '>') return i;
  }
  return n;
}

/* The name of the tag starting at s[i] ('<'), and its length. */
static size_t tag_name(const char *s, size_t n, size_t i, const char **name) {
  size_t k = i + 1;
  while (k < n && !is_ws(s[k]) && s[k] != '/' && s[k] != '>') k++;
  *name = s + i + 1;
  return k - i - 1;
}

/* A copy of s[0..n) with '<' and '>' in [from, to) escaped (NUL added,
 * not counted in o->len); their count in *changed. */
static void escape_angles(const char *s, size_t n, size_t from, size_t to,
                          outbuf *o, size_t *changed) {
  size_t k = 0;
  *changed = 0;
  for (size_t i = from; i < to; i++) {
    if (s[i] != '<' && s[i] != '>') continue;
    put(o, s + k, i - k);
    put(o, s[i] == '<' ? "&lt;" : "&gt;", 4);
    k = i + 1;
    (*changed)++;
  }
  put(o, s + k, n - k);
  put(o, "", 1);
}

/* A variable whose content is not well-formed markup (HTML, a corrupted
 * buffer): its '<' and '>' up to its end tag escaped, so it is text. */
static int try_value(gp *p) {
  if (!p->err_in_var || p->var_tag >= p->len || p->doc[p->var_tag] != '<')
    return 0;
  const char *qn;
  size_t ql = tag_name(p->doc, p->len, p->var_tag, &qn);
  size_t from = p->xml_index > p->var_inner ? p->xml_index : p->var_inner;
  size_t end = find_end_tag(p->doc, p->len, from, qn, ql);
  if (!ql || end == p->len) return 0;
  outbuf o = {NULL, 0, 0, 0};
  size_t changed;
  escape_angles(p->doc, p->len, p->var_inner, end, &o, &changed);
  if (o.bad || !changed) {
    ucp__free(o.b);
    return o.bad ? repair_oom(p) : 0;
  }
  p->repairs |= R_VALUE;
  warn_at(p, p->var_line, "<%.*s> holds markup that is not well-formed (%s): "
          "%zu '<' and '>' escaped, its value is that content as text",
          (int)(ql > 100 ? 100 : ql), qn, XML_ErrorString(p->xml_code),
          changed);
  set_doc(p, o.b, o.len - 1);
  return 1;
}

/* ------------------------------------------------- the val attribute repair */

/* s[k..] is an attribute named `name` (any case): name, white space, '='. */
static int attr_named(const char *s, size_t n, size_t k, const char *name) {
  size_t l = strlen(name);
  if (k + l > n || strncasecmp(s + k, name, l) != 0) return 0;
  for (k += l; k < n && is_ws(s[k]); k++) {}
  return k < n && s[k] == '=';
}

/* s[k] starts an end tag whose local name is `local`. */
static int end_tag_named(const char *s, size_t n, size_t k, const char *local) {
  if (k + 2 > n || s[k] != '<' || s[k + 1] != '/') return 0;
  const char *nm;
  size_t l = tag_name(s, n, k + 1, &nm), ll = strlen(local);
  for (size_t i = l; i-- > 0;)
    if (nm[i] == ':') {
      nm += i + 1;
      l -= i + 1;
      break;
    }
  return l == ll && strncasecmp(nm, local, l) == 0;
}

/* s[k] starts a start tag whose first attribute is val or channel: the
 * next change of a LastChange. */
static int change_tag(const char *s, size_t n, size_t k) {
  if (k >= n || s[k] != '<') return 0;
  const char *nm;
  size_t l = tag_name(s, n, k, &nm);
  k += 1 + l;
  if (!l || k >= n || !is_ws(s[k])) return 0;
  while (k < n && is_ws(s[k])) k++;
  return attr_named(s, n, k, "val") || attr_named(s, n, k, "channel");
}

/* What can follow a LastChange tag: the next change, or the end of an
 * InstanceID or of the Event. */
static int next_tag_ok(const char *s, size_t n, size_t k) {
  return end_tag_named(s, n, k, "InstanceID") ||
         end_tag_named(s, n, k, "Event") || change_tag(s, n, k);
}

/* Is the quote at s[j] the end of a val attribute? (gena.h) */
static int closes_val(const char *s, size_t n, size_t j) {
  size_t k = j + 1;
  while (k < n && is_ws(s[k])) k++;
  if (k > j + 1 && attr_named(s, n, k, "channel")) return 1;
  int empty = starts(s, n, k, "/>");
  if (!empty && !starts(s, n, k, ">")) return 0;
  for (k += empty ? 2 : 1; k < n && is_ws(s[k]); k++) {}
  if (empty && (k == n || s[k] != '<')) return 1;
  return k < n && next_tag_ok(s, n, k);
}

/* The quote at s[i] opens the value of an attribute named val. */
static int opens_val(const char *s, size_t i) {
  size_t k = i;
  while (k > 0 && is_ws(s[k - 1])) k--;
  if (k == 0 || s[--k] != '=') return 0;
  while (k > 0 && is_ws(s[k - 1])) k--;
  return k >= 4 && strncasecmp(s + k - 3, "val", 3) == 0 && is_ws(s[k - 4]);
}

/* Copy the value s[from..to) escaping '<', '>' and the quote q; 1 if it
 * held any. */
static int put_val(outbuf *o, const char *s, size_t from, size_t to, char q) {
  int changed = 0;
  size_t k = from;
  for (size_t i = from; i < to; i++) {
    const char *e = s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;"
                    : s[i] != q ? NULL : q == '"' ? "&quot;" : "&apos;";
    if (!e) continue;
    put(o, s + k, i - k);
    put(o, e, strlen(e));
    k = i + 1;
    changed = 1;
  }
  put(o, s + k, to - k);
  return changed;
}

/* Markup that is not a tag: comments, PIs, CDATA. The offset after it. */
static size_t skip_special(const char *s, size_t n, size_t i) {
  static const char *const open[] = {"<!--", "<?", "<![CDATA["};
  static const char *const close[] = {"-->", "?>", "]]>"};
  for (size_t k = 0; k < 3; k++) {
    if (!starts(s, n, i, open[k])) continue;
    size_t e = skip_past(s, n, i + strlen(open[k]), close[k]);
    return e ? e : n;
  }
  return i;
}

/* The document with every val attribute's value re-escaped; the number of
 * values changed in *changed and the first one's offset in *first. */
static void rewrite_vals(const char *s, size_t n, outbuf *o, size_t *changed,
                         size_t *first) {
  size_t i = 0, copied = 0;
  int in_tag = 0;
  while (i < n) {
    size_t j = in_tag ? i : skip_special(s, n, i);
    if (j != i) {
      i = j;
      continue;
    }
    char c = s[i];
    if (!in_tag || (c != '"' && c != '\'')) {
      in_tag = in_tag ? c != '>' : c == '<';
      i++;
      continue;
    }
    size_t e = i + 1;
    if (!opens_val(s, i)) {
      const char *q = memchr(s + e, c, n - e);
      i = q ? (size_t)(q - s) + 1 : n;
      continue;
    }
    while (e < n && !(s[e] == c && closes_val(s, n, e))) e++;
    put(o, s + copied, i + 1 - copied);
    if (put_val(o, s, i + 1, e, c) && (*changed)++ == 0) *first = i;
    copied = i = e;
    if (i < n) i++; /* the closing quote, copied with the rest */
  }
  put(o, s + copied, n - copied);
  put(o, "", 1);
}

/* LastChange: nested DIDL escaped once instead of twice. */
static int try_valattr(gp *p) {
  if (p->tried & R_VALATTR) return 0;
  p->tried |= R_VALATTR;
  outbuf o = {NULL, 0, 0, 0};
  size_t changed = 0, first = 0;
  rewrite_vals(p->doc, p->len, &o, &changed, &first);
  if (o.bad) {
    ucp__free(o.b);
    return repair_oom(p);
  }
  if (!changed) {
    ucp__free(o.b);
    return 0;
  }
  p->repairs |= R_VALATTR;
  warn_at(p, line_of(p, first), "%zu val attribute%s held a literal '<', "
          "'>' or quote (a nested document escaped once, not twice; %s): "
          "escaped", changed, changed == 1 ? "" : "s",
          XML_ErrorString(p->xml_code));
  set_doc(p, o.b, o.len - 1);
  return 1;
}

/* ------------------------------------------------------- truncation */

static int premature_end(enum XML_Error e) {
  return e == XML_ERROR_UNCLOSED_TOKEN || e == XML_ERROR_NO_ELEMENTS ||
         e == XML_ERROR_PARTIAL_CHAR || e == XML_ERROR_UNCLOSED_CDATA_SECTION;
}

/* Propertyset: cut inside the root's end tag ("</e" for
 * "</e:propertyset>"), nothing else open: no property is lost. */
static int accept_root_cut(gp *p) {
  if (!premature_end(p->xml_code) || !p->root_open || p->err_depth != 1)
    return 0;
  const char *s = p->doc, *qn;
  size_t a = p->last_close, b = p->len;
  while (a < b && is_ws(s[a])) a++;
  while (b > a && is_ws(s[b - 1])) b--;
  size_t ql = tag_name(s, p->len, p->root_tag, &qn), r = b - a;
  if (r < 2 || r > ql + 2 || s[a] != '<' || s[a + 1] != '/' ||
      memcmp(s + a + 2, qn, r - 2) != 0)
    return 0;
  char why[ERR_CAP];
  memcpy(why, p->err, sizeof why);
  p->status = UCP_OK;
  p->err[0] = '\0';
  p->repairs |= R_CUT;
  warn_at(p, line_of(p, a), "body cut inside the end tag of <%.*s> (%s); "
          "every property was complete: accepted", (int)(ql > 100 ? 100 : ql),
          qn, why);
  return 1;
}

/* LastChange: ends before </Event> (TEAC cuts at about 1 KiB): the changes
 * whose start tags were complete are kept. */
static int accept_truncated(gp *p) {
  if (!premature_end(p->xml_code) || !p->root_open) return 0;
  if (p->n == 0) {
    size_t l = strlen(p->err);
    snprintf(p->err + l, sizeof p->err - l,
             " (truncated before any complete change)");
    return 0;
  }
  const char *nm = "";
  size_t nl = 0;
  if (p->xml_index < p->len && p->doc[p->xml_index] == '<')
    nl = tag_name(p->doc, p->len, p->xml_index, &nm);
  char why[ERR_CAP];
  memcpy(why, p->err, sizeof why);
  p->status = UCP_OK;
  p->err[0] = '\0';
  p->partial = 1;
  p->repairs |= R_CUT;
  warn_at(p, line_of(p, p->xml_index),
          "document ends before </Event>%s%.*s%s (truncated or mangled by "
          "the device; %s): the %zu changes before that are kept, any after "
          "it are lost",
          nl ? ", inside <" : "", (int)(nl > 100 ? 100 : nl), nm,
          nl ? ">" : "", why, p->n);
  return 1;
}

/* ------------------------------------------------------------- driving */

/* 1 when a repaired copy is ready to parse. The failed pass's warnings
 * go (the next pass says its own), unless nothing is repaired. */
static int try_repair(gp *p) {
  size_t pass_len = p->warn_len;
  p->warn_len = p->notes_len;
  int done = try_decl(p) || (p->status == UCP_E_XML && try_amp(p));
  if (!done && p->status == UCP_E_XML)
    done = p->kind == K_PROPSET ? try_value(p)
           : !premature_end(p->xml_code) && try_valattr(p);
  if (done) {
    p->notes_len = p->warn_len;
  } else {
    p->warn_len = pass_len; /* nothing was written past it */
  }
  p->warn[p->warn_len] = '\0';
  return done;
}

/* Still malformed after repairs: the first error (on the device's own
 * bytes) leads, the repairs and the last error follow. */
static void add_repair_note(gp *p) {
  static const struct { unsigned bit; const char *what; } names[] = {
      {R_DECL, "declaration moved"}, {R_AMP, "bare '&' escaped"},
      {R_VALUE, "markup in a value escaped"},
      {R_VALATTR, "val attributes re-escaped"}};
  if (!p->repairs) return;
  char done[120] = "";
  for (size_t i = 0; i < 4; i++) {
    if (!(p->repairs & names[i].bit)) continue;
    size_t l = strlen(done);
    snprintf(done + l, sizeof done - l, "%s%s", l ? ", " : "", names[i].what);
  }
  char last[ERR_CAP];
  memcpy(last, p->err, sizeof last);
  snprintf(p->err, sizeof p->err, "%.160s (still malformed after repairs: %s; "
           "then %.160s)", p->first_err, done, last);
}

static void parse_doc(gp *p) {
  run_pass(p);
  memcpy(p->first_err, p->err, sizeof p->err);
  while (p->status == UCP_E_XML && p->passes < MAX_PASSES && try_repair(p))
    run_pass(p);
  if (p->status != UCP_E_XML) return;
  if (p->kind == K_PROPSET ? accept_root_cut(p) : accept_truncated(p)) return;
  add_repair_note(p);
}

static void limits_or_default(const ucp__gena_limits *lim,
                              ucp__gena_limits *out) {
  ucp__gena_limits_default(out);
  if (!lim) return;
  if (lim->max_bytes) out->max_bytes = lim->max_bytes;
  if (lim->max_depth) out->max_depth = lim->max_depth;
  if (lim->max_value) out->max_value = lim->max_value;
  if (lim->max_props) out->max_props = lim->max_props;
}

static void gp_init(gp *p, enum kind kind, const char *doc, size_t len,
                    const ucp__gena_limits *lim) {
  memset(p, 0, sizeof *p);
  p->kind = kind;
  limits_or_default(lim, &p->lim);
  p->doc = doc ? doc : "";
  p->len = len;
  ucp__arena_init(&p->arena);
}

static void gp_free(gp *p) {
  if (p->xp) XML_ParserFree(p->xp);
  ucp__free(p->owned);
  ucp__free(p->text);
  ucp__free(p->props);
  ucp__free(p->changes);
  ucp__arena_free(&p->arena);
}

/* Size, then parse: the status, with the reason in detail. */
static int run(gp *p, char *detail, size_t detail_cap) {
  if (p->len > p->lim.max_bytes)
    fail(p, UCP_E_TOO_LARGE, "document of %zu bytes, more than %zu", p->len,
         p->lim.max_bytes);
  else
    parse_doc(p);
  if (p->status == UCP_OK && p->kind == K_PROPSET && p->n == 0)
    warn_at(p, 1, "no variable in the propertyset");
  if (detail && detail_cap) snprintf(detail, detail_cap, "%s", p->err);
  return p->status;
}

/* The findings, moved into `arena`: the array and the warnings. */
static int move_out(gp *p, ucp__arena *arena, void **items, size_t item_size,
                    const char **warnings) {
  const void *src = p->kind == K_PROPSET ? (void *)p->props
                                         : (void *)p->changes;
  *items = NULL;
  *warnings = "";
  if (p->n && !(*items = ucp__arena_alloc(&p->arena, p->n * item_size)))
    return UCP_E_NOMEM;
  if (p->n) memcpy(*items, src, p->n * item_size);
  if (p->warn_len && !(*warnings = adup(p, p->warn, p->warn_len)))
    return UCP_E_NOMEM;
  *arena = p->arena;
  ucp__arena_init(&p->arena);
  return UCP_OK;
}

static int bad_args(const char *doc, size_t len, void *out, char *detail,
                    size_t detail_cap) {
  if (out && (doc || !len)) return 0;
  if (detail && detail_cap) snprintf(detail, detail_cap, "invalid argument");
  return 1;
}

/* ------------------------------------------------------------- public */

void ucp__gena_limits_default(ucp__gena_limits *l) {
  l->max_bytes = UCP__GENA_MAX_BYTES;
  l->max_depth = UCP__GENA_MAX_DEPTH;
  l->max_value = UCP__GENA_MAX_VALUE;
  l->max_props = UCP__GENA_MAX_PROPS;
}

int ucp__propset_parse(const char *body, size_t len,
                       const ucp__gena_limits *lim, ucp__propset **out,
                       char *detail, size_t detail_cap) {
  if (bad_args(body, len, out, detail, detail_cap)) return UCP_E_INVALIDARG;
  *out = NULL;
  gp p;
  gp_init(&p, K_PROPSET, body, len, lim);
  int rc = run(&p, detail, detail_cap);
  ucp__propset *r = rc == UCP_OK ? ucp__calloc(1, sizeof *r) : NULL;
  if (rc == UCP_OK && r) {
    void *items;
    rc = move_out(&p, &r->arena, &items, sizeof(ucp__prop), &r->warnings);
    r->props = items;
    r->n = p.n;
  } else if (rc == UCP_OK) {
    rc = UCP_E_NOMEM;
  }
  gp_free(&p);
  if (rc != UCP_OK) {
    ucp__propset_free(r);
    if (rc == UCP_E_NOMEM && detail && detail_cap)
      snprintf(detail, detail_cap, "out of memory");
    return rc;
  }
  *out = r;
  return UCP_OK;
}

void ucp__propset_free(ucp__propset *p) {
  if (!p) return;
  ucp__arena_free(&p->arena);
  ucp__free(p);
}

const ucp__prop *ucp__propset_find(const ucp__propset *p, const char *name) {
  if (!p || !name) return NULL;
  for (size_t i = 0; i < p->n; i++)
    if (strcmp(p->props[i].name, name) == 0) return &p->props[i];
  for (size_t i = 0; i < p->n; i++)
    if (name_is(p->props[i].name, name)) return &p->props[i];
  return NULL;
}

int ucp__lastchange_parse_limits(const char *doc, size_t len,
                                 const ucp__gena_limits *lim,
                                 ucp__lastchange **out, char *detail,
                                 size_t detail_cap) {
  if (bad_args(doc, len, out, detail, detail_cap)) return UCP_E_INVALIDARG;
  *out = NULL;
  gp p;
  gp_init(&p, K_LASTCHANGE, doc, len, lim);
  int rc = run(&p, detail, detail_cap);
  ucp__lastchange *r = rc == UCP_OK ? ucp__calloc(1, sizeof *r) : NULL;
  if (rc == UCP_OK && r) {
    void *items;
    rc = move_out(&p, &r->arena, &items, sizeof(ucp__lc_change),
                  &r->warnings);
    r->changes = items;
    r->n = p.n;
    r->partial = p.partial;
  } else if (rc == UCP_OK) {
    rc = UCP_E_NOMEM;
  }
  gp_free(&p);
  if (rc != UCP_OK) {
    ucp__lastchange_free(r);
    if (rc == UCP_E_NOMEM && detail && detail_cap)
      snprintf(detail, detail_cap, "out of memory");
    return rc;
  }
  *out = r;
  return UCP_OK;
}

int ucp__lastchange_parse(const char *doc, size_t len, ucp__lastchange **out,
                          char *detail, size_t detail_cap) {
  return ucp__lastchange_parse_limits(doc, len, NULL, out, detail,
                                      detail_cap);
}

void ucp__lastchange_free(ucp__lastchange *l) {
  if (!l) return;
  ucp__arena_free(&l->arena);
  ucp__free(l);
}
