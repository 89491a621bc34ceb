/* scpd.h - the service description (SCPD, UDA 2.0 §2.5) model and its
 * sans-I/O streaming parser. Like the device description (description.h),
 * the model is an immutable, reference-counted tree held in one arena; the
 * parser is a pure function over byte buffers fed in pieces.
 *
 * Tolerance (see shared/corpus/real/README.md, "SCPDs"): elements are
 * matched by local name, case-insensitively, in any order; values are
 * trimmed; non-standard dataType names are kept as written; a
 * relatedStateVariable that names no declared variable leaves `var` NULL;
 * `out` arguments may come before `in` ones (document order is kept).
 * What is dropped, always with a line in `warnings`: an action, argument or
 * variable without a name, an argument without a usable direction, a
 * second action or variable of the same name, and a second argument of the
 * same name and direction in one action (WeMo SetMultiState); the first is
 * kept. Warnings only: names outside [A-Za-z_][A-Za-z0-9_.-]*, unknown
 * dataType, unresolved or case-mismatched relatedStateVariable, an in and
 * an out argument sharing a name (Pannaway SetDomainName). */
#ifndef UCP_XML_SCPD_H
#define UCP_XML_SCPD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/arena.h"
#include "upnpcp.h"

/* Data types: the public ucp_type (upnpcp.h); names and values are in
 * src/soap/types.h. */
#include "../soap/types.h"

/* 1 when `name` matches [A-Za-z_][A-Za-z0-9_.-]*: safe as an XML element
 * name in a SOAP body and in SOAPACTION. Any length. NULL gives 0. The
 * parser keeps other names and records a warning. */
int ucp__scpd_name_valid(const char *name);

typedef struct ucp_statevar {
  const char *name;
  ucp_type type;
  const char *type_name;     /* as written (trimmed); NULL if no <dataType> */
  const char *default_value; /* NULL if absent */
  int send_events;           /* sendEvents="yes|no" (any case); default 1 */
  int multicast;             /* multicast="yes|no"; default 0 */
  const char **allowed;      /* allowedValueList, document order */
  size_t nallowed;
  int has_range;             /* an allowedValueRange was present */
  const char *min, *max, *step; /* as written; NULL when absent */
} ucp__statevar;

typedef enum ucp__dir { UCP__DIR_IN = 1, UCP__DIR_OUT } ucp__dir;

typedef struct ucp_argument {
  const char *name;
  ucp__dir dir;
  int retval;                 /* <retval/> was present */
  const char *related;        /* relatedStateVariable as written, or NULL */
  const ucp__statevar *var;   /* resolved (exact name first, then any case);
                                 NULL when `related` names no declared
                                 variable (WeMo) or is absent */
} ucp__arg;

typedef struct ucp_action {
  const char *name;
  ucp__arg *args;             /* document order: in and out may interleave */
  size_t nargs;
  size_t nin, nout;
} ucp__action;

typedef struct ucp_scpd {
  atomic_long refs;
  ucp__arena arena;
  int spec_major, spec_minor; /* 0 when absent or unreadable */
  int64_t config_id;          /* configId attribute of <scpd>, or -1 */
  ucp__action *actions;       /* document order, names unique */
  size_t nactions;
  ucp__statevar *vars;        /* document order, names unique */
  size_t nvars;
  const char *warnings;       /* "line N: ...\n" lines; "" when none */
  /* Lookup indexes: sorted by name, case-insensitively, ties by exact
   * byte order (private to scpd_parser.c). */
  const ucp__action **action_index;
  const ucp__statevar **var_index;
} ucp__scpd;

typedef struct ucp__scpd_limits {
  size_t max_depth;    /* element nesting (32) */
  size_t max_text;     /* one element's text (8 KiB) */
  size_t max_actions;  /* <action> elements (1024) */
  size_t max_args;     /* <argument> elements in one action (64) */
  size_t max_vars;     /* <stateVariable> elements (4096) */
  size_t max_allowed;  /* <allowedValue> elements in one variable (1024) */
  size_t max_bytes;    /* whole document (1 MiB) */
} ucp__scpd_limits;

void ucp__scpd_limits_default(ucp__scpd_limits *l);

typedef struct ucp__scpd_parser ucp__scpd_parser;

/* NULL `lim`: the defaults. Returns NULL when out of memory. */
ucp__scpd_parser *ucp__scpd_parser_new(const ucp__scpd_limits *lim);
void ucp__scpd_parser_free(ucp__scpd_parser *p);
/* Feed the next piece. UCP_OK or a negative code of upnpcp.h
 * (UCP_E_TOO_LARGE, UCP_E_DOCTYPE, UCP_E_PROTOCOL, UCP_E_NOMEM); malformed
 * XML is reported by finish (a bare '&' is repaired there). After an error
 * every further call returns it again. Bytes after </scpd> are ignored
 * (but count against max_bytes). */
int ucp__scpd_parser_feed(ucp__scpd_parser *p, const char *buf, size_t len);
/* End of input: UCP_OK and a model with one reference, or a negative code
 * (UCP_E_XML for malformed or truncated XML) and *out = NULL. */
int ucp__scpd_parser_finish(ucp__scpd_parser *p, ucp__scpd **out);
/* "line N: ..." for the last error, "" if none. */
const char *ucp__scpd_parser_error(const ucp__scpd_parser *p);
/* A whole document held by the caller (not copied), default limits.
 * `detail` (may be NULL) receives the error text, "" on success. */
int ucp__scpd_parse(const char *xml, size_t len, ucp__scpd **out,
                    char *detail, size_t detail_len);

/* NULL-safe. ref returns its argument. Any thread. */
const ucp__scpd *ucp__scpd_ref(const ucp__scpd *s);
void ucp__scpd_unref(const ucp__scpd *s);

/* By name: the exact match, else a case-insensitive one (the smallest in
 * byte order if several), else NULL. O(log n). */
const ucp__action *ucp__scpd_action(const ucp__scpd *s, const char *name);
const ucp__statevar *ucp__scpd_var(const ucp__scpd *s, const char *name);

#endif
