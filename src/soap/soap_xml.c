/* soap_xml.c - SOAP 1.1 for UPnP control: the request builder and a
 * streaming response/fault parser on expat. As in desc_parser.c: no
 * namespace processing, elements matched by local name case-insensitively
 * (devices write s:, SOAP:, u:, m:, faultCode), DOCTYPE refused, depth and
 * text capped here whatever expat's version does, "line N: ..." errors.
 *
 * The body is kept as it arrives (bounded by max_bytes) for two reasons:
 * an argument holding unescaped markup gets that markup as its value (a
 * slice of the body between its tags), and a misplaced XML declaration
 * inside an argument (Naim Uniti) can be removed and the body parsed
 * again. */
#include <expat.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "../xml/xml_common.h"
#include "../core/mem.h"
#include "soap.h"
#include "types.h"
#include "upnpcp.h"

/* ============================================================ builder */

static int is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_digit(char c) { return c >= '0' && c <= '9'; }

int ucp__soap_name_ok(const char *name) {
  if (!name) return 0;
  size_t n = strlen(name);
  if (n == 0 || n > 255) return 0;
  if (is_digit(name[0]) || name[0] == '-' || name[0] == '.') return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '-' && c != '.')
      return 0;
  }
  return 1;
}

static int service_type_ok(const char *s) {
  if (!s) return 0;
  size_t n = strlen(s);
  if (n == 0 || n > 256) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c >= 0x7F || strchr("\"#<>&'\\", c)) return 0;
  }
  return 1;
}

/* The escaped length of v, or an error naming what XML cannot carry. */
static int escaped_len(const char *v, size_t *out, const char **why) {
  const unsigned char *s = (const unsigned char *)v;
  size_t n = strlen(v), l = 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    if (c < 0x80) {
      switch (c) {
        case '&': l += 5; break;                /* &amp; */
        case '<': case '>': l += 4; break;      /* &lt; &gt; */
        case '"': case '\'': l += 6; break;     /* &quot; &apos; */
        case '\r': l += 5; break;               /* &#13; */
        case '\t': case '\n': l += 1; break;
        default:
          if (c < 0x20) {
            *why = "value holds a control character (only tab, CR and LF "
                   "may appear in XML)";
            return UCP_E_INVALIDARG;
          }
          l += 1;
      }
      i++;
      continue;
    }
    uint32_t cp;
    size_t k = ucp__utf8_decode(s + i, n - i, &cp);
    if (k == 0) {
      *why = "value is not valid UTF-8";
      return UCP_E_INVALIDARG;
    }
    if (cp == 0xFFFE || cp == 0xFFFF) {
      *why = "value holds U+FFFE or U+FFFF (not allowed in XML)";
      return UCP_E_INVALIDARG;
    }
    l += k;
    i += k;
  }
  *out = l;
  return UCP_OK;
}

static char *put(char *d, const char *s) {
  size_t n = strlen(s);
  memcpy(d, s, n);
  return d + n;
}

static char *put_escaped(char *d, const char *v) {
  for (; *v; v++) {
    switch (*v) {
      case '&': d = put(d, "&amp;"); break;
      case '<': d = put(d, "&lt;"); break;
      case '>': d = put(d, "&gt;"); break;
      case '"': d = put(d, "&quot;"); break;
      case '\'': d = put(d, "&apos;"); break;
      case '\r': d = put(d, "&#13;"); break;
      default: *d++ = *v;
    }
  }
  return d;
}

static const char ENV_HEAD[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
    "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
    "<s:Body><u:";
static const char ENV_TAIL[] = "></s:Body></s:Envelope>";

/* An argument name may carry the action's own prefix "u:" (UDA 1.0's
 * QueryStateVariable sends <u:varName>). */
static const char *prefixless(const char *name) {
  return name && strncmp(name, "u:", 2) == 0 ? name + 2 : name;
}

int ucp__soap_build_request(const char *service_type, const char *action,
                            const char *const *names,
                            const char *const *values, size_t n, char **out,
                            size_t *len, char *soapaction,
                            size_t soapaction_cap, const char **why) {
  const char *dummy;
  if (!why) why = &dummy;
  *why = NULL;
  if (out) *out = NULL;
  if (len) *len = 0;
  if (!out || (n && !names) || (soapaction && !soapaction_cap)) {
    *why = "invalid argument";
    return UCP_E_INVALIDARG;
  }
  if (!service_type_ok(service_type)) {
    *why = "service type must be 1..256 printable ASCII characters without "
           "space, '\"', '#', '<', '>', '&', '\\'' or '\\\\'";
    return UCP_E_INVALIDARG;
  }
  if (!ucp__soap_name_ok(action)) {
    *why = "action name must be 1..255 letters, digits, '_', '-', '.', not "
           "starting with a digit, '-' or '.'";
    return UCP_E_INVALIDARG;
  }
  size_t alen = strlen(action), slen = strlen(service_type);
  /* head + action + ` xmlns:u="` + type + `">` + args + `</u:` + action
   * + tail; each piece is bounded (names 255, values checked below). */
  size_t total = sizeof ENV_HEAD - 1 + alen + 10 + slen + 2 + 4 + alen +
                 sizeof ENV_TAIL - 1;
  for (size_t i = 0; i < n; i++) {
    if (!ucp__soap_name_ok(prefixless(names[i]))) {
      *why = "argument name must be 1..255 letters, digits, '_', '-', '.', "
             "not starting with a digit, '-' or '.'";
      return UCP_E_INVALIDARG;
    }
    size_t vl;
    const char *v = values && values[i] ? values[i] : "";
    int rc = escaped_len(v, &vl, why);
    if (rc != UCP_OK) return rc;
    size_t nl = strlen(names[i]);
    size_t add = 2 * nl + 5 + vl; /* <n>v</n> */
    if (add < vl || total + add < total) {
      *why = "request too large";
      return UCP_E_INVALIDARG;
    }
    total += add;
  }
  size_t salen = 2 + slen + 1 + alen; /* "type#action" */
  if (soapaction && salen + 1 > soapaction_cap) {
    *why = "SOAPACTION buffer too small";
    return UCP_E_INVALIDARG;
  }
  char *b = ucp__malloc(total + 1);
  if (!b) return UCP_E_NOMEM;
  char *d = put(b, ENV_HEAD);
  d = put(d, action);
  d = put(d, " xmlns:u=\"");
  d = put(d, service_type);
  d = put(d, "\">");
  for (size_t i = 0; i < n; i++) {
    *d++ = '<';
    d = put(d, names[i]);
    *d++ = '>';
    d = put_escaped(d, values && values[i] ? values[i] : "");
    d = put(d, "</");
    d = put(d, names[i]);
    *d++ = '>';
  }
  d = put(d, "</u:");
  d = put(d, action);
  d = put(d, ENV_TAIL);
  *d = '\0';
  if ((size_t)(d - b) != total) { /* the two passes disagree: a bug */
    ucp__free(b);
    *why = "internal error";
    return UCP_E_INTERNAL;
  }
  if (soapaction) {
    char *s = soapaction;
    *s++ = '"';
    s = put(s, service_type);
    *s++ = '#';
    s = put(s, action);
    *s++ = '"';
    *s = '\0';
  }
  *out = b;
  if (len) *len = total;
  return UCP_OK;
}

/* ============================================================ parser */

/* Where the parser stands: one context per open element. */
enum ctx {
  C_SKIP,       /* inside an element we do not care about */
  C_ENVELOPE,
  C_BODY,
  C_RESPONSE,   /* <u:ActionResponse> */
  C_ARG,        /* an out-argument */
  C_MARKUP,     /* an element inside an argument (unescaped markup) */
  C_FAULT,
  C_FAULT_CODE,
  C_FAULT_STRING,
  C_DETAIL,
  C_UPNP_ERROR,
  C_ERROR_CODE,
  C_ERROR_DESC
};

enum { MAX_ATTRS = 64, MAX_REPAIRS = 8, WARN_CAP = 2048 };

struct ucp__soap_parser {
  XML_Parser xp;
  char *action; /* expected, or NULL */
  size_t max_bytes, max_value;
  unsigned char stack[UCP__SOAP_MAX_DEPTH];
  size_t depth;
  int status;
  char err[512];
  int in_parse; /* inside XML_Parse: XML_StopParser is allowed */
  int done;     /* </Envelope> seen */
  int code_seen; /* an errorCode element ended: later ones are ignored */
  int body_seen, payload_seen;
  /* the last expat error, for the repair decision */
  enum XML_Error xml_code;
  int xml_err_in_arg;
  unsigned long xml_err_line;
  XML_Index xml_err_index;
  int finished;
  int repairs, repair_stop;
  size_t total;
  char *raw; /* the body as received */
  size_t raw_len, raw_cap;
  const char *doc; /* the document being parsed (raw, or a repaired copy) */
  size_t doc_len;
  ucp__soap_result *res;
  size_t args_cap;
  /* text of the element being collected */
  char *text;
  size_t text_len, text_cap;
  /* the current argument */
  int markup;
  XML_Index inner_start;
  char warn[WARN_CAP];
  size_t warn_len, notes_len; /* notes_len: repair notes kept on reparse */
};


/* ----------------------------------------------------------- diagnostics */

static unsigned long line_now(const ucp__soap_parser *p) {
  return p->xp ? (unsigned long)XML_GetCurrentLineNumber(p->xp) : 0ul;
}

static void fail(ucp__soap_parser *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(ucp__soap_parser *p, int code, const char *fmt, ...) {
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

static void warn(ucp__soap_parser *p, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warn(ucp__soap_parser *p, unsigned long line, const char *fmt,
                 ...) {
  if (p->warn_len + 2 >= sizeof p->warn) return;
  char *w = p->warn + p->warn_len;
  size_t room = sizeof p->warn - p->warn_len;
  int n = snprintf(w, room, "line %lu: ", line);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < room)
    n += vsnprintf(w + n, room - (size_t)n, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  p->warn_len =
      (size_t)n < room - 1 ? p->warn_len + (size_t)n : sizeof p->warn - 2;
  p->warn[p->warn_len++] = '\n';
  p->warn[p->warn_len] = '\0';
}

/* ----------------------------------------------------------- names */

static const char *local_name(const char *name) {
  const char *c = strrchr(name, ':');
  return c ? c + 1 : name;
}

static int name_is(const char *l, const char *name) {
  return strcasecmp(l, name) == 0;
}

/* l ends with "Response" and, when an action is expected, is exactly
 * action + "Response" (case-insensitively). */
static int response_matches(const char *action, const char *l) {
  static const char suffix[] = "Response";
  size_t n = strlen(l), sl = sizeof suffix - 1;
  if (n <= sl || strcasecmp(l + n - sl, suffix) != 0) return 0;
  return !action ||
         (n - sl == strlen(action) && strncasecmp(l, action, n - sl) == 0);
}

/* ----------------------------------------------------------- result */

void ucp__soap_result_free(ucp__soap_result *r) {
  if (!r) return;
  ucp__free(r->fault_code);
  ucp__free(r->fault_string);
  ucp__free(r->upnp_description);
  for (size_t i = 0; i < r->nargs; i++) {
    ucp__free(r->names[i]);
    if (r->values) ucp__free(r->values[i]);
  }
  ucp__free(r->names);
  ucp__free(r->values);
  ucp__free(r->warnings);
  ucp__free(r);
}

static void oom(ucp__soap_parser *p) { fail(p, UCP_E_NOMEM, "out of memory"); }

static void open_arg(ucp__soap_parser *p, const char *l) {
  ucp__soap_result *r = p->res;
  if (r->nargs >= UCP__SOAP_MAX_ARGS) {
    fail(p, UCP_E_TOO_LARGE, "more than %d out-arguments",
         UCP__SOAP_MAX_ARGS);
    return;
  }
  if (r->nargs == p->args_cap) {
    size_t cap = p->args_cap ? p->args_cap * 2 : 8;
    char **nn = ucp__realloc(r->names, cap * sizeof *nn);
    if (!nn) return oom(p);
    r->names = nn;
    char **nv = ucp__realloc(r->values, cap * sizeof *nv);
    if (!nv) return oom(p);
    r->values = nv;
    p->args_cap = cap;
  }
  char *name = ucp__strdup(l);
  if (!name) return oom(p);
  r->names[r->nargs] = name;
  r->values[r->nargs] = NULL;
  r->nargs++;
}

static void trim(const char **s, size_t *n) {
  while (*n && strchr(" \t\r\n", **s)) (*s)++, (*n)--;
  while (*n && strchr(" \t\r\n", (*s)[*n - 1])) (*n)--;
}

/* A fault field, trimmed; the first occurrence wins. */
static void set_field(ucp__soap_parser *p, char **slot) {
  if (*slot) return;
  const char *s = p->text ? p->text : "";
  size_t n = p->text_len;
  trim(&s, &n);
  if (!(*slot = ucp__strndup(s, n))) oom(p);
}

/* The first errorCode wins (0 and a warning when it is no number), as the
 * first errorDescription does (set_field): both come from one element when
 * a device sends two. */
static void set_error_code(ucp__soap_parser *p) {
  if (p->code_seen++) return;
  const char *s = p->text ? p->text : "";
  size_t n = p->text_len;
  trim(&s, &n);
  size_t i = 0;
  int neg = 0;
  if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  long long v = 0;
  int ok = i < n;
  for (; ok && i < n; i++) {
    ok = is_digit(s[i]) && v <= 100000000000LL;
    v = v * 10 + (s[i] - '0');
  }
  if (neg) v = -v;
  if (!ok || v < INT32_MIN || v > INT32_MAX) {
    warn(p, line_now(p), "UPnPError errorCode '%.*s' is not an integer",
         (int)(n > 40 ? 40 : n), s);
    return;
  }
  p->res->upnp_error = (int)v;
}

/* The argument that just ended: its text, or its raw markup. */
static void close_arg(ucp__soap_parser *p) {
  ucp__soap_result *r = p->res;
  const char *name = r->names[r->nargs - 1];
  const char *v = p->text ? p->text : "";
  size_t n = p->text_len;
  if (p->markup) {
    XML_Index end = XML_GetCurrentByteIndex(p->xp);
    if (end < p->inner_start) {
      fail(p, UCP_E_INTERNAL, "bad markup offsets in <%.100s>", name);
      return;
    }
    v = p->doc + p->inner_start;
    n = (size_t)(end - p->inner_start);
    if (n > p->max_value) {
      fail(p, UCP_E_TOO_LARGE, "value of <%.100s> longer than %zu bytes",
           name, p->max_value);
      return;
    }
    for (size_t i = 0; i < n;) {
      uint32_t cp;
      size_t k = ucp__utf8_decode((const unsigned char *)v + i, n - i, &cp);
      if (k == 0 || cp == 0) {
        fail(p, UCP_E_PROTOCOL,
             "the unescaped markup inside <%.100s> is not UTF-8", name);
        return;
      }
      i += k;
    }
    warn(p, line_now(p),
         "<%.100s> holds unescaped markup (the device did not escape it): "
         "its value is that markup as sent",
         name);
  }
  char *val = ucp__strndup(v, n);
  if (!val) return oom(p);
  r->values[r->nargs - 1] = val;
}

/* --------------------------------------------------------- expat handlers */

static unsigned char child_ctx(ucp__soap_parser *p, const char *l) {
  unsigned char parent = p->stack[p->depth - 1];
  switch (parent) {
    case C_ENVELOPE:
      if (name_is(l, "Body")) {
        if (!p->body_seen) {
          p->body_seen = 1;
          return C_BODY;
        }
        warn(p, line_now(p), "second <Body> ignored");
      }
      return C_SKIP; /* Header, vendor elements */
    case C_BODY:
      if (p->payload_seen) {
        warn(p, line_now(p), "<%.100s> after the %s ignored", l,
             p->res->is_fault ? "fault" : "response");
        return C_SKIP;
      }
      p->payload_seen = 1;
      if (name_is(l, "Fault")) {
        p->res->is_fault = 1;
        return C_FAULT;
      }
      if (response_matches(p->action, l)) return C_RESPONSE;
      if (p->action)
        fail(p, UCP_E_PROTOCOL,
             "response element is <%.100s>, expected <%.100sResponse> or "
             "<Fault>",
             l, p->action);
      else
        fail(p, UCP_E_PROTOCOL,
             "<Body> holds <%.100s>, expected an action response or <Fault>",
             l);
      return C_SKIP;
    case C_RESPONSE:
      open_arg(p, l);
      p->markup = 0;
      p->inner_start =
          XML_GetCurrentByteIndex(p->xp) + XML_GetCurrentByteCount(p->xp);
      return C_ARG;
    case C_ARG:
      p->markup = 1;
      return C_MARKUP;
    case C_MARKUP: return C_MARKUP;
    case C_FAULT:
      if (name_is(l, "faultcode")) return C_FAULT_CODE;
      if (name_is(l, "faultstring")) return C_FAULT_STRING;
      if (name_is(l, "detail")) return C_DETAIL;
      return C_SKIP;
    case C_DETAIL:
      if (name_is(l, "UPnPError")) return C_UPNP_ERROR;
      /* a bare errorCode in <detail> is read too */
      if (name_is(l, "errorCode")) return C_ERROR_CODE;
      if (name_is(l, "errorDescription")) return C_ERROR_DESC;
      return C_SKIP;
    case C_UPNP_ERROR:
      if (name_is(l, "errorCode")) return C_ERROR_CODE;
      if (name_is(l, "errorDescription")) return C_ERROR_DESC;
      return C_SKIP;
    default: return C_SKIP;
  }
}

static int collects_text(const ucp__soap_parser *p, unsigned char ctx) {
  switch (ctx) {
    case C_ARG: return !p->markup;
    case C_FAULT_CODE: case C_FAULT_STRING: case C_ERROR_CODE:
    case C_ERROR_DESC:
      return 1;
    default: return 0;
  }
}

static void on_start(void *ud, const char *name, const char **atts) {
  ucp__soap_parser *p = ud;
  if (p->status != UCP_OK || p->done) return;
  if (p->depth + 1 > UCP__SOAP_MAX_DEPTH) {
    fail(p, UCP_E_TOO_LARGE, "elements nested deeper than %d",
         UCP__SOAP_MAX_DEPTH);
    return;
  }
  size_t na = 0;
  while (atts[na]) na += 2;
  if (na / 2 > MAX_ATTRS) {
    fail(p, UCP_E_TOO_LARGE, "<%.100s> has more than %d attributes", name,
         MAX_ATTRS);
    return;
  }
  const char *l = local_name(name);
  unsigned char ctx;
  if (p->depth == 0) {
    if (!name_is(l, "Envelope")) {
      fail(p, UCP_E_PROTOCOL, "document element is <%.100s>, expected "
           "<Envelope>", name);
      return;
    }
    ctx = C_ENVELOPE;
  } else {
    ctx = child_ctx(p, l);
    if (p->status != UCP_OK) return;
  }
  p->stack[p->depth++] = ctx;
  if (collects_text(p, ctx)) p->text_len = 0;
}

static void on_end(void *ud, const char *name) {
  ucp__soap_parser *p = ud;
  (void)name;
  if (p->status != UCP_OK || p->done || p->depth == 0) return;
  unsigned char ctx = p->stack[--p->depth];
  ucp__soap_result *r = p->res;
  switch (ctx) {
    case C_ARG: close_arg(p); p->markup = 0; break;
    case C_FAULT_CODE: set_field(p, &r->fault_code); break;
    case C_FAULT_STRING: set_field(p, &r->fault_string); break;
    case C_ERROR_DESC: set_field(p, &r->upnp_description); break;
    case C_ERROR_CODE: set_error_code(p); break;
    case C_ENVELOPE:
      /* Stop at </Envelope>: whatever follows is not part of it. */
      p->done = 1;
      XML_StopParser(p->xp, XML_FALSE);
      break;
    default: break;
  }
}

static void on_text(void *ud, const char *s, int len) {
  ucp__soap_parser *p = ud;
  if (p->status != UCP_OK || p->done || !p->depth ||
      !collects_text(p, p->stack[p->depth - 1]))
    return;
  size_t n = (size_t)len;
  if (p->text_len + n > p->max_value) {
    unsigned char ctx = p->stack[p->depth - 1];
    const char *what = ctx == C_ARG ? p->res->names[p->res->nargs - 1]
                                    : "a fault field";
    fail(p, UCP_E_TOO_LARGE, "value of <%.100s> longer than %zu bytes", what,
         p->max_value);
    return;
  }
  if (p->text_len + n + 1 > p->text_cap) {
    size_t cap = p->text_cap ? p->text_cap : 256;
    while (cap < p->text_len + n + 1) cap *= 2;
    if (cap > p->max_value + 1) cap = p->max_value + 1;
    char *t = ucp__realloc(p->text, cap);
    if (!t) return oom(p);
    p->text = t;
    p->text_cap = cap;
  }
  memcpy(p->text + p->text_len, s, n);
  p->text_len += n;
  p->text[p->text_len] = '\0';
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

/* A fresh expat parser and an empty result: for a new parser and for each
 * repair pass. Repair notes (the first notes_len bytes of warn) stay. */
static int reset_state(ucp__soap_parser *p) {
  ucp__soap_result_free(p->res);
  p->res = ucp__calloc(1, sizeof *p->res);
  p->xp = ucp__xml_parser(p->xp);
  if (!p->res || !p->xp) return UCP_E_NOMEM;
  p->args_cap = 0;
  p->depth = 0;
  p->status = UCP_OK;
  p->err[0] = '\0';
  p->done = p->body_seen = p->payload_seen = p->code_seen = 0;
  p->xml_code = XML_ERROR_NONE;
  p->xml_err_in_arg = 0;
  p->text_len = 0;
  p->markup = 0;
  p->warn_len = p->notes_len;
  p->warn[p->warn_len] = '\0';
  XML_SetUserData(p->xp, p);
  XML_SetElementHandler(p->xp, on_start, on_end);
  XML_SetCharacterDataHandler(p->xp, on_text);
  XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
  XML_SetEntityDeclHandler(p->xp, on_entity_decl);
  XML_SetParamEntityParsing(p->xp, XML_PARAM_ENTITY_PARSING_NEVER);
  return UCP_OK;
}

ucp__soap_parser *ucp__soap_parser_new(const char *action, size_t max_bytes,
                                       size_t max_value) {
  ucp__soap_parser *p = ucp__calloc(1, sizeof *p);
  if (!p) return NULL;
  p->max_bytes = max_bytes ? max_bytes : UCP__SOAP_MAX_BYTES;
  p->max_value = max_value ? max_value : UCP__SOAP_MAX_VALUE;
  if ((action && !(p->action = ucp__strdup(action))) ||
      reset_state(p) != UCP_OK) {
    ucp__soap_parser_free(p);
    return NULL;
  }
  return p;
}

int ucp__soap_parser_reuse(ucp__soap_parser *p, const char *action,
                           size_t max_bytes, size_t max_value) {
  if (action ? !p->action || strcmp(p->action, action) != 0 : !!p->action) {
    ucp__free(p->action);
    p->action = NULL;
    if (action && !(p->action = ucp__strdup(action))) return UCP_E_NOMEM;
  }
  p->max_bytes = max_bytes ? max_bytes : UCP__SOAP_MAX_BYTES;
  p->max_value = max_value ? max_value : UCP__SOAP_MAX_VALUE;
  if (p->doc != p->raw) ucp__free((char *)p->doc);
  p->doc = NULL;
  p->doc_len = p->raw_len = p->total = 0;
  p->finished = p->repairs = p->repair_stop = p->in_parse = 0;
  p->notes_len = 0;
  return reset_state(p);
}

size_t ucp__soap_parser_retained(const ucp__soap_parser *p) {
  return p->raw_cap + p->text_cap;
}

void ucp__soap_parser_free(ucp__soap_parser *p) {
  if (!p) return;
  if (p->xp) XML_ParserFree(p->xp);
  ucp__soap_result_free(p->res);
  if (p->doc != p->raw) ucp__free((char *)p->doc);
  ucp__free(p->raw);
  ucp__free(p->text);
  ucp__free(p->action);
  ucp__free(p);
}

const char *ucp__soap_parser_error(const ucp__soap_parser *p) {
  return p->err;
}

/* ------------------------------------------------------------- parsing */

static void expat_failed(ucp__soap_parser *p) {
  enum XML_Error e = XML_GetErrorCode(p->xp);
  p->xml_code = e;
  p->xml_err_index = XML_GetCurrentByteIndex(p->xp);
  p->xml_err_line = line_now(p);
  p->xml_err_in_arg =
      p->depth && (p->stack[p->depth - 1] == C_ARG ||
                   p->stack[p->depth - 1] == C_MARKUP);
  fail(p, e == XML_ERROR_NO_MEMORY ? UCP_E_NOMEM : UCP_E_XML,
       "column %lu: %s", (unsigned long)XML_GetCurrentColumnNumber(p->xp),
       XML_ErrorString(e));
}

static void parse_piece(ucp__soap_parser *p, const char *buf, size_t len,
                        int final) {
  do {
    size_t n = len > (1u << 30) ? (1u << 30) : len;
    p->in_parse = 1;
    enum XML_Status st = XML_Parse(p->xp, buf, (int)n, final && n == len);
    p->in_parse = 0;
    if (st == XML_STATUS_ERROR) {
      if (p->status == UCP_OK && !p->done) expat_failed(p);
      return;
    }
    buf += n;
    len -= n;
  } while (len && p->status == UCP_OK && !p->done);
}

/* A misplaced XML declaration inside an argument: the finish repairs it. */
static int repairable(const ucp__soap_parser *p) {
  return p->status == UCP_E_XML && p->xml_code == XML_ERROR_MISPLACED_XML_PI &&
         p->xml_err_in_arg && !p->repair_stop && p->repairs < MAX_REPAIRS;
}

int ucp__soap_parser_feed(ucp__soap_parser *p, const char *buf, size_t len) {
  if (p->finished) return UCP_E_INVALIDARG;
  if (len > p->max_bytes || p->total > p->max_bytes - len) {
    p->total = p->max_bytes; /* stays over the cap for later pieces */
    if (p->status == UCP_E_XML) p->status = UCP_OK; /* the cap wins */
    fail(p, UCP_E_TOO_LARGE, "body larger than %zu bytes", p->max_bytes);
    return p->status;
  }
  p->total += len;
  if (p->done || (p->status != UCP_OK && !repairable(p))) return p->status;
  if (p->raw_len + len > p->raw_cap) {
    size_t cap = p->raw_cap ? p->raw_cap : 4096;
    while (cap < p->raw_len + len) cap *= 2;
    char *n = ucp__realloc(p->raw, cap);
    if (!n) {
      p->status = UCP_OK; /* a pending repair is moot */
      oom(p);
      return p->status;
    }
    p->raw = n;
    p->raw_cap = cap;
  }
  if (len) memcpy(p->raw + p->raw_len, buf, len);
  p->raw_len += len;
  p->doc = p->raw;
  p->doc_len = p->raw_len;
  if (p->status == UCP_OK) parse_piece(p, buf, len, 0);
  return repairable(p) ? UCP_OK : p->status;
}

/* Parse again without the XML declaration at the error's offset. */
static void repair(ucp__soap_parser *p) {
  const char *src = p->doc;
  size_t src_len = p->doc_len;
  size_t at = (size_t)p->xml_err_index;
  const char *end = NULL;
  if (p->xml_err_index >= 0 && at + 5 <= src_len &&
      memcmp(src + at, "<?xml", 5) == 0)
    end = memmem(src + at, src_len - at, "?>", 2);
  if (!end) {
    p->repair_stop = 1; /* not the expected shape: keep the error */
    return;
  }
  size_t cut = (size_t)(end + 2 - (src + at));
  size_t n = src_len - cut;
  char *fixed = ucp__malloc(n + 1);
  if (!fixed) {
    p->status = UCP_OK;
    oom(p);
    return;
  }
  memcpy(fixed, src, at);
  memcpy(fixed + at, src + at + cut, src_len - at - cut);
  fixed[n] = '\0';
  unsigned long line = p->xml_err_line;
  if (p->doc != p->raw) ucp__free((char *)p->doc);
  p->doc = fixed;
  p->doc_len = n;
  p->repairs++;
  if (reset_state(p) != UCP_OK) {
    p->status = UCP_OK;
    oom(p);
    return;
  }
  warn(p, line,
       "XML declaration inside a value removed (raw, unescaped document; "
       "the device did not escape it)");
  p->notes_len = p->warn_len;
  parse_piece(p, fixed, n, 1);
}

static int finalize(ucp__soap_parser *p) {
  ucp__soap_result *r = p->res;
  if (!p->body_seen) {
    fail(p, UCP_E_PROTOCOL, "no <Body> in the <Envelope>");
    return p->status;
  }
  if (!p->payload_seen) {
    if (p->action)
      fail(p, UCP_E_PROTOCOL, "empty <Body>: no <%.100sResponse> or <Fault>",
           p->action);
    else
      fail(p, UCP_E_PROTOCOL, "empty <Body>: no action response or <Fault>");
    return p->status;
  }
  if (r->is_fault) {
    if ((!r->fault_code && !(r->fault_code = ucp__strdup(""))) ||
        (!r->fault_string && !(r->fault_string = ucp__strdup(""))) ||
        (!r->upnp_description && !(r->upnp_description = ucp__strdup("")))) {
      oom(p);
      return p->status;
    }
  }
  if (r->nargs == 0) {
    ucp__free(r->names);
    ucp__free(r->values);
    r->names = r->values = NULL;
  }
  if (p->warn_len && !(r->warnings = ucp__strndup(p->warn, p->warn_len))) {
    oom(p);
    return p->status;
  }
  return UCP_OK;
}

int ucp__soap_parser_finish(ucp__soap_parser *p, ucp__soap_result **out) {
  *out = NULL;
  if (p->finished) return p->status != UCP_OK ? p->status : UCP_E_INVALIDARG;
  p->finished = 1;
  if (p->status == UCP_OK && !p->done) parse_piece(p, "", 0, 1);
  while (repairable(p)) repair(p);
  if (p->status != UCP_OK && p->repairs > 0) {
    size_t l = strlen(p->err);
    snprintf(p->err + l, sizeof p->err - l,
             " (after removing %d misplaced XML declaration%s)", p->repairs,
             p->repairs == 1 ? "" : "s");
  }
  if (p->status != UCP_OK) return p->status;
  if (!p->done) {
    fail(p, UCP_E_XML, "body ended before </Envelope>");
    return p->status;
  }
  if (finalize(p) != UCP_OK) return p->status;
  *out = p->res;
  p->res = NULL;
  return UCP_OK;
}
