/* bench_ssdp.c - the discovery benchmarks, printed as one table:
 *   SSDP responses processed per second (cache refreshes, inserts and
 *   reloads included), by wall time and per CPU second of the control
 *   point's loop thread; time from ucp_search to UCP_SEARCH_COMPLETE with
 *   1,000 simulated devices (MX 1 and 2, upnp:rootdevice and ssdp:all);
 *   heap per cached device, with and without its description tree.
 *
 * The responses benchmark is unicast to and from 127.0.0.1 only. The
 * 1,000-device part sends SSDP multicast and runs only inside a private
 * network namespace whose sole interface is lo (tests/netns_run.sh; `make
 * bench` does that); anywhere else it is skipped.
 * Run: tests/netns_run.sh build/bench/ucp_bench_ssdp [responses] [rounds]
 * Benchmarks print figures; no target is asserted. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"
#include "bench_util.h"
#include "upnpcp.h"

enum { ROUNDS_MAX = 9, UDNS = 100, BATCH = 32, WINDOW = 128, PAUSE_US = 20,
       CONFIG_EVERY = 1000, SIM_DEVICES = 1000 };
static const double RATE_ROUND_MAX_S = 20.0; /* sending stops after this */

static int rounds = 5;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(clockid_t c) {
  struct timespec ts;
  if (clock_gettime(c, &ts) != 0) return 0;
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(double ms) {
  long ns = (long)(ms * 1e6);
  struct timespec ts = {(time_t)(ns / 1000000000L), ns % 1000000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* bench.c's table, with the precision chosen per row; n < 1 prints a
 * skipped row. */
static void row(const char *what, double *v, int n, int prec, const char *unit,
                const char *target) {
  if (n < 1) {
    printf("| %-44s | %12s | %-24s | %-8s | %-12s |\n", what, "skipped", "-",
           unit, target);
    return;
  }
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  char range[48];
  snprintf(range, sizeof range, "%.*f .. %.*f", prec, v[0], prec, v[n - 1]);
  printf("| %-44s | %12.*f | %-24s | %-8s | %-12s |\n", what, prec, v[n / 2],
         range, unit, target);
}

/* Kernel drops (receive buffer full) of the UDP sockets bound to `port`:
 * the last column of /proc/net/udp. */
static uint64_t udp_drops(unsigned port) {
  FILE *f = fopen("/proc/net/udp", "r");
  if (!f) return 0;
  char line[512];
  uint64_t sum = 0;
  if (!fgets(line, sizeof line, f)) line[0] = '\0'; /* the header */
  while (fgets(line, sizeof line, f)) {
    unsigned sl, lport;
    char laddr[16];
    if (sscanf(line, " %u: %8[0-9A-Fa-f]:%x", &sl, laddr, &lport) != 3)
      continue;
    /* Lines are padded with spaces to 127 columns: the last token. */
    char *last = NULL, *save = NULL;
    for (char *t = strtok_r(line, " \n", &save); t;
         t = strtok_r(NULL, " \n", &save))
      last = t;
    if (last && lport == port)
      sum += strtoull(last, NULL, 10);
  }
  fclose(f);
  return sum;
}

/* This namespace's UDP counters (/proc/net/snmp): InDatagrams, NoPorts,
 * InErrors, OutDatagrams, RcvbufErrors; and softnet backlog drops. */
typedef struct udp_snmp {
  unsigned long in, noports, inerr, out, rcvbuf, backlog;
} udp_snmp;

static udp_snmp udp_snmp_now(void) {
  udp_snmp u = {0};
  FILE *f = fopen("/proc/net/snmp", "r");
  char line[1024];
  int seen = 0;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "Udp: ", 5) == 0 && seen++ == 1)
      sscanf(line + 5, "%lu %lu %lu %lu %lu", &u.in, &u.noports, &u.inerr,
             &u.out, &u.rcvbuf);
  if (f) fclose(f);
  f = fopen("/proc/net/softnet_stat", "r");
  unsigned a, b;
  while (f && fscanf(f, "%x %x%*[^\n]", &a, &b) == 2) u.backlog += b;
  if (f) fclose(f);
  return u;
}

/* ==================================================================== */
/* 1. SSDP responses processed per second                               */
/* ==================================================================== */

typedef struct rate_ctx {
  atomic_int have_clock;
  clockid_t loop_clock; /* the control point's loop thread */
  atomic_long added, updated, failed, removed, complete;
} rate_ctx;

static void catch_clock(rate_ctx *c) {
  if (atomic_load(&c->have_clock)) return;
  clockid_t id;
  if (pthread_getcpuclockid(pthread_self(), &id) == 0) {
    c->loop_clock = id;
    atomic_store(&c->have_clock, 1);
  }
}

static void rate_event(uint64_t id, ucp_search_event ev, const ucp_found *f,
                       void *user) {
  rate_ctx *c = user;
  (void)id, (void)f;
  catch_clock(c);
  switch (ev) {
    case UCP_SEARCH_DEVICE_ADDED: atomic_fetch_add(&c->added, 1); break;
    case UCP_SEARCH_DEVICE_UPDATED: atomic_fetch_add(&c->updated, 1); break;
    case UCP_SEARCH_DEVICE_FAILED: atomic_fetch_add(&c->failed, 1); break;
    case UCP_SEARCH_DEVICE_REMOVED: atomic_fetch_add(&c->removed, 1); break;
    case UCP_SEARCH_COMPLETE: atomic_fetch_add(&c->complete, 1); break;
  }
}

static void rate_done(uint64_t id, const ucp_result *r, void *user) {
  (void)id, (void)user;
  fprintf(stderr, "responses benchmark: the search ended early: %s %s\n",
          ucp_err_name(ucp_result_status(r)), ucp_result_detail(r));
}

typedef struct rate_result {
  double wall_rate, cpu_rate, wall_s, loop_cpu_s, sender_cpu_s, process_cpu_s;
  long sent, received, cp_dropped, kernel_dropped;
  long added, updated, failed, loads;
  int ok;
} rate_result;

/* One well-formed M-SEARCH response (UDA 2.0 §1.3.3), ~330 bytes. */
static int response(char *buf, size_t cap, unsigned http_port, int u,
                    unsigned configid) {
  return snprintf(buf, cap,
                  "HTTP/1.1 200 OK\r\n"
                  "CACHE-CONTROL: max-age=1800\r\n"
                  "DATE: Sun, 22 Nov 2026 10:00:00 GMT\r\n"
                  "EXT:\r\n"
                  "LOCATION: http://127.0.0.1:%u/desc.xml?u=%d\r\n"
                  "SERVER: Linux/6 UPnP/1.1 ucp-bench/1.0\r\n"
                  "ST: upnp:rootdevice\r\n"
                  "USN: uuid:5eb1a2c0-0000-4000-8000-%012d::upnp:rootdevice\r\n"
                  "BOOTID.UPNP.ORG: 1\r\n"
                  "CONFIGID.UPNP.ORG: %u\r\n"
                  "\r\n",
                  http_port, u, u, configid);
}

static uint64_t received(ucp_cp *cp) {
  return ucp_cp_counter(cp, UCP_COUNTER_SSDP_RECEIVED);
}

/* Waits (bounded) until *v reaches want. */
static long wait_atomic(atomic_long *v, long want, double max_s) {
  double end = now_s() + max_s;
  while (atomic_load(v) < want && now_s() < end) sleep_ms(2);
  return atomic_load(v);
}

/*
 * A unicast-only search whose one target is our own socket: the M-SEARCH
 * tells us the search's port, then `n` responses go to it. Responses
 * cycle over UDNS UDNs (the first UDNS are new devices: record, index and
 * a description load each, every LOCATION distinct through a query
 * string); the rest refresh the cache, and every CONFIG_EVERY-th one
 * carries a new CONFIGID for its device (a reload, UPDATED). Sending is
 * paced by the control point's own counter: at most WINDOW datagrams are
 * in flight, so the socket buffer (rmem_default) does not overflow.
 */
static rate_result responses_per_second(ucp_sim *sim, long n) {
  rate_result res = {0};
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in me = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof me;
  if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof me) != 0 ||
      getsockname(fd, (struct sockaddr *)&me, &len) != 0) {
    perror("responses benchmark: socket");
    if (fd >= 0) close(fd);
    return res;
  }
  ucp_cp *cp;
  if (ucp_cp_new(NULL, &cp) != UCP_OK) abort();
  rate_ctx ctx = {0};
  ucp_search_opts *so = ucp_search_opts_new();
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%u", ntohs(me.sin_port));
  ucp_search_opts_set_multicast(so, 0);
  ucp_search_opts_add_unicast(so, target);
  ucp_call_opts *co = ucp_call_opts_new();
  ucp_call_opts_set_deadline(co, 120000);
  uint64_t id;
  int rc = ucp_search(cp, "upnp:rootdevice", so, co, rate_event, rate_done,
                      &ctx, &id);
  ucp_search_opts_free(so);
  ucp_call_opts_free(co);
  if (rc != UCP_OK) abort();

  /* The first M-SEARCH: its source is the search's socket. */
  char buf[2048];
  struct sockaddr_in cp_addr;
  struct pollfd p = {fd, POLLIN, 0};
  ssize_t got = -1;
  for (int tries = 0; tries < 4 && got < 0; tries++) {
    if (poll(&p, 1, 1000) != 1) continue;
    len = sizeof cp_addr;
    got = recvfrom(fd, buf, sizeof buf - 1, MSG_DONTWAIT,
                   (struct sockaddr *)&cp_addr, &len);
    if (got > 0 && strncmp(buf, "M-SEARCH * ", 11) != 0) got = -1;
  }
  if (got < 0) {
    fprintf(stderr, "responses benchmark: no M-SEARCH arrived\n");
    ucp_cancel(cp, id);
    ucp_cp_free(cp);
    close(fd);
    return res;
  }
  cp_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  unsigned cp_port = ntohs(cp_addr.sin_port);
  unsigned http_port = ucp_sim_port(sim);

  /* Warm-up, not timed: one device of its own, whose ADDED event tells us
   * the loop thread's CPU clock. */
  int wn = response(buf, sizeof buf, http_port, 999999, 1);
  sendto(fd, buf, (size_t)wn, 0, (struct sockaddr *)&cp_addr, sizeof cp_addr);
  wait_atomic(&ctx.added, 1, 5.0);
  if (!atomic_load(&ctx.have_clock)) {
    fprintf(stderr, "responses benchmark: the warm-up device never came\n");
    ucp_cancel(cp, id);
    ucp_cp_free(cp);
    close(fd);
    return res;
  }
  long added0 = atomic_load(&ctx.added);

  unsigned configid[UDNS];
  for (int u = 0; u < UDNS; u++) configid[u] = 1;
  static char msgs[BATCH][512];
  struct mmsghdr mm[BATCH];
  struct iovec iov[BATCH];
  memset(mm, 0, sizeof mm);

  uint64_t base = received(cp);
  uint64_t cp_drop0 = ucp_cp_counter(cp, UCP_COUNTER_SSDP_DROPPED);
  uint64_t kdrop0 = udp_drops(cp_port);
  uint64_t loads0 = ucp_sim_requests(sim);
  double t0 = now_s();
  double loop0 = cpu_s(ctx.loop_clock);
  double me0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
  double proc0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
  long sent = 0;
  while (sent < n && now_s() - t0 < RATE_ROUND_MAX_S) {
    long inflight = sent - (long)(received(cp) - base);
    if (inflight + BATCH > WINDOW) {
      struct timespec ts = {0, PAUSE_US * 1000L};
      nanosleep(&ts, NULL);
      continue;
    }
    int k = 0;
    for (; k < BATCH && sent + k < n; k++) {
      long i = sent + k;
      int u = (int)(i % UDNS);
      if (i >= UDNS && i % CONFIG_EVERY == CONFIG_EVERY / 2) {
        u = (int)((i / CONFIG_EVERY) % UDNS); /* spread over the devices */
        configid[u]++;
      }
      int m = response(msgs[k], sizeof msgs[k], http_port, u, configid[u]);
      iov[k].iov_base = msgs[k];
      iov[k].iov_len = (size_t)m;
      mm[k].msg_hdr.msg_iov = &iov[k];
      mm[k].msg_hdr.msg_iovlen = 1;
      mm[k].msg_hdr.msg_name = &cp_addr;
      mm[k].msg_hdr.msg_namelen = sizeof cp_addr;
    }
    int s = sendmmsg(fd, mm, (unsigned)k, 0);
    if (s > 0) sent += s;
    else if (errno != EINTR && errno != EAGAIN && errno != ENOBUFS) break;
  }
  /* The last datagrams: wait until the counter reaches what was sent or
   * stops moving (a kernel drop) for 300 ms. */
  uint64_t last = received(cp) - base;
  double t_last = now_s();
  while (last < (uint64_t)sent && now_s() - t_last < 0.3) {
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
    uint64_t r = received(cp) - base;
    if (r != last) last = r, t_last = now_s();
  }
  double loop1 = cpu_s(ctx.loop_clock);
  double me1 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
  double proc1 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);

  res.sent = sent;
  res.received = (long)last;
  res.cp_dropped =
      (long)(ucp_cp_counter(cp, UCP_COUNTER_SSDP_DROPPED) - cp_drop0);
  res.kernel_dropped = (long)(udp_drops(cp_port) - kdrop0);
  res.wall_s = t_last - t0;
  res.loop_cpu_s = loop1 - loop0;
  res.sender_cpu_s = me1 - me0;
  res.process_cpu_s = proc1 - proc0;
  res.wall_rate = res.wall_s > 0 ? (double)last / res.wall_s : 0;
  res.cpu_rate = res.loop_cpu_s > 0 ? (double)last / res.loop_cpu_s : 0;
  /* Not timed: the description loads still running settle. */
  wait_atomic(&ctx.added, added0 + UDNS, 5.0);
  double settle = now_s() + 2.0;
  uint64_t l = ucp_sim_requests(sim);
  while (now_s() < settle) {
    sleep_ms(100);
    uint64_t l2 = ucp_sim_requests(sim);
    if (l2 == l) break;
    l = l2;
  }
  res.added = atomic_load(&ctx.added) - added0;
  res.updated = atomic_load(&ctx.updated);
  res.failed = atomic_load(&ctx.failed);
  res.loads = (long)(ucp_sim_requests(sim) - loads0);
  res.ok = 1;
  ucp_cancel(cp, id);
  ucp_cp_free(cp);
  close(fd);
  return res;
}

/* ==================================================================== */
/* 2. 1,000 simulated devices: the simulator in a child process          */
/* ==================================================================== */

/* The simulator runs in a child process (forked before any thread
 * exists), so neither its heap (1,000 HTTP servers, their connections)
 * nor its CPU is counted with the control point's. */
typedef struct sim_info {
  int ok;
  char dev0_location[128];
} sim_info;

typedef struct sim_stats {
  uint64_t msearch, dropped;
} sim_stats;

typedef struct sim_child {
  pid_t pid;
  int cmd, reply; /* pipes: parent -> child, child -> parent */
} sim_child;

/* Device i of the layout has the default UUID with i added to its last
 * group (UCP_SIM_DEFAULT_UUID ends in 001788010001), whichever simulator
 * serves it: simulator k of n starts at i = k * SIM_DEVICES / n. */
#define SIM_UUID_PREFIX "2f402f80-da50-11e1-9b23-"
static const long long SIM_UUID_LAST = 0x001788010001LL;

static void sims_stop(ucp_sim **sims, int n) {
  for (int k = 0; k < n; k++) ucp_sim_stop(sims[k]);
}

/* Commands: 'S' n (start n simulators of SIM_DEVICES / n devices each,
 * stopping the previous ones; replies a sim_info), 'Q' (replies the
 * summed sim_stats); end of file stops everything. */
static void child_main(int cmd, int reply) {
  ucp_sim *sims[2] = {NULL, NULL};
  int nsims = 0;
  char c;
  while (read_full(cmd, &c, 1) == 0) {
    if (c == 'S') {
      char n;
      if (read_full(cmd, &n, 1) != 0 || n < 1 || n > 2) break;
      sims_stop(sims, nsims);
      nsims = 0;
      sim_info info = {0};
      info.ok = 1;
      for (int k = 0; k < n && info.ok; k++) {
        char uuid[64];
        snprintf(uuid, sizeof uuid, SIM_UUID_PREFIX "%012llx",
                 SIM_UUID_LAST + (long long)k * (SIM_DEVICES / n));
        ucp_sim_opts o = {0};
        o.ssdp = 1; /* "lo", port 1900: this namespace's loopback only */
        o.devices = SIM_DEVICES / n;
        o.uuid = uuid;
        o.alive_interval_s = 3600; /* no re-advertising while we measure */
        if (ucp_sim_start(&o, &sims[k]) != 0) info.ok = 0;
        else nsims++;
      }
      if (info.ok)
        snprintf(info.dev0_location, sizeof info.dev0_location, "%s",
                 ucp_sim_device_location(sims[0], 0));
      write_full(reply, &info, sizeof info);
    } else if (c == 'Q') {
      sim_stats st = {0, 0};
      for (int k = 0; k < nsims; k++) {
        st.msearch += ucp_sim_msearch_received(sims[k]);
        st.dropped += ucp_sim_ssdp_dropped(sims[k]);
      }
      write_full(reply, &st, sizeof st);
    } else {
      break;
    }
  }
  sims_stop(sims, nsims);
  _exit(0);
}

static int child_fork(sim_child *ch) {
  if (bench_fork(child_main, &ch->pid, &ch->cmd, &ch->reply) != 0)
    return -1;
  return 0;
}

static int child_start(sim_child *ch, int nsims, sim_info *info) {
  char cmd[2] = {'S', (char)nsims};
  return write_full(ch->cmd, cmd, 2) == 0 &&
                 read_full(ch->reply, info, sizeof *info) == 0 && info->ok
             ? 0
             : -1;
}

static sim_stats child_stats(sim_child *ch) {
  sim_stats st = {0};
  if (write_full(ch->cmd, "Q", 1) != 0 ||
      read_full(ch->reply, &st, sizeof st) != 0)
    memset(&st, 0, sizeof st);
  return st;
}

/* Closing the command pipe stops the simulator; bounded wait, then kill
 * the child (ours, by its pid). */
static void child_stop(sim_child *ch) {
  if (ch->pid <= 0) return;
  close(ch->cmd);
  close(ch->reply);
  for (int i = 0; i < 500; i++) {
    if (waitpid(ch->pid, NULL, WNOHANG) == ch->pid) {
      ch->pid = 0;
      return;
    }
    sleep_ms(10);
  }
  kill(ch->pid, SIGKILL);
  waitpid(ch->pid, NULL, 0);
  ch->pid = 0;
}

typedef struct hunt {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  unsigned char seen[SIM_DEVICES]; /* ADDED, by simulator device index */
  double t0, t_complete, t_last_added;
  int added, failed, complete, done, status;
  int added_at_complete, failed_at_complete;
} hunt;

static void hunt_event(uint64_t id, ucp_search_event ev, const ucp_found *f,
                       void *user) {
  hunt *h = user;
  (void)id;
  double t = now_s();
  pthread_mutex_lock(&h->lock);
  if (ev == UCP_SEARCH_DEVICE_ADDED) {
    h->added++;
    h->t_last_added = t;
    const char *u = ucp_found_udn(f), *g = u ? strrchr(u, '-') : NULL;
    long long i = g ? strtoll(g + 1, NULL, 16) - SIM_UUID_LAST : -1;
    if (i >= 0 && i < SIM_DEVICES) h->seen[i] = 1;
  } else if (ev == UCP_SEARCH_DEVICE_FAILED) {
    h->failed++;
  } else if (ev == UCP_SEARCH_COMPLETE) {
    h->complete++;
    h->t_complete = t;
    h->added_at_complete = h->added;
    h->failed_at_complete = h->failed;
    pthread_cond_broadcast(&h->cond);
  }
  pthread_mutex_unlock(&h->lock);
}

static void hunt_done(uint64_t id, const ucp_result *r, void *user) {
  hunt *h = user;
  (void)id;
  pthread_mutex_lock(&h->lock);
  h->done = 1;
  h->status = ucp_result_status(r);
  pthread_cond_broadcast(&h->cond);
  pthread_mutex_unlock(&h->lock);
}

typedef struct warm {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int done;
} warm;

static void warm_done(uint64_t id, const ucp_result *r, void *user) {
  warm *w = user;
  (void)id, (void)r;
  pthread_mutex_lock(&w->lock);
  w->done = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

typedef struct hunt_result {
  double seconds, last_added_s;
  int added, failed, complete, added_later;
  int missing[4], nmissing; /* device indices never ADDED (first 4) */
  uint64_t cp_received, cp_dropped;
  udp_snmp snmp;
  double mem_total, mem_released; /* bytes per device */
  long kernel_dropped;
  uint64_t sim_msearch, sim_dropped;
} hunt_result;

/* One search on lo against the child's 1,000 devices, with a fresh
 * control point (no connection cached from an earlier round). */
static hunt_result search_1000(sim_child *ch, const sim_info *info,
                               const char *st, int mx) {
  hunt_result res = {0};
  /* Every simulated device answers from 127.0.0.1: lift the per-address
   * cap (default 256) above the 1,000 devices. */
  ucp_cp_opts *o = ucp_cp_opts_new();
  ucp_cp_opts_set_limit(o, UCP_LIMIT_SEARCH_PER_HOST, 4096);
  ucp_cp *cp;
  if (ucp_cp_new(o, &cp) != UCP_OK) abort();
  ucp_cp_opts_free(o);
  /* Warm the HTTP engine (curl multi, parser pool) so its fixed cost is
   * not counted per device. */
  warm w = {.done = 0};
  pthread_mutex_init(&w.lock, NULL);
  pthread_cond_init(&w.cond, NULL);
  uint64_t wid;
  if (ucp_load_description(cp, info->dev0_location, NULL, warm_done, &w,
                           &wid) == UCP_OK) {
    pthread_mutex_lock(&w.lock);
    double end = now_s() + 5;
    while (!w.done && now_s() < end) {
      pthread_mutex_unlock(&w.lock);
      sleep_ms(5);
      pthread_mutex_lock(&w.lock);
    }
    pthread_mutex_unlock(&w.lock);
  }
  hunt h;
  memset(&h, 0, sizeof h);
  pthread_mutex_init(&h.lock, NULL);
  pthread_cond_init(&h.cond, NULL);
  ucp_search_opts *so = ucp_search_opts_new();
  ucp_search_opts_add_interface(so, "lo");
  ucp_search_opts_set_mx(so, mx);
  sim_stats s0 = child_stats(ch);
  udp_snmp u0 = udp_snmp_now();
  uint64_t r0 = ucp_cp_counter(cp, UCP_COUNTER_SSDP_RECEIVED);
  uint64_t d0 = ucp_cp_counter(cp, UCP_COUNTER_SSDP_DROPPED);
  malloc_trim(0);
  size_t before = mallinfo2().uordblks;
  uint64_t id;
  h.t0 = now_s();
  int rc = ucp_search(cp, st, so, NULL, hunt_event, hunt_done, &h, &id);
  ucp_search_opts_free(so);
  if (rc != UCP_OK) {
    fprintf(stderr, "ucp_search: %s\n", ucp_err_name(rc));
    ucp_cp_free(cp);
    return res;
  }
  pthread_mutex_lock(&h.lock);
  double deadline = h.t0 + mx + 20.0;
  while (!h.complete && !h.done && now_s() < deadline) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&h.cond, &h.lock, &ts);
  }
  res.complete = h.complete;
  res.seconds = h.complete ? h.t_complete - h.t0 : now_s() - h.t0;
  res.last_added_s = h.t_last_added > 0 ? h.t_last_added - h.t0 : 0;
  res.added = h.complete ? h.added_at_complete : h.added;
  res.failed = h.complete ? h.failed_at_complete : h.failed;
  pthread_mutex_unlock(&h.lock);
  size_t after = mallinfo2().uordblks;
  sim_stats s1 = child_stats(ch);
  udp_snmp u1 = udp_snmp_now();
  res.snmp = (udp_snmp){u1.in - u0.in, u1.noports - u0.noports,
                        u1.inerr - u0.inerr, u1.out - u0.out,
                        u1.rcvbuf - u0.rcvbuf, u1.backlog - u0.backlog};
  res.kernel_dropped = (long)(res.snmp.rcvbuf + res.snmp.backlog);
  res.cp_received = ucp_cp_counter(cp, UCP_COUNTER_SSDP_RECEIVED) - r0;
  res.cp_dropped = ucp_cp_counter(cp, UCP_COUNTER_SSDP_DROPPED) - d0;
  res.sim_msearch = s1.msearch - s0.msearch;
  res.sim_dropped = s1.dropped - s0.dropped;
  pthread_mutex_lock(&h.lock);
  res.added_later = h.added - res.added;
  for (int i = 0; i < SIM_DEVICES; i++)
    if (!h.seen[i] && res.nmissing++ < 4) res.missing[res.nmissing - 1] = i;
  pthread_mutex_unlock(&h.lock);
  int crc = ucp_cancel(cp, id);
  sleep_ms(300); /* the loop releases the cancelled search */
  size_t released = mallinfo2().uordblks;
  if (crc != UCP_OK)
    fprintf(stderr, "cancel after COMPLETE: %s\n", ucp_err_name(crc));
  if (res.added > 0) {
    res.mem_total = ((double)after - (double)before) / res.added;
    res.mem_released = ((double)after - (double)released) / res.added;
  }
  ucp_cp_free(cp);
  pthread_mutex_destroy(&h.lock);
  pthread_cond_destroy(&h.cond);
  pthread_mutex_destroy(&w.lock);
  pthread_cond_destroy(&w.cond);
  return res;
}

/* ==================================================================== */
/* 3. A description tree on its own                                     */
/* ==================================================================== */

/* GET url (http://127.0.0.1:port/path) with a plain socket; the body is
 * returned malloc'd, NULL on failure. */
static char *http_get(const char *url, size_t *len) {
  unsigned port;
  char path[256];
  if (sscanf(url, "http://127.0.0.1:%u%255s", &port, path) != 2) return NULL;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    if (fd >= 0) close(fd);
    return NULL;
  }
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n"
                   "Connection: close\r\n\r\n", path, port);
  if (write_full(fd, req, (size_t)n) != 0) {
    close(fd);
    return NULL;
  }
  size_t cap = 65536, used = 0;
  char *buf = malloc(cap);
  ssize_t r;
  while (buf && used < cap - 1 && (r = read(fd, buf + used, cap - 1 - used)) > 0)
    used += (size_t)r;
  close(fd);
  if (!buf) return NULL;
  buf[used] = '\0';
  char *body = strstr(buf, "\r\n\r\n");
  if (!body) {
    free(buf);
    return NULL;
  }
  body += 4;
  *len = used - (size_t)(body - buf);
  memmove(buf, body, *len + 1);
  return buf;
}

/* Heap of one parsed tree: K parses of the same document kept alive. */
static double tree_bytes(const char *url) {
  enum { K = 1000 };
  size_t len;
  char *xml = http_get(url, &len);
  if (!xml) return 0;
  const ucp_description *d[K];
  const ucp_description *warm1;
  if (ucp_description_parse(xml, len, url, &warm1, NULL, 0) != UCP_OK) {
    free(xml);
    return 0;
  }
  ucp_description_unref(warm1);
  malloc_trim(0);
  size_t before = mallinfo2().uordblks;
  int ok = 0;
  for (int i = 0; i < K; i++)
    if (ucp_description_parse(xml, len, url, &d[i], NULL, 0) == UCP_OK) ok++;
    else d[i] = NULL;
  size_t after = mallinfo2().uordblks;
  for (int i = 0; i < K; i++)
    if (d[i]) ucp_description_unref(d[i]);
  free(xml);
  return ok ? ((double)after - (double)before) / ok : 0;
}

/* ==================================================================== */

/* Multicast only where it cannot leave: a network namespace other than
 * PID 1's whose only interface is lo (tests/netns_run.sh makes one). */
static int private_netns(void) {
  char a[64] = "", b[64] = "";
  ssize_t na = readlink("/proc/self/ns/net", a, sizeof a - 1);
  ssize_t nb = readlink("/proc/1/ns/net", b, sizeof b - 1);
  if (na <= 0 || (nb > 0 && strcmp(a, b) == 0)) return 0;
  struct ifaddrs *all = NULL, *i;
  if (getifaddrs(&all) != 0) return 0;
  int only_lo = 1;
  for (i = all; i; i = i->ifa_next)
    if (strcmp(i->ifa_name, "lo") != 0) only_lo = 0;
  freeifaddrs(all);
  return only_lo;
}

static void raise_fd_limit(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

typedef struct config {
  const char *st;
  int mx, nsims; /* SIM_DEVICES devices in nsims simulators */
} config;

/* The simulator keeps at most 4,096 responses queued (sim_ssdp.c,
 * SIM_QUEUE_RESPONSES): ssdp:all makes 5 per device, so one simulator of
 * 1,000 devices answers for the first 819 only. The last two rows split
 * the same 1,000 devices over two simulators (both on port 1900). */
static const config configs[] = {
    {"upnp:rootdevice", 1, 1}, {"upnp:rootdevice", 2, 1},
    {"ssdp:all", 1, 1},        {"ssdp:all", 2, 1},
    {"ssdp:all", 1, 2},        {"ssdp:all", 2, 2}};
enum { NCONF = sizeof configs / sizeof configs[0] };

static void config_name(const config *c, const char *what, char *out,
                        size_t cap) {
  snprintf(out, cap, "%s, %s, MX %d, %s", what,
           c->nsims == 1 ? "1000 devices" : "2x500 dev.", c->mx, c->st);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 500000;
  if (argc > 2) rounds = atoi(argv[2]);
  if (rounds < 1 || rounds > ROUNDS_MAX) rounds = 5;
  if (n < 1000) n = 1000;
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  int mcast = private_netns();
  sim_child ch = {0};
  /* Forked before any thread exists. */
  if (mcast && child_fork(&ch) != 0) {
    perror("fork");
    mcast = 0;
  }

  ucp_sim *sim;
  ucp_sim_opts o = {0};
  if (ucp_sim_start(&o, &sim) != 0) return 1;

  /* 1. Responses per second. */
  double wall[ROUNDS_MAX], cpu[ROUNDS_MAX];
  rate_result rr[ROUNDS_MAX];
  int nrate = 0;
  for (int r = 0; r < rounds; r++) {
    rr[r] = responses_per_second(sim, n);
    if (!rr[r].ok) continue;
    wall[nrate] = rr[r].wall_rate;
    cpu[nrate] = rr[r].cpu_rate;
    nrate++;
  }
  /* 3. One description tree (the simulator's BinaryLight). */
  double tree = tree_bytes(ucp_sim_description_url(sim));
  ucp_sim_stop(sim);

  /* 2. 1,000 devices, rounds interleaved across the configurations. */
  static hunt_result hr[NCONF][ROUNDS_MAX];
  double secs[NCONF][ROUNDS_MAX], added[NCONF][ROUNDS_MAX];
  double mem[ROUNDS_MAX * NCONF], rel[ROUNDS_MAX * NCONF];
  int nsec[NCONF] = {0}, nadd[NCONF] = {0}, nmem = 0, ran[NCONF] = {0};
  int broken = nrate == 0; /* a failure to run, not a missed target */
  for (int layout = 1; mcast && layout <= 2; layout++) {
    sim_info info = {0};
    if (child_start(&ch, layout, &info) != 0) {
      fprintf(stderr, "the simulator (%d x %d devices) did not start\n",
              layout, SIM_DEVICES / layout);
      broken = 1;
      break;
    }
    sleep_ms(1500); /* its first ssdp:alive burst (10,000 NOTIFYs) is over */
    for (int r = 0; r < rounds; r++)
      for (int c = 0; c < NCONF; c++) {
        if (configs[c].nsims != layout) continue;
        hunt_result *h = &hr[c][r];
        *h = search_1000(&ch, &info, configs[c].st, configs[c].mx);
        ran[c]++;
        if (h->complete) secs[c][nsec[c]++] = h->seconds;
        added[c][nadd[c]++] = h->added;
        if (layout == 1 && h->added > 0) {
          mem[nmem] = h->mem_total;
          rel[nmem++] = h->mem_released;
        }
      }
  }

  printf("upnpcp %s discovery benchmarks (%ld responses a round; "
         "median of %d rounds)\n\n", ucp_version(NULL), n, rounds);
  printf("| %-44s | %12s | %-24s | %-8s | %-12s |\n", "measure", "median",
         "range", "unit", "target");
  printf("|%s|%s|%s|%s|%s|\n", "----------------------------------------------",
         "--------------", "--------------------------", "----------",
         "--------------");
  row("SSDP responses processed, wall time", wall, nrate, 0, "resp/s",
      ">= 100000");
  row("SSDP responses per loop-thread CPU second", cpu, nrate, 0, "resp/s",
      ">= 100000");
  char what[96], tgt[32];
  for (int c = 0; c < NCONF; c++) {
    config_name(&configs[c], "search", what, sizeof what);
    snprintf(tgt, sizeof tgt, "< %d (MX+1)", configs[c].mx + 1);
    row(what, secs[c], nsec[c], 2, "s", tgt);
  }
  for (int c = 0; c < NCONF; c++) {
    config_name(&configs[c], "ADDED", what, sizeof what);
    row(what, added[c], nadd[c], 0, "devices", "1000");
  }
  row("heap per cached device, search total", mem, nmem, 0, "bytes", "-");
  row("... freed by cancelling the search", rel, nmem, 0, "bytes", "-");
  double treev[1] = {tree};
  row("... one description tree (parse)", treev, tree > 0 ? 1 : 0, 0,
      "bytes", "-");
  double without[ROUNDS_MAX * NCONF], rec[ROUNDS_MAX * NCONF];
  for (int i = 0; i < nmem; i++) {
    without[i] = mem[i] - tree;
    rec[i] = rel[i] - tree;
  }
  row("... without the tree (total - tree)", without, tree > 0 ? nmem : 0, 0,
      "bytes", "-");
  row("... record without the tree (freed - tree)", rec, tree > 0 ? nmem : 0,
      0, "bytes", "-");

  printf("\nresponses, per round: %d new UDNs (a description load each, "
         "LOCATION /desc.xml?u=N), then refreshes of them, every %dth with "
         "a new CONFIGID (a reload); at most %d datagrams in flight\n",
         UDNS, CONFIG_EVERY, WINDOW);
  for (int r = 0; r < rounds; r++) {
    if (!rr[r].ok) {
      printf("  #%d: failed\n", r + 1);
      continue;
    }
    printf("  #%d: sent %ld, received %ld, kernel-dropped %ld, cp-dropped "
           "%ld in %.3f s | CPU s: loop thread %.3f, sender %.3f, process "
           "%.3f | ADDED %ld, UPDATED %ld, FAILED %ld, GETs %ld\n",
           r + 1, rr[r].sent, rr[r].received, rr[r].kernel_dropped,
           rr[r].cp_dropped, rr[r].wall_s, rr[r].loop_cpu_s,
           rr[r].sender_cpu_s, rr[r].process_cpu_s, rr[r].added,
           rr[r].updated, rr[r].failed, rr[r].loads);
  }
  if (mcast) {
    printf("\nsearches on lo (a fresh control point each; the simulators "
           "in a child process), per round:\n");
    for (int c = 0; c < NCONF; c++)
      for (int r = 0; r < ran[c]; r++) {
        hunt_result *h = &hr[c][r];
        printf("  %-15s MX %d %s #%d: COMPLETE %s %.3f s, last ADDED %.3f s, "
               "ADDED %d (+%d later), FAILED %d | sim: M-SEARCH %llu, "
               "responses not sent %llu | namespace UDP: out %lu, in %lu, "
               "receive-buffer drops %lu | cp: received %llu, dropped %llu | "
               "heap %.0f B/dev, %.0f freed by cancel",
               configs[c].st, configs[c].mx,
               configs[c].nsims == 1 ? "1x1000" : "2x500", r + 1,
               h->complete ? "at" : "NOT", h->seconds, h->last_added_s,
               h->added, h->added_later, h->failed,
               (unsigned long long)h->sim_msearch,
               (unsigned long long)h->sim_dropped, h->snmp.out, h->snmp.in,
               h->snmp.rcvbuf, (unsigned long long)h->cp_received,
               (unsigned long long)h->cp_dropped, h->mem_total,
               h->mem_released);
        if (h->snmp.backlog) printf(" | backlog drops %lu", h->snmp.backlog);
        if (h->nmissing) {
          printf(" | %d never ADDED:", h->nmissing);
          for (int i = 0; i < h->nmissing && i < 4; i++)
            printf(" #%d", h->missing[i]);
          if (h->nmissing > 4) printf(" ...");
        }
        printf("\n");
      }
  } else {
    printf("\nthe 1000-device part is skipped: it sends multicast, so it runs "
           "only in a private network namespace (tests/netns_run.sh %s)\n",
           argv[0]);
  }
  if (ch.pid > 0) child_stop(&ch);
  return broken;
}
