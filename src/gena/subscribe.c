/* subscribe.c - ucp_subscribe (BeginSubscribeToEvents, UDA 2.0 §4.1-4.3):
 * one long operation per subscription. SUBSCRIBE, then events through the
 * callback server (server.c), SEQ checking, renewal before the granted
 * timeout, resubscribe on 412, on a SEQ gap and on a device reboot,
 * UNSUBSCRIBE at the end. Every change of state is reported as an event:
 * a subscription is never lost silently. Loop thread, except the start
 * calls and ucp_unsubscribe. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "../core/heap.h"
#include "../core/mem.h"
#include "../core/op.h"
#include "../http/http.h"
#include "../http/url.h"
#include "../xml/description.h"
#include "event.h"
#include "server.h"
#include "subscribe.h"

enum { HOLD_MAX = 8, RETRY_MS = 2000 };
enum phase { P_SUBSCRIBING = 1, P_ACTIVE, P_RENEWING, P_UNSUBSCRIBING };

struct ucp_sub_opts {
  uint32_t timeout_s;
  uint64_t check_ms;
  unsigned port;
};

typedef struct sub_op sub_op;
struct sub_op {
  ucp__op base;
  sub_op *prev, *next; /* every live subscription of the control point */
  ucp_event_cb events;
  const ucp__scpd *scpd;
  struct ucp_sub_opts so;
  int phase, accepted_once, got_initial, reported_unreachable, resub_tries;
  int unsubscribe_wanted; /* ucp_unsubscribe during a SUBSCRIBE */
  int have_seq;
  uint32_t last_seq;
  ucp__http_req *req;
  char path[UCP__EVT_PATH_LEN];
  char callback_url[128];
  char sid[128];
  uint32_t granted_s;
  uint64_t renew_at, expires_at, check_at; /* ms, 0 = none */
  ucp__heap_node timer;
  ucp__notify *held[HOLD_MAX];
  int nheld;
  const char *headers[4];
  char line_callback[200], line_timeout[40], line_sid[150];
  char resp_sid[128], resp_timeout[40];
  char pin[48], device_ip[48];
  ucp__evt_unsub *reserved; /* for the UNSUBSCRIBE at the end */
  char *udn;
  char url[];
};

/* ------------------------------------------------ the control point's list */

/* One timer for every subscription of a control point: renewals,
 * reachability checks and retries sit on a heap (like the core's
 * deadlines), so a subscription costs no uv handle. */
typedef struct subs {
  ucp_cp *cp;
  sub_op *head;
  size_t count;
  ucp__heap heap;
  uv_timer_t timer;
} subs;

static void subs_timer_closed(uv_handle_t *h) {
  subs *l = h->data;
  ucp__cp_handle_closed(l->cp);
  ucp__heap_free(&l->heap);
  ucp__free(l);
}

static void subs_close(void *ext) {
  subs *l = ext;
  uv_timer_stop(&l->timer);
  uv_close((uv_handle_t *)&l->timer, subs_timer_closed);
}

static void on_timer(uv_timer_t *t);

static subs *subs_get(ucp_cp *cp) {
  subs *l = ucp__cp_ext(cp, UCP__EXT_SUBS);
  if (l) return l;
  l = ucp__calloc(1, sizeof *l);
  if (!l) return NULL;
  l->cp = cp;
  ucp__heap_init(&l->heap);
  if (uv_timer_init(ucp__cp_loop(cp), &l->timer) != 0) {
    ucp__free(l);
    return NULL;
  }
  l->timer.data = l;
  uv_unref((uv_handle_t *)&l->timer);
  ucp__cp_handle_opened(cp);
  ucp__cp_set_ext(cp, UCP__EXT_SUBS, l, subs_close);
  return l;
}

static void rearm(subs *l) {
  ucp__heap_node *min = ucp__heap_min(&l->heap);
  if (!min) {
    uv_timer_stop(&l->timer);
    return;
  }
  uint64_t now = ucp__now_ms();
  uv_timer_start(&l->timer, on_timer, min->key > now ? min->key - now : 0, 0);
}

/* The next time this subscription must act: renewal, check, expiry.
 * Every time set here is acted upon and cleared by act(), so the timer
 * never finds the same past time twice. */
static void schedule(sub_op *op) {
  subs *l = ucp__cp_ext(op->base.cp, UCP__EXT_SUBS);
  if (!l) return;
  ucp__heap_remove(&l->heap, &op->timer);
  uint64_t next = 0;
  uint64_t at[3] = {op->renew_at, op->check_at, op->expires_at};
  for (int i = 0; i < 3; i++)
    if (at[i] && (!next || at[i] < next)) next = at[i];
  if (next) {
    op->timer.key = next;
    if (ucp__heap_push(&l->heap, &op->timer) != 0) op->renew_at = 0;
  }
  rearm(l);
}

/* ------------------------------------------------------------ events */

static void deliver_event(ucp__op *base, ucp__event *e) {
  sub_op *op = (sub_op *)base;
  if (op->events) op->events(base->id, (ucp_event *)e, base->user);
}

/* An event that cannot be reported must not vanish: the subscription
 * ends with UCP_E_NOMEM instead (its completion needs no allocation). */
static void no_memory(sub_op *op) {
  ucp__op_fail(&op->base, UCP_E_NOMEM, 0,
               "subscription %s: out of memory reporting an event", op->url);
}

static void post_state(sub_op *op, ucp_sub_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void post_state(sub_op *op, ucp_sub_state st, const char *fmt, ...) {
  char detail[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  ucp_event *ev = ucp__event_state(st, op->sid, op->granted_s, detail);
  if (!ev) {
    no_memory(op);
    return;
  }
  ev->base.deliver = deliver_event;
  ucp__op_post(&op->base, &ev->base);
}

static void post_notify(sub_op *op, ucp__notify *n) {
  ucp_event *ev = ucp__event_notify(n, op->scpd);
  if (!ev) {
    no_memory(op);
    return;
  }
  ev->base.deliver = deliver_event;
  ucp__op_post(&op->base, &ev->base);
}

/* A lost subscription: say why, then complete with the error. */
static void lose(sub_op *op, int status, int http, const char *why) {
  post_state(op, UCP_SUB_LOST, "%s", why);
  ucp__op_fail(&op->base, status, http, "subscription %s: %s", op->url, why);
}

/* ------------------------------------------------------------ requests */

static int send_request(sub_op *op, const char *method);

static uint32_t parse_timeout(const char *v) {
  if (!v || strncasecmp(v, "Second-", 7) != 0) return 1800; /* UDA default */
  if (strcasecmp(v + 7, "infinite") == 0) return 86400;
  char *end;
  unsigned long n = strtoul(v + 7, &end, 10);
  return *end || n == 0 ? 1800 : n > 86400 ? 86400 : (uint32_t)n;
}

/* Renew at half the grant for short grants, a minute early otherwise. */
static uint64_t renew_delay_ms(uint32_t granted_s) {
  uint64_t g = (uint64_t)granted_s * 1000;
  return g <= 120000 ? g / 2 : g - 60000;
}

static void take_notify(sub_op *op, ucp__notify *n);

static void release_held(sub_op *op) {
  int n = op->nheld;
  op->nheld = 0;
  for (int i = 0; i < n; i++) { /* in arrival order; SEQ sorts them out */
    ucp__notify *h = op->held[i];
    op->held[i] = NULL;
    if (strcmp(h->sid, op->sid) == 0) take_notify(op, h);
    else ucp__cp_counter_add(op->base.cp, UCP_COUNTER_NOTIFY_DROPPED, 1);
    ucp__propset_free(h->props);
    ucp__free(h);
  }
}

static void start_unsubscribe(sub_op *op);

static void accepted(sub_op *op, int renewal, uint32_t granted) {
  uint64_t now = ucp__now_ms();
  if (op->unsubscribe_wanted) {
    op->granted_s = granted;
    start_unsubscribe(op);
    return;
  }
  op->phase = P_ACTIVE;
  op->resub_tries = 0;
  op->granted_s = granted;
  op->renew_at = now + renew_delay_ms(granted);
  op->expires_at = now + (uint64_t)granted * 1000;
  if (!op->accepted_once) ucp__op_clear_deadline(&op->base);
  if (renewal) {
    post_state(op, UCP_SUB_RENEWED, "renewed %s for %u s", op->sid, granted);
  } else {
    ucp__evt_set_sid(op->base.cp, op->path, op->sid);
    if (!op->got_initial) op->check_at = now + op->so.check_ms;
    post_state(op, op->accepted_once ? UCP_SUB_RESUBSCRIBED : UCP_SUB_ACTIVE,
               "%s %s for %u s, events to %s",
               op->accepted_once ? "resubscribed" : "subscribed", op->sid,
               granted, op->callback_url);
    op->accepted_once = 1;
    release_held(op);
  }
  schedule(op);
}

static void fail_or_lose(sub_op *op, int status, int http, const char *why) {
  if (!op->accepted_once)
    ucp__op_fail(&op->base, status, http, "subscription %s: %s", op->url, why);
  else lose(op, status, http, why);
}

static void resubscribe(sub_op *op, const char *why) {
  const char *pin = op->pin[0] ? op->pin : NULL;
  if (op->req && op->phase == P_SUBSCRIBING) /* the device may accept it */
    ucp__evt_adopt_subscribe(op->base.cp, op->req, op->url, pin, NULL);
  else if (op->req)
    ucp__http_abort(op->req);
  op->req = NULL;
  if (op->sid[0]) /* best effort: the old SID */
    ucp__evt_unsubscribe_later(op->base.cp, op->url, op->pin[0] ? op->pin
                                                                : NULL,
                               op->sid, NULL);
  op->phase = P_SUBSCRIBING;
  op->sid[0] = '\0';
  op->have_seq = op->got_initial = 0;
  op->check_at = op->renew_at = op->expires_at = 0; /* no grant now */
  ucp__evt_set_sid(op->base.cp, op->path, "");
  int rc = send_request(op, "SUBSCRIBE");
  if (rc != UCP_OK) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s; the new SUBSCRIBE could not start: %s",
             why, ucp_strerror(rc));
    lose(op, rc, 0, msg);
  }
  schedule(op);
}

static void on_answer(sub_op *op, int http) {
  int renewal = op->phase == P_RENEWING;
  if (op->phase == P_UNSUBSCRIBING) {
    ucp__op_finish(&op->base, http >= 200 && http <= 299 ? UCP_OK : UCP_E_HTTP,
                   http, http >= 200 && http <= 299 ? NULL
                                                    : "UNSUBSCRIBE refused");
    return;
  }
  if (http == 412 && renewal) {
    resubscribe(op, "the device refused the renewal (412)");
    return;
  }
  char why[128];
  if (http < 200 || http > 299) {
    snprintf(why, sizeof why, "SUBSCRIBE answered HTTP %d", http);
    fail_or_lose(op, UCP_E_HTTP, http, why);
    return;
  }
  if (!renewal) {
    if (!op->resp_sid[0]) {
      fail_or_lose(op, UCP_E_PROTOCOL, http, "SUBSCRIBE answer without a SID");
      return;
    }
    snprintf(op->sid, sizeof op->sid, "%s", op->resp_sid);
  }
  accepted(op, renewal, parse_timeout(op->resp_timeout[0] ? op->resp_timeout
                                                          : NULL));
}

static void on_done(void *ctx, const ucp__http_outcome *o) {
  sub_op *op = ctx;
  op->req = NULL;
  int ok = o->status == UCP_OK && o->http_status >= 200 &&
           o->http_status <= 299;
  if (op->unsubscribe_wanted && op->phase == P_SUBSCRIBING && !ok) {
    ucp__op_finish(&op->base, UCP_OK, o->http_status, NULL); /* nothing kept */
    return;
  }
  if (o->status == UCP_OK) {
    on_answer(op, o->http_status);
  } else if (op->phase == P_UNSUBSCRIBING || !op->accepted_once) {
    ucp__op_fail(&op->base, o->status, o->http_status, "%s", o->detail);
  } else if (op->phase == P_SUBSCRIBING) { /* a resubscribe failed */
    if (++op->resub_tries > 3) {
      lose(op, o->status, o->http_status, o->detail);
      return;
    }
    op->renew_at = ucp__now_ms() + RETRY_MS;
    schedule(op);
  } else if (ucp__now_ms() + RETRY_MS < op->expires_at) {
    op->phase = P_ACTIVE; /* try again shortly, before the grant ends */
    op->renew_at = ucp__now_ms() + RETRY_MS;
    schedule(op);
  } else { /* no time left to renew: start over */
    resubscribe(op, "the renewal failed and the grant is running out");
  }
}

/* The answer's SID and TIMEOUT, copied while the request is alive. */
static int on_headers(void *ctx, int http_status, uint64_t content_length) {
  sub_op *op = ctx;
  (void)http_status, (void)content_length;
  const char *sid = ucp__http_header(op->req, "SID");
  const char *timeout = ucp__http_header(op->req, "TIMEOUT");
  snprintf(op->resp_sid, sizeof op->resp_sid, "%s", sid ? sid : "");
  snprintf(op->resp_timeout, sizeof op->resp_timeout, "%s",
           timeout ? timeout : "");
  return UCP_OK;
}

/* Phases of the first SUBSCRIBE, so that its deadline says where it was. */
static void on_progress(void *ctx, int phase, uint64_t now, uint64_t total) {
  sub_op *op = ctx;
  (void)now, (void)total;
  if (!op->accepted_once) ucp__op_progress(&op->base, 0, 0, phase);
}

static const ucp__http_sink sink = {on_headers, NULL, on_progress, on_done};

/* SUBSCRIBE new (CALLBACK, NT, TIMEOUT) or renewal (SID, TIMEOUT), or
 * UNSUBSCRIBE (SID). UDA 2.0 §4.1. */
static int send_request(sub_op *op, const char *method) {
  static const char nt[] = "NT: upnp:event";
  int n = 0;
  if (op->phase == P_SUBSCRIBING) {
    op->headers[n++] = op->line_callback;
    op->headers[n++] = nt;
  } else {
    snprintf(op->line_sid, sizeof op->line_sid, "SID: %s", op->sid);
    op->headers[n++] = op->line_sid;
  }
  if (strcmp(method, "SUBSCRIBE") == 0) op->headers[n++] = op->line_timeout;
  op->headers[n] = NULL;
  op->resp_sid[0] = op->resp_timeout[0] = '\0';
  ucp__http_spec spec = {
      .method = method,
      .url = op->url,
      .headers = op->headers,
      .timeout_ms = 30000,
      .max_body = 64 * 1024,
      .max_headers = ucp__cp_limit(op->base.cp, UCP_LIMIT_HEADER_BYTES),
      .pin_ip = op->pin[0] ? op->pin : NULL};
  return ucp__http_start(op->base.cp, &spec, &sink, op, &op->req);
}

/* ------------------------------------------------------------ NOTIFY */

/* SEQ order (UDA 2.0 §4.3.2): 0, then last+1, wrapping 0xFFFFFFFF -> 1. */
static uint32_t next_seq(uint32_t last) {
  return last == UINT32_MAX ? 1 : last + 1;
}

/* Was `seq` already seen? Serial-number arithmetic over the wrap. */
static int stale_seq(uint32_t seq, uint32_t last) {
  return seq == 0 || (int32_t)(seq - last) <= 0;
}

static void take_notify(sub_op *op, ucp__notify *n) {
  if (!op->have_seq) {
    op->have_seq = 1;
    op->last_seq = n->seq;
    if (n->seq == 0) {
      op->got_initial = 1;
      op->check_at = 0;
      if (op->reported_unreachable)
        post_state(op, UCP_SUB_ACTIVE, "the initial event came after all");
      post_notify(op, n);
      schedule(op);
      return;
    }
  } else if (stale_seq(n->seq, op->last_seq)) {
    ucp__cp_counter_add(op->base.cp, UCP_COUNTER_NOTIFY_DROPPED, 1);
    return;
  } else if (n->seq == next_seq(op->last_seq)) {
    op->last_seq = n->seq;
    post_notify(op, n);
    return;
  }
  /* A gap: deliver what came, say what was missed, then resync. */
  uint32_t expected = op->got_initial ? next_seq(op->last_seq) : 0;
  op->last_seq = n->seq;
  post_notify(op, n);
  post_state(op, UCP_SUB_MISSED_EVENTS,
             "SEQ %u came when %u was expected: events were missed; "
             "resubscribing to resync",
             n->seq, expected);
  resubscribe(op, "missed events");
}

static void on_notify(void *sub, ucp__notify *n) {
  sub_op *op = sub;
  if (op->phase == P_UNSUBSCRIBING) goto drop;
  if (!op->sid[0]) { /* before the SUBSCRIBE answer: hold it, bounded */
    if (op->nheld == HOLD_MAX) goto drop;
    ucp__notify *h = ucp__malloc(sizeof *h);
    if (!h) goto drop;
    *h = *n;
    n->props = NULL;
    op->held[op->nheld++] = h;
    return;
  }
  if (strcmp(n->sid, op->sid) != 0) goto drop;
  take_notify(op, n);
  ucp__propset_free(n->props);
  n->props = NULL;
  return;
drop:
  ucp__cp_counter_add(op->base.cp, UCP_COUNTER_NOTIFY_DROPPED, 1);
  ucp__propset_free(n->props);
  n->props = NULL;
}

static const ucp__evt_sink evt_sink = {on_notify};

/* ------------------------------------------------------------ timers */

/* The port of "http://ip:port/path", for a message. */
static unsigned url_port(const char *url) {
  const char *host = strstr(url, "://");
  const char *colon = host ? strchr(host + 3, ':') : NULL;
  return colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 80;
}

static void unreachable(sub_op *op) {
  op->check_at = 0;
  op->reported_unreachable = 1;
  post_state(op, UCP_SUB_UNREACHABLE,
             "no initial event within %llu ms of the SUBSCRIBE: the device "
             "did not reach %s. Likely causes: the device cannot route to "
             "%s (another interface or subnet), NAT or a container network "
             "between them, or a firewall on this host blocking TCP port "
             "%u; or the device does not send events at all",
             (unsigned long long)op->so.check_ms, op->callback_url,
             op->callback_url, url_port(op->callback_url));
}

static void renew(sub_op *op) {
  op->renew_at = 0;
  if (op->phase == P_SUBSCRIBING && !op->req) { /* retry a resubscribe */
    int rc = send_request(op, "SUBSCRIBE");
    if (rc != UCP_OK) lose(op, rc, 0, "a new SUBSCRIBE could not start");
    return;
  }
  if (op->phase != P_ACTIVE) return;
  op->phase = P_RENEWING;
  post_state(op, UCP_SUB_RENEWING, "renewing %s (granted %u s)", op->sid,
             op->granted_s);
  int rc = send_request(op, "SUBSCRIBE");
  if (rc != UCP_OK) {
    op->phase = P_ACTIVE;
    op->renew_at = ucp__now_ms() + RETRY_MS;
  }
}

static void act(sub_op *op, uint64_t now) {
  if (op->expires_at && now >= op->expires_at && op->phase != P_SUBSCRIBING) {
    op->expires_at = 0;
    resubscribe(op, "the grant ran out before a renewal succeeded");
    return;
  }
  if (op->check_at && now >= op->check_at) unreachable(op);
  if (op->renew_at && now >= op->renew_at) renew(op);
  schedule(op);
}

static void on_timer(uv_timer_t *t) {
  subs *l = t->data;
  uint64_t now = ucp__now_ms();
  ucp__heap_node *min;
  while ((min = ucp__heap_min(&l->heap)) && min->key <= now) {
    ucp__heap_remove(&l->heap, min);
    act((sub_op *)((char *)min - offsetof(sub_op, timer)), now);
  }
  rearm(l);
}

/* ------------------------------------------------------------ the op */

static void list_add(subs *l, sub_op *op) {
  l->count++;
  op->next = l->head;
  if (l->head) l->head->prev = op;
  l->head = op;
}

static void list_del(subs *l, sub_op *op) {
  if (!op->prev && l->head != op) return; /* never added */
  l->count--;
  if (op->prev) op->prev->next = op->next;
  else if (l->head == op) l->head = op->next;
  if (op->next) op->next->prev = op->prev;
  op->prev = op->next = NULL;
}

static int sub_start(ucp__op *base) {
  sub_op *op = (sub_op *)base;
  subs *l = subs_get(base->cp);
  const char *why = "out of memory";
  if (l && l->count >= ucp__cp_limit(base->cp, UCP_LIMIT_SUBSCRIPTIONS))
    return ucp__op_fail(base, UCP_E_LIMIT, 0, "subscription %s: "
                        "UCP_LIMIT_SUBSCRIPTIONS (%zu) reached", op->url,
                        l->count);
  int rc = l ? ucp__evt_register(base->cp, op->device_ip, op->so.port,
                                 &evt_sink, op, op->callback_url,
                                 sizeof op->callback_url, op->path, &why)
             : UCP_E_NOMEM;
  if (rc == UCP_OK &&
      !(op->reserved = ucp__evt_reserve(base->cp, op->url,
                                        op->pin[0] ? op->pin : NULL))) {
    ucp__evt_unregister(base->cp, op->path);
    op->path[0] = '\0';
    rc = UCP_E_NOMEM;
    why = "out of memory";
  }
  if (rc == UCP_OK) {
    list_add(l, op);
    snprintf(op->line_callback, sizeof op->line_callback, "CALLBACK: <%s>",
             op->callback_url);
    op->phase = P_SUBSCRIBING;
    rc = send_request(op, "SUBSCRIBE");
    why = ucp_strerror(rc);
  }
  if (rc != UCP_OK)
    return ucp__op_fail(base, rc, 0, "subscription %s: %s", op->url, why);
  return UCP_OK;
}

static void sub_release(ucp__op *base) {
  sub_op *op = (sub_op *)base;
  subs *l = ucp__cp_ext(base->cp, UCP__EXT_SUBS);
  if (l) {
    ucp__heap_remove(&l->heap, &op->timer);
    list_del(l, op);
  }
  if (op->path[0]) ucp__evt_unregister(base->cp, op->path);
  const char *pin = op->pin[0] ? op->pin : NULL;
  if (op->req && op->phase == P_SUBSCRIBING) { /* the device may accept it */
    ucp__evt_adopt_subscribe(base->cp, op->req, op->url, pin, op->reserved);
    op->reserved = NULL;
  } else {
    ucp__http_abort(op->req);
  }
  op->req = NULL;
  /* Accepted and not ended by UNSUBSCRIBE: leave nothing on the device. */
  if (op->sid[0] && op->phase != P_UNSUBSCRIBING) {
    ucp__evt_unsubscribe_later(base->cp, op->url, pin, op->sid, op->reserved);
    op->reserved = NULL;
  }
  ucp__evt_reserve_free(op->reserved);
  op->reserved = NULL;
  for (int i = 0; i < op->nheld; i++) {
    ucp__propset_free(op->held[i]->props);
    ucp__free(op->held[i]);
  }
  op->nheld = 0;
}

static void sub_destroy(ucp__op *base) {
  sub_op *op = (sub_op *)base;
  ucp__scpd_unref(op->scpd);
  ucp__free(op);
}

static const ucp__op_vtable sub_vt = {UCP_OP_SUBSCRIBE, "subscription",
                                      sub_start, sub_release, sub_destroy};

/* ------------------------------------------------------------ public */

ucp_sub_opts *ucp_sub_opts_new(void) {
  ucp_sub_opts *o = ucp__calloc(1, sizeof *o);
  if (o) o->timeout_s = 1800, o->check_ms = 5000;
  return o;
}
void ucp_sub_opts_free(ucp_sub_opts *o) { ucp__free(o); }
int ucp_sub_opts_set_timeout(ucp_sub_opts *o, uint32_t seconds) {
  if (!o || seconds == 0) return UCP_E_INVALIDARG;
  o->timeout_s = seconds;
  return UCP_OK;
}
int ucp_sub_opts_set_check_ms(ucp_sub_opts *o, uint64_t ms) {
  if (!o || ms == 0) return UCP_E_INVALIDARG;
  o->check_ms = ms;
  return UCP_OK;
}
int ucp_sub_opts_set_port(ucp_sub_opts *o, unsigned port) {
  if (!o || port > 65535) return UCP_E_INVALIDARG;
  o->port = port;
  return UCP_OK;
}

static sub_op *op_new(const char *url, const char *udn,
                      const ucp_sub_opts *so) {
  size_t nu = strlen(url) + 1, nd = udn ? strlen(udn) + 1 : 0;
  sub_op *op = ucp__calloc(1, sizeof *op + nu + nd);
  if (!op) return NULL;
  memcpy(op->url, url, nu);
  if (udn) op->udn = memcpy(op->url + nu, udn, nd);
  op->so.timeout_s = so ? so->timeout_s : 1800;
  op->so.check_ms = so ? so->check_ms : 5000;
  op->so.port = so ? so->port : 0;
  op->timer.idx = SIZE_MAX;
  snprintf(op->line_timeout, sizeof op->line_timeout, "TIMEOUT: Second-%u",
           op->so.timeout_s);
  return op;
}

int ucp_subscribe_url(ucp_cp *cp, const char *event_url, const char *udn,
                      const ucp_scpd *scpd, const ucp_sub_opts *so,
                      const ucp_call_opts *opts, ucp_event_cb events,
                      ucp_done_cb done, void *user, uint64_t *id) {
  if (!cp || !event_url || !done || !id) {
    ucp__detail_set("ucp_subscribe: NULL argument");
    return UCP_E_INVALIDARG;
  }
  char host[UCP__HOST_MAX];
  const char *why;
  struct in_addr a4;
  if (strlen(event_url) > UCP__URL_MAX ||
      ucp__url_check_http(event_url, host, sizeof host, &why) != UCP_OK) {
    ucp__detail_set("event URL %.200s: %s", event_url,
                    strlen(event_url) > UCP__URL_MAX ? "over 2 KiB" : why);
    return UCP_E_URL;
  }
  if (inet_pton(AF_INET, host, &a4) != 1) {
    ucp__detail_set("event URL %.200s: the host must be an IPv4 address "
                    "(the callback address is chosen from it)", event_url);
    return UCP_E_URL;
  }
  sub_op *op = op_new(event_url, udn, so);
  if (!op) {
    ucp__detail_set("ucp_subscribe: out of memory");
    return UCP_E_NOMEM;
  }
  strcpy(op->device_ip, host); /* an IPv4 literal: at most 15 bytes */
  strcpy(op->pin, host);
  op->events = events;
  op->scpd = ucp__scpd_ref(scpd);
  int rc = ucp__op_submit(cp, &op->base, &sub_vt, opts, done, user, id);
  if (rc != UCP_OK) sub_destroy(&op->base);
  return rc;
}

int ucp_subscribe(ucp_cp *cp, const ucp_service *svc, const ucp_scpd *scpd,
                  const ucp_sub_opts *so, const ucp_call_opts *opts,
                  ucp_event_cb events, ucp_done_cb done, void *user,
                  uint64_t *id) {
  if (!svc) {
    ucp__detail_set("ucp_subscribe: NULL service");
    return UCP_E_INVALIDARG;
  }
  const char *url = svc->f[UCP_SERVICE_EVENT_SUB_URL];
  if (!url) {
    const char *why = svc->url_err[UCP_SERVICE_EVENT_SUB_URL];
    ucp__detail_set("service %.128s: no usable eventSubURL: %s",
                    svc->f[UCP_SERVICE_ID] ? svc->f[UCP_SERVICE_ID] : "?",
                    why ? why : "absent");
    return UCP_E_URL;
  }
  return ucp_subscribe_url(cp, url, svc->dev->f[UCP_DEVICE_UDN], scpd, so,
                           opts, events, done, user, id);
}

/* ucp_unsubscribe: a task, so that the loop sends it. */
typedef struct unsub_task {
  ucp__task t;
  uint64_t id;
} unsub_task;

static void unsub_run(ucp_cp *cp, ucp__task *t, int live) {
  unsub_task *u = (unsub_task *)t;
  ucp__op *base = live ? ucp__op_find(cp, u->id) : NULL;
  ucp__free(u);
  if (!base || base->vt != &sub_vt) return;
  sub_op *op = (sub_op *)base;
  if (op->phase == P_SUBSCRIBING && op->req) {
    op->unsubscribe_wanted = 1; /* after the answer: UNSUBSCRIBE its SID */
    return;
  }
  ucp__http_abort(op->req);
  op->req = NULL;
  if (!op->sid[0]) { /* nothing accepted: nothing to undo */
    ucp__op_finish(base, UCP_OK, 0, NULL);
    return;
  }
  start_unsubscribe(op);
}

static void start_unsubscribe(sub_op *op) {
  ucp__op *base = &op->base;
  op->phase = P_UNSUBSCRIBING;
  op->renew_at = op->check_at = op->expires_at = 0;
  schedule(op);
  int rc = send_request(op, "UNSUBSCRIBE");
  if (rc != UCP_OK)
    ucp__op_fail(base, rc, 0, "UNSUBSCRIBE %s: %s", op->url, ucp_strerror(rc));
}

int ucp_unsubscribe(ucp_cp *cp, uint64_t id) {
  if (!cp || !id || ucp__op_kind_of(cp, id) != UCP_OP_SUBSCRIBE)
    return UCP_E_INVALIDARG;
  unsub_task *u = ucp__calloc(1, sizeof *u);
  if (!u) return UCP_E_NOMEM;
  u->id = id;
  u->t.run = unsub_run;
  int rc = ucp__cp_post_task(cp, &u->t);
  if (rc != UCP_OK) ucp__free(u);
  return rc;
}

/* A search saw the device reboot (BOOTID change, or byebye then alive):
 * its subscriptions are gone on the device; make them again. */
void ucp__gena_device_rebooted(ucp_cp *cp, const char *udn) {
  subs *l = ucp__cp_ext(cp, UCP__EXT_SUBS);
  for (sub_op *op = l ? l->head : NULL; op;) {
    sub_op *next = op->next;
    /* One reboot is often seen twice (BOOTID, then alive after byebye):
     * a SUBSCRIBE already on its way is the answer to both. */
    if (op->udn && strcmp(op->udn, udn) == 0 &&
        op->phase != P_UNSUBSCRIBING && op->phase != P_SUBSCRIBING)
      resubscribe(op, "the device rebooted");
    op = next;
  }
}
