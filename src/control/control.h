/* control.h - the control layer (UDA 2.0 §3): SCPD download and cache,
 * action invocation, state variable query. args.c is sans-I/O (checking
 * arguments against the SCPD, typing out-arguments); scpd_cache.c,
 * scpd_download.c and invoke.c do the I/O on the loop thread. */
#ifndef UCP_CONTROL_CONTROL_H
#define UCP_CONTROL_CONTROL_H

#include <stddef.h>

#include "../core/arena.h"
#include "../soap/soap.h"
#include "../soap/types.h"
#include "../xml/scpd.h"
#include "upnpcp.h"

/* ---- args.c: in-arguments ---- */

/* The arguments an invoke sends: names and values in sending order. The
 * strings point into the SCPD, the caller's ucp_arg array, or `store`. */
typedef struct ucp__inargs {
  size_t n;
  const char **names;
  const char **values;
  char *store; /* canonical value texts */
} ucp__inargs;

/* Check `args` against `act` (every in-argument once, no other; each value
 * valid for its variable's type, range and list) and put them in SCPD
 * order under SCPD names, in canonical form. UCP_OK, or UCP_E_INVALIDARG /
 * UCP_E_NOMEM with `why` naming the argument and the rule. */
int ucp__inargs_from_scpd(const ucp__action *act, const ucp_arg *args,
                          size_t nargs, ucp__inargs *out, char *why,
                          size_t why_cap);
/* Raw: the arguments as given (names are checked by the SOAP builder). */
int ucp__inargs_raw(const ucp_arg *args, size_t nargs, ucp__inargs *out);
void ucp__inargs_free(ucp__inargs *a);

/* ---- args.c: out-arguments (the payload of invoke and query results) ---- */

typedef struct ucp__out {
  const char *name;
  const char *value; /* NULL when the device left it out */
  ucp__value v;      /* typed value; v.type UNKNOWN when untyped */
} ucp__out;

typedef struct ucp__outs {
  ucp__arena arena; /* everything below */
  size_t n;
  ucp__out *items;
  const char *warnings; /* "" when none */
} ucp__outs;

/* From a SOAP response: with `act`, its out-arguments in SCPD order typed
 * by their variables, then extra ones; without, all in document order as
 * strings. UCP_OK or UCP_E_NOMEM. */
int ucp__outs_from_response(const ucp__action *act,
                            const ucp__soap_result *res, ucp__outs **out);
/* A QueryStateVariable response: one out-argument named `variable`, typed
 * by `var` (NULL: a string). UCP_E_PROTOCOL when the response has no
 * value (why is set). */
int ucp__outs_from_query(const char *variable, const ucp__statevar *var,
                         const ucp__soap_result *res, ucp__outs **out,
                         const char **why);
void ucp__outs_free(ucp__outs *o);

/* ---- scpd_cache.c: one cache per control point, loop thread only ---- */

typedef struct ucp__scpd_waiter ucp__scpd_waiter;
/* A request for one SCPD. `done` runs once (unless the waiter is
 * detached first) with a borrowed model on success; `progress` is
 * optional. Both run on the loop thread, outside curl callbacks. */
struct ucp__scpd_waiter {
  ucp__scpd_waiter *next;
  void *entry; /* the cache entry it waits on */
  void (*progress)(ucp__scpd_waiter *w, int phase, uint64_t now,
                   uint64_t total);
  void (*done)(ucp__scpd_waiter *w, int status, int http_status,
               const ucp__scpd *s, int from_cache, const char *detail);
};

typedef struct ucp__scpd_key {
  const char *udn;        /* may be "" (a device without UDN) */
  const char *service_id; /* may be "" */
  const char *url;        /* absolute SCPD URL */
  const char *pin_ip;     /* connect only there, or NULL */
  int64_t config_id;      /* the description's configId, -1 if none */
} ucp__scpd_key;

/* Attach `w` to the entry for `key`: answered from the cache (then `done`
 * runs inside this call), by a running download, or by a new one (bounded
 * by `deadline_ms`; it keeps running after every waiter left). UCP_OK, or
 * a negative code (no callback runs). */
int ucp__scpd_cache_get(ucp_cp *cp, const ucp__scpd_key *key,
                        uint64_t deadline_ms, ucp__scpd_waiter *w);
/* Stop waiting: no callback of `w` runs after this. NULL-safe. */
void ucp__scpd_cache_detach(ucp_cp *cp, ucp__scpd_waiter *w);
/* Drop every entry of `udn` (a running download still answers its
 * waiters but fills no entry). */
void ucp__scpd_cache_forget(ucp_cp *cp, const char *udn);

#endif
