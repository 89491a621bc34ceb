/* gena.h - GENA eventing (UDA 2.0 §4), the sans-I/O part: the body of an
 * event message (UDA 2.0 §4.3, <e:propertyset>) and the LastChange
 * document that AVTransport and RenderingControl send as one evented
 * variable (the LastChange state variable of UPnP AV AVTransport:1 and
 * RenderingControl:1).
 * Pure functions over a complete, capped byte buffer: the callback server
 * collects the body first (SECURITY.md, "Callback server").
 *
 * Both parsers run on expat (src/xml/xml_common.h: the library allocator,
 * a hash salt, no namespace processing), refuse any DOCTYPE, enforce the
 * caps below themselves, match elements by local name (the namespace is a
 * hint: real devices omit it or misspell it), and stop at the end of the
 * document element (bytes after it are ignored, with a warning).
 *
 * Real devices break these documents in known ways (shared/corpus/real/
 * README.md, "GENA NOTIFY bodies"; docs/gena_corpus.md lists each capture
 * and what is recovered). A document is first parsed strictly; only when
 * expat rejects it are the bounded repairs documented at each function
 * tried, each at most once (or while it makes progress, at most 8 passes
 * in all), and every repair leaves a "line N: ..." line in `warnings`.
 * Line numbers stay those of the device's bytes: no repair adds or removes
 * a line break (a LastChange's are lines of the LastChange document, not
 * of the NOTIFY body). When the repairs do not make the document
 * parseable, the detail gives the strict parse's error first, then the
 * repairs tried and the last error. */
#ifndef UCP_GENA_GENA_H
#define UCP_GENA_GENA_H

#include <stddef.h>

#include "../core/arena.h"

/* ---------------------------------------------------------------- caps */

enum {
  UCP__GENA_MAX_BYTES = 256 * 1024, /* the whole document */
  UCP__GENA_MAX_DEPTH = 32,         /* element nesting */
  UCP__GENA_MAX_VALUE = 64 * 1024,  /* one value (text or attribute) */
  UCP__GENA_MAX_PROPS = 1024        /* variables, or LastChange changes */
};

/* Caps of one parse; a field 0 means its default (above). Every element
 * is also limited to 64 attributes. Exceeding a cap is UCP_E_TOO_LARGE. */
typedef struct ucp__gena_limits {
  size_t max_bytes; /* document bytes, before any repair (256 KiB) */
  size_t max_depth; /* element nesting (32) */
  size_t max_value; /* one variable's value, one attribute value (64 KiB) */
  size_t max_props; /* variables in a propertyset, changes in a LastChange
                       (1024) */
} ucp__gena_limits;

/* The defaults above. */
void ucp__gena_limits_default(ucp__gena_limits *l);

/* ------------------------------------------------------ NOTIFY bodies */

/* One evented variable. name: the element's local name, as sent (no
 * prefix). value: NUL-terminated, value_len bytes (XML carries no NUL).
 * The value is the element's text, unescaped and untrimmed (as sent; CRLF
 * read as LF, as XML does); when the element holds child elements (Orange
 * liveradio sends its LastChange unescaped) the value is instead the raw
 * markup between its tags, byte for byte, and a warning says so. */
typedef struct ucp__prop {
  const char *name;
  const char *value;
  size_t value_len;
} ucp__prop;

/* A parsed body: props[0..n) in document order (a property may hold
 * several variables; a variable may repeat: both are kept). Everything
 * lives in `arena`. warnings: "" or "line N: ...\n" lines (repairs,
 * ignored elements, ignored trailing bytes). */
typedef struct ucp__propset {
  ucp__arena arena;
  size_t n;
  ucp__prop *props;
  const char *warnings;
} ucp__propset;

/*
 * Parse a complete NOTIFY body (UDA 2.0 §4.3):
 *   <e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0">
 *     <e:property><VarName>value</VarName></e:property>...
 *   </e:propertyset>
 * lim NULL: the defaults. detail (may be NULL; detail_cap bytes with the
 * NUL) receives "" on success, else the reason, "line N: ...".
 *
 * Returns UCP_OK and *out (free with ucp__propset_free), or with *out
 * NULL: UCP_E_XML (malformed, truncated), UCP_E_PROTOCOL (the document
 * element is not <propertyset>; a value's raw markup that is not UTF-8),
 * UCP_E_DOCTYPE, UCP_E_TOO_LARGE (a cap), UCP_E_NOMEM, UCP_E_INVALIDARG
 * (NULL body with len > 0, NULL out).
 *
 * Tolerated as they are: any or no namespace and prefix, elements other
 * than <property> (ignored with a warning), an empty propertyset (n 0,
 * warning), bytes after </propertyset> (ignored, warning).
 * Repairs, after a strict parse failed:
 *  - an XML declaration preceded by comments or white space (jupnp's
 *    comments in the corpus) is moved to the front, the bytes before it
 *    blanked (line breaks kept);
 *  - every '&' that starts no reference is escaped
 *    (ucp__xml_escape_bare_amps; Marantz);
 *  - a variable whose content is not well-formed markup (raw '<' of HTML
 *    or of a corrupted buffer: Philips NP2900, TerraTec NOXON 2) has every
 *    '<' and '>' between its start tag and the first matching end tag
 *    after the error escaped: its value is that content as text;
 *  - a body cut inside the end tag of the document element (at least
 *    "</"; Sony SA-NS300 ends with "</e"), every property being complete,
 *    is accepted.
 * Any other truncation is UCP_E_XML.
 */
int ucp__propset_parse(const char *body, size_t len,
                       const ucp__gena_limits *lim, ucp__propset **out,
                       char *detail, size_t detail_cap);
/* NULL-safe. */
void ucp__propset_free(ucp__propset *p);
/* The first variable named `name` (exact bytes, else ASCII
 * case-insensitively), or NULL. */
const ucp__prop *ucp__propset_find(const ucp__propset *p, const char *name);

/* ---------------------------------------------------------- LastChange */

/* One change: <InstanceID val="instance"><variable val="value"
 * channel="channel"/></InstanceID>. instance: the InstanceID's val ("" if
 * it has none, with a warning); variable: the local name (Sonos' r:
 * prefix dropped); value: the val attribute unescaped, NULL when the
 * element has none; channel: the channel attribute (RenderingControl
 * Volume, Mute, ...), NULL when absent. */
typedef struct ucp__lc_change {
  const char *instance;
  const char *variable;
  const char *value;
  const char *channel;
} ucp__lc_change;

/* changes[0..n) in document order, across every <InstanceID>. Everything
 * lives in `arena`. warnings as for ucp__propset. partial: 1 when the
 * document was truncated and only the changes before the cut are here
 * (see below); the caller may want to re-read the state (GetTransportInfo,
 * GetMediaInfo, ...) instead of trusting its model. */
typedef struct ucp__lastchange {
  ucp__arena arena;
  size_t n;
  ucp__lc_change *changes;
  const char *warnings;
  int partial;
} ucp__lastchange;

/*
 * Parse a LastChange value (the text of the LastChange variable, already
 * unescaped once by ucp__propset_parse):
 *   <Event xmlns="urn:schemas-upnp-org:metadata-1-0/AVT/">
 *     <InstanceID val="0"><TransportState val="PLAYING"/>
 *       <Volume channel="Master" val="20"/>...</InstanceID>...</Event>
 * Default caps (max_props caps the changes; max_value each attribute).
 * detail as for ucp__propset_parse.
 *
 * Returns UCP_OK and *out (free with ucp__lastchange_free), or with *out
 * NULL: UCP_E_XML, UCP_E_PROTOCOL (the document element is not <Event>),
 * UCP_E_DOCTYPE, UCP_E_TOO_LARGE, UCP_E_NOMEM, UCP_E_INVALIDARG.
 *
 * Tolerated as they are: white space around the document, any, misspelt
 * (TEAC's xmlms=) or wrong namespaces, vendor prefixes, elements other
 * than <InstanceID> under <Event> and children of a variable (ignored
 * with a warning), an Event with no change (n 0), bytes after </Event>
 * (ignored with a warning: Denon AVR-4306 and TerraTec NOXON 2 send an old
 * buffer's remains there).
 * Repairs, after a strict parse failed:
 *  - the misplaced declaration and bare '&' repairs of ucp__propset_parse;
 *  - val attributes holding a nested document escaped once instead of
 *    twice (Philips SLA5220, TEAC, TechniSat, Philips NP2900), so that a
 *    literal '<', '>' or '"' is inside the attribute value: in every
 *    val="..." (or val='...') attribute, the value ends at the first quote
 *    followed by one of: white space and a channel= attribute; optional
 *    white space, "/>", optional white space, and then the end of the
 *    document or a byte other than '<' (NP2900 mangles its end tags into
 *    text); optional white space, "/>" or ">", optional white space and
 *    then an end tag of InstanceID or Event, or a start tag whose first
 *    attribute is val or channel (the next change). Every '<', '>' and
 *    quote before it is escaped. With no such quote the value runs to the
 *    end of the document (a truncated document, below). A nested document
 *    in a val is DIDL-Lite: its own tags are followed by DIDL elements,
 *    never by a tag with a val attribute;
 *  - a document that ends before </Event> (truncated by the device: TEAC
 *    WAP-4500 cuts its events at about 1 KiB; or its end tags mangled
 *    into text: Philips NP2900) keeps the changes whose start tags were
 *    complete before the end, sets `partial`, and says so in a warning;
 *    one with no complete change is UCP_E_XML ("truncated before any
 *    complete change").
 */
int ucp__lastchange_parse(const char *doc, size_t len, ucp__lastchange **out,
                          char *detail, size_t detail_cap);
/* The same with caps (NULL: the defaults). */
int ucp__lastchange_parse_limits(const char *doc, size_t len,
                                 const ucp__gena_limits *lim,
                                 ucp__lastchange **out, char *detail,
                                 size_t detail_cap);
/* NULL-safe. */
void ucp__lastchange_free(ucp__lastchange *l);

#endif
