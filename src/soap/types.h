/* types.h - the UPnP data types of UDA 2.0 §2.5 (state variables and
 * action arguments): names, validation and canonical text. Sans-I/O and
 * allocation-free: every function works on the caller's buffers.
 * The enum is the public ucp_type (upnpcp.h), shared with the SCPD model. */
#ifndef UCP_SOAP_TYPES_H
#define UCP_SOAP_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "upnpcp.h"

/* The type named `name` (len bytes, no NUL needed), case-insensitively:
 * SCPDs write "String" and "Boolean" (WeMo, the pupnp sample).
 * UCP_TYPE_UNKNOWN for anything else, leading/trailing spaces included. */
ucp_type ucp__type_from_name(const char *name, size_t len);
/* 1 for the numeric types (ui*, i*, int, r4, r8, number, fixed.14.4,
 * float): the ones allowedValueRange applies to. */
int ucp__type_is_numeric(ucp_type t);

typedef struct ucp__value {
  ucp_type type;
  union {
    uint64_t u; /* ui*; char: the code point; bin.*: decoded byte count */
    int64_t i;  /* i*, int */
    double r;   /* r4 (rounded to float), r8, number, float, fixed.14.4 */
    int b;      /* boolean: 0 or 1 */
  } v;
  const char *text; /* canonical text form, NUL-terminated, in the caller's
                       buffer; NULL when no buffer was given */
  size_t len;       /* its length (computed even without a buffer) */
} ucp__value;

/*
 * Validate and convert the textual value s[0..n) for `type`.
 *
 * UCP_OK: *out is filled; its text is the canonical form written into
 * buf (cap bytes including the NUL): integers without '+' or leading
 * zeros; reals in the shortest form that reads back to the same value
 * ("0.1", "1e+300", "1e-05"), whole numbers below 1e17 written out ("100",
 * not "1e+02"); fixed.14.4 without redundant zeros; boolean "1"/"0";
 * bin.base64 re-encoded without whitespace; bin.hex and uuid upper-/
 * lowercase (XSD hexBinary / RFC 4122); other types as written. buf may be
 * NULL (cap 0) to validate only. cap >= n + 32 is always enough.
 *
 * UCP_E_INVALIDARG: *why (static text) names the rule that failed, e.g.
 * "ui1 takes 0..255", "not a boolean (0, 1, true, false, yes, no)",
 * "date must be YYYY-MM-DD", or "output buffer too small".
 *
 * Leading and trailing XML whitespace (space, tab, CR, LF) is ignored for
 * every type except string and unknown (kept as is) and char (a lone
 * whitespace character is a char; otherwise trimmed).
 * Following UDA 2.0 where the brief is silent: dateTime's time part is
 * optional; the zone of dateTime.tz and time.tz is optional; 24:00:00 (end
 * of day, ISO 8601) is a time; a zone is Z or ±hh:mm within ±14:00;
 * fixed.14.4 counts digits without leading zeros before the point and
 * without trailing zeros after it; -0 is a real but "0" for fixed.14.4;
 * r4 takes what rounds to a finite float (3.4028235e38 does), and a real
 * too small for its type reads as 0. Reals are read and written in the
 * "C" locale whatever the program's LC_NUMERIC; at most 400 characters.
 */
int ucp__value_parse(ucp_type type, const char *s, size_t n, char *buf,
                     size_t cap, ucp__value *out, const char **why);

/*
 * allowedValueRange: min, max and step are the SCPD's texts (NULL or ""
 * when absent), read as values of v's type. UCP_OK when v is inside and on
 * the step (counted from min, or from 0 without a min; reals with a
 * relative tolerance of 1e-9), else UCP_E_INVALIDARG with why ("value is
 * below the allowedValueRange minimum", ..., or "allowedValueRange step
 * is not a positive number" for a broken range). A range on a non-numeric
 * type is not defined by UDA and is ignored (UCP_OK).
 */
int ucp__value_check_range(const ucp__value *v, const char *min,
                           const char *max, const char *step,
                           const char **why);

/*
 * allowedValueList: UCP_OK when v equals one of allowed[0..n) (NULL
 * entries skipped; n == 0 means no list), else UCP_E_INVALIDARG with why.
 * Strings compare byte for byte (UDA: case-sensitive); other types compare
 * canonical forms, so "TRUE" matches "1". v->text must be set.
 */
int ucp__value_check_list(const ucp__value *v, const char *const *allowed,
                          size_t n, const char **why);

/* Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no
 * overlong forms, no surrogates, at most U+10FFFF) and its code point in
 * *cp; 0 when malformed or n is 0. */
size_t ucp__utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

#endif
