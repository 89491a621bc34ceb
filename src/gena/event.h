/* event.h - ucp_event: what a subscription reports (a NOTIFY or a change
 * of its state), built on the loop and delivered through the core's event
 * queue (ucp__op_post). */
#ifndef UCP_GENA_EVENT_H
#define UCP_GENA_EVENT_H

#include "../core/arena.h"
#include "../core/op.h"
#include "../soap/types.h"
#include "../xml/scpd.h"
#include "server.h"

typedef struct ucp__ev_var {
  const char *name;
  const char *value;
  ucp__value v; /* v.type UNKNOWN when untyped */
} ucp__ev_var;

struct ucp_event {
  ucp__event base; /* first: the core queues it */
  ucp__arena arena;
  ucp_event_kind kind;
  ucp_sub_state state;
  const char *detail, *sid, *warnings;
  uint32_t seq, timeout;
  size_t nvars;
  ucp__ev_var *vars;
  ucp__lastchange *lc; /* the first LastChange read, or NULL */
};

/* NULL when out of memory. `deliver` is set by the caller. */
ucp_event *ucp__event_state(ucp_sub_state st, const char *sid,
                            uint32_t timeout, const char *detail);
/* A NOTIFY typed by `scpd` (may be NULL); takes n->props. */
ucp_event *ucp__event_notify(ucp__notify *n, const ucp__scpd *scpd);

#endif
