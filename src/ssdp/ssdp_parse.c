/* ssdp_parse.c - see ssdp.h. An SSDP message is an HTTP start line and
 * header fields in one UDP datagram, without a body (UDA 2.0 §1.1). The
 * tokenizer hands out slices of the caller's bytes: nothing is copied,
 * nothing allocated. Every cap of SECURITY.md "SSDP" is enforced here. */
#include "ssdp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ slices */

static int is_ows(char c) { return c == ' ' || c == '\t'; }

static char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static ucp__slice slice(const char *p, size_t n) {
  ucp__slice s = {p, n};
  return s;
}

/* Drop the first k bytes (k <= s->n). */
static void advance(ucp__slice *s, size_t k) {
  s->p += k;
  s->n -= k;
}

static ucp__slice trim(ucp__slice s) {
  while (s.n && is_ows(s.p[0])) advance(&s, 1);
  while (s.n && is_ows(s.p[s.n - 1])) s.n--;
  return s;
}

static int mem_eq_ci(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (lower(a[i]) != lower(b[i])) return 0;
  return 1;
}

static int slices_eq_ci(ucp__slice a, ucp__slice b) {
  return a.n == b.n && mem_eq_ci(a.p, b.p, a.n);
}

static int slice_eq_ci(ucp__slice s, const char *lit) {
  size_t n = strlen(lit);
  return s.p && s.n == n && mem_eq_ci(s.p, lit, n);
}

static int slice_starts_ci(ucp__slice s, const char *lit) {
  size_t n = strlen(lit);
  return s.p && s.n >= n && mem_eq_ci(s.p, lit, n);
}

static int present(ucp__slice s) { return s.p && s.n; }

/* ------------------------------------------------------------ numbers */

int ucp__ssdp_parse_uint(ucp__slice s, uint64_t max, uint64_t *out) {
  s = trim(s);
  if (!s.p || !s.n) return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < s.n; i++) {
    unsigned d = (unsigned)(unsigned char)s.p[i] - '0';
    if (d > 9 || d > max || v > (max - d) / 10) return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* An absent header leaves *out alone; a present one must be in [lo, hi]. */
static ucp__ssdp_drop parse_range(ucp__slice s, uint64_t lo, uint64_t hi,
                                  int64_t *out) {
  uint64_t v;
  if (!s.p) return UCP__SSDP_OK;
  if (ucp__ssdp_parse_uint(s, hi, &v) != 0 || v < lo)
    return UCP__SSDP_DROP_BAD_NUMBER;
  *out = (int64_t)v;
  return UCP__SSDP_OK;
}

/* ------------------------------------------------------------ lines */

typedef struct lines { const char *p, *end; } lines;

/* The next line, without CRLF or LF; 0 at the end of the datagram. The
 * last line may lack its line end (Logitech Harmony). */
static int next_line(lines *l, ucp__slice *line) {
  if (l->p >= l->end) return 0;
  const char *nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
  const char *stop = nl ? nl : l->end;
  *line = slice(l->p, (size_t)(stop - l->p));
  if (line->n && line->p[line->n - 1] == '\r') line->n--;
  l->p = nl ? nl + 1 : l->end;
  return 1;
}

/* Whole-datagram checks, before any line is cut (SECURITY.md "SSDP"). */
static ucp__ssdp_drop prescan(const char *buf, size_t len) {
  if (len > UCP__SSDP_MAX_DATAGRAM) return UCP__SSDP_DROP_OVERSIZE;
  if (memchr(buf, '\0', len)) return UCP__SSDP_DROP_NUL;
  const char *end = buf + len;
  for (const char *p = buf; (p = memchr(p, '\r', (size_t)(end - p))); p++)
    if (p + 1 == end || p[1] != '\n') return UCP__SSDP_DROP_BARE_CR;
  return UCP__SSDP_OK;
}

/* ------------------------------------------------------------ start line */

static int is_version(ucp__slice v) {
  return slice_eq_ci(v, "HTTP/1.1") || slice_eq_ci(v, "HTTP/1.0");
}

/* "HTTP/1.1 200 OK" (any reason phrase, or none). UDA 2.0 §1.3.3. */
static ucp__ssdp_drop parse_status(ucp__slice line, ucp__ssdp_msg *m) {
  if (line.n < 12 || !is_version(slice(line.p, 8)) || line.p[8] != ' ')
    return UCP__SSDP_DROP_START_LINE;
  int code = 0;
  for (int i = 9; i < 12; i++) {
    if (line.p[i] < '0' || line.p[i] > '9') return UCP__SSDP_DROP_START_LINE;
    code = code * 10 + (line.p[i] - '0');
  }
  if (line.n > 12 && line.p[12] != ' ') return UCP__SSDP_DROP_START_LINE;
  m->http_status = code;
  return code == 200 ? UCP__SSDP_OK : UCP__SSDP_DROP_START_LINE;
}

/* "M-SEARCH * HTTP/1.1" (§1.3.2), "NOTIFY * HTTP/1.1" (§1.2.2), or a
 * response. Methods are case-sensitive (RFC 7230 §3.1.1). */
static ucp__ssdp_drop parse_start(ucp__slice line, ucp__ssdp_msg *m) {
  static const char msearch[] = "M-SEARCH * ", notify[] = "NOTIFY * ";
  if (line.n && is_ows(line.p[0])) return UCP__SSDP_DROP_START_LINE;
  line = trim(line);
  if (line.n > sizeof msearch - 1 &&
      !memcmp(line.p, msearch, sizeof msearch - 1)) {
    m->kind = UCP__SSDP_MSEARCH;
    advance(&line, sizeof msearch - 1);
  } else if (line.n > sizeof notify - 1 &&
             !memcmp(line.p, notify, sizeof notify - 1)) {
    m->kind = UCP__SSDP_NOTIFY;
    advance(&line, sizeof notify - 1);
  } else {
    m->kind = UCP__SSDP_RESPONSE;
    return parse_status(line, m);
  }
  return is_version(line) ? UCP__SSDP_OK : UCP__SSDP_DROP_START_LINE;
}

/* ------------------------------------------------------------ headers */

enum field {
  F_LOCATION, F_USN, F_NT, F_ST, /* a duplicate of these drops */
  F_NTS, F_SERVER, F_HOST, F_MAN, F_USER_AGENT, F_CACHE_CONTROL, F_MX,
  F_BOOTID, F_CONFIGID, F_NEXTBOOTID, F_SEARCHPORT, F__COUNT
};
enum { F__LAST_UNIQUE = F_ST };

static const char *const field_names[F__COUNT] = {
    "LOCATION", "USN", "NT", "ST", "NTS", "SERVER", "HOST", "MAN",
    "USER-AGENT", "CACHE-CONTROL", "MX", "BOOTID.UPNP.ORG",
    "CONFIGID.UPNP.ORG", "NEXTBOOTID.UPNP.ORG", "SEARCHPORT.UPNP.ORG"};

/* RFC 7230 §3.2.6 tchar. */
static int is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9'))
    return 1;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* "name OWS : OWS value OWS"; the name is a token. */
static ucp__ssdp_drop split_header(ucp__slice line, ucp__slice *name,
                                   ucp__slice *value) {
  const char *colon = memchr(line.p, ':', line.n);
  if (!colon) return UCP__SSDP_DROP_BAD_HEADER;
  *name = trim(slice(line.p, (size_t)(colon - line.p)));
  if (!name->n) return UCP__SSDP_DROP_BAD_HEADER;
  for (size_t i = 0; i < name->n; i++)
    if (!is_tchar(name->p[i])) return UCP__SSDP_DROP_BAD_HEADER;
  *value = trim(slice(colon + 1, line.n - (size_t)(colon + 1 - line.p)));
  return UCP__SSDP_OK;
}

/* Known headers are kept; unknown ones (OPT, 01-NLS, EXT...) ignored. */
static ucp__ssdp_drop store_header(ucp__slice raw[F__COUNT], ucp__slice name,
                                   ucp__slice value) {
  for (int f = 0; f < F__COUNT; f++) {
    if (!slice_eq_ci(name, field_names[f])) continue;
    if (!raw[f].p) raw[f] = value;
    else if (f <= F__LAST_UNIQUE) return UCP__SSDP_DROP_DUPLICATE;
    return UCP__SSDP_OK;
  }
  return UCP__SSDP_OK;
}

/* Header lines up to the empty line or the end of the datagram. */
static ucp__ssdp_drop read_headers(lines *l, ucp__slice raw[F__COUNT]) {
  ucp__slice line, name, value;
  size_t count = 0;
  while (next_line(l, &line)) {
    if (!line.n) break;
    if (line.n > UCP__SSDP_MAX_LINE) return UCP__SSDP_DROP_LINE_TOO_LONG;
    if (is_ows(line.p[0])) return UCP__SSDP_DROP_OBS_FOLD;
    if (++count > UCP__SSDP_MAX_HEADERS)
      return UCP__SSDP_DROP_TOO_MANY_HEADERS;
    ucp__ssdp_drop d = split_header(line, &name, &value);
    if (d == UCP__SSDP_OK) d = store_header(raw, name, value);
    if (d != UCP__SSDP_OK) return d;
  }
  return UCP__SSDP_OK;
}

/* ------------------------------------------------------------ values */

/* The next comma-separated element of a list, commas inside quotes kept. */
static int next_element(ucp__slice *list, ucp__slice *el) {
  if (!list->p || !list->n) return 0;
  size_t i = 0;
  int quoted = 0;
  for (; i < list->n && (quoted || list->p[i] != ','); i++)
    if (list->p[i] == '"') quoted = !quoted;
  *el = slice(list->p, i);
  advance(list, i < list->n ? i + 1 : i);
  return 1;
}

/* CACHE-CONTROL: the first max-age directive, spaces allowed around '=';
 * other directives are ignored (UDA 2.0 §1.2.2, §1.3.3). */
static ucp__ssdp_drop parse_max_age(ucp__slice cc, uint32_t *out) {
  ucp__slice el;
  while (next_element(&cc, &el)) {
    const char *eq = memchr(el.p, '=', el.n);
    size_t keyn = eq ? (size_t)(eq - el.p) : el.n;
    if (!slice_eq_ci(trim(slice(el.p, keyn)), "max-age")) continue;
    uint64_t v;
    if (!eq || ucp__ssdp_parse_uint(slice(eq + 1, el.n - keyn - 1),
                                    UINT32_MAX, &v) != 0)
      return UCP__SSDP_DROP_BAD_NUMBER;
    if (v < UCP__SSDP_MIN_AGE) v = UCP__SSDP_MIN_AGE;
    if (v > UCP__SSDP_MAX_AGE) v = UCP__SSDP_MAX_AGE;
    *out = (uint32_t)v;
    return UCP__SSDP_OK;
  }
  return UCP__SSDP_OK;
}

/* NTS (UDA 2.0 §1.2.2-§1.2.4). */
static ucp__ssdp_drop parse_nts(ucp__slice s, ucp__ssdp_nts *out) {
  if (!s.p) return UCP__SSDP_OK;
  if (slice_eq_ci(s, "ssdp:alive")) *out = UCP__NTS_ALIVE;
  else if (slice_eq_ci(s, "ssdp:byebye")) *out = UCP__NTS_BYEBYE;
  else if (slice_eq_ci(s, "ssdp:update")) *out = UCP__NTS_UPDATE;
  else return UCP__SSDP_DROP_BAD_NTS;
  return UCP__SSDP_OK;
}

/* BOOTID, CONFIGID, NEXTBOOTID, SEARCHPORT (UDA 2.0 §1.2.2), MX (§1.3.2). */
static ucp__ssdp_drop parse_numbers(const ucp__slice raw[F__COUNT],
                                    ucp__ssdp_msg *m) {
  const uint64_t id_max = INT32_MAX;
  int64_t mx = -1, port = -1;
  ucp__ssdp_drop d = parse_max_age(raw[F_CACHE_CONTROL], &m->max_age);
  if (!d) d = parse_range(raw[F_BOOTID], 0, id_max, &m->bootid);
  if (!d) d = parse_range(raw[F_CONFIGID], 0, id_max, &m->configid);
  if (!d) d = parse_range(raw[F_NEXTBOOTID], 0, id_max, &m->nextbootid);
  if (!d) d = parse_range(raw[F_SEARCHPORT], 49152, 65535, &port);
  if (!d && m->kind == UCP__SSDP_MSEARCH)
    d = parse_range(raw[F_MX], 0, 120, &mx);
  m->mx = (int)mx;
  m->searchport = (int)port;
  return d;
}

/* ------------------------------------------------------------ addresses */

typedef struct ip_addr { int v6; unsigned char b[16]; } ip_addr;

/* A numeric IPv4 or IPv6 address; IPv4-mapped IPv6 becomes IPv4. */
static int ip_parse(ucp__slice s, ip_addr *a) {
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                           0xff, 0xff};
  char tmp[INET6_ADDRSTRLEN + 1];
  if (!s.p || !s.n || s.n >= sizeof tmp) return -1;
  memcpy(tmp, s.p, s.n);
  tmp[s.n] = '\0';
  memset(a, 0, sizeof *a);
  if (inet_pton(AF_INET, tmp, a->b) == 1) return 0;
  if (inet_pton(AF_INET6, tmp, a->b) != 1) return -1;
  a->v6 = 1;
  if (!memcmp(a->b, mapped, sizeof mapped)) {
    memmove(a->b, a->b + 12, 4);
    memset(a->b + 4, 0, 12);
    a->v6 = 0;
  }
  return 0;
}

static int ip_is_loopback(const ip_addr *a) {
  static const unsigned char one[16] = {[15] = 1};
  return a->v6 ? !memcmp(a->b, one, 16) : a->b[0] == 127;
}

static int ip_is_multicast(const ip_addr *a) {
  return a->v6 ? a->b[0] == 0xff : (a->b[0] & 0xf0) == 0xe0;
}

/* Unspecified, multicast or broadcast: never a device's address. */
static int ip_is_unusable(const ip_addr *a) {
  static const unsigned char zero[16] = {0};
  static const unsigned char bcast[4] = {255, 255, 255, 255};
  if (ip_is_multicast(a)) return 1;
  if (a->v6) return !memcmp(a->b, zero, 16);
  return a->b[0] == 0 || !memcmp(a->b, bcast, 4);
}

static int ip_eq(const ip_addr *a, const ip_addr *b) {
  return a->v6 == b->v6 && !memcmp(a->b, b->b, a->v6 ? 16 : 4);
}

/* "host[:port]" or "[v6][:port]" into host (brackets removed) and port
 * (p==NULL when there is no colon). -1 when the brackets are broken. */
static int split_hostport(ucp__slice hp, ucp__slice *host, ucp__slice *port) {
  const char *end = hp.p + hp.n, *rest;
  *port = slice(NULL, 0);
  if (hp.n && hp.p[0] == '[') {
    const char *rb = memchr(hp.p, ']', hp.n);
    if (!rb) return -1;
    *host = slice(hp.p + 1, (size_t)(rb - hp.p - 1));
    rest = rb + 1;
    if (rest < end && *rest != ':') return -1;
  } else {
    rest = memchr(hp.p, ':', hp.n);
    if (!rest) rest = end;
    *host = slice(hp.p, (size_t)(rest - hp.p));
  }
  if (rest < end) *port = slice(rest + 1, (size_t)(end - rest - 1));
  return 0;
}

/* Is HOST a multicast group (then MX is required, UDA 2.0 §1.3.2)? */
static int host_is_multicast(ucp__slice hp) {
  ucp__slice host, port;
  ip_addr a;
  if (!present(hp) || split_hostport(hp, &host, &port) != 0) return 0;
  return ip_parse(host, &a) == 0 && ip_is_multicast(&a);
}

/* ------------------------------------------------------------ messages */

static void msg_reset(ucp__ssdp_msg *m) {
  memset(m, 0, sizeof *m);
  m->bootid = m->configid = m->nextbootid = -1;
  m->mx = m->searchport = -1;
}

/* The UDN: USN up to "::" (UDA 2.0 §1.1.4 and Table 1-1), trimmed. */
static ucp__slice usn_udn(ucp__slice usn) {
  for (size_t i = 0; usn.p && i + 1 < usn.n; i++)
    if (usn.p[i] == ':' && usn.p[i + 1] == ':') return trim(slice(usn.p, i));
  return usn;
}

static void take_slices(const ucp__slice raw[F__COUNT], ucp__ssdp_msg *m) {
  m->location = raw[F_LOCATION];
  m->usn = raw[F_USN];
  m->nt = raw[F_NT];
  m->st = raw[F_ST];
  m->server = raw[F_SERVER];
  m->host = raw[F_HOST];
  m->man = raw[F_MAN];
  m->user_agent = raw[F_USER_AGENT];
  m->udn = usn_udn(m->usn);
}

static ucp__ssdp_drop check_notify(const ucp__ssdp_msg *m) {
  int ok = present(m->nt) && present(m->usn) && m->nts != UCP__NTS_NONE;
  if (m->nts == UCP__NTS_ALIVE) ok = ok && present(m->location) && m->max_age;
  if (m->nts == UCP__NTS_UPDATE) ok = ok && present(m->location);
  return ok ? UCP__SSDP_OK : UCP__SSDP_DROP_MISSING;
}

/* Required headers per kind; see ssdp.h. */
static ucp__ssdp_drop check_required(const ucp__ssdp_msg *m) {
  int ok = 0;
  switch (m->kind) {
  case UCP__SSDP_RESPONSE:
    ok = present(m->location) && present(m->usn) && present(m->st) &&
         m->max_age;
    break;
  case UCP__SSDP_NOTIFY:
    return check_notify(m);
  case UCP__SSDP_MSEARCH:
    ok = slice_eq_ci(m->man, "\"ssdp:discover\"") && present(m->st) &&
         (m->mx >= 0 || !host_is_multicast(m->host));
    break;
  }
  return ok ? UCP__SSDP_OK : UCP__SSDP_DROP_MISSING;
}

static ucp__ssdp_drop finish(const ucp__slice raw[F__COUNT], ucp__ssdp_msg *m) {
  take_slices(raw, m);
  if (m->location.n > UCP__SSDP_MAX_URL || m->usn.n > UCP__SSDP_MAX_USN)
    return UCP__SSDP_DROP_TOO_LONG;
  ucp__ssdp_drop d = parse_numbers(raw, m);
  if (!d && m->kind == UCP__SSDP_NOTIFY) d = parse_nts(raw[F_NTS], &m->nts);
  return d ? d : check_required(m);
}

static ucp__ssdp_drop parse_into(const char *buf, size_t len,
                                 ucp__ssdp_msg *m) {
  ucp__slice raw[F__COUNT] = {{0}}, line;
  if (!buf) return UCP__SSDP_DROP_START_LINE;
  ucp__ssdp_drop d = prescan(buf, len);
  if (d) return d;
  lines l = {buf, buf + len};
  if (!next_line(&l, &line)) return UCP__SSDP_DROP_START_LINE;
  if (line.n > UCP__SSDP_MAX_LINE) return UCP__SSDP_DROP_LINE_TOO_LONG;
  if ((d = parse_start(line, m)) || (d = read_headers(&l, raw))) return d;
  return finish(raw, m);
}

ucp__ssdp_drop ucp__ssdp_parse(const char *buf, size_t len, ucp__ssdp_msg *m) {
  ucp__ssdp_msg tmp;
  msg_reset(&tmp);
  ucp__ssdp_drop d = parse_into(buf, len, &tmp);
  if (d != UCP__SSDP_OK) msg_reset(&tmp);
  *m = tmp;
  return d;
}

const char *ucp__ssdp_drop_text(ucp__ssdp_drop d) {
#define UCP__SSDP_DROP_TEXT(name, text) text,
  static const char *const texts[] = {
      "ok", UCP__SSDP_DROP_MAP(UCP__SSDP_DROP_TEXT)};
#undef UCP__SSDP_DROP_TEXT
  return (unsigned)d < UCP__SSDP_DROP__COUNT ? texts[d] : "unknown drop reason";
}

const char *ucp__ssdp_drop_name(ucp__ssdp_drop d) {
#define UCP__SSDP_DROP_NAME(name, text) #name,
  static const char *const names[] = {
      "OK", UCP__SSDP_DROP_MAP(UCP__SSDP_DROP_NAME)};
#undef UCP__SSDP_DROP_NAME
  return (unsigned)d < UCP__SSDP_DROP__COUNT ? names[d] : "UNKNOWN";
}

/* ------------------------------------------------------------ ST matching */

typedef struct urn { ucp__slice domain, kind, type; uint64_t ver; } urn;

/* "urn:domain:device|service:type:ver" (UDA 2.0 §1.1.2, NT and ST). */
static int urn_parse(ucp__slice s, urn *u) {
  ucp__slice part[4];
  if (!slice_starts_ci(s, "urn:")) return -1;
  advance(&s, 4);
  for (int i = 0; i < 4; i++) {
    const char *colon = i < 3 ? memchr(s.p, ':', s.n) : s.p + s.n;
    if (!colon || colon == s.p) return -1;
    part[i] = slice(s.p, (size_t)(colon - s.p));
    advance(&s, i < 3 ? part[i].n + 1 : part[i].n);
  }
  u->domain = part[0];
  u->kind = part[1];
  u->type = part[2];
  if (!slice_eq_ci(u->kind, "device") && !slice_eq_ci(u->kind, "service"))
    return -1;
  if (memchr(part[3].p, ' ', part[3].n) || memchr(part[3].p, '\t', part[3].n))
    return -1;
  return ucp__ssdp_parse_uint(part[3], INT32_MAX, &u->ver);
}

int ucp__ssdp_st_matches(ucp__slice st, ucp__slice nt) {
  urn a, b;
  if (!present(st) || !present(nt)) return 0;
  if (slice_eq_ci(st, "ssdp:all")) return 1;
  if (slice_eq_ci(st, "upnp:rootdevice"))
    return slice_eq_ci(nt, "upnp:rootdevice");
  if (slice_starts_ci(st, "uuid:")) return st.n > 5 && slices_eq_ci(st, nt);
  if (urn_parse(st, &a) != 0 || urn_parse(nt, &b) != 0) return 0;
  return slices_eq_ci(a.domain, b.domain) && slices_eq_ci(a.kind, b.kind) &&
         a.type.n == b.type.n && !memcmp(a.type.p, b.type.p, a.type.n) &&
         b.ver >= a.ver;
}

/* ------------------------------------------------------------ M-SEARCH */

/* A header value we may write: no CR/LF, and its line fits the cap. */
static int value_ok(const char *v, size_t name_len) {
  size_t n = strlen(v);
  return !memchr(v, '\r', n) && !memchr(v, '\n', n) &&
         name_len + 2 + n <= UCP__SSDP_MAX_LINE;
}

/* UDA 2.0 §1.3.2; MX omitted for a unicast search. CPFN.UPNP.ORG, the
 * control point's friendly name, is required by UDA 2.0. */
size_t ucp__ssdp_build_msearch(char *buf, size_t cap, const char *host,
                               const char *st, int mx, const char *user_agent) {
  char mxline[24] = "";
  int has_ua = user_agent && *user_agent;
  if (!buf || !cap) return 0;
  buf[0] = '\0';
  if (!host || !*host || !st || !*st || mx > 120) return 0;
  if (!value_ok(host, 4) || !value_ok(st, 2) ||
      (has_ua && !value_ok(user_agent, 10)))
    return 0;
  if (mx >= 0) snprintf(mxline, sizeof mxline, "MX: %d\r\n", mx);
  int n = snprintf(buf, cap,
                   "M-SEARCH * HTTP/1.1\r\nHOST: %s\r\n"
                   "MAN: \"ssdp:discover\"\r\n%sST: %s\r\n"
                   "CPFN.UPNP.ORG: upnpcp\r\n%s%s%s\r\n",
                   host, mxline, st, has_ua ? "USER-AGENT: " : "",
                   has_ua ? user_agent : "", has_ua ? "\r\n" : "");
  if (n < 0 || (size_t)n >= cap) {
    buf[0] = '\0';
    return 0;
  }
  return (size_t)n;
}

/* ------------------------------------------------------------ LOCATION */

static int refuse(const char **why, const char *text) {
  if (why) *why = text;
  return 0;
}

/* The source address as given by the socket layer; "%zone" ignored. */
static int source_parse(const char *source_ip, ip_addr *a) {
  ucp__slice s = ucp__slice_cstr(source_ip);
  const char *pct = s.p ? memchr(s.p, '%', s.n) : NULL;
  if (pct) s.n = (size_t)(pct - s.p);
  return ip_parse(s, a);
}

static int has_space_or_ctl(ucp__slice s) {
  for (size_t i = 0; i < s.n; i++)
    if ((unsigned char)s.p[i] <= 0x20 || s.p[i] == 0x7f) return 1;
  return 0;
}

/* The IP literal and port of "http://authority/...". */
static int location_addr(ucp__slice loc, ip_addr *a, const char **why) {
  ucp__slice host, port;
  uint64_t pv;
  if (!slice_starts_ci(loc, "http://"))
    return refuse(why, "LOCATION is not an http:// URL");
  ucp__slice auth = slice(loc.p + 7, loc.n - 7);
  const char *slash = memchr(auth.p, '/', auth.n);
  if (!slash) return refuse(why, "LOCATION has no path");
  auth.n = (size_t)(slash - auth.p);
  if (memchr(auth.p, '@', auth.n))
    return refuse(why, "LOCATION with user information refused");
  if (!auth.n || split_hostport(auth, &host, &port) != 0)
    return refuse(why, "LOCATION has a malformed host");
  if (port.p && (ucp__ssdp_parse_uint(port, 65535, &pv) != 0 || pv == 0))
    return refuse(why, "LOCATION has a malformed port");
  /* Brackets hold IPv6 only; without them, only dotted-quad IPv4 parses. */
  if (ip_parse(host, a) != 0 ||
      (auth.p[0] == '[' && !memchr(host.p, ':', host.n)))
    return refuse(why, "LOCATION host is not an IP literal");
  return 1;
}

int ucp__ssdp_location_ok(ucp__slice location, const char *source_ip,
                          const char **why) {
  ip_addr loc, src;
  if (why) *why = NULL;
  if (!present(location)) return refuse(why, "no LOCATION");
  if (location.n > UCP__SSDP_MAX_URL)
    return refuse(why, "LOCATION longer than 2048 bytes");
  if (has_space_or_ctl(location))
    return refuse(why, "LOCATION contains a space or control character");
  if (!location_addr(location, &loc, why)) return 0;
  if (source_parse(source_ip, &src) != 0)
    return refuse(why, "source address is not a numeric IP");
  if (ip_is_unusable(&loc))
    return refuse(why, "LOCATION names an unspecified, multicast or "
                       "broadcast address");
  if (ip_is_loopback(&loc) && !ip_is_loopback(&src))
    return refuse(why, "loopback LOCATION from a non-loopback sender");
  if (!ip_eq(&loc, &src))
    return refuse(why, "LOCATION host is not the sender's address");
  return 1;
}
