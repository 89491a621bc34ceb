/* desc_parser.c - streaming device description parser on expat.
 * Elements are matched by local name, case-insensitively, wherever their
 * namespace prefix points (real devices omit or invent namespaces; see
 * corpus/real/README.md). DOCTYPE is refused; depth, text, device and
 * service counts are capped here, whatever expat's version does. */
#include <ctype.h>
#include <pthread.h>
#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "xml_common.h"
#include "../core/mem.h"
#include "description.h"

/* Where the parser stands: one context per open element. */
enum ctx {
  C_SKIP,        /* inside an element we do not care about */
  C_DOC,         /* before the document element */
  C_ROOT,
  C_SPEC,
  C_SPEC_MAJOR,
  C_SPEC_MINOR,
  C_URLBASE,
  C_DEVICE,
  C_DEV_FIELD,   /* field index in `field` */
  C_DEV_PRES,    /* presentationURL */
  C_ICONLIST,
  C_ICON,
  C_ICON_FIELD,
  C_SERVICELIST,
  C_SERVICE,
  C_SVC_FIELD,
  C_DEVICELIST
};

typedef struct frame {
  unsigned char ctx, field;
} frame;

enum { MAX_WARNINGS_LEN = 2048, MAX_ATTRS = 64, MAX_ICONS = 64 };

struct ucp__desc_parser {
  XML_Parser xp;
  ucp__desc_limits lim;
  ucp_description *d;
  frame *stack;
  size_t depth;
  ucp_device *cur_dev;
  ucp_service *cur_svc;
  ucp_icon *cur_icon;
  size_t ndevices, nservices;
  char *text;
  size_t text_len;
  int root_done;
  int status;
  char err[512];
  char warn[MAX_WARNINGS_LEN];
  size_t warn_len;
  char *raw;         /* the body so far, for the repair pass */
  size_t raw_len, raw_cap, total;
  const char *whole; /* the caller's complete document (parse_all) */
  size_t whole_len;
  int repairing;
};


void ucp__desc_limits_default(ucp__desc_limits *l) {
  l->max_depth = 32;
  l->max_text = 8 * 1024;
  l->max_devices = 256;
  l->max_services = 1024;
  l->max_bytes = 1024 * 1024;
}

/* ----------------------------------------------------------- diagnostics */

static void fail(ucp__desc_parser *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(ucp__desc_parser *p, int code, const char *fmt, ...) {
  if (p->status != UCP_OK) return;
  p->status = code;
  int n = snprintf(p->err, sizeof p->err, "line %lu: ",
                   p->xp ? (unsigned long)XML_GetCurrentLineNumber(p->xp) : 0ul);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof p->err)
    vsnprintf(p->err + n, sizeof p->err - (size_t)n, fmt, ap);
  va_end(ap);
  if (p->xp) XML_StopParser(p->xp, XML_FALSE);
}

static void warn(ucp__desc_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warn(ucp__desc_parser *p, const char *fmt, ...) {
  if (p->warn_len + 2 >= sizeof p->warn) return;
  char *w = p->warn + p->warn_len;
  size_t room = sizeof p->warn - p->warn_len;
  int n = snprintf(w, room, "line %lu: ",
                   (unsigned long)XML_GetCurrentLineNumber(p->xp));
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < room) n += vsnprintf(w + n, room - (size_t)n, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  p->warn_len = (size_t)n < room - 1 ? p->warn_len + (size_t)n : sizeof p->warn - 2;
  p->warn[p->warn_len++] = '\n';
  p->warn[p->warn_len] = '\0';
}

/* ----------------------------------------------------------- name tables */

static const char *local_name(const char *name) {
  const char *c = strrchr(name, ':');
  return c ? c + 1 : name;
}

static const char *const device_fields[UCP_DEVICE__FIELD_COUNT] = {
    [UCP_DEVICE_TYPE] = "deviceType",
    [UCP_DEVICE_FRIENDLY_NAME] = "friendlyName",
    [UCP_DEVICE_MANUFACTURER] = "manufacturer",
    [UCP_DEVICE_MANUFACTURER_URL] = "manufacturerURL",
    [UCP_DEVICE_MODEL_DESCRIPTION] = "modelDescription",
    [UCP_DEVICE_MODEL_NAME] = "modelName",
    [UCP_DEVICE_MODEL_NUMBER] = "modelNumber",
    [UCP_DEVICE_MODEL_URL] = "modelURL",
    [UCP_DEVICE_SERIAL_NUMBER] = "serialNumber",
    [UCP_DEVICE_UDN] = "UDN",
    [UCP_DEVICE_UPC] = "UPC",
    [UCP_DEVICE_PRESENTATION_URL] = "presentationURL",
};

static const char *const service_fields[UCP_SERVICE__FIELD_COUNT] = {
    [UCP_SERVICE_TYPE] = "serviceType",
    [UCP_SERVICE_ID] = "serviceId",
    [UCP_SERVICE_SCPD_URL] = "SCPDURL",
    [UCP_SERVICE_CONTROL_URL] = "controlURL",
    [UCP_SERVICE_EVENT_SUB_URL] = "eventSubURL",
};

enum { ICON_MIME, ICON_WIDTH, ICON_HEIGHT, ICON_DEPTH, ICON_URL, ICON__N };
static const char *const icon_fields[ICON__N] = {"mimetype", "width", "height",
                                                 "depth", "url"};

/* First letter, then length, then the rest: most comparisons end early. */
static int name_eq(const char *l, size_t len, const char *name) {
  return (l[0] | 0x20) == (name[0] | 0x20) && strlen(name) == len &&
         strncasecmp(l, name, len) == 0;
}

static int lookup(const char *const *names, int n, const char *local,
                  size_t len) {
  for (int i = 0; i < n; i++)
    if (name_eq(local, len, names[i])) return i;
  return -1;
}

static frame child_of_device(const char *l, size_t ll) {
  int i = lookup(device_fields, UCP_DEVICE__FIELD_COUNT, l, ll);
  if (i == UCP_DEVICE_PRESENTATION_URL) return (frame){C_DEV_PRES, 0};
  if (i >= 0) return (frame){C_DEV_FIELD, (unsigned char)i};
  if (name_eq(l, ll, "iconList")) return (frame){C_ICONLIST, 0};
  if (name_eq(l, ll, "serviceList")) return (frame){C_SERVICELIST, 0};
  if (name_eq(l, ll, "deviceList")) return (frame){C_DEVICELIST, 0};
  return (frame){C_SKIP, 0};
}

/* The context a child element named `l` opens under `parent`. */
static frame child_frame(frame parent, const char *l, size_t ll) {
  int i;
  switch (parent.ctx) {
    case C_DOC: return (frame){C_ROOT, 0};
    case C_ROOT:
      if (name_eq(l, ll, "specVersion")) return (frame){C_SPEC, 0};
      if (name_eq(l, ll, "URLBase")) return (frame){C_URLBASE, 0};
      if (name_eq(l, ll, "device")) return (frame){C_DEVICE, 0};
      break;
    case C_SPEC:
      if (name_eq(l, ll, "major")) return (frame){C_SPEC_MAJOR, 0};
      if (name_eq(l, ll, "minor")) return (frame){C_SPEC_MINOR, 0};
      break;
    case C_DEVICE: return child_of_device(l, ll);
    case C_ICONLIST:
      if (name_eq(l, ll, "icon")) return (frame){C_ICON, 0};
      break;
    case C_ICON:
      if ((i = lookup(icon_fields, ICON__N, l, ll)) >= 0)
        return (frame){C_ICON_FIELD, (unsigned char)i};
      break;
    case C_SERVICELIST:
      if (name_eq(l, ll, "service")) return (frame){C_SERVICE, 0};
      break;
    case C_SERVICE:
      if ((i = lookup(service_fields, UCP_SERVICE__FIELD_COUNT, l, ll)) >= 0)
        return (frame){C_SVC_FIELD, (unsigned char)i};
      break;
    case C_DEVICELIST:
      if (name_eq(l, ll, "device")) return (frame){C_DEVICE, 0};
      break;
  }
  return (frame){C_SKIP, 0};
}

static int collects_text(unsigned char ctx) {
  switch (ctx) {
    case C_SPEC_MAJOR: case C_SPEC_MINOR: case C_URLBASE: case C_DEV_FIELD:
    case C_DEV_PRES: case C_ICON_FIELD: case C_SVC_FIELD:
      return 1;
    default:
      return 0;
  }
}

/* --------------------------------------------------------- tree building */

static char *trimmed_text(ucp__desc_parser *p) {
  const char *s = p->text ? p->text : "";
  size_t n = p->text_len;
  while (n && isspace((unsigned char)*s)) s++, n--;
  while (n && isspace((unsigned char)s[n - 1])) n--;
  char *t = ucp__arena_strndup(&p->d->arena, s, n);
  if (!t) fail(p, UCP_E_NOMEM, "out of memory");
  return t;
}

static int parse_small_int(const char *s, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < 0 || v > 1000000) return -1;
  *out = (int)v;
  return 0;
}

static void open_device(ucp__desc_parser *p) {
  if (++p->ndevices > p->lim.max_devices) {
    fail(p, UCP_E_TOO_LARGE, "more than %zu devices", p->lim.max_devices);
    return;
  }
  ucp_device *dev = ucp__arena_alloc(&p->d->arena, sizeof *dev);
  if (!dev) {
    fail(p, UCP_E_NOMEM, "out of memory");
    return;
  }
  ucp_device *parent = p->cur_dev;
  dev->parent = parent;
  if (!parent) {
    if (p->d->root) {
      warn(p, "second root <device> ignored");
      dev->parent = NULL; /* kept detached: not reachable from the tree */
    } else {
      p->d->root = dev;
    }
  } else if (parent->last_child) {
    parent->last_child->next_sibling = dev;
    parent->last_child = dev;
  } else {
    parent->first_child = parent->last_child = dev;
  }
  p->cur_dev = dev;
}

static void open_service(ucp__desc_parser *p) {
  if (++p->nservices > p->lim.max_services) {
    fail(p, UCP_E_TOO_LARGE, "more than %zu services", p->lim.max_services);
    return;
  }
  ucp_service *s = ucp__arena_alloc(&p->d->arena, sizeof *s);
  if (!s) {
    fail(p, UCP_E_NOMEM, "out of memory");
    return;
  }
  ucp_device *dev = p->cur_dev;
  s->dev = dev;
  if (dev->svc_tail) dev->svc_tail->next = s;
  else dev->svc_head = s;
  dev->svc_tail = s;
  dev->nservices++;
  p->cur_svc = s;
}

static void open_icon(ucp__desc_parser *p) {
  if (p->cur_dev->nicons + 1 > MAX_ICONS) {
    fail(p, UCP_E_TOO_LARGE, "more than %d icons in one device", MAX_ICONS);
    return;
  }
  ucp_icon *ic = ucp__arena_alloc(&p->d->arena, sizeof *ic);
  if (!ic) {
    fail(p, UCP_E_NOMEM, "out of memory");
    return;
  }
  ucp_device *dev = p->cur_dev;
  ic->dev = dev;
  ic->width = ic->height = ic->depth = -1;
  if (dev->icon_tail) dev->icon_tail->next = ic;
  else dev->icon_head = ic;
  dev->icon_tail = ic;
  dev->nicons++;
  p->cur_icon = ic;
}

static void set_once(ucp__desc_parser *p, const char **slot, const char *v,
                     const char *name) {
  if (*slot) {
    warn(p, "duplicate <%s> ignored", name);
    return;
  }
  *slot = v;
}

static void store_icon_field(ucp__desc_parser *p, int field, const char *v) {
  ucp_icon *ic = p->cur_icon;
  int *num = field == ICON_WIDTH ? &ic->width
             : field == ICON_HEIGHT ? &ic->height
             : field == ICON_DEPTH ? &ic->depth : NULL;
  if (num) {
    if (parse_small_int(v, num) != 0) {
      *num = -1;
      warn(p, "icon <%s> is not a number", icon_fields[field]);
    }
  } else if (field == ICON_MIME) {
    set_once(p, &ic->mimetype, v, "mimetype");
  } else {
    set_once(p, &ic->url_raw, v, "url");
  }
}

static void store_text(ucp__desc_parser *p, frame f) {
  char *v = trimmed_text(p);
  if (!v) return;
  ucp_description *d = p->d;
  switch (f.ctx) {
    case C_SPEC_MAJOR:
      if (parse_small_int(v, &d->spec_major)) warn(p, "bad specVersion major");
      break;
    case C_SPEC_MINOR:
      if (parse_small_int(v, &d->spec_minor)) warn(p, "bad specVersion minor");
      break;
    case C_URLBASE: set_once(p, &d->urlbase_raw, v, "URLBase"); break;
    case C_DEV_FIELD:
      set_once(p, &p->cur_dev->f[f.field], v, device_fields[f.field]);
      break;
    case C_DEV_PRES:
      set_once(p, &p->cur_dev->presentation_raw, v, "presentationURL");
      break;
    case C_SVC_FIELD:
      set_once(p, &p->cur_svc->raw[f.field], v, service_fields[f.field]);
      break;
    case C_ICON_FIELD: store_icon_field(p, f.field, v); break;
  }
}

/* --------------------------------------------------------- expat handlers */

static void root_attrs(ucp__desc_parser *p, const char **atts) {
  for (size_t i = 0; atts[i]; i += 2) {
    if (strcasecmp(local_name(atts[i]), "configId") != 0) continue;
    char *end;
    long long v = strtoll(atts[i + 1], &end, 10);
    if (end == atts[i + 1] || *end || v < 0 || v > 16777215)
      warn(p, "configId '%.40s' is not in 0..16777215 (UDA 1.1)", atts[i + 1]);
    else
      p->d->config_id = v;
  }
}

static int count_attrs(const char **atts) {
  int n = 0;
  while (atts[n]) n += 2;
  return n / 2;
}

static void on_start(void *ud, const char *name, const char **atts) {
  ucp__desc_parser *p = ud;
  if (p->status != UCP_OK) return; /* expat may call on after a stop */
  if (p->depth + 1 > p->lim.max_depth) {
    fail(p, UCP_E_TOO_LARGE, "elements nested deeper than %zu",
         p->lim.max_depth);
    return;
  }
  if (count_attrs(atts) > MAX_ATTRS) {
    fail(p, UCP_E_TOO_LARGE, "<%s> has more than %d attributes", name,
         MAX_ATTRS);
    return;
  }
  const char *l = local_name(name);
  frame top = p->depth ? p->stack[p->depth - 1] : (frame){C_DOC, 0};
  frame f = top.ctx == C_SKIP ? top : child_frame(top, l, strlen(l));
  if (f.ctx == C_ROOT) {
    if (strcasecmp(l, "root") != 0) {
      fail(p, UCP_E_PROTOCOL, "document element is <%s>, expected <root>", l);
      return;
    }
    root_attrs(p, atts);
  }
  p->stack[p->depth++] = f;
  p->text_len = 0;
  if (f.ctx == C_DEVICE) open_device(p);
  else if (f.ctx == C_SERVICE) open_service(p);
  else if (f.ctx == C_ICON) open_icon(p);
}

static void on_end(void *ud, const char *name) {
  ucp__desc_parser *p = ud;
  (void)name;
  if (p->depth == 0 || p->status != UCP_OK) return;
  frame f = p->stack[--p->depth];
  if (collects_text(f.ctx)) store_text(p, f);
  p->text_len = 0;
  if (f.ctx == C_DEVICE) {
    p->cur_dev = (ucp_device *)p->cur_dev->parent;
  } else if (f.ctx == C_ROOT) {
    /* Stop at </root>: trailing bytes (LG HT-DMR6945 sends binary
     * garbage) are not part of the description. */
    p->root_done = 1;
    XML_StopParser(p->xp, XML_FALSE);
  }
}

static void on_text(void *ud, const char *s, int len) {
  ucp__desc_parser *p = ud;
  if (p->status != UCP_OK || !p->depth || !collects_text(p->stack[p->depth - 1].ctx)) return;
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

static int reset_state(ucp__desc_parser *p) {
  if (p->d) {
    ucp__arena_free(&p->d->arena);
    ucp__free(p->d);
  }
  p->d = ucp__calloc(1, sizeof *p->d);
  p->xp = ucp__xml_parser(p->xp);
  if (!p->d || !p->xp) return UCP_E_NOMEM;
  ucp__arena_init(&p->d->arena);
  p->d->config_id = -1;
  p->depth = 0;
  p->cur_dev = NULL;
  p->cur_svc = NULL;
  p->cur_icon = NULL;
  p->ndevices = p->nservices = 0;
  p->text_len = 0;
  p->root_done = 0;
  p->status = UCP_OK;
  p->err[0] = '\0';
  p->warn_len = 0;
  p->warn[0] = '\0';
  XML_SetUserData(p->xp, p);
  XML_SetElementHandler(p->xp, on_start, on_end);
  XML_SetCharacterDataHandler(p->xp, on_text);
  XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
  XML_SetEntityDeclHandler(p->xp, on_entity_decl);
  XML_SetParamEntityParsing(p->xp, XML_PARAM_ENTITY_PARSING_NEVER);
  return UCP_OK;
}

/* A few finished parsers are kept for reuse: creating an expat parser and
 * the buffers costs as much as parsing a small description. */
enum { POOL_MAX = 8, POOL_KEEP_RAW = 64 * 1024 };
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static ucp__desc_parser *pool[POOL_MAX];
static size_t pool_n;

static ucp__desc_parser *pool_take(const ucp__desc_limits *lim) {
  ucp__desc_parser *p = NULL;
  pthread_mutex_lock(&pool_lock);
  for (size_t i = pool_n; i-- > 0;) {
    if (pool[i]->lim.max_depth >= lim->max_depth &&
        pool[i]->lim.max_text >= lim->max_text) {
      p = pool[i];
      pool[i] = pool[--pool_n];
      break;
    }
  }
  pthread_mutex_unlock(&pool_lock);
  return p;
}

static int pool_give(ucp__desc_parser *p) {
  pthread_mutex_lock(&pool_lock);
  int kept = pool_n < POOL_MAX;
  if (kept) pool[pool_n++] = p;
  pthread_mutex_unlock(&pool_lock);
  return kept;
}

static void recycle(ucp__desc_parser *p, const ucp__desc_limits *lim) {
  p->lim = *lim;
  p->total = p->raw_len = 0;
  p->whole = NULL;
  p->whole_len = 0;
  p->repairing = 0;
}

ucp__desc_parser *ucp__desc_parser_new(const ucp__desc_limits *lim) {
  ucp__desc_limits def;
  if (!lim) {
    ucp__desc_limits_default(&def);
    lim = &def;
  }
  ucp__desc_parser *p = pool_take(lim);
  if (p) {
    recycle(p, lim);
  } else {
    p = ucp__calloc(1, sizeof *p);
    if (!p) return NULL;
    p->lim = *lim;
    p->stack = ucp__malloc(p->lim.max_depth * sizeof *p->stack);
    p->text = ucp__malloc(p->lim.max_text + 1);
  }
  if (!p->stack || !p->text || reset_state(p) != UCP_OK) {
    ucp__desc_parser_free(p);
    return NULL;
  }
  /* A pooled parser may have larger buffers: its caps are the caller's. */
  p->lim = *lim;
  return p;
}

void ucp__desc_parser_free(ucp__desc_parser *p) {
  if (!p) return;
  if (p->d) {
    ucp__arena_free(&p->d->arena);
    ucp__free(p->d);
    p->d = NULL;
  }
  if (p->raw_cap > POOL_KEEP_RAW) {
    ucp__free(p->raw);
    p->raw = NULL;
    p->raw_cap = 0;
  }
  if (p->xp && p->stack && p->text && pool_give(p)) return;
  if (p->xp) XML_ParserFree(p->xp);
  if (p->d) {
    ucp__arena_free(&p->d->arena);
    ucp__free(p->d);
  }
  ucp__free(p->stack);
  ucp__free(p->text);
  ucp__free(p->raw);
  ucp__free(p);
}

const char *ucp__desc_parser_error(const ucp__desc_parser *p) {
  return p->err;
}

static void expat_failed(ucp__desc_parser *p) {
  enum XML_Error e = XML_GetErrorCode(p->xp);
  fail(p, e == XML_ERROR_NO_MEMORY ? UCP_E_NOMEM : UCP_E_XML,
       "column %lu: %s", (unsigned long)XML_GetCurrentColumnNumber(p->xp),
       XML_ErrorString(e));
}

static void parse_piece(ucp__desc_parser *p, const char *buf, size_t len,
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

/* Keep the body so far: a document broken only by a bare '&' (NETGEAR
 * ReadyDLNA's "R&N") is parsed again with the '&' escaped. */
static int keep_raw(ucp__desc_parser *p, const char *buf, size_t len) {
  return ucp__bytes_append(&p->raw, &p->raw_len, &p->raw_cap, buf, len) == 0
             ? UCP_OK
             : UCP_E_NOMEM;
}

int ucp__desc_parser_feed(ucp__desc_parser *p, const char *buf, size_t len) {
  p->total += len;
  if (p->total > p->lim.max_bytes) {
    if (p->status == UCP_E_XML) p->status = UCP_OK; /* the cap wins */
    fail(p, UCP_E_TOO_LARGE, "document larger than %zu bytes",
         p->lim.max_bytes);
    return p->status;
  }
  if (keep_raw(p, buf, len) != UCP_OK) {
    fail(p, UCP_E_NOMEM, "out of memory");
    return p->status;
  }
  if (p->status == UCP_OK) parse_piece(p, buf, len, 0);
  /* A repairable XML error is decided at finish, with the whole body. */
  return p->status == UCP_E_XML ? UCP_OK : p->status;
}



/* ------------------------------------------------------------ finishing */

/* The repaired document keeps every cap: a failure of the re-parse other
 * than malformed XML (a cap, a DOCTYPE, no memory) is the answer. Only when
 * it is still malformed is the first error, on the device's bytes, kept. */
static int try_repair(ucp__desc_parser *p) {
  size_t len, fixed;
  const char *doc = p->whole ? p->whole : p->raw;
  size_t doc_len = p->whole ? p->whole_len : p->raw_len;
  char saved_err[sizeof p->err];
  memcpy(saved_err, p->err, sizeof saved_err);
  char *fixed_doc = ucp__xml_escape_bare_amps(doc, doc_len, &len, &fixed);
  if (!fixed_doc) {
    p->status = UCP_E_NOMEM;
    snprintf(p->err, sizeof p->err, "out of memory repairing '&'");
    return p->status;
  }
  int rc = UCP_E_XML;
  if (fixed > 0) {
    rc = reset_state(p);
    if (rc == UCP_OK) {
      p->repairing = 1;
      parse_piece(p, fixed_doc, len, 1);
      if (p->status == UCP_OK && !p->root_done)
        fail(p, UCP_E_XML, "document ended before </root>");
      rc = p->status;
    } else {
      p->status = rc;
      snprintf(p->err, sizeof p->err, "out of memory repairing '&'");
    }
  }
  ucp__free(fixed_doc);
  if (rc != UCP_OK && rc != UCP_E_XML) return rc;
  if (rc == UCP_OK) {
    char note[160];
    snprintf(note, sizeof note, "%zu unescaped '&' repaired (first: %.100s)\n",
             fixed, saved_err);
    size_t l = strlen(note);
    if (p->warn_len + l < sizeof p->warn) {
      memcpy(p->warn + p->warn_len, note, l + 1);
      p->warn_len += l;
    }
  } else {
    memcpy(p->err, saved_err, sizeof saved_err);
    p->status = UCP_E_XML;
  }
  return p->status;
}

static int repairable(const ucp__desc_parser *p) {
  const char *doc = p->whole ? p->whole : p->raw;
  size_t doc_len = p->whole ? p->whole_len : p->raw_len;
  if (p->status != UCP_E_XML || p->repairing || !doc) return 0;
  enum XML_Error e = XML_GetErrorCode(p->xp);
  return (e == XML_ERROR_INVALID_TOKEN || e == XML_ERROR_UNDEFINED_ENTITY) &&
         memchr(doc, '&', doc_len) != NULL;
}

static int build_arrays(ucp__arena *a, ucp_device *dev) {
  size_t n = 0;
  for (ucp_device *c = dev->first_child; c; c = c->next_sibling) n++;
  dev->children = ucp__arena_alloc(a, (n + 1) * sizeof *dev->children);
  dev->services = ucp__arena_alloc(a, (dev->nservices + 1) * sizeof(void *));
  dev->icons = ucp__arena_alloc(a, (dev->nicons + 1) * sizeof(void *));
  if (!dev->children || !dev->services || !dev->icons) return UCP_E_NOMEM;
  dev->nchildren = 0;
  for (ucp_device *c = dev->first_child; c; c = c->next_sibling)
    dev->children[dev->nchildren++] = c;
  size_t i = 0;
  for (ucp_service *s = dev->svc_head; s; s = s->next) dev->services[i++] = s;
  i = 0;
  for (ucp_icon *ic = dev->icon_head; ic; ic = ic->next) dev->icons[i++] = ic;
  return UCP_OK;
}

/* Flatten depth first; nesting is bounded by max_depth, so recursion is. */
static int flatten(ucp_description *d, ucp_device *dev, size_t cap) {
  if (d->ndevices >= cap) return UCP_E_INTERNAL;
  d->devices[d->ndevices++] = dev;
  dev->desc = d;
  int rc = build_arrays(&d->arena, dev);
  for (size_t i = 0; rc == UCP_OK && i < dev->nchildren; i++)
    rc = flatten(d, dev->children[i], cap);
  return rc;
}

static int finalize(ucp__desc_parser *p) {
  ucp_description *d = p->d;
  if (!d->root) {
    fail(p, UCP_E_PROTOCOL, "no <device> element inside <root>");
    return p->status;
  }
  d->devices = ucp__arena_alloc(&d->arena, (p->ndevices + 1) * sizeof(void *));
  if (!d->devices) return UCP_E_NOMEM;
  int rc = flatten(d, d->root, p->ndevices);
  if (rc != UCP_OK) return rc;
  d->warnings = ucp__arena_strndup(&d->arena, p->warn, p->warn_len);
  return d->warnings ? UCP_OK : UCP_E_NOMEM;
}

int ucp__desc_parser_finish(ucp__desc_parser *p, ucp_description **out) {
  *out = NULL;
  if (p->status == UCP_OK && !p->root_done) parse_piece(p, "", 0, 1);
  if (repairable(p)) try_repair(p);
  if (p->status != UCP_OK) return p->status;
  if (!p->root_done) {
    fail(p, UCP_E_XML, "document ended before </root>");
    return p->status;
  }
  int rc = finalize(p);
  if (rc != UCP_OK) {
    if (p->status == UCP_OK) {
      p->status = rc;
      snprintf(p->err, sizeof p->err, "%s", ucp_strerror(rc));
    }
    return p->status;
  }
  atomic_init(&p->d->refs, 1);
  *out = p->d;
  p->d = NULL;
  return UCP_OK;
}

int ucp__desc_parser_parse_all(ucp__desc_parser *p, const char *doc,
                               size_t len, ucp_description **out) {
  *out = NULL;
  if (len > p->lim.max_bytes) {
    fail(p, UCP_E_TOO_LARGE, "document larger than %zu bytes",
         p->lim.max_bytes);
    return p->status;
  }
  p->whole = doc; /* no copy: the repair pass reads the caller's buffer */
  p->whole_len = len;
  parse_piece(p, doc, len, 1);
  return ucp__desc_parser_finish(p, out);
}
