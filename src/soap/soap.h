/* soap.h - SOAP 1.1 for UPnP control (UDA 2.0 §3.2), sans-I/O: the
 * request body and SOAPACTION value an invoke sends, and a streaming
 * parser for what comes back (a response or a fault). No sockets, no curl:
 * the invoke operation feeds the body as it arrives. */
#ifndef UCP_SOAP_SOAP_H
#define UCP_SOAP_SOAP_H

#include <stddef.h>

/* The UPnP name grammar for actions and arguments: ASCII letters, digits,
 * '_', '-', '.'; not starting with a digit, '-' or '.'; 1..255 bytes. */
int ucp__soap_name_ok(const char *name);

/*
 * Build the request body
 *   <?xml version="1.0" encoding="utf-8"?><s:Envelope
 *   xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
 *   s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>
 *   <u:ACTION xmlns:u="SERVICE_TYPE"><Arg>value</Arg>...</u:ACTION>
 *   </s:Body></s:Envelope>
 * (one line, no whitespace between elements) and the SOAPACTION header
 * value "\"SERVICE_TYPE#ACTION\"" (quotes included) into soapaction
 * (soapaction_cap bytes with the NUL; soapaction may be NULL, cap 0).
 *
 * action and names[] must match the name grammar (a name may carry the
 * prefix "u:", the action's namespace: QueryStateVariable's <u:varName>); service_type is 1..256
 * printable ASCII bytes without space, '"', '#', '<', '>', '&', '\'' or
 * '\\' (it goes into an attribute and a header). values[i] NULL is "".
 * Values are XML-escaped (& < > " ' become entities, CR becomes &#13; so
 * that it survives line-end normalisation); a value that is not UTF-8, or
 * holds a control character other than tab, CR, LF (or U+FFFE/U+FFFF,
 * which XML cannot carry), is refused.
 *
 * UCP_OK: *out is a fresh NUL-terminated buffer from ucp__malloc (free it
 * with ucp__free), *len its length. UCP_E_INVALIDARG with *why (static
 * text naming the rule) or UCP_E_NOMEM; *out is NULL then.
 */
int ucp__soap_build_request(const char *service_type, const char *action,
                            const char *const *names,
                            const char *const *values, size_t n, char **out,
                            size_t *len, char *soapaction,
                            size_t soapaction_cap, const char **why);

/*
 * A parsed answer. A response (is_fault 0) has its out-arguments in
 * document order: names[i] as written (the local name; matching them to
 * the SCPD, case-insensitively, is the caller's job), values[i] unescaped
 * and untrimmed (CRLF read as LF, as XML does). An argument holding
 * unescaped child elements (a device that forgot to escape its DIDL) gets
 * the raw markup between its tags, byte for byte, as its value. names and
 * values are NULL when nargs is 0.
 * A fault (is_fault 1) has fault_code, fault_string and upnp_description
 * set (trimmed; "" when absent) and upnp_error the UPnPError errorCode, 0
 * when the fault has no UPnPError detail or the code is not an integer.
 * warnings is NULL, or "line N: ..." lines about repairs and oddities.
 * Everything is owned by the result: ucp__soap_result_free().
 */
typedef struct ucp__soap_result {
  int is_fault;
  char *fault_code, *fault_string;
  int upnp_error;
  char *upnp_description;
  size_t nargs;
  char **names;
  char **values;
  char *warnings;
} ucp__soap_result;

typedef struct ucp__soap_parser ucp__soap_parser;

enum {
  UCP__SOAP_MAX_BYTES = 1024 * 1024, /* default body cap */
  UCP__SOAP_MAX_VALUE = 64 * 1024,   /* default cap of one value's text */
  UCP__SOAP_MAX_DEPTH = 32,
  UCP__SOAP_MAX_ARGS = 256
};

/*
 * A parser for one body. action: the action invoked (the response must be
 * <actionResponse>, any prefix, case-insensitively), or NULL to take any
 * element whose local name ends in "Response". max_bytes caps the whole
 * body, max_value each value (0: the defaults above). NULL when out of
 * memory.
 *
 * What is tolerated (corpus/real/soap): no XML declaration, comments
 * before the envelope, CRLF/LF mixes, any prefixes (s:, SOAP:, u:, m:),
 * camelCase faultCode/faultString, extra outputs, escaped nested
 * documents, bytes after </Envelope> (ignored), a Header before the Body.
 * And one repair: an XML declaration inside an argument's value (Naim
 * Uniti sends <TrackMetaData><?xml ...?><DIDL-Lite>...) is an error for
 * expat ("XML or text declaration not at start of entity"); the body is
 * then parsed again with that declaration removed (up to 8 times), the
 * argument's value is its raw markup without the declaration, and a
 * warning says so. Refused: DOCTYPE (UCP_E_DOCTYPE), nesting deeper than
 * 32, a value over max_value, a body over max_bytes, more than 256
 * out-arguments or 64 attributes on an element (UCP_E_TOO_LARGE).
 */
ucp__soap_parser *ucp__soap_parser_new(const char *action, size_t max_bytes,
                                       size_t max_value);
/* Make `p` ready for another response, as ucp__soap_parser_new would, but
 * keeping its expat parser (XML_ParserReset) and buffers: the cheap path for
 * many exchanges. UCP_E_NOMEM leaves `p` only fit for ucp__soap_parser_free. */
int ucp__soap_parser_reuse(ucp__soap_parser *p, const char *action,
                           size_t max_bytes, size_t max_value);
/* Bytes of buffers `p` keeps between responses (to bound a pool of them). */
size_t ucp__soap_parser_retained(const ucp__soap_parser *p);
/* UCP_OK, or the error that makes the body unusable (the parse is then
 * over: later pieces are ignored). A malformed-XML error that the repair
 * may cure is reported by finish, not here. */
int ucp__soap_parser_feed(ucp__soap_parser *p, const char *buf, size_t len);
/* UCP_OK and *out (a response or a fault; free with ucp__soap_result_free)
 * or, with *out NULL: UCP_E_XML (malformed or truncated), UCP_E_PROTOCOL
 * (not an Envelope/Body/response-or-fault; the wrong response element,
 * naming both), UCP_E_TOO_LARGE, UCP_E_DOCTYPE, UCP_E_NOMEM; the text is
 * ucp__soap_parser_error(), "line N: ...". Call it once. */
int ucp__soap_parser_finish(ucp__soap_parser *p, ucp__soap_result **out);
/* "" while no error. Valid until the parser is freed. */
const char *ucp__soap_parser_error(const ucp__soap_parser *p);
void ucp__soap_parser_free(ucp__soap_parser *p);
void ucp__soap_result_free(ucp__soap_result *r);

#endif
