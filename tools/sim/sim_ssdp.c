/*
 * sim_ssdp.c - the simulator's SSDP side: the device half of UDA 2.0 §1.
 *
 * One thread serves every virtual device. It answers M-SEARCH (§1.3.3) and
 * advertises (§1.2.2 alive, §1.2.3 byebye, §1.2.4 update); every datagram
 * it sends goes through one queue ordered by due time, so a response
 * delayed within MX never makes the thread sleep. One UDP socket per
 * address family is bound to the SSDP port on the wildcard address and
 * joined to the group on each configured interface; IP_PKTINFO /
 * IPV6_PKTINFO tell on which interface a datagram arrived and choose the
 * interface and source of each one sent. With SO_REUSEPORT the kernel
 * spreads unicast datagrams over every wildcard socket of the port (a
 * control point listening for NOTIFY, another simulator), so each
 * interface also gets a socket bound to its own address and the port:
 * Linux looks those up first, and unicast M-SEARCH reaches us.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SIM_GROUP4 "239.255.255.250" /* UDA 2.0 §1.1 */
#define SIM_GROUP6 "ff02::c"         /* link-local scope */
#define SIM_HOST6 "[FF02::C]"
#define SIM_SSDP_DEFAULT_PORT 1900u
#define SIM_MAX_AGE 1800u
#define SIM_CONFIGID 1u
#define SIM_BOOTID_MASK 0x7fffffffu /* 31 bits, UDA 2.0 §1.2.2 */
#define SIM_SSDP_SERVER "Linux/6 UPnP/1.1 upnpcp-sim/1.0"
#define SIM_MCAST_TTL 2              /* UDA 2.0 §1.2.2: TTL should be 2 */
#define SIM_MAX_IFACES 16
#define SIM_DGRAM_MAX 8192u          /* larger M-SEARCHes are dropped */
#define SIM_OUT_MAX 16384u           /* room for the oversize fault */
#define SIM_QUEUE_RESPONSES 32768u /* 1024 devices x 5 answers x 3 M-SEARCHes, with room */
#define SIM_QUEUE_ROUNDS 8u          /* pending announcement rounds */
#define SIM_SEND_BURST 32u           /* datagrams per loop turn (~1 ms) */
#define SIM_RECV_BURST 64
#define SIM_REPEAT_MS 5u             /* announcements go out twice */
#define SIM_FLOOD_COPIES 50u
#define SIM_MX_MAX 5u                /* UDA 2.0 §1.3.2 */
#define SIM_MX_MARGIN_MS 50u         /* responses leave this before MX */
#define SIM_TICK_MS 1000             /* poll timeout when idle */
#define SIM_ST_MAX 256u
#define SIM_NPOLL (3 + 2 * SIM_MAX_IFACES)
#define SIM_OTHER4 "192.0.2.1"       /* TEST-NET-1, RFC 5737 */
#define SIM_OTHER6 "[2001:db8::1]"   /* documentation, RFC 3849 */

enum { SIM_K_RESPONSE, SIM_K_ALIVE, SIM_K_BYEBYE, SIM_K_UPDATE };

/*
 * What one BinaryLight:1 root device announces (UDA 2.0 §1.2.2): 3 + 2d + k
 * with d = 0 embedded devices and k = 2 service types. The types match
 * ucp_sim_desc_tmpl in sim_docs.c; ver is the version advertised.
 */
typedef struct sim_nt {
  const char *text; /* NULL: uuid:<udn> */
  unsigned ver;     /* 0: no version (rootdevice, uuid) */
} sim_nt;

static const sim_nt sim_nts[] = {
    {"upnp:rootdevice", 0},
    {NULL, 0},
    {"urn:schemas-upnp-org:device:BinaryLight", 1},
    {"urn:schemas-upnp-org:service:SwitchPower", 1},
    {"urn:schemas-upnp-org:service:Dimming", 1},
};
#define SIM_NNT (sizeof sim_nts / sizeof sim_nts[0])
#define SIM_NT_UUID 1u

typedef union sim_addr {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
} sim_addr;

/* One datagram to send. */
typedef struct sim_msg {
  uint64_t due_ms, seq;
  sim_addr dst;                 /* responses: the searcher */
  uint32_t bootid, next_bootid; /* notifications */
  uint16_t dev;
  uint8_t kind, nt, ver, ifx, v6;
} sim_msg;

typedef struct sim_if {
  char name[IF_NAMESIZE];
  unsigned index;
  int ufd4, ufd6; /* unicast M-SEARCH: bound to addr4 / addr6 and the port */
  bool loopback, has4, has6;
  struct in_addr addr4;  /* source of what is sent from this interface */
  struct in6_addr addr6;
  char host4[INET_ADDRSTRLEN];      /* LOCATION host */
  char host6[INET6_ADDRSTRLEN + 2]; /* "[...]" */
} sim_if;

struct ucp__sim_ssdp {
  pthread_t thread;
  bool running;
  atomic_bool stopping;
  int fd4, fd6;
  int wake[2];
  unsigned short port;
  unsigned fault;
  bool unicast_only; /* no group joined, nothing advertised */
  uint64_t interval_ms;
  sim_if ifs[SIM_MAX_IFACES];
  int nifs;
  ucp__sim_ssdp_dev *devs;
  int ndevs;
  atomic_uint_fast64_t msearch;
  atomic_uint_fast64_t dropped;
  pthread_mutex_t lock; /* everything below */
  sim_msg *q;           /* binary min-heap on (due_ms, seq) */
  size_t qlen, qcap, qresp;
  size_t qmax;          /* responses + SIM_QUEUE_ROUNDS announcement rounds */
  uint64_t seq;
  uint32_t bootid;
  uint64_t next_alive_ms;
  uint64_t rng;
  unsigned bad_next; /* next malformed kind */
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */
/* ------------------------------------------------------------------ */

static uint64_t sim_ssdp_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sim_ssdp_sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* xorshift64*: the delays need spread, not secrecy. Under the lock. */
static uint64_t sim_rand_locked(ucp__sim_ssdp *x) {
  x->rng ^= x->rng >> 12;
  x->rng ^= x->rng << 25;
  x->rng ^= x->rng >> 27;
  return x->rng * 0x2545F4914F6CDD1DULL;
}

static int sim_setint(int fd, int level, int name, int v) {
  return setsockopt(fd, level, name, &v, sizeof v);
}

/* Appends formatted text; sets full (and keeps what fits) on overflow. */
typedef struct sim_out {
  char *p;
  size_t len, cap;
  bool full;
} sim_out;

static void sim_outf(sim_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sim_outf(sim_out *o, const char *fmt, ...) {
  if (o->full) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= o->cap - o->len) {
    o->full = true;
    return;
  }
  o->len += (size_t)n;
}

/* Replaces del bytes at pos with n bytes of ins (may hold NUL). */
static void sim_splice(sim_out *o, size_t pos, size_t del, const char *ins,
                       size_t n) {
  if (o->full || pos + del > o->len || o->len - del + n >= o->cap) {
    o->full = true;
    return;
  }
  memmove(o->p + pos + n, o->p + pos + del, o->len - pos - del + 1);
  memcpy(o->p + pos, ins, n);
  o->len = o->len - del + n;
}

/* Offset of the first occurrence of needle, or SIZE_MAX. */
static size_t sim_find(const sim_out *o, const char *needle) {
  const char *hit = o->full ? NULL : strstr(o->p, needle);
  return hit ? (size_t)(hit - o->p) : SIZE_MAX;
}

/* ------------------------------------------------------------------ */
/* Send queue                                                         */
/* ------------------------------------------------------------------ */

static bool sim_msg_before(const sim_msg *a, const sim_msg *b) {
  return a->due_ms != b->due_ms ? a->due_ms < b->due_ms : a->seq < b->seq;
}

static void sim_swap(sim_msg *a, sim_msg *b) {
  sim_msg t = *a;
  *a = *b;
  *b = t;
}

/* Bounded: SIM_QUEUE_RESPONSES responses, qmax in all. */
static bool sim_push_locked(ucp__sim_ssdp *x, const sim_msg *m) {
  bool resp = m->kind == SIM_K_RESPONSE;
  if (x->qlen >= x->qmax || (resp && x->qresp >= SIM_QUEUE_RESPONSES))
    goto drop;
  if (x->qlen == x->qcap) {
    size_t cap = x->qcap ? x->qcap * 2 : 256;
    sim_msg *q = realloc(x->q, cap * sizeof *q);
    if (!q) goto drop;
    x->q = q;
    x->qcap = cap;
  }
  size_t i = x->qlen++;
  x->q[i] = *m;
  x->q[i].seq = x->seq++;
  while (i > 0 && sim_msg_before(&x->q[i], &x->q[(i - 1) / 2])) {
    sim_swap(&x->q[i], &x->q[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  x->qresp += resp;
  return true;
drop:
  atomic_fetch_add(&x->dropped, 1);
  return false;
}

static void sim_pop_locked(ucp__sim_ssdp *x, sim_msg *out) {
  *out = x->q[0];
  x->q[0] = x->q[--x->qlen];
  for (size_t i = 0;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < x->qlen && sim_msg_before(&x->q[l], &x->q[m])) m = l;
    if (r < x->qlen && sim_msg_before(&x->q[r], &x->q[m])) m = r;
    if (m == i) break;
    sim_swap(&x->q[i], &x->q[m]);
    i = m;
  }
  x->qresp -= out->kind == SIM_K_RESPONSE;
}

/*
 * Queues one kind of notification for every device, NT, interface and
 * family, twice (UDA 2.0 §1.2.2: sent more than once, UDP being
 * unreliable), the second copy SIM_REPEAT_MS later.
 */
static void sim_queue_notify_locked(ucp__sim_ssdp *x, uint8_t kind,
                                    uint64_t at, uint32_t bootid,
                                    uint32_t next_bootid) {
  sim_msg m = {0};
  m.kind = kind;
  m.bootid = bootid;
  m.next_bootid = next_bootid;
  for (unsigned copy = 0; copy < 2; copy++) {
    m.due_ms = at + copy * SIM_REPEAT_MS;
    for (int f = 0; f < x->nifs; f++) {
      for (unsigned v6 = 0; v6 < 2; v6++) {
        if (v6 ? !(x->ifs[f].has6 && x->fd6 >= 0) : !x->ifs[f].has4) continue;
        m.ifx = (uint8_t)f;
        m.v6 = (uint8_t)v6;
        for (int d = 0; d < x->ndevs; d++) {
          m.dev = (uint16_t)d;
          for (unsigned k = 0; k < SIM_NNT; k++) {
            m.nt = (uint8_t)k;
            sim_push_locked(x, &m);
          }
        }
      }
    }
  }
}

static void sim_wake(ucp__sim_ssdp *x) {
  char c = 1;
  ssize_t n = write(x->wake[1], &c, 1); /* full pipe: already woken */
  (void)n;
}

/* ------------------------------------------------------------------ */
/* Building datagrams                                                 */
/* ------------------------------------------------------------------ */

/* NT (notification) or ST (response) value of NT k at version ver. */
static void sim_nt_text(const char *udn, unsigned k, unsigned ver, char *out,
                        size_t cap) {
  if (k == SIM_NT_UUID)
    snprintf(out, cap, "%s", udn);
  else if (sim_nts[k].ver == 0)
    snprintf(out, cap, "%s", sim_nts[k].text);
  else
    snprintf(out, cap, "%s:%u", sim_nts[k].text, ver);
}

/* UDA 2.0 §1.2.2: uuid:<udn> alone for the uuid NT, else udn::NT. */
static void sim_usn(const char *udn, unsigned k, const char *nt, char *out,
                    size_t cap) {
  if (k == SIM_NT_UUID)
    snprintf(out, cap, "%s", udn);
  else
    snprintf(out, cap, "%s::%s", udn, nt);
}

static void sim_location(const ucp__sim_ssdp *x, const sim_msg *m, char *out,
                         size_t cap) {
  const sim_if *f = &x->ifs[m->ifx];
  const ucp__sim_ssdp_dev *d = &x->devs[m->dev];
  bool other = (x->fault & UCP_SIM_FAULT_OTHER_HOST) != 0;
  const char *host = m->v6 ? (other ? SIM_OTHER6 : f->host6)
                           : (other ? SIM_OTHER4 : f->host4);
  snprintf(out, cap, "http://%s:%u/desc.xml", host,
           (unsigned)(m->v6 ? d->port6 : d->port));
}

/* RFC 7231 IMF-fixdate, independent of the locale. */
static void sim_date(char *out, size_t cap) {
  static const char days[][4] = {"Sun", "Mon", "Tue", "Wed",
                                 "Thu", "Fri", "Sat"};
  static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = time(NULL);
  struct tm tm;
  if (!gmtime_r(&t, &tm)) memset(&tm, 0, sizeof tm);
  snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT",
           days[(unsigned)tm.tm_wday % 7u], tm.tm_mday,
           months[(unsigned)tm.tm_mon % 12u], tm.tm_year + 1900, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
}

/* UDA 2.0 §1.2.2: SEARCHPORT only off 1900, and only in 49152..65535. */
static void sim_searchport(const ucp__sim_ssdp *x, sim_out *o) {
  if (x->port != SIM_SSDP_DEFAULT_PORT && x->port >= 49152u)
    sim_outf(o, "SEARCHPORT.UPNP.ORG: %u\r\n", (unsigned)x->port);
}

/* UDA 2.0 §1.3.3 */
static void sim_build_response(const ucp__sim_ssdp *x, sim_out *o,
                               const char *st, const char *usn,
                               const char *loc) {
  char date[160]; /* room for any struct tm values */
  sim_date(date, sizeof date);
  sim_outf(o,
           "HTTP/1.1 200 OK\r\n"
           "CACHE-CONTROL: max-age=%u\r\n"
           "DATE: %s\r\n"
           "EXT:\r\n"
           "LOCATION: %s\r\n"
           "SERVER: " SIM_SSDP_SERVER "\r\n"
           "ST: %s\r\n"
           "USN: %s\r\n"
           "BOOTID.UPNP.ORG: %u\r\n"
           "CONFIGID.UPNP.ORG: %u\r\n",
           SIM_MAX_AGE, date, loc, st, usn, (unsigned)x->bootid,
           SIM_CONFIGID);
  sim_searchport(x, o);
  sim_outf(o, "\r\n");
}

/* UDA 2.0 §1.2.2 alive, §1.2.3 byebye, §1.2.4 update. */
static void sim_build_notify(const ucp__sim_ssdp *x, sim_out *o,
                             const sim_msg *m, const char *nt,
                             const char *usn, const char *loc) {
  static const char *const nts[] = {"", "ssdp:alive", "ssdp:byebye",
                                    "ssdp:update"};
  sim_outf(o, "NOTIFY * HTTP/1.1\r\nHOST: %s:%u\r\n",
           m->v6 ? SIM_HOST6 : SIM_GROUP4, (unsigned)x->port);
  if (m->kind == SIM_K_ALIVE)
    sim_outf(o, "CACHE-CONTROL: max-age=%u\r\n", SIM_MAX_AGE);
  if (m->kind != SIM_K_BYEBYE) sim_outf(o, "LOCATION: %s\r\n", loc);
  sim_outf(o, "NT: %s\r\nNTS: %s\r\n", nt, nts[m->kind]);
  if (m->kind == SIM_K_ALIVE) sim_outf(o, "SERVER: " SIM_SSDP_SERVER "\r\n");
  sim_outf(o, "USN: %s\r\nBOOTID.UPNP.ORG: %u\r\nCONFIGID.UPNP.ORG: %u\r\n",
           usn, (unsigned)m->bootid, SIM_CONFIGID);
  if (m->kind == SIM_K_UPDATE)
    sim_outf(o, "NEXTBOOTID.UPNP.ORG: %u\r\n", (unsigned)m->next_bootid);
  if (m->kind != SIM_K_BYEBYE) sim_searchport(x, o);
  sim_outf(o, "\r\n");
}

/* ---- UCP_SIM_FAULT_MALFORMED: one kind per response, in turn ---- */

enum {
  SIM_BAD_START, SIM_BAD_NUL, SIM_BAD_FOLD, SIM_BAD_DUP_LOCATION,
  SIM_BAD_HUGE_AGE, SIM_BAD_GARBAGE_AGE, SIM_BAD_LONG_LINE, SIM_BAD_BARE_CR,
  SIM_BAD_OVERSIZE, SIM_BAD_COUNT
};

/* Inserts a line of n copies of c, named name, after the start line. */
static void sim_bad_pad(sim_out *o, const char *name, size_t n, char c) {
  size_t at = sim_find(o, "\r\n");
  if (at == SIZE_MAX) return;
  size_t len = strlen(name) + n + 4;
  char *line = malloc(len + 1);
  if (!line) {
    o->full = true;
    return;
  }
  int h = snprintf(line, len + 1, "%s: ", name);
  memset(line + h, c, n);
  memcpy(line + (size_t)h + n, "\r\n", 3);
  sim_splice(o, at + 2, 0, line, len);
  free(line);
}

/* Copies the LOCATION line once more (SECURITY.md: duplicate LOCATION). */
static void sim_bad_dup_location(sim_out *o) {
  size_t at = sim_find(o, "\r\nLOCATION: ");
  if (at == SIZE_MAX) return;
  at += 2;
  const char *end = strstr(o->p + at, "\r\n");
  if (!end) return;
  size_t n = (size_t)(end - (o->p + at)) + 2;
  char line[512];
  if (n >= sizeof line) return;
  memcpy(line, o->p + at, n);
  sim_splice(o, at + n, 0, line, n);
}

/* Replaces the first occurrence of from with to. */
static void sim_bad_replace(sim_out *o, const char *from, const char *to,
                            size_t to_len) {
  size_t at = sim_find(o, from);
  if (at != SIZE_MAX) sim_splice(o, at, strlen(from), to, to_len);
}

static void sim_make_malformed(sim_out *o, unsigned kind) {
  switch (kind) {
    case SIM_BAD_START: sim_bad_replace(o, "200 OK", "OK 200", 6); break;
    case SIM_BAD_NUL: sim_bad_replace(o, "USN: uuid:", "USN: uu\0id:", 11); break;
    case SIM_BAD_FOLD: sim_bad_replace(o, "Linux/6 ", "Linux/6\r\n ", 10); break;
    case SIM_BAD_DUP_LOCATION: sim_bad_dup_location(o); break;
    case SIM_BAD_HUGE_AGE: {
      static const char huge[] = "max-age=184467440737095516160000";
      sim_bad_replace(o, "max-age=1800", huge, sizeof huge - 1);
      break;
    }
    case SIM_BAD_GARBAGE_AGE: {
      static const char junk[] = "max-age=18x0, max-age=-1";
      sim_bad_replace(o, "max-age=1800", junk, sizeof junk - 1);
      break;
    }
    case SIM_BAD_LONG_LINE: sim_bad_pad(o, "X-PAD", 1500, 'a'); break;
    case SIM_BAD_BARE_CR: sim_bad_replace(o, "EXT:\r\n", "EXT:\r", 5); break;
    default: sim_bad_pad(o, "X-PAD", SIM_DGRAM_MAX, 'b'); break;
  }
}

/* Builds m into buf; returns its length, 0 if it does not fit. Locked. */
static size_t sim_build_locked(ucp__sim_ssdp *x, const sim_msg *m, char *buf,
                               size_t cap) {
  const char *udn = x->devs[m->dev].udn;
  char nt[SIM_ST_MAX], usn[SIM_ST_MAX * 2 + 4], loc[128];
  unsigned ver = m->kind == SIM_K_RESPONSE ? m->ver : sim_nts[m->nt].ver;
  sim_nt_text(udn, m->nt, ver, nt, sizeof nt);
  sim_usn(udn, m->nt, nt, usn, sizeof usn);
  sim_location(x, m, loc, sizeof loc);
  sim_out o = {buf, 0, cap, false};
  buf[0] = '\0';
  if (m->kind != SIM_K_RESPONSE) {
    sim_build_notify(x, &o, m, nt, usn, loc);
  } else {
    sim_build_response(x, &o, nt, usn, loc);
    if (x->fault & UCP_SIM_FAULT_MALFORMED) {
      sim_make_malformed(&o, x->bad_next);
      x->bad_next = (x->bad_next + 1) % SIM_BAD_COUNT;
    }
  }
  return o.full ? 0 : o.len;
}

/* ------------------------------------------------------------------ */
/* Sending                                                            */
/* ------------------------------------------------------------------ */

static void sim_group_addr(const ucp__sim_ssdp *x, bool v6, sim_addr *a) {
  memset(a, 0, sizeof *a);
  if (v6) {
    a->in6.sin6_family = AF_INET6;
    a->in6.sin6_port = htons(x->port);
    inet_pton(AF_INET6, SIM_GROUP6, &a->in6.sin6_addr);
  } else {
    a->in.sin_family = AF_INET;
    a->in.sin_port = htons(x->port);
    inet_pton(AF_INET, SIM_GROUP4, &a->in.sin_addr);
  }
}

/*
 * Sends from interface f: its address is the source (so LOCATION names the
 * sender, SECURITY.md), and multicast leaves through it.
 */
static int sim_sendto(const ucp__sim_ssdp *x, const sim_if *f, bool v6,
                      const sim_addr *dst, const char *buf, size_t len) {
  union {
    char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct iovec iov = {(void *)(uintptr_t)buf, len};
  struct msghdr mh = {0};
  mh.msg_name = (void *)(uintptr_t)&dst->sa;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl.buf;
  struct cmsghdr *c = (struct cmsghdr *)(void *)ctl.buf;
  if (v6) {
    struct in6_pktinfo pi = {f->addr6, f->index};
    mh.msg_namelen = sizeof dst->in6;
    mh.msg_controllen = CMSG_SPACE(sizeof pi);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
  } else {
    struct in_pktinfo pi = {0};
    pi.ipi_ifindex = IN_MULTICAST(ntohl(dst->in.sin_addr.s_addr))
                         ? (int)f->index : 0;
    pi.ipi_spec_dst = f->addr4;
    mh.msg_namelen = sizeof dst->in;
    mh.msg_controllen = CMSG_SPACE(sizeof pi);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }
  ssize_t n;
  do {
    n = sendmsg(v6 ? x->fd6 : x->fd4, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == (ssize_t)len ? 0 : -1;
}

static void sim_send_msg(ucp__sim_ssdp *x, const sim_msg *m, const char *buf,
                         size_t len) {
  sim_addr group;
  const sim_addr *dst = &m->dst;
  if (m->kind != SIM_K_RESPONSE) {
    sim_group_addr(x, m->v6 != 0, &group);
    dst = &group;
  }
  if (len == 0 || sim_sendto(x, &x->ifs[m->ifx], m->v6 != 0, dst, buf, len))
    atomic_fetch_add(&x->dropped, 1);
}

/* Sends up to SIM_SEND_BURST due datagrams; true if more are due. */
static bool sim_send_due(ucp__sim_ssdp *x, char *buf) {
  for (unsigned i = 0; i < SIM_SEND_BURST; i++) {
    sim_msg m;
    size_t len = 0;
    pthread_mutex_lock(&x->lock);
    bool due = x->qlen > 0 && x->q[0].due_ms <= sim_ssdp_now_ms();
    if (due) {
      sim_pop_locked(x, &m);
      len = sim_build_locked(x, &m, buf, SIM_OUT_MAX);
    }
    pthread_mutex_unlock(&x->lock);
    if (!due) return false;
    sim_send_msg(x, &m, buf, len);
  }
  return true;
}

/* ------------------------------------------------------------------ */
/* M-SEARCH (UDA 2.0 §1.3.2)                                          */
/* ------------------------------------------------------------------ */

typedef struct sim_search {
  char st[SIM_ST_MAX];
  int mx; /* -1 absent */
  bool has_st, man_ok, bad;
} sim_search;

/* Digits only, at most 9 of them; -1 otherwise. */
static int sim_parse_small(const char *v, size_t n) {
  if (n == 0 || n > 9) return -1;
  int r = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') return -1;
    r = r * 10 + (v[i] - '0');
  }
  return r;
}

static void sim_search_header(sim_search *q, const char *name, size_t nlen,
                              const char *v, size_t vlen) {
  if (nlen == 2 && strncasecmp(name, "ST", 2) == 0) {
    if (q->has_st || vlen == 0 || vlen >= sizeof q->st) {
      q->bad = true; /* duplicate, empty or too long */
    } else {
      memcpy(q->st, v, vlen);
      q->st[vlen] = '\0';
    }
    q->has_st = true;
  } else if (nlen == 3 && strncasecmp(name, "MAN", 3) == 0) {
    q->man_ok = vlen == 15 && strncmp(v, "\"ssdp:discover\"", 15) == 0;
  } else if (nlen == 2 && strncasecmp(name, "MX", 2) == 0) {
    if (q->mx >= 0 || (q->mx = sim_parse_small(v, vlen)) < 0) q->bad = true;
  }
}

/*
 * 0: not an M-SEARCH; 1: an M-SEARCH to answer; -1: an M-SEARCH to ignore
 * (no or bad MAN, no ST, duplicate ST or MX, bad MX, NUL byte).
 */
static int sim_parse_msearch(const char *buf, size_t len, sim_search *q) {
  static const char start[] = "M-SEARCH * HTTP/1.1";
  *q = (sim_search){.mx = -1};
  size_t sl = sizeof start - 1;
  if (len < sl + 1 || memcmp(buf, start, sl) != 0 ||
      (buf[sl] != '\r' && buf[sl] != '\n'))
    return 0;
  if (memchr(buf, '\0', len)) return -1;
  const char *end = buf + len, *p = memchr(buf, '\n', len);
  if (!p) return -1; /* no header section */
  for (p++; p < end;) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *le = eol ? eol : end;
    if (le > p && le[-1] == '\r') le--;
    if (le == p) break; /* end of the header section */
    const char *colon = memchr(p, ':', (size_t)(le - p));
    if (colon) {
      const char *v = colon + 1, *ve = le;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      sim_search_header(q, p, (size_t)(colon - p), v, (size_t)(ve - v));
    }
    if (!eol) break;
    p = eol + 1;
  }
  return q->man_ok && q->has_st && !q->bad ? 1 : -1;
}

/*
 * Does NT k answer a search for st (UDA 2.0 §1.3.2)? For a type, the
 * searched version may be any from 1 up to the advertised one, and the
 * response echoes it (*ver). "urn:", domain and kind compare without case.
 */
static bool sim_match(const char *st, const char *udn, unsigned k,
                      unsigned *ver) {
  *ver = sim_nts[k].ver;
  if (strcmp(st, "ssdp:all") == 0) return true;
  if (k == SIM_NT_UUID) return strcasecmp(st, udn) == 0;
  const char *nt = sim_nts[k].text;
  if (sim_nts[k].ver == 0) return strcasecmp(st, nt) == 0;
  size_t n = strlen(nt);
  const char *type = strrchr(nt, ':') + 1;
  size_t pre = (size_t)(type - nt);
  if (strncasecmp(st, nt, pre) != 0 ||
      strncmp(st + pre, type, n - pre) != 0 || st[n] != ':')
    return false;
  int v = sim_parse_small(st + n + 1, strlen(st + n + 1));
  if (v < 1 || (unsigned)v > sim_nts[k].ver) return false;
  *ver = (unsigned)v;
  return true;
}

/* Queues the answers to one M-SEARCH; delay window in ms (0 = now). */
static void sim_answer(ucp__sim_ssdp *x, const sim_search *q,
                       const sim_addr *from, int ifx, bool v6,
                       uint64_t window) {
  unsigned copies = (x->fault & UCP_SIM_FAULT_FLOOD) ? SIM_FLOOD_COPIES : 1u;
  uint64_t now = sim_ssdp_now_ms();
  sim_msg m = {0};
  m.kind = SIM_K_RESPONSE;
  m.dst = *from;
  m.ifx = (uint8_t)ifx;
  m.v6 = v6;
  pthread_mutex_lock(&x->lock);
  for (int d = 0; d < x->ndevs; d++) {
    for (unsigned k = 0; k < SIM_NNT; k++) {
      unsigned ver;
      if (!sim_match(q->st, x->devs[d].udn, k, &ver)) continue;
      m.dev = (uint16_t)d;
      m.nt = (uint8_t)k;
      m.ver = (uint8_t)ver;
      for (unsigned c = 0; c < copies; c++) {
        m.due_ms = now + (window ? sim_rand_locked(x) % window : 0);
        sim_push_locked(x, &m);
      }
    }
  }
  pthread_mutex_unlock(&x->lock);
}

static void sim_on_datagram(ucp__sim_ssdp *x, const char *buf, size_t len,
                            const sim_addr *from, int ifx, bool v6,
                            bool multicast) {
  sim_search q;
  int r = sim_parse_msearch(buf, len, &q);
  if (r == 0) return; /* our own NOTIFYs, looped back, and the rest */
  atomic_fetch_add(&x->msearch, 1);
  if (r < 0 || (x->fault & UCP_SIM_FAULT_NO_RESPONSE)) return;
  if (multicast && q.mx < 0) return; /* UDA 2.0 §1.3.2: MX required */
  uint64_t window = 0;
  if (q.mx >= 0) { /* clamp to 1..5 s, leave a margin before the end */
    unsigned mx = q.mx < 1 ? 1u : (unsigned)q.mx;
    if (mx > SIM_MX_MAX) mx = SIM_MX_MAX;
    window = (uint64_t)mx * 1000u - SIM_MX_MARGIN_MS;
  }
  sim_answer(x, &q, from, ifx, v6, window);
}

/* ------------------------------------------------------------------ */
/* Receiving                                                          */
/* ------------------------------------------------------------------ */

static int sim_if_find(const ucp__sim_ssdp *x, unsigned index, bool v6) {
  for (int i = 0; i < x->nifs; i++)
    if (x->ifs[i].index == index && (v6 ? x->ifs[i].has6 : x->ifs[i].has4))
      return i;
  return -1;
}

/*
 * The interface a datagram is for: for multicast the one it arrived on;
 * for unicast the one owning the destination address (a datagram from this
 * host to another interface's address arrives on lo). -1: none of ours.
 */
static int sim_if_of(const ucp__sim_ssdp *x, bool v6, unsigned index,
                     const void *dst, bool multicast) {
  for (int i = 0; !multicast && i < x->nifs; i++) {
    const sim_if *f = &x->ifs[i];
    if (v6 ? f->has6 && memcmp(dst, &f->addr6, sizeof f->addr6) == 0
           : f->has4 && memcmp(dst, &f->addr4, sizeof f->addr4) == 0)
      return i;
  }
  return sim_if_find(x, index, v6);
}

/* Our interface for the datagram (sim_if_of), -1 if none; *multicast. */
static int sim_pktinfo(const ucp__sim_ssdp *x, struct msghdr *mh, bool v6,
                       bool *multicast) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
    if (!v6 && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      *multicast = IN_MULTICAST(ntohl(pi.ipi_addr.s_addr));
      return sim_if_of(x, false, (unsigned)pi.ipi_ifindex, &pi.ipi_addr,
                       *multicast);
    }
    if (v6 && c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      *multicast = IN6_IS_ADDR_MULTICAST(&pi.ipi6_addr);
      return sim_if_of(x, true, pi.ipi6_ifindex, &pi.ipi6_addr, *multicast);
    }
  }
  return -1;
}

static void sim_recv_all(ucp__sim_ssdp *x, int fd, bool v6) {
  char buf[SIM_DGRAM_MAX + 1];
  union {
    char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + 64];
    struct cmsghdr align;
  } ctl;
  for (int i = 0; i < SIM_RECV_BURST; i++) {
    sim_addr from;
    struct iovec iov = {buf, SIM_DGRAM_MAX};
    struct msghdr mh = {0};
    mh.msg_name = &from;
    mh.msg_namelen = sizeof from;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof ctl.buf;
    ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return; /* EAGAIN, or an ICMP error reported on the socket */
    }
    bool multicast = false;
    if ((size_t)n > SIM_DGRAM_MAX || (mh.msg_flags & MSG_CTRUNC)) continue;
    int ifx = sim_pktinfo(x, &mh, v6, &multicast);
    if (ifx < 0) continue; /* not an interface we serve */
    if (from.sa.sa_family != (v6 ? AF_INET6 : AF_INET) ||
        (v6 ? from.in6.sin6_port : from.in.sin_port) == 0)
      continue;
    buf[n] = '\0';
    sim_on_datagram(x, buf, (size_t)n, &from, ifx, v6, multicast);
  }
}

/* ------------------------------------------------------------------ */
/* The thread                                                         */
/* ------------------------------------------------------------------ */

/* Poll timeout: until the next due datagram or re-advertisement. */
static int sim_timeout(ucp__sim_ssdp *x, bool more) {
  if (more) return 1; /* paced: SIM_SEND_BURST per turn */
  uint64_t now = sim_ssdp_now_ms(), next = now + SIM_TICK_MS;
  pthread_mutex_lock(&x->lock);
  if (x->qlen && x->q[0].due_ms < next) next = x->q[0].due_ms;
  if (x->next_alive_ms < next) next = x->next_alive_ms;
  pthread_mutex_unlock(&x->lock);
  return next > now ? (int)(next - now) : 0;
}

/* UDA 2.0 §1.2.2: re-advertise well before max-age expires. */
static void sim_maybe_alive(ucp__sim_ssdp *x) {
  uint64_t now = sim_ssdp_now_ms();
  pthread_mutex_lock(&x->lock);
  if (x->unicast_only) {
    x->next_alive_ms = UINT64_MAX;
  } else if (now >= x->next_alive_ms) {
    sim_queue_notify_locked(x, SIM_K_ALIVE, now, x->bootid, 0);
    x->next_alive_ms = now + x->interval_ms;
  }
  pthread_mutex_unlock(&x->lock);
}

/* The wake pipe first, then every socket (negative fds are ignored). */
static nfds_t sim_pollfds(const ucp__sim_ssdp *x, struct pollfd *p,
                          bool *v6) {
  nfds_t n = 0;
  int fds[SIM_NPOLL];
  fds[n] = x->wake[0], v6[n++] = false;
  fds[n] = x->fd4, v6[n++] = false;
  fds[n] = x->fd6, v6[n++] = true;
  for (int i = 0; i < x->nifs; i++) {
    fds[n] = x->ifs[i].ufd4, v6[n++] = false;
    fds[n] = x->ifs[i].ufd6, v6[n++] = true;
  }
  for (nfds_t i = 0; i < n; i++) p[i] = (struct pollfd){fds[i], POLLIN, 0};
  return n;
}

static void *sim_ssdp_thread(void *arg) {
  ucp__sim_ssdp *x = arg;
  char *out = malloc(SIM_OUT_MAX);
  bool more = false;
  struct pollfd p[SIM_NPOLL];
  bool v6[SIM_NPOLL];
  nfds_t n = sim_pollfds(x, p, v6);
  while (out && !atomic_load(&x->stopping)) {
    int rc = poll(p, n, sim_timeout(x, more));
    if (rc < 0 && errno != EINTR) break;
    if (p[0].revents & POLLIN) {
      char drain[64];
      while (read(x->wake[0], drain, sizeof drain) > 0) {
      }
    }
    for (nfds_t i = 1; rc > 0 && i < n; i++)
      if (p[i].revents & POLLIN) sim_recv_all(x, p[i].fd, v6[i]);
    sim_maybe_alive(x);
    more = sim_send_due(x, out);
  }
  free(out);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Interfaces                                                         */
/* ------------------------------------------------------------------ */

/* Loopback first, then global or unique-local, then link-local. */
static int sim_rank6(const struct in6_addr *a) {
  if (IN6_IS_ADDR_LOOPBACK(a)) return 3;
  if (IN6_IS_ADDR_LINKLOCAL(a)) return 1;
  if (IN6_IS_ADDR_MULTICAST(a) || IN6_IS_ADDR_UNSPECIFIED(a)) return 0;
  return 2;
}

/* Addresses and flags of f->name from getifaddrs(). */
static void sim_if_addrs(sim_if *f, const struct ifaddrs *all) {
  int best6 = 0;
  for (const struct ifaddrs *a = all; a; a = a->ifa_next) {
    if (!a->ifa_addr || strcmp(a->ifa_name, f->name) != 0) continue;
    if (a->ifa_flags & IFF_LOOPBACK) f->loopback = true;
    if (a->ifa_addr->sa_family == AF_INET && !f->has4) {
      f->addr4 = ((const struct sockaddr_in *)(const void *)a->ifa_addr)
                     ->sin_addr;
      f->has4 = true;
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      const struct in6_addr *v6 =
          &((const struct sockaddr_in6 *)(const void *)a->ifa_addr)->sin6_addr;
      int r = sim_rank6(v6);
      if (r > best6) {
        best6 = r;
        f->addr6 = *v6;
        f->has6 = true;
      }
    }
  }
}

static int sim_add_iface(ucp__sim_ssdp *x, const char *name, size_t n,
                         const struct ifaddrs *all, bool ipv6) {
  if (n == 0) return 0;
  if (n >= IF_NAMESIZE || x->nifs == SIM_MAX_IFACES) {
    fprintf(stderr, "upnpcp sim: bad or too many interfaces\n");
    return -1;
  }
  sim_if *f = &x->ifs[x->nifs];
  memset(f, 0, sizeof *f);
  f->ufd4 = f->ufd6 = -1;
  memcpy(f->name, name, n);
  f->index = if_nametoindex(f->name);
  if (f->index == 0 || sim_if_find(x, f->index, false) >= 0 ||
      sim_if_find(x, f->index, true) >= 0) {
    fprintf(stderr, "upnpcp sim: no such interface (or twice): %s\n", f->name);
    return -1;
  }
  sim_if_addrs(f, all);
  if (!ipv6) f->has6 = false;
  if (!f->has4 && !f->has6) {
    fprintf(stderr, "upnpcp sim: no usable address on %s\n", f->name);
    return -1;
  }
  x->nifs++;
  return 0;
}

static int sim_parse_ifaces(ucp__sim_ssdp *x, const char *list, bool ipv6) {
  struct ifaddrs *all = NULL;
  if (getifaddrs(&all) != 0) {
    fprintf(stderr, "upnpcp sim: getifaddrs: %s\n", strerror(errno));
    return -1;
  }
  int rc = 0;
  for (const char *p = list; rc == 0;) {
    size_t n = strcspn(p, ",");
    const char *s = p;
    size_t k = n;
    while (k && *s == ' ') s++, k--;
    while (k && s[k - 1] == ' ') k--;
    rc = sim_add_iface(x, s, k, all, ipv6);
    if (p[n] == '\0') break;
    p += n + 1;
  }
  freeifaddrs(all);
  if (rc == 0 && x->nifs == 0) {
    fprintf(stderr, "upnpcp sim: no interface to advertise on\n");
    rc = -1;
  }
  return rc;
}

/* ------------------------------------------------------------------ */
/* Sockets                                                            */
/* ------------------------------------------------------------------ */

/* A UDP socket bound to a (wildcard when a is NULL) and port. */
static int sim_socket(int family, const sim_addr *a_or_any,
                      unsigned short port) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sim_addr a;
  memset(&a, 0, sizeof a);
  if (a_or_any) a = *a_or_any;
  socklen_t len;
  int ok = sim_setint(fd, SOL_SOCKET, SO_REUSEADDR, 1) == 0 &&
           sim_setint(fd, SOL_SOCKET, SO_REUSEPORT, 1) == 0;
  if (family == AF_INET6) {
    ok = ok && sim_setint(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) == 0 &&
         sim_setint(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) == 0 &&
         sim_setint(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, SIM_MCAST_TTL) == 0 &&
         sim_setint(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1) == 0;
#ifdef IPV6_MULTICAST_ALL
    (void)sim_setint(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0); /* Linux 4.20 */
#endif
    a.in6.sin6_family = AF_INET6;
    a.in6.sin6_port = htons(port);
    len = sizeof a.in6;
  } else {
    ok = ok && sim_setint(fd, IPPROTO_IP, IP_PKTINFO, 1) == 0 &&
         sim_setint(fd, IPPROTO_IP, IP_MULTICAST_TTL, SIM_MCAST_TTL) == 0 &&
         sim_setint(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 1) == 0 &&
         sim_setint(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0) == 0;
    a.in.sin_family = AF_INET;
    a.in.sin_port = htons(port);
    len = sizeof a.in;
  }
  if (!ok || bind(fd, &a.sa, len) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* UDA 2.0 §1.1: join the group on each interface; default multicast
 * interface the first one (each send names its own with IP_PKTINFO). */
static int sim_join4(ucp__sim_ssdp *x) {
  bool first = true;
  for (int i = 0; i < x->nifs; i++) {
    const sim_if *f = &x->ifs[i];
    if (!f->has4) continue;
    struct ip_mreqn mr = {0};
    inet_pton(AF_INET, SIM_GROUP4, &mr.imr_multiaddr);
    mr.imr_address = f->addr4;
    mr.imr_ifindex = (int)f->index;
    if (setsockopt(x->fd4, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) ||
        (first && setsockopt(x->fd4, IPPROTO_IP, IP_MULTICAST_IF, &mr,
                             sizeof mr))) {
      fprintf(stderr, "upnpcp sim: cannot join %s on %s: %s\n", SIM_GROUP4,
              f->name, strerror(errno));
      return -1;
    }
    first = false;
  }
  return 0;
}

static int sim_join6(ucp__sim_ssdp *x) {
  bool first = true;
  for (int i = 0; i < x->nifs; i++) {
    const sim_if *f = &x->ifs[i];
    if (!f->has6) continue;
    struct ipv6_mreq mr = {0};
    inet_pton(AF_INET6, SIM_GROUP6, &mr.ipv6mr_multiaddr);
    mr.ipv6mr_interface = f->index;
    int idx = (int)f->index;
    if (setsockopt(x->fd6, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof mr) ||
        (first && setsockopt(x->fd6, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx,
                             sizeof idx))) {
      fprintf(stderr, "upnpcp sim: cannot join %s on %s: %s\n", SIM_GROUP6,
              f->name, strerror(errno));
      return -1;
    }
    first = false;
  }
  return 0;
}

static bool sim_any_has(const ucp__sim_ssdp *x, bool v6) {
  for (int i = 0; i < x->nifs; i++)
    if (v6 ? x->ifs[i].has6 : x->ifs[i].has4) return true;
  return false;
}

/* Unicast sockets (see the top of the file); a failure only warns, as
 * the wildcard sockets still receive what the kernel gives them. */
static void sim_open_unicast(ucp__sim_ssdp *x) {
  for (int i = 0; i < x->nifs; i++) {
    sim_if *f = &x->ifs[i];
    sim_addr a;
    memset(&a, 0, sizeof a);
    if (f->has4) {
      a.in.sin_family = AF_INET;
      a.in.sin_addr = f->addr4;
      f->ufd4 = sim_socket(AF_INET, &a, x->port);
    }
    if (f->has6 && x->fd6 >= 0) {
      memset(&a, 0, sizeof a);
      a.in6.sin6_family = AF_INET6;
      a.in6.sin6_addr = f->addr6;
      if (IN6_IS_ADDR_LINKLOCAL(&f->addr6)) a.in6.sin6_scope_id = f->index;
      f->ufd6 = sim_socket(AF_INET6, &a, x->port);
    }
    if ((f->has4 && f->ufd4 < 0) || (f->has6 && x->fd6 >= 0 && f->ufd6 < 0))
      fprintf(stderr, "upnpcp sim: warning: no unicast SSDP socket on %s\n",
              f->name);
  }
}

/* Unicast only (the demo): one socket on 127.0.0.1, the port given or a
 * free one; no group joined and nothing advertised: no multicast at all. */
static int sim_open_unicast_only(ucp__sim_ssdp *x) {
  sim_addr a;
  memset(&a, 0, sizeof a);
  a.in.sin_family = AF_INET;
  a.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  x->fd4 = sim_socket(AF_INET, &a, x->port);
  socklen_t len = sizeof a.in;
  if (x->fd4 < 0 || getsockname(x->fd4, &a.sa, &len) != 0) {
    fprintf(stderr, "upnpcp sim: cannot bind UDP 127.0.0.1:%u: %s\n",
            (unsigned)x->port, strerror(errno));
    return -1;
  }
  x->port = ntohs(a.in.sin_port);
  if (pipe2(x->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
    x->wake[0] = x->wake[1] = -1;
    return -1;
  }
  return 0;
}

static int sim_open_sockets(ucp__sim_ssdp *x, bool ipv6) {
  if (x->unicast_only) return sim_open_unicast_only(x);
  if (sim_any_has(x, false)) {
    x->fd4 = sim_socket(AF_INET, NULL, x->port);
    if (x->fd4 < 0) {
      fprintf(stderr, "upnpcp sim: cannot bind UDP port %u: %s\n",
              (unsigned)x->port, strerror(errno));
      return -1;
    }
    if (sim_join4(x) != 0) return -1;
  }
  if (ipv6 && sim_any_has(x, true)) {
    x->fd6 = sim_socket(AF_INET6, NULL, x->port);
    if (x->fd6 < 0) {
      fprintf(stderr, "upnpcp sim: cannot bind UDP port [::]:%u: %s\n",
              (unsigned)x->port, strerror(errno));
      return -1;
    }
    if (sim_join6(x) != 0) return -1;
  }
  sim_open_unicast(x);
  if (pipe2(x->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
    x->wake[0] = x->wake[1] = -1;
    fprintf(stderr, "upnpcp sim: pipe: %s\n", strerror(errno));
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                         */
/* ------------------------------------------------------------------ */

static void sim_ssdp_free(ucp__sim_ssdp *x) {
  int fds[] = {x->fd4, x->fd6, x->wake[0], x->wake[1]};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
    if (fds[i] >= 0) close(fds[i]);
  for (int i = 0; i < x->nifs; i++) {
    if (x->ifs[i].ufd4 >= 0) close(x->ifs[i].ufd4);
    if (x->ifs[i].ufd6 >= 0) close(x->ifs[i].ufd6);
  }
  pthread_mutex_destroy(&x->lock);
  free(x->q);
  free(x->devs);
  free(x);
}

int ucp__sim_ssdp_open(const ucp__sim_ssdp_cfg *cfg, ucp__sim_ssdp **out) {
  *out = NULL;
  ucp__sim_ssdp *x = calloc(1, sizeof *x);
  if (!x) return -1;
  x->fd4 = x->fd6 = x->wake[0] = x->wake[1] = -1;
  if (pthread_mutex_init(&x->lock, NULL) != 0) {
    free(x);
    return -1;
  }
  x->unicast_only = cfg->unicast_only != 0;
  x->port = cfg->port || x->unicast_only ? cfg->port : SIM_SSDP_DEFAULT_PORT;
  x->fault = cfg->fault;
  x->interval_ms = (uint64_t)(cfg->alive_interval_s ? cfg->alive_interval_s
                                                    : 30u) * 1000u;
  x->bootid = (cfg->bootid ? cfg->bootid : (unsigned)time(NULL)) &
              SIM_BOOTID_MASK;
  x->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^
           (uint64_t)(uintptr_t)x;
  if (x->rng == 0) x->rng = 1;
  if (sim_parse_ifaces(x, cfg->ifaces && !x->unicast_only ? cfg->ifaces : "lo",
                       cfg->ipv6 != 0 && !x->unicast_only) ||
      sim_open_sockets(x, cfg->ipv6 != 0)) {
    sim_ssdp_free(x);
    return -1;
  }
  *out = x;
  return 0;
}

int ucp__sim_ssdp_loopback_only(const ucp__sim_ssdp *x) {
  for (int i = 0; i < x->nifs; i++)
    if (!x->ifs[i].loopback) return 0;
  return 1;
}

static bool sim_is_any(const char *a, bool v6) {
  return strcmp(a, v6 ? "::" : "0.0.0.0") == 0;
}

/* LOCATION hosts: the interface's address when HTTP listens on any. */
static void sim_set_hosts(ucp__sim_ssdp *x, const char *http4,
                          const char *http6) {
  for (int i = 0; i < x->nifs; i++) {
    sim_if *f = &x->ifs[i];
    char a6[INET6_ADDRSTRLEN] = "";
    if (f->has4 && sim_is_any(http4, false))
      inet_ntop(AF_INET, &f->addr4, f->host4, sizeof f->host4);
    else
      snprintf(f->host4, sizeof f->host4, "%s", http4);
    if (f->has6 && http6 && sim_is_any(http6, true))
      inet_ntop(AF_INET6, &f->addr6, a6, sizeof a6);
    else
      snprintf(a6, sizeof a6, "%s", http6 ? http6 : "::1");
    snprintf(f->host6, sizeof f->host6, "[%s]", a6);
  }
}

int ucp__sim_ssdp_run(ucp__sim_ssdp *x, const ucp__sim_ssdp_dev *devs,
                      int ndevs, const char *http4, const char *http6) {
  if (ndevs < 1 || ndevs > UINT16_MAX || x->running) return -1;
  x->devs = calloc((size_t)ndevs, sizeof *devs);
  if (!x->devs) return -1;
  memcpy(x->devs, devs, (size_t)ndevs * sizeof *devs);
  x->ndevs = ndevs;
  size_t round = (size_t)ndevs * SIM_NNT * (size_t)x->nifs * 2u * 2u;
  x->qmax = SIM_QUEUE_RESPONSES + SIM_QUEUE_ROUNDS * round;
  sim_set_hosts(x, http4, http6);
  pthread_mutex_lock(&x->lock);
  x->next_alive_ms = 0; /* the thread advertises at once */
  pthread_mutex_unlock(&x->lock);
  int e = pthread_create(&x->thread, NULL, sim_ssdp_thread, x);
  if (e != 0) {
    fprintf(stderr, "upnpcp sim: pthread_create: %s\n", strerror(e));
    return -1;
  }
  x->running = true;
  return 0;
}

unsigned short ucp__sim_ssdp_port(const ucp__sim_ssdp *x) { return x->port; }

uint64_t ucp__sim_ssdp_msearch(const ucp__sim_ssdp *x) {
  return (uint64_t)atomic_load(&((ucp__sim_ssdp *)(uintptr_t)x)->msearch);
}

uint64_t ucp__sim_ssdp_dropped(const ucp__sim_ssdp *x) {
  return (uint64_t)atomic_load(&((ucp__sim_ssdp *)(uintptr_t)x)->dropped);
}

unsigned ucp__sim_ssdp_bootid(ucp__sim_ssdp *x) {
  pthread_mutex_lock(&x->lock);
  unsigned b = x->bootid;
  pthread_mutex_unlock(&x->lock);
  return b;
}

/* UDA 2.0 §1.2.4: byebye, then update (BOOTID old, NEXTBOOTID new), then
 * alive with the new BOOTID. */
int ucp__sim_ssdp_restart(ucp__sim_ssdp *x) {
  if (!x->running || x->unicast_only) return -1;
  uint64_t now = sim_ssdp_now_ms();
  pthread_mutex_lock(&x->lock);
  uint32_t old = x->bootid, next = (old + 1u) & SIM_BOOTID_MASK;
  sim_queue_notify_locked(x, SIM_K_BYEBYE, now, old, 0);
  sim_queue_notify_locked(x, SIM_K_UPDATE, now + 2 * SIM_REPEAT_MS, old, next);
  x->bootid = next;
  sim_queue_notify_locked(x, SIM_K_ALIVE, now + 4 * SIM_REPEAT_MS, next, 0);
  x->next_alive_ms = now + x->interval_ms;
  pthread_mutex_unlock(&x->lock);
  sim_wake(x);
  return 0;
}

/* UDA 2.0 §1.2.3: byebye for everything, twice; the thread has stopped. */
static void sim_send_byebye(ucp__sim_ssdp *x) {
  if (x->unicast_only) return;
  char *buf = malloc(SIM_OUT_MAX);
  if (!buf) return;
  pthread_mutex_lock(&x->lock);
  x->qlen = x->qresp = 0; /* what was pending is never sent */
  sim_queue_notify_locked(x, SIM_K_BYEBYE, 0, x->bootid, 0);
  bool second = false;
  for (unsigned sent = 1; x->qlen; sent++) {
    sim_msg m;
    sim_pop_locked(x, &m);
    if (m.due_ms > 0 && !second) { /* the second copies, a little later */
      sim_ssdp_sleep_ms(SIM_REPEAT_MS);
      second = true;
    }
    sim_send_msg(x, &m, buf, sim_build_locked(x, &m, buf, SIM_OUT_MAX));
    if (sent % SIM_SEND_BURST == 0) sim_ssdp_sleep_ms(1);
  }
  pthread_mutex_unlock(&x->lock);
  free(buf);
}

void ucp__sim_ssdp_close(ucp__sim_ssdp *x) {
  if (!x) return;
  if (x->running) {
    atomic_store(&x->stopping, true);
    sim_wake(x);
    pthread_join(x->thread, NULL);
    sim_send_byebye(x);
  }
  sim_ssdp_free(x);
}
