/* xml_common.h - what every expat-based parser of the library shares. */
#ifndef UCP_XML_COMMON_H
#define UCP_XML_COMMON_H

#include <expat.h>
#include <stddef.h>

/* An expat parser ready for a new document: `reuse` reset when given
 * (XML_ParserReset), else a new one. No namespace processing (elements are
 * matched by local name), the library's allocator (so out-of-memory tests
 * reach expat), and a hash salt from one per-process secret. NULL when out
 * of memory (`reuse` is then freed). Handlers must be set again. */
XML_Parser ucp__xml_parser(XML_Parser reuse);

/* The '&' repair: a copy of s[0..n) with every '&' that does not start a
 * predefined or numeric reference written as "&amp;" (NETGEAR ReadyDLNA's
 * "R&N", an undefined "&nbsp;"). *fixed counts them. NULL: no memory. */
char *ucp__xml_escape_bare_amps(const char *s, size_t n, size_t *out_len,
                                size_t *fixed);

#endif
