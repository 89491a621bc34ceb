/* ssdp.h - sans-I/O SSDP: parse one datagram, match search targets, build
 * an M-SEARCH, check a LOCATION against the sender (UDA 2.0 §1). Pure
 * functions over byte buffers: no sockets, no allocation. The caps and
 * drop rules are those of SECURITY.md, section "SSDP". */
#ifndef UCP_SSDP_SSDP_H
#define UCP_SSDP_SSDP_H
#include <stddef.h>
#include <stdint.h>

enum { UCP__SSDP_MAX_DATAGRAM = 8192, UCP__SSDP_MAX_LINE = 1024,
       UCP__SSDP_MAX_HEADERS = 64, UCP__SSDP_MAX_URL = 2048,
       UCP__SSDP_MAX_USN = 512 };

/* max-age is clamped to [UCP__SSDP_MIN_AGE, UCP__SSDP_MAX_AGE] seconds. */
enum { UCP__SSDP_MIN_AGE = 30, UCP__SSDP_MAX_AGE = 86400 };

typedef struct ucp__slice { const char *p; size_t n; } ucp__slice; /* borrowed from the datagram; p==NULL when absent */

/* A slice over a C string (NULL gives the absent slice). */
static inline ucp__slice ucp__slice_cstr(const char *s) {
  ucp__slice r = {s, 0};
  while (s && s[r.n]) r.n++;
  return r;
}

typedef enum ucp__ssdp_kind { UCP__SSDP_MSEARCH = 1, UCP__SSDP_NOTIFY, UCP__SSDP_RESPONSE } ucp__ssdp_kind;
typedef enum ucp__ssdp_nts { UCP__NTS_NONE = 0, UCP__NTS_ALIVE, UCP__NTS_BYEBYE, UCP__NTS_UPDATE } ucp__ssdp_nts;

/* Why a datagram was dropped: one counter each in the control point. */
#define UCP__SSDP_DROP_MAP(X) \
  X(OVERSIZE, "datagram over 8 KiB") \
  X(START_LINE, "not an SSDP start line") \
  X(NUL, "NUL byte") \
  X(BARE_CR, "CR not followed by LF") \
  X(OBS_FOLD, "folded header line (obs-fold)") \
  X(LINE_TOO_LONG, "header line over 1 KiB") \
  X(TOO_MANY_HEADERS, "more than 64 headers") \
  X(BAD_HEADER, "header line without a colon or with a bad name") \
  X(DUPLICATE, "duplicate LOCATION, USN, NT or ST") \
  X(MISSING, "a required header is missing") \
  X(BAD_NUMBER, "malformed number (CACHE-CONTROL, MX, BOOTID, CONFIGID, SEARCHPORT)") \
  X(TOO_LONG, "LOCATION over 2 KiB or USN over 512 B") \
  X(BAD_NTS, "unknown NTS")
typedef enum ucp__ssdp_drop {
  UCP__SSDP_OK = 0,
#define UCP__SSDP_DROP_ENUM(name, text) UCP__SSDP_DROP_##name,
  UCP__SSDP_DROP_MAP(UCP__SSDP_DROP_ENUM)
#undef UCP__SSDP_DROP_ENUM
  UCP__SSDP_DROP__COUNT
} ucp__ssdp_drop;
const char *ucp__ssdp_drop_text(ucp__ssdp_drop d);
/* The reason's short name ("OVERSIZE", ...; "OK"), e.g. for counter names. */
const char *ucp__ssdp_drop_name(ucp__ssdp_drop d);

typedef struct ucp__ssdp_msg {
  ucp__ssdp_kind kind;
  ucp__ssdp_nts nts;        /* NOTIFY only */
  int http_status;          /* RESPONSE: the status code (200 expected) */
  ucp__slice location, usn, nt, st, server, host, man, user_agent;
  ucp__slice udn;           /* the "uuid:..." part of USN, before "::" (whole USN when no "::") */
  uint32_t max_age;         /* seconds, clamped to [30, 86400]; 0 when absent */
  int64_t bootid, configid, nextbootid; /* -1 when absent; 0..2^31-1 */
  int mx;                   /* M-SEARCH: -1 when absent */
  int searchport;           /* SEARCHPORT.UPNP.ORG, -1 when absent; 49152..65535 */
} ucp__ssdp_msg;

/* Parse one datagram. Returns UCP__SSDP_OK and fills *m, or a drop reason.
 * Never allocates, never reads past buf+len, never writes past *m.
 * On a drop, *m is reset (every slice absent, every number absent).
 * Slices are trimmed of surrounding SP/HT; an empty value ("SERVER:") is a
 * present slice with n == 0, and counts as missing for a required header.
 * Lines end in CRLF or a bare LF; the limit of 1024 bytes per line does not
 * count the line end, and applies to the start line too. Bytes after the
 * empty line that ends the header section are ignored (NUL and bare CR are
 * checked over the whole datagram first). Because of that limit, a LOCATION
 * over 2 KiB is caught as LINE_TOO_LONG before TOO_LONG could apply. */
ucp__ssdp_drop ucp__ssdp_parse(const char *buf, size_t len, ucp__ssdp_msg *m);

/* Required headers per kind (else UCP__SSDP_DROP_MISSING):
 *  RESPONSE: status 200 (other statuses -> DROP_START_LINE), LOCATION, USN, ST, CACHE-CONTROL with max-age
 *  NOTIFY alive: NT, NTS, USN, LOCATION, CACHE-CONTROL max-age; byebye: NT, NTS, USN; update: NT, NTS, USN, LOCATION
 *  M-SEARCH: MAN "ssdp:discover" (quoted), ST, MX only when HOST is the multicast address (accept MX absent for unicast)
 * A MAN with another value counts as missing. "The multicast address" is any
 * IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast HOST; an M-SEARCH without
 * HOST is taken as unicast. NTS is read for NOTIFY only and MX for M-SEARCH
 * only; the other numbers are checked in every kind. */

/* ST matching (UDA 2.0 §1.3.2): does a device advertising `nt` (an NT or
 * ST value) answer a search for `st`? ssdp:all matches everything;
 * upnp:rootdevice and uuid:X match exactly (case-sensitive per UDA for uuid? treat uuid case-insensitively); for
 * urn:domain:device:type:ver and urn:domain:service:type:ver, same domain, kind and type and the
 * advertised version >= the searched version.
 * Here: "urn:", the domain and the kind compare case-insensitively, the type
 * case-sensitively; a version is 0..2^31-1 in digits. An absent or empty
 * slice, and any other form of `st` (or a malformed urn on either side),
 * match nothing. */
int ucp__ssdp_st_matches(ucp__slice st, ucp__slice nt);

/* Build an M-SEARCH request into buf (NUL-terminated). `host` is e.g.
 * "239.255.255.250:1900", "[FF02::C]:1900" or a unicast "10.0.0.5:1900";
 * mx < 0 omits MX (unicast M-SEARCH, UDA 1.1). Returns the length, or 0
 * when it does not fit or an argument contains CR, LF or NUL.
 * Also 0 when host or st is NULL or empty, mx > 120, or a line would exceed
 * UCP__SSDP_MAX_LINE (what ucp__ssdp_parse refuses). A NULL or empty
 * user_agent omits USER-AGENT. */
size_t ucp__ssdp_build_msearch(char *buf, size_t cap, const char *host,
                               const char *st, int mx, const char *user_agent);

/* LOCATION origin rule (SECURITY.md): `location` must be
 * "http://<IP literal>[:port]/..." (no userinfo, no host name, IPv6 in
 * brackets) whose IP equals `source_ip` (a numeric IPv4 or IPv6 string;
 * IPv4-mapped IPv6 like "::ffff:10.0.0.5" equals "10.0.0.5" on either side);
 * a loopback LOCATION is allowed only when the source is loopback.
 * Returns 1 when acceptable; else 0 and *why (static text).
 * Also refused: a space or control character anywhere, no "/" after the
 * authority, an empty or zero port, an IPv6 zone in the URL, an unspecified,
 * multicast or broadcast address. A "%zone" suffix of source_ip is ignored.
 * `why` may be NULL. */
int ucp__ssdp_location_ok(ucp__slice location, const char *source_ip,
                          const char **why);

/* The one checked number parser: optional SP/HT around, then digits only
 * (no sign), value <= max. Returns 0 and *out, or -1. */
int ucp__ssdp_parse_uint(ucp__slice s, uint64_t max, uint64_t *out);
#endif
