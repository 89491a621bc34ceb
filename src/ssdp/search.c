/* search.c - ucp_search: M-SEARCH, responses, and a description load for
 * every device that answers (IUPnPDeviceFinder::StartAsyncFind). UDA 2.0
 * §1.3. This operation joins SSDP (below) and description loading
 * (src/device/), so it lives above both. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "../core/mem.h"
#include "../control/control.h"
#include "../core/op.h"
#include "../device/device.h"
#include "../gena/subscribe.h"
#include "ssdp.h"

enum { MAX_IFACES = 16, MAX_UNICAST = 16, TICK_MS = 50, SENDS = 3 };
static const uint64_t send_at_ms[SENDS] = {0, 150, 400}; /* paced repeats */

struct ucp_search_opts {
  int mx;
  int multicast, ipv4, ipv6;
  unsigned port;
  uint64_t duration_ms;
  int nifaces, nunicast;
  char ifaces[MAX_IFACES][IF_NAMESIZE];
  char unicast[MAX_UNICAST][64];
  struct sockaddr_storage unicast_to[MAX_UNICAST]; /* parsed when added */
};

struct ucp_found {
  char *udn, *location, *address, *server, *st;
  int64_t bootid, configid;
  uint32_t max_age;
  uint64_t expires_ms;   /* last seen + max-age */
  ucp_description *desc; /* the last description that loaded */
  int status;
  char *detail;
  ucp__desc_fetch *fetch;
  struct search_op *op;
  uint8_t loaded;        /* its first load settled (ADDED or FAILED) */
  uint8_t gone;          /* REMOVED: byebye or expiry */
  uint8_t reload_again;  /* a change arrived while a load was in flight */
  uint8_t back;          /* seen again after REMOVED: report ADDED */
  struct ucp_found *waits_on; /* shares that record's load (same LOCATION) */
  uint32_t fails;        /* description loads failed in a row */
  uint64_t retry_ms;     /* no retry of a failed load before this */
};

typedef struct net net;
typedef struct search_op {
  ucp__op base;
  ucp_search_opts so;
  ucp_search_cb events;
  net *net;
  ucp_found **found;
  size_t nfound, cap, settled, added;
  uint32_t *index; /* open addressing over `found`, by UDN: slot = i + 1 */
  size_t index_cap;
  uint64_t started_ms;
  int sends, complete_sent;
  char st[];
} search_op;

/* The sockets and the timer: freed by their close callbacks, after the op
 * may already be gone (op == NULL once detached). */
struct net {
  ucp_cp *cp;
  search_op *op;
  uv_udp_t udp4, udp6, listen4;
  uv_timer_t tick;
  int has6, has_listen, open;
  char buf[64 * 1024]; /* SECURITY.md: 64 KiB receive buffer */
};

/* ------------------------------------------------------------- options */

ucp_search_opts *ucp_search_opts_new(void) {
  ucp_search_opts *o = ucp__calloc(1, sizeof *o);
  if (!o) return NULL;
  o->mx = 2;
  o->multicast = 1;
  o->ipv4 = 1;
  o->port = 1900;
  return o;
}

void ucp_search_opts_free(ucp_search_opts *o) { ucp__free(o); }

int ucp_search_opts_set_mx(ucp_search_opts *o, int mx) {
  if (!o || mx < 1 || mx > 5) return UCP_E_INVALIDARG;
  o->mx = mx;
  return UCP_OK;
}

int ucp_search_opts_add_interface(ucp_search_opts *o, const char *ifname) {
  if (!o || !ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE ||
      o->nifaces >= MAX_IFACES) {
    ucp__detail_set("interface: NULL, empty, over %d bytes, or more than %d",
                    IF_NAMESIZE - 1, MAX_IFACES);
    return UCP_E_INVALIDARG;
  }
  if (if_nametoindex(ifname) == 0) {
    ucp__detail_set("no network interface named '%.*s'", IF_NAMESIZE, ifname);
    return UCP_E_INVALIDARG;
  }
  strcpy(o->ifaces[o->nifaces++], ifname);
  return UCP_OK;
}

/* "a.b.c.d[:port]" or "[v6][:port]", port 1..65535 (default 1900), into
 * `to`. 0, or -1 when it is anything else. */
static int parse_host_port(const char *hp, struct sockaddr_storage *to) {
  char host[INET6_ADDRSTRLEN];
  const char *end;
  int v6 = hp[0] == '[';
  if (v6) {
    end = strchr(hp, ']');
    if (!end) return -1;
    hp++;
  } else {
    end = hp + strcspn(hp, ":");
  }
  size_t n = (size_t)(end - hp);
  if (!n || n >= sizeof host) return -1;
  memcpy(host, hp, n);
  host[n] = '\0';
  const char *p = end + v6;
  unsigned long port = 1900;
  if (*p == ':') {
    char *e;
    if (p[1] < '0' || p[1] > '9') return -1;
    port = strtoul(p + 1, &e, 10);
    if (*e || port == 0 || port > 65535) return -1;
  } else if (*p) {
    return -1;
  }
  memset(to, 0, sizeof *to);
  if (v6)
    return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)to) ? -1 : 0;
  return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)to) ? -1 : 0;
}

int ucp_search_opts_add_unicast(ucp_search_opts *o, const char *host_port) {
  if (!o || !host_port || o->nunicast >= MAX_UNICAST) {
    ucp__detail_set("unicast target: NULL, or more than %d", MAX_UNICAST);
    return UCP_E_INVALIDARG;
  }
  if (strlen(host_port) >= sizeof o->unicast[0] ||
      parse_host_port(host_port, &o->unicast_to[o->nunicast]) != 0) {
    ucp__detail_set("unicast target '%.64s': not a.b.c.d[:port] or "
                    "[v6][:port] with a port 1-65535", host_port);
    return UCP_E_INVALIDARG;
  }
  strcpy(o->unicast[o->nunicast++], host_port);
  return UCP_OK;
}

int ucp_search_opts_set_multicast(ucp_search_opts *o, int on) {
  if (!o) return UCP_E_INVALIDARG;
  o->multicast = !!on;
  return UCP_OK;
}

int ucp_search_opts_set_ipv4(ucp_search_opts *o, int on) {
  if (!o) return UCP_E_INVALIDARG;
  o->ipv4 = !!on;
  return UCP_OK;
}

int ucp_search_opts_set_ipv6(ucp_search_opts *o, int on) {
  if (!o) return UCP_E_INVALIDARG;
  o->ipv6 = !!on;
  return UCP_OK;
}

int ucp_search_opts_set_port(ucp_search_opts *o, unsigned port) {
  if (!o || port == 0 || port > 65535) return UCP_E_INVALIDARG;
  o->port = port;
  return UCP_OK;
}

int ucp_search_opts_set_duration(ucp_search_opts *o, uint64_t ms) {
  if (!o) return UCP_E_INVALIDARG;
  o->duration_ms = ms;
  return UCP_OK;
}

/* ------------------------------------------------------------- events */

typedef struct search_event {
  ucp__event base;
  ucp_search_event ev;
  ucp_found *f;
} search_event;

static void deliver(ucp__op *base, ucp__event *e) {
  search_op *op = (search_op *)base;
  search_event *se = (search_event *)e;
  if (op->events) op->events(base->id, se->ev, se->f, base->user);
}

static void free_event(ucp__event *e) { ucp__free(e); }

static void post(search_op *op, ucp_search_event ev, ucp_found *f) {
  search_event *se = ucp__calloc(1, sizeof *se);
  if (!se) return; /* out of memory: the event is lost, the search goes on */
  se->base.deliver = deliver;
  se->base.free = free_event;
  se->ev = ev;
  se->f = f;
  ucp__op_post(&op->base, &se->base);
}

static void update_progress(search_op *op) {
  ucp__op_progress(&op->base, op->settled, op->nfound, UCP_PHASE_RECEIVING);
}

/* UDA 2.0 §1.3.3: answers come within MX seconds of the last M-SEARCH. */
static void check_complete(search_op *op) {
  uint64_t window_end = op->started_ms + send_at_ms[SENDS - 1] +
                        (uint64_t)op->so.mx * 1000u + 200u;
  if (op->complete_sent || op->sends < SENDS || ucp__now_ms() < window_end ||
      op->settled < op->nfound)
    return;
  op->complete_sent = 1;
  post(op, UCP_SEARCH_COMPLETE, NULL);
}

/* ------------------------------------------------------ device records */

static void found_free(ucp_found *f) {
  ucp__desc_fetch_abort(f->fetch);
  ucp_description_unref(f->desc);
  ucp__free(f->udn);
  ucp__free(f->location);
  ucp__free(f->address);
  ucp__free(f->server);
  ucp__free(f->st);
  ucp__free(f->detail);
  ucp__free(f);
}

static uint32_t udn_hash(const char *p, size_t n) {
  uint32_t h = 2166136261u; /* FNV-1a over the lower-cased UDN */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    h = (h ^ (uint32_t)(c >= 'A' && c <= 'Z' ? c + 32 : c)) * 16777619u;
  }
  return h;
}

static int udn_eq(const ucp_found *f, ucp__slice udn) {
  return strlen(f->udn) == udn.n && strncasecmp(f->udn, udn.p, udn.n) == 0;
}

static ucp_found *find_udn(search_op *op, ucp__slice udn) {
  if (!op->index_cap) return NULL;
  size_t mask = op->index_cap - 1;
  for (size_t i = udn_hash(udn.p, udn.n) & mask; op->index[i]; i = (i + 1) & mask) {
    ucp_found *f = op->found[op->index[i] - 1];
    if (udn_eq(f, udn)) return f;
  }
  return NULL;
}

static void index_put(uint32_t *index, size_t cap, ucp_found *f, uint32_t slot) {
  size_t mask = cap - 1;
  size_t i = udn_hash(f->udn, strlen(f->udn)) & mask;
  while (index[i]) i = (i + 1) & mask;
  index[i] = slot;
}

/* Keep the index at most half full; entries are never removed (a device
 * that leaves keeps its record, bounded by UCP_LIMIT_SEARCH_DEVICES). */
static int index_add(search_op *op, ucp_found *f) {
  if ((op->nfound + 1) * 2 > op->index_cap) {
    size_t cap = op->index_cap ? op->index_cap * 2 : 64;
    uint32_t *n = ucp__calloc(cap, sizeof *n);
    if (!n) return -1;
    for (size_t i = 0; i < op->nfound; i++)
      index_put(n, cap, op->found[i], (uint32_t)i + 1);
    ucp__free(op->index);
    op->index = n;
    op->index_cap = cap;
  }
  index_put(op->index, op->index_cap, f, (uint32_t)op->nfound + 1);
  return 0;
}

static void start_load(search_op *op, ucp_found *f);
static void settle(ucp_found *f, int status, ucp_description *d,
                   const char *detail);

/* Records waiting on `f`'s load (embedded devices, or several UDNs behind
 * one LOCATION) get the same result: one GET per description. */
static void settle_waiters(ucp_found *f, int status, ucp_description *d,
                           const char *detail) {
  search_op *op = f->op;
  for (size_t i = 0; i < op->nfound; i++) {
    ucp_found *w = op->found[i];
    if (w->waits_on != f) continue;
    w->waits_on = NULL;
    settle(w, status, d ? (ucp_description *)ucp_description_ref(d) : NULL,
           detail);
  }
}

static void on_fetched(void *ctx, int status, int http_status,
                       ucp_description *d, const char *detail) {
  ucp_found *f = ctx;
  (void)http_status;
  f->fetch = NULL;
  settle_waiters(f, status, d, detail);
  settle(f, status, d, detail);
}

/* SECURITY.md: a device whose description fails is retried when it speaks
 * again, after 1 s, 2 s, 4 s ... at most 5 minutes. */
static void note_failure(ucp_found *f, int status) {
  if (status == UCP_OK) {
    f->fails = 0;
    return;
  }
  uint64_t delay = 1000u << (f->fails < 9 ? f->fails : 9);
  if (delay > 300000u) delay = 300000u;
  f->fails++;
  f->retry_ms = ucp__now_ms() + delay;
}

static void settle(ucp_found *f, int status, ucp_description *d,
                   const char *detail) {
  search_op *op = f->op;
  note_failure(f, status);
  f->status = status;
  ucp__free(f->detail);
  f->detail = detail && *detail ? ucp__strdup(detail) : NULL;
  int first = !f->loaded, had = f->desc != NULL;
  if (d) {
    ucp_description_unref(f->desc);
    f->desc = d;
  }
  if (first) {
    f->loaded = 1;
    op->settled++;
    if (status == UCP_OK) op->added++;
    update_progress(op);
  }
  post(op, status != UCP_OK           ? UCP_SEARCH_DEVICE_FAILED
           : first || !had || f->back ? UCP_SEARCH_DEVICE_ADDED
                                      : UCP_SEARCH_DEVICE_UPDATED, f);
  if (status == UCP_OK) f->back = 0;
  if (first) check_complete(op);
  if (f->reload_again && !f->gone) {
    f->reload_again = 0;
    start_load(op, f);
  }
}

static ucp_found *loading_same_location(search_op *op, const ucp_found *f) {
  for (size_t i = 0; i < op->nfound; i++) {
    ucp_found *o = op->found[i];
    if (o != f && o->fetch && strcmp(o->location, f->location) == 0) return o;
  }
  return NULL;
}

/* One load in flight per device and per LOCATION: a change meanwhile
 * reloads after it; another device behind the same LOCATION waits. */
static void start_load(search_op *op, ucp_found *f) {
  if (f->fetch || f->waits_on) {
    f->reload_again = 1;
    return;
  }
  ucp_found *other = loading_same_location(op, f);
  if (other) {
    f->waits_on = other;
    return;
  }
  int rc = ucp__desc_fetch_start(op->base.cp, f->location, f->address,
                                 on_fetched, NULL, f, &f->fetch);
  if (rc != UCP_OK) {
    char detail[128];
    snprintf(detail, sizeof detail, "cannot start the description load: %s",
             ucp_strerror(rc));
    on_fetched(f, rc, 0, NULL, detail);
  }
}

static char *slice_dup(ucp__slice s) {
  return ucp__strndup(s.p ? s.p : "", s.p ? s.n : 0);
}

static ucp_found *found_new(search_op *op, const ucp__ssdp_msg *m,
                            const char *ip) {
  if (op->nfound == op->cap) {
    size_t cap = op->cap ? op->cap * 2 : 16;
    ucp_found **n = ucp__realloc(op->found, cap * sizeof *n);
    if (!n) return NULL;
    op->found = n;
    op->cap = cap;
  }
  ucp_found *f = ucp__calloc(1, sizeof *f);
  if (!f) return NULL;
  f->op = op;
  f->udn = slice_dup(m->udn);
  f->location = slice_dup(m->location);
  f->address = ucp__strdup(ip);
  f->server = slice_dup(m->server);
  f->st = slice_dup(m->st);
  if (!f->udn || !f->location || !f->address || !f->server || !f->st) {
    found_free(f);
    return NULL;
  }
  f->bootid = m->bootid;
  f->configid = m->configid;
  f->max_age = m->max_age;
  f->expires_ms = ucp__now_ms() + (uint64_t)m->max_age * 1000u;
  if (index_add(op, f) != 0) {
    found_free(f);
    return NULL;
  }
  op->found[op->nfound++] = f;
  return f;
}

/* A new device: record it and load its description, connecting only to
 * the address the answer came from. */
static size_t records_from(const search_op *op, const char *ip) {
  size_t n = 0;
  for (size_t i = 0; i < op->nfound; i++)
    n += strcmp(op->found[i]->address, ip) == 0;
  return n;
}

/* SECURITY.md: bounded records in all, and per sending address, so one
 * host cannot fill the search with invented UDNs. */
static void new_device(search_op *op, const ucp__ssdp_msg *m, const char *ip) {
  ucp_cp *cp = op->base.cp;
  if (op->nfound >= ucp__cp_limit(cp, UCP_LIMIT_SEARCH_DEVICES) ||
      records_from(op, ip) >= ucp__cp_limit(cp, UCP_LIMIT_SEARCH_PER_HOST)) {
    ucp__cp_counter_add(cp, UCP_COUNTER_SSDP_DROPPED, 1);
    return;
  }
  ucp_found *f = found_new(op, m, ip);
  if (!f) return;
  update_progress(op);
  start_load(op, f);
}

static int set_str(char **dst, ucp__slice v) {
  char *n = slice_dup(v);
  if (!n) return -1;
  ucp__free(*dst);
  *dst = n;
  return 0;
}

/* A known device spoke again (answer, alive or update): refresh its
 * max-age, and reload its description when LOCATION, BOOTID or CONFIGID
 * changed (UDA 2.0 §1.2.2, §1.2.4) or when it had left. */
static void refresh(search_op *op, ucp_found *f, const ucp__ssdp_msg *m,
                    const char *ip) {
  int changed = f->gone;
  if (m->location.p && (strlen(f->location) != m->location.n ||
                        memcmp(f->location, m->location.p, m->location.n))) {
    if (set_str(&f->location, m->location) != 0) return;
    changed = 1;
  }
  if (strcmp(f->address, ip) != 0) {
    ucp__free(f->address);
    f->address = ucp__strdup(ip);
    if (!f->address) return;
    changed = 1;
  }
  /* A value first learnt is no change (an answer may lack what a NOTIFY
   * carries); only a known value that differs is. */
  int64_t boot = m->nts == UCP__NTS_UPDATE ? m->nextbootid : m->bootid;
  int rebooted = 0; /* or reconfigured: its SCPDs may have changed */
  if (boot >= 0 && boot != f->bootid) {
    rebooted |= f->bootid >= 0;
    f->bootid = boot;
  }
  if (m->configid >= 0 && m->configid != f->configid) {
    rebooted |= f->configid >= 0;
    f->configid = m->configid;
  }
  if (rebooted) ucp__scpd_cache_forget(op->base.cp, f->udn);
  if (rebooted || f->gone) ucp__gena_device_rebooted(op->base.cp, f->udn);
  changed |= rebooted;
  if (m->max_age) f->max_age = m->max_age;
  uint64_t now = ucp__now_ms();
  f->expires_ms = now + (uint64_t)f->max_age * 1000u;
  if (f->gone) f->back = 1;
  f->gone = 0;
  if (f->fails && !f->fetch && now >= f->retry_ms) changed = 1; /* back-off */
  /* A change during the first load reloads after it (start_load marks
   * reload_again while a load is in flight). */
  if (changed) start_load(op, f);
}

static void removed(search_op *op, ucp_found *f) {
  if (f->gone) return;
  f->gone = 1;
  if (f->fetch) { /* its waiters load for themselves */
    ucp__desc_fetch_abort(f->fetch);
    f->fetch = NULL;
    for (size_t i = 0; i < op->nfound; i++)
      if (op->found[i]->waits_on == f) {
        op->found[i]->waits_on = NULL;
        start_load(op, op->found[i]);
      }
  }
  f->waits_on = NULL;
  if (!f->loaded) { /* it left before its first load settled */
    f->loaded = 1;
    op->settled++;
    update_progress(op);
  }
  post(op, UCP_SEARCH_DEVICE_REMOVED, f);
}

/* max-age ran out (UDA 2.0 §1.2.2): the device is gone. */
static void expire(search_op *op) {
  uint64_t now = ucp__now_ms();
  for (size_t i = 0; i < op->nfound; i++)
    if (!op->found[i]->gone && op->found[i]->expires_ms <= now)
      removed(op, op->found[i]);
}

/* ----------------------------------------------------------- receiving */

static void drop(search_op *op) {
  ucp__cp_counter_add(op->base.cp, UCP_COUNTER_SSDP_DROPPED, 1);
}

static void sockaddr_ip(const struct sockaddr *sa, char *ip, size_t n) {
  ip[0] = '\0';
  if (sa->sa_family == AF_INET)
    uv_ip4_name((const struct sockaddr_in *)sa, ip, n);
  else if (sa->sa_family == AF_INET6)
    uv_ip6_name((const struct sockaddr_in6 *)sa, ip, n);
}

static void handle_datagram(search_op *op, const char *buf, size_t len,
                            const struct sockaddr *from) {
  ucp__ssdp_msg m;
  ucp__cp_counter_add(op->base.cp, UCP_COUNTER_SSDP_RECEIVED, 1);
  if (ucp__ssdp_parse(buf, len, &m) != UCP__SSDP_OK) {
    drop(op);
    return;
  }
  if (m.kind == UCP__SSDP_MSEARCH) return; /* never answered, not an error */
  char ip[INET6_ADDRSTRLEN];
  const char *why;
  sockaddr_ip(from, ip, sizeof ip);
  ucp__slice st = {op->st, strlen(op->st)};
  ucp__slice nt = m.kind == UCP__SSDP_NOTIFY ? m.nt : m.st;
  int bye = m.kind == UCP__SSDP_NOTIFY && m.nts == UCP__NTS_BYEBYE;
  if (!ucp__ssdp_st_matches(st, nt) || !m.udn.p ||
      (!bye && !ucp__ssdp_location_ok(m.location, ip, &why))) {
    drop(op);
    return;
  }
  ucp_found *f = find_udn(op, m.udn);
  if (bye) {
    if (f) removed(op, f);
  } else if (f) {
    refresh(op, f, &m, ip);
  } else {
    new_device(op, &m, ip);
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  net *n = h->data;
  (void)suggested;
  *b = uv_buf_init(n->buf, sizeof n->buf);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *b,
                    const struct sockaddr *from, unsigned flags) {
  net *n = h->data;
  if (!n->op || nread <= 0 || !from) return;
  if ((flags & UV_UDP_PARTIAL) || (size_t)nread > UCP__SSDP_MAX_DATAGRAM) {
    drop(n->op); /* truncated or over 8 KiB: never parsed */
    return;
  }
  handle_datagram(n->op, b->base, (size_t)nread, from);
}

/* ------------------------------------------------------------- sending */

/* `mx` < 0 leaves MX out: a unicast M-SEARCH has none (UDA 2.0 §1.3.2). */
static void send_to(search_op *op, uv_udp_t *udp, const struct sockaddr *to,
                    const char *host, int mx) {
  char msg[1024];
  size_t len = ucp__ssdp_build_msearch(msg, sizeof msg, host, op->st, mx,
                                       "Linux/6 UPnP/1.1 upnpcp/" UCP_VERSION_STRING);
  if (!len) return;
  uv_buf_t b = uv_buf_init(msg, (unsigned)len);
  uv_udp_try_send(udp, &b, 1, to);
}

static int iface_wanted(const ucp_search_opts *so, const struct ifaddrs *ifa) {
  if (!ifa->ifa_addr || !(ifa->ifa_flags & IFF_UP) ||
      !(ifa->ifa_flags & IFF_MULTICAST))
    return 0;
  if (so->nifaces == 0) return 1;
  for (int i = 0; i < so->nifaces; i++)
    if (strcmp(so->ifaces[i], ifa->ifa_name) == 0) return 1;
  return 0;
}

static void send_multicast(search_op *op) {
  net *n = op->net;
  struct ifaddrs *all = NULL;
  if (getifaddrs(&all) != 0) return;
  char host[64];
  for (struct ifaddrs *ifa = all; ifa; ifa = ifa->ifa_next) {
    if (!iface_wanted(&op->so, ifa)) continue;
    char ip[INET6_ADDRSTRLEN];
    if (ifa->ifa_addr->sa_family == AF_INET && op->so.ipv4) {
      struct sockaddr_in to;
      sockaddr_ip(ifa->ifa_addr, ip, sizeof ip);
      if (uv_udp_set_multicast_interface(&n->udp4, ip) != 0) continue;
      uv_ip4_addr("239.255.255.250", (int)op->so.port, &to);
      snprintf(host, sizeof host, "239.255.255.250:%u", op->so.port);
      send_to(op, &n->udp4, (const struct sockaddr *)&to, host, op->so.mx);
    } else if (ifa->ifa_addr->sa_family == AF_INET6 && n->has6) {
      struct sockaddr_in6 to;
      unsigned idx = if_nametoindex(ifa->ifa_name);
      char ifspec[IF_NAMESIZE + 4];
      snprintf(ifspec, sizeof ifspec, "::%%%s", ifa->ifa_name);
      if (!idx || uv_udp_set_multicast_interface(&n->udp6, ifspec) != 0) continue;
      /* Link-local FF02::C and site-local FF05::C (UDA 2.0 §1.1.1). */
      static const char *const groups[] = {"ff02::c", "ff05::c"};
      static const char *const hosts[] = {"[FF02::C]", "[FF05::C]"};
      for (int g = 0; g < 2; g++) {
        uv_ip6_addr(groups[g], (int)op->so.port, &to);
        to.sin6_scope_id = idx;
        snprintf(host, sizeof host, "%s:%u", hosts[g], op->so.port);
        send_to(op, &n->udp6, (const struct sockaddr *)&to, host, op->so.mx);
      }
    }
  }
  freeifaddrs(all);
}

static void send_unicast(search_op *op) {
  net *n = op->net;
  for (int i = 0; i < op->so.nunicast; i++) {
    const char *hp = op->so.unicast[i];
    const struct sockaddr *to = (const struct sockaddr *)&op->so.unicast_to[i];
    if (to->sa_family == AF_INET6) {
      if (n->has6) send_to(op, &n->udp6, to, hp, -1);
    } else {
      send_to(op, &n->udp4, to, hp, -1);
    }
  }
}

static void send_round(search_op *op) {
  if (op->so.multicast) send_multicast(op);
  send_unicast(op);
  op->sends++;
}

/* ------------------------------------------------------------ the tick */

static void finish_search(search_op *op) {
  op->base.result.payload = &op->added;
  ucp__op_finish(&op->base, UCP_OK, 0, NULL);
}

static void on_tick(uv_timer_t *t) {
  net *n = t->data;
  search_op *op = n->op;
  if (!op) return;
  uint64_t elapsed = ucp__now_ms() - op->started_ms;
  while (op->sends < SENDS && elapsed >= send_at_ms[op->sends]) send_round(op);
  expire(op);
  check_complete(op);
  if (op->so.duration_ms && elapsed >= op->so.duration_ms) finish_search(op);
}

/* --------------------------------------------------- sockets lifetime */

static void on_net_closed(uv_handle_t *h) {
  net *n = h->data;
  ucp__cp_handle_closed(n->cp);
  if (--n->open == 0) ucp__free(n);
}

static void net_close(net *n) {
  if (!n) return;
  n->op = NULL;
  uv_timer_stop(&n->tick);
  uv_close((uv_handle_t *)&n->tick, on_net_closed);
  uv_close((uv_handle_t *)&n->udp4, on_net_closed);
  if (n->has6) uv_close((uv_handle_t *)&n->udp6, on_net_closed);
  if (n->has_listen) uv_close((uv_handle_t *)&n->listen4, on_net_closed);
}

/* A thousand devices answer within MX: 2 MiB of socket buffer (as far as
 * net.core.rmem_max allows) keeps the kernel from dropping answers. */
static void grow_rcvbuf(uv_udp_t *u) {
  int size = 2 * 1024 * 1024;
  uv_recv_buffer_size((uv_handle_t *)u, &size);
}

static int open_udp(net *n, uv_udp_t *u, const struct sockaddr *bind_to) {
  if (uv_udp_init(ucp__cp_loop(n->cp), u) != 0) return -1;
  u->data = n;
  n->open++;
  ucp__cp_handle_opened(n->cp);
  if (uv_udp_bind(u, bind_to, 0) != 0) return -1;
  grow_rcvbuf(u);
  uv_udp_set_multicast_ttl(u, 2); /* UDA 2.0 §1.1: TTL default 2 */
  uv_udp_set_multicast_loop(u, 1);
  return uv_udp_recv_start(u, on_alloc, on_recv) == 0 ? 0 : -1;
}

/* Passive listening (UDA 2.0 §1.2): the SSDP port, shared with other
 * processes, joined to the group on each interface searched. A failure
 * only loses NOTIFYs; the search goes on with the answers to M-SEARCH. */
static void open_listener(search_op *op) {
  net *n = op->net;
  if (uv_udp_init(ucp__cp_loop(n->cp), &n->listen4) != 0) return;
  n->listen4.data = n;
  n->has_listen = 1;
  n->open++;
  ucp__cp_handle_opened(n->cp);
  struct sockaddr_in any;
  uv_ip4_addr("0.0.0.0", (int)op->so.port, &any);
  if (uv_udp_bind(&n->listen4, (const struct sockaddr *)&any,
                  UV_UDP_REUSEADDR) != 0)
    return;
  grow_rcvbuf(&n->listen4);
  struct ifaddrs *all = NULL;
  if (getifaddrs(&all) != 0) return;
  for (struct ifaddrs *ifa = all; ifa; ifa = ifa->ifa_next) {
    if (!iface_wanted(&op->so, ifa) || ifa->ifa_addr->sa_family != AF_INET)
      continue;
    char ip[INET6_ADDRSTRLEN];
    sockaddr_ip(ifa->ifa_addr, ip, sizeof ip);
    uv_udp_set_membership(&n->listen4, "239.255.255.250", ip, UV_JOIN_GROUP);
  }
  freeifaddrs(all);
  uv_udp_recv_start(&n->listen4, on_alloc, on_recv);
}

static int net_open(search_op *op) {
  net *n = ucp__calloc(1, sizeof *n);
  if (!n) return UCP_E_NOMEM;
  n->cp = op->base.cp;
  n->op = op;
  op->net = n;
  uv_timer_init(ucp__cp_loop(n->cp), &n->tick);
  n->tick.data = n;
  n->open++;
  ucp__cp_handle_opened(n->cp);
  struct sockaddr_in any4;
  uv_ip4_addr("0.0.0.0", 0, &any4);
  if (open_udp(n, &n->udp4, (const struct sockaddr *)&any4) != 0)
    return UCP_E_NETWORK;
  if (op->so.ipv6 || strchr(op->so.unicast[0], '[')) {
    struct sockaddr_in6 any6;
    uv_ip6_addr("::", 0, &any6);
    n->has6 = 1;
    if (open_udp(n, &n->udp6, (const struct sockaddr *)&any6) != 0)
      return UCP_E_NETWORK;
  }
  if (op->so.multicast && op->so.ipv4) open_listener(op);
  return uv_timer_start(&n->tick, on_tick, TICK_MS, TICK_MS) == 0
             ? UCP_OK
             : UCP_E_INTERNAL;
}

/* ---------------------------------------------------------- the op */

static int search_start(ucp__op *base) {
  search_op *op = (search_op *)base;
  op->started_ms = ucp__now_ms();
  int rc = net_open(op);
  if (rc != UCP_OK)
    return ucp__op_fail(base, rc, 0, "search %s: cannot open UDP sockets",
                        op->st);
  send_round(op); /* the first M-SEARCH goes at once */
  return UCP_OK;
}

static void search_release(ucp__op *base) {
  search_op *op = (search_op *)base;
  net_close(op->net);
  op->net = NULL;
  for (size_t i = 0; i < op->nfound; i++) {
    ucp__desc_fetch_abort(op->found[i]->fetch);
    op->found[i]->fetch = NULL;
  }
}

static void search_destroy(ucp__op *base) {
  search_op *op = (search_op *)base;
  for (size_t i = 0; i < op->nfound; i++) found_free(op->found[i]);
  ucp__free(op->found);
  ucp__free(op->index);
  ucp__free(op);
}

static const ucp__op_vtable search_vt = {UCP_OP_SEARCH, "search", search_start,
                                         search_release, search_destroy};

static int st_valid(const char *st) {
  size_t n = strlen(st);
  if (n == 0 || n > 256) return 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)st[i] <= ' ' || st[i] == 0x7f) return 0;
  return 1;
}

int ucp_search(ucp_cp *cp, const char *st, const ucp_search_opts *so,
               const ucp_call_opts *opts, ucp_search_cb events,
               ucp_done_cb done, void *user, uint64_t *id) {
  if (!cp || !st || !done || !id || !st_valid(st)) return UCP_E_INVALIDARG;
  size_t n = strlen(st);
  search_op *op = ucp__calloc(1, sizeof *op + n + 1);
  if (!op) return UCP_E_NOMEM;
  memcpy(op->st, st, n + 1);
  if (so) op->so = *so;
  else {
    op->so.mx = 2;
    op->so.multicast = op->so.ipv4 = 1;
    op->so.port = 1900;
  }
  op->events = events;
  int rc = ucp__op_submit(cp, &op->base, &search_vt, opts, done, user, id);
  if (rc != UCP_OK) ucp__free(op);
  return rc;
}

uint64_t ucp_cp_ssdp_drops(ucp_cp *cp) {
  return ucp_cp_counter(cp, UCP_COUNTER_SSDP_DROPPED);
}

size_t ucp_result_devices(const ucp_result *r) {
  if (!r || r->kind != UCP_OP_SEARCH || !r->payload) return 0;
  return *(const size_t *)r->payload;
}

/* --------------------------------------------------------- accessors */

const char *ucp_found_udn(const ucp_found *f) { return f ? f->udn : NULL; }
const char *ucp_found_location(const ucp_found *f) {
  return f ? f->location : NULL;
}
const char *ucp_found_address(const ucp_found *f) {
  return f ? f->address : NULL;
}
const char *ucp_found_server(const ucp_found *f) { return f ? f->server : NULL; }
const char *ucp_found_st(const ucp_found *f) { return f ? f->st : NULL; }
int64_t ucp_found_bootid(const ucp_found *f) { return f ? f->bootid : -1; }
int64_t ucp_found_configid(const ucp_found *f) { return f ? f->configid : -1; }
uint32_t ucp_found_max_age(const ucp_found *f) { return f ? f->max_age : 0; }
const ucp_description *ucp_found_description(const ucp_found *f) {
  return f ? f->desc : NULL;
}
static int udn_is(const ucp_device *d, const char *udn) {
  const char *u = ucp_device_field_get(d, UCP_DEVICE_UDN);
  return u && strcasecmp(u, udn) == 0;
}

const ucp_device *ucp_found_device(const ucp_found *f) {
  if (!f || !f->desc) return NULL;
  for (size_t i = 0; i < ucp_description_device_count(f->desc); i++) {
    const ucp_device *d = ucp_description_device(f->desc, i);
    if (udn_is(d, f->udn)) return d;
  }
  return ucp_description_root(f->desc);
}

int ucp_found_status(const ucp_found *f) {
  return f ? f->status : UCP_E_INVALIDARG;
}
const char *ucp_found_detail(const ucp_found *f) {
  return f && f->detail ? f->detail : "";
}
