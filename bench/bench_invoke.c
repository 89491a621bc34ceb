/* bench_invoke.c - invoke throughput, latency and control-point CPU,
 * beside wrk's raw HTTP limit for the same POST, printed as one table.
 *
 * For each in-flight count N (default 1, 16, 128) and each round:
 *   - wrk replays, on N kept-alive connections, the exact bytes the control
 *     point sends for this invoke (captured once from ucp_invoke_url on a
 *     listening socket of ours, Host header set to the real target);
 *   - a fresh control point keeps exactly N invokes in flight for S
 *     seconds (every completion callback starts the next one), once with a
 *     NULL scpd (raw) and once with the service's SCPD (checked arguments,
 *     typed out-arguments). UCP_LIMIT_HTTP_PER_HOST and
 *     UCP_LIMIT_HTTP_ACTIVE are both set to N so nothing waits in a queue.
 * Latency is per invoke, from the start call to the completion callback
 * (CLOCK_MONOTONIC); every latency of the window is kept and sorted, so
 * p50/p99 are exact. CPU is the control point's: getrusage(RUSAGE_SELF) of
 * this process (the simulator runs in a child process, wrk in another) and
 * the loop thread's own clock (pthread_getcpuclockid inside a callback),
 * over the measured window, divided by the invokes completed in it.
 *
 * Target: by default the simulator (ucp_sim_start in a child process forked
 * before any thread exists), SwitchPower:1 GetStatus at <base>/ctl/
 * SwitchPower. With --url/--type/--action any device (e.g. minidlna's
 * ContentDirectory GetSystemUpdateID; bench/bench_invoke.sh runs that in a
 * private network namespace); --desc names its description so the SCPD can
 * be downloaded for the "with SCPD" rows.
 *
 * --cps K: K control points, each with its own loop thread, share each
 * in-flight count N (N/K each), as wrk -t2 shares its connections between
 * two threads; CPU and latencies are over all of them ("loop" is the sum
 * of the loop threads). One control point per core is how an application
 * goes past one core; the default is 1.
 *
 * --pin C,S: this process (the control point) and wrk on CPU C, the
 * simulator on CPU S (bench_invoke.sh also starts minidlna on S): each
 * client gets one core and the server another, so the server's own limit
 * is what wrk measures, not how two clients share cores with it.
 *
 * Run: bench/bench_invoke.sh (make bench), or ./build/bench/ucp_bench_invoke
 * [--rounds 3] [--seconds 5] ...: about 2.5 minutes with the defaults.
 * Loopback only. Exit status: 0; 1 when an invoke was lost (completions !=
 * starts, the library's counters disagree, or - with the simulator - its
 * count of executed actions differs from the starts), failed (status !=
 * UCP_OK) or could not be started; 2 usage; 3 setup failure. Missed
 * throughput/CPU targets are reported, not fatal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
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

enum { ROUNDS_MAX = 15, NMAX = 8, ARGS_MAX = 16, INFLIGHT_MAX = 4096,
       CPS_MAX = 8 };
static const double WARMUP_S = 0.5;
static const double DRAIN_MAX_S = 40.0; /* > the 30 s invoke deadline */

/* ------------------------------------------------------------ utilities */

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double now_s(void) { return (double)mono_ns() / 1e9; }

static double clock_s(clockid_t c) {
  struct timespec ts;
  if (clock_gettime(c, &ts) != 0) return 0;
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* User + system seconds of a struct rusage. */
static double ru_s(const struct rusage *u) {
  return (double)u->ru_utime.tv_sec + (double)u->ru_utime.tv_usec / 1e6 +
         (double)u->ru_stime.tv_sec + (double)u->ru_stime.tv_usec / 1e6;
}

static double rusage_s(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return ru_s(&u);
}

/* "http://host[:port]/path?q" -> authority "host[:port]" and path "/path?q".
 * 0 or -1. */
static int split_url(const char *url, char *auth, size_t na, char *path,
                     size_t np) {
  if (strncmp(url, "http://", 7) != 0) return -1;
  const char *a = url + 7, *p = strchr(a, '/');
  size_t al = p ? (size_t)(p - a) : strlen(a);
  if (al == 0 || al >= na) return -1;
  memcpy(auth, a, al);
  auth[al] = '\0';
  snprintf(path, np, "%s", p ? p : "/");
  return 0;
}

/* ------------------------------------------------- the simulator child */

/* The simulator runs in a child process forked before any thread exists:
 * its CPU is not in this process's getrusage. Commands on a pipe: 'Q'
 * replies sim_stats; end of file stops it. */
typedef struct sim_stats {
  uint64_t actions, faults, requests, connections;
  double cpu_s; /* the child's getrusage(RUSAGE_SELF) */
} sim_stats;

typedef struct sim_child {
  pid_t pid;
  int cmd, reply;
  char base[128], desc[160];
} sim_child;

typedef struct sim_hello {
  int ok;
  char base[128], desc[160];
} sim_hello;

static int pin_client = -1, pin_server = -1; /* --pin */

/* This thread, and the threads it makes from now on, on CPU `cpu`. */
static int pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set);
}

static void child_main(int cmd, int reply) {
  if (pin_server >= 0) pin_to(pin_server);
  ucp_sim *sim = NULL;
  ucp_sim_opts o = {0};
  sim_hello h = {0};
  if (ucp_sim_start(&o, &sim) == 0) {
    h.ok = 1;
    snprintf(h.base, sizeof h.base, "%s", ucp_sim_base_url(sim));
    snprintf(h.desc, sizeof h.desc, "%s", ucp_sim_description_url(sim));
  }
  write_full(reply, &h, sizeof h);
  char c;
  while (h.ok && read_full(cmd, &c, 1) == 0 && c == 'Q') {
    sim_stats st = {ucp_sim_actions(sim), ucp_sim_faults_sent(sim),
                    ucp_sim_requests(sim), ucp_sim_connections(sim),
                    rusage_s()};
    write_full(reply, &st, sizeof st);
  }
  ucp_sim_stop(sim);
  _exit(0);
}

static int child_fork(sim_child *ch) {
  if (bench_fork(child_main, &ch->pid, &ch->cmd, &ch->reply) != 0)
    return -1;
  sim_hello h;
  if (read_full(ch->reply, &h, sizeof h) != 0 || !h.ok) return -1;
  snprintf(ch->base, sizeof ch->base, "%s", h.base);
  snprintf(ch->desc, sizeof ch->desc, "%s", h.desc);
  return 0;
}

static sim_stats child_stats(sim_child *ch) {
  sim_stats st;
  memset(&st, 0, sizeof st);
  if (ch && ch->pid > 0) bench_query(ch->cmd, ch->reply, &st, sizeof st);
  return st;
}

/* Until the simulator has been idle for 100 ms (at most 5 s): a wrk run
 * just before leaves requests the server is still executing after wrk has
 * gone, and they must not count in the next run's executed actions. */
static void child_settle(sim_child *ch) {
  if (!ch || ch->pid <= 0) return;
  sim_stats a = child_stats(ch);
  for (int i = 0; i < 50; i++) {
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    sim_stats b = child_stats(ch);
    if (b.requests == a.requests && b.actions == a.actions) return;
    a = b;
  }
}

static void child_stop(sim_child *ch) {
  bench_child_stop(&ch->pid, ch->cmd, ch->reply);
}

/* ------------------------------------------------------------ settings */

typedef struct config {
  const char *url, *type, *action, *desc;
  ucp_arg args[ARGS_MAX];
  size_t nargs;
  int inflight[NMAX], ninflight;
  double seconds;
  int rounds;
  int modes; /* bit 0 raw, bit 1 scpd */
  const char *wrk, *wrk_script, *dump;
  int wrk_threads;
  int cps; /* control points sharing the in-flight invokes */
} config;

/* ------------------------------------------------------ one synchronous op */

typedef struct waiter {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int done, status, http;
  char detail[512];
  const ucp_description *desc;
  const ucp_scpd *scpd;
  size_t nout;
} waiter;

static void waiter_init(waiter *w) {
  memset(w, 0, sizeof *w);
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->cond, NULL);
}

static void waiter_cb(uint64_t id, const ucp_result *r, void *user) {
  waiter *w = user;
  (void)id;
  pthread_mutex_lock(&w->lock);
  w->status = ucp_result_status(r);
  w->http = ucp_result_http_status(r);
  snprintf(w->detail, sizeof w->detail, "%s", ucp_result_detail(r));
  if (ucp_result_kind(r) == UCP_OP_LOAD_DESCRIPTION)
    w->desc = ucp_description_ref(ucp_result_description(r));
  else if (ucp_result_kind(r) == UCP_OP_SCPD_DOWNLOAD)
    w->scpd = ucp_scpd_ref(ucp_result_scpd(r));
  else
    w->nout = ucp_result_out_count(r);
  w->done = 1;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

static int waiter_wait(waiter *w, double max_s) {
  double end = now_s() + max_s;
  pthread_mutex_lock(&w->lock);
  while (!w->done && now_s() < end) {
    pthread_mutex_unlock(&w->lock);
    sleep_s(0.002);
    pthread_mutex_lock(&w->lock);
  }
  int d = w->done;
  pthread_mutex_unlock(&w->lock);
  return d ? 0 : -1;
}

/* The SCPD of the service of type `type` in the description at `desc`. */
static const ucp_scpd *fetch_scpd(const char *desc, const char *type,
                                  char *ctl, size_t nctl) {
  ucp_cp *cp;
  if (ucp_cp_new(NULL, &cp) != UCP_OK) return NULL;
  waiter w;
  waiter_init(&w);
  uint64_t id;
  const ucp_scpd *scpd = NULL;
  if (ucp_load_description(cp, desc, NULL, waiter_cb, &w, &id) != UCP_OK ||
      waiter_wait(&w, 15) != 0 || w.status != UCP_OK) {
    fprintf(stderr, "description %s: %s\n", desc,
            w.done ? w.detail : ucp_last_error_detail());
    ucp_cp_free(cp);
    return NULL;
  }
  const ucp_description *d = w.desc;
  const ucp_service *svc = NULL;
  for (size_t i = 0; !svc && i < ucp_description_device_count(d); i++) {
    const ucp_device *dev = ucp_description_device(d, i);
    for (size_t k = 0; !svc && k < ucp_device_service_count(dev); k++) {
      const ucp_service *s = ucp_device_service(dev, k);
      const char *t = ucp_service_field_get(s, UCP_SERVICE_TYPE);
      if (t && strcmp(t, type) == 0) svc = s;
    }
  }
  if (!svc) {
    fprintf(stderr, "description %s: no service %s\n", desc, type);
  } else {
    const char *c = ucp_service_field_get(svc, UCP_SERVICE_CONTROL_URL);
    snprintf(ctl, nctl, "%s", c ? c : "");
    waiter s;
    waiter_init(&s);
    if (ucp_scpd_download(cp, svc, NULL, waiter_cb, &s, &id) != UCP_OK ||
        waiter_wait(&s, 15) != 0 || s.status != UCP_OK)
      fprintf(stderr, "SCPD of %s: %s\n", type,
              s.done ? s.detail : ucp_last_error_detail());
    else
      scpd = s.scpd;
  }
  ucp_description_unref(d);
  ucp_cp_free(cp);
  return scpd;
}

/* ------------------------------------------ the request the library sends */

/* Capture the bytes of one invoke on a listening socket of ours (the same
 * path and query; the Host line is then set to the real authority). Returns
 * the request length, or -1. */
static long capture_request(const config *c, const ucp_scpd *scpd, char *out,
                            size_t cap) {
  char auth[256], path[2048];
  if (split_url(c->url, auth, sizeof auth, path, sizeof path) != 0) return -1;
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 ||
      listen(l, 4) != 0 || getsockname(l, (struct sockaddr *)&a, &al) != 0) {
    if (l >= 0) close(l);
    return -1;
  }
  char url[2300];
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", ntohs(a.sin_port), path);
  ucp_cp *cp;
  if (ucp_cp_new(NULL, &cp) != UCP_OK) {
    close(l);
    return -1;
  }
  waiter w;
  waiter_init(&w);
  uint64_t id;
  long len = -1;
  if (ucp_invoke_url(cp, url, c->type, scpd, c->action, c->args, c->nargs,
                     NULL, waiter_cb, &w, &id) != UCP_OK) {
    fprintf(stderr, "capture: %s\n", ucp_last_error_detail());
    goto out;
  }
  struct pollfd p = {l, POLLIN, 0};
  if (poll(&p, 1, 5000) != 1) goto out;
  int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) goto out;
  size_t used = 0;
  long want = -1;
  while (used < cap - 1) {
    struct pollfd q = {fd, POLLIN, 0};
    if (poll(&q, 1, 5000) != 1) break;
    ssize_t r = read(fd, out + used, cap - 1 - used);
    if (r <= 0) break;
    used += (size_t)r;
    out[used] = '\0';
    char *end = strstr(out, "\r\n\r\n");
    if (end && want < 0) {
      const char *cl = strcasestr(out, "\r\nContent-Length:");
      long body = cl && cl < end ? atol(cl + 17) : 0;
      want = (long)(end + 4 - out) + body;
    }
    if (want >= 0 && (long)used >= want) break;
  }
  static const char resp[] = "HTTP/1.1 503 Service Unavailable\r\n"
                             "Content-Length: 0\r\nConnection: close\r\n\r\n";
  write_full(fd, resp, sizeof resp - 1);
  close(fd);
  if (want < 0 || (long)used < want) goto out;
  /* Host: 127.0.0.1:PORT -> Host: <auth> */
  char *h = strcasestr(out, "\r\nHost: ");
  char *e = h ? strstr(h + 2, "\r\n") : NULL;
  if (!h || !e) goto out;
  size_t old = (size_t)(e - (h + 8)), neu = strlen(auth);
  if ((size_t)want - old + neu >= cap) goto out;
  memmove(h + 8 + neu, e, (size_t)want - (size_t)(e - out) + 1);
  memcpy(h + 8, auth, neu);
  len = want - (long)old + (long)neu;
  out[len] = '\0';
out:
  waiter_wait(&w, 10);
  ucp_cp_free(cp);
  close(l);
  return len;
}

/* ------------------------------------------------------------ a cp run */

typedef struct run run;

typedef struct slot {
  run *x;
  uint64_t t0;
} slot;

/* One control point and its share of the in-flight invokes (--cps K
 * makes K of them, each with its own loop thread). */
struct run {
  const config *c;
  const ucp_scpd *scpd;
  const char *url;
  ucp_cp *cp;
  slot *slots;
  int n; /* in flight on this control point */
  atomic_int phase; /* 0 warm-up, 1 measured window, 2 draining */
  atomic_int have_clock;
  clockid_t loop_clock;
  atomic_long started, completed, failed, start_failed, inflight, measured;
  atomic_long no_outs; /* UCP_OK without out-arguments where some were due */
  long expect_outs;    /* out-arguments of the first OK result */
  uint32_t *lat;       /* ns, completions in the window (loop thread only) */
  size_t nlat, caplat;
  char first_error[600];
  atomic_int have_error;
};

typedef struct run_result {
  int ok;
  double rate, p50_us, p99_us, p999_us, max_us;
  double cpu_us, loop_us, sim_us; /* per invoke, over the window */
  double window_s;
  long started, completed, failed, start_failed, measured, no_outs;
  long volctx, involctx; /* context switches of this process, window */
  int counters_disagree; /* the library's started/completed/pending */
  uint64_t sim_actions, sim_conns, sim_requests; /* whole run */
  char error[600];
} run_result;

static void on_invoke(uint64_t id, const ucp_result *r, void *user);

static void start_one(slot *s) {
  run *x = s->x;
  uint64_t id;
  s->t0 = mono_ns();
  int rc = ucp_invoke_url(x->cp, x->url, x->c->type, x->scpd, x->c->action,
                          x->c->args, x->c->nargs, NULL, on_invoke, s, &id);
  if (rc == UCP_OK) {
    atomic_fetch_add(&x->started, 1);
    return;
  }
  atomic_fetch_add(&x->start_failed, 1);
  atomic_fetch_sub(&x->inflight, 1);
  if (!atomic_exchange(&x->have_error, 1))
    snprintf(x->first_error, sizeof x->first_error, "start: %s: %s",
             ucp_err_name(rc), ucp_last_error_detail());
}

static void on_invoke(uint64_t id, const ucp_result *r, void *user) {
  slot *s = user;
  run *x = s->x;
  uint64_t t = mono_ns();
  (void)id;
  if (!atomic_load_explicit(&x->have_clock, memory_order_relaxed)) {
    if (pthread_getcpuclockid(pthread_self(), &x->loop_clock) == 0)
      atomic_store(&x->have_clock, 1);
  }
  int st = ucp_result_status(r);
  if (st != UCP_OK) {
    atomic_fetch_add(&x->failed, 1);
    if (!atomic_exchange(&x->have_error, 1))
      snprintf(x->first_error, sizeof x->first_error, "%s (HTTP %d): %s",
               ucp_err_name(st), ucp_result_http_status(r),
               ucp_result_detail(r));
  } else {
    long n = (long)ucp_result_out_count(r);
    if (x->expect_outs < 0) x->expect_outs = n;
    else if (n != x->expect_outs) atomic_fetch_add(&x->no_outs, 1);
  }
  int ph = atomic_load(&x->phase);
  if (ph == 1) {
    if (x->nlat < x->caplat) {
      uint64_t d = t - s->t0;
      x->lat[x->nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    }
    atomic_fetch_add(&x->measured, 1);
  }
  atomic_fetch_add(&x->completed, 1);
  if (ph < 2) start_one(s);
  else atomic_fetch_sub(&x->inflight, 1);
}

static void run_free(run *x) {
  if (!x) return;
  ucp_cp_free(x->cp);
  free(x->lat);
  free(x->slots);
  free(x);
}

/* A control point for n of the invokes, limits set so none waits. */
static run *run_new(const config *c, const char *url, const ucp_scpd *scpd,
                    int n) {
  run *x = calloc(1, sizeof *x);
  ucp_cp_opts *o = ucp_cp_opts_new();
  if (!x || !o) {
    free(x);
    ucp_cp_opts_free(o);
    return NULL;
  }
  ucp_cp_opts_set_limit(o, UCP_LIMIT_HTTP_PER_HOST, (uint64_t)n);
  ucp_cp_opts_set_limit(o, UCP_LIMIT_HTTP_ACTIVE, (uint64_t)n);
  x->c = c;
  x->scpd = scpd;
  x->url = url;
  x->n = n;
  x->expect_outs = -1;
  x->caplat = (size_t)((c->seconds + 1) * 400000);
  x->lat = malloc(x->caplat * sizeof *x->lat);
  x->slots = calloc((size_t)n, sizeof *x->slots);
  int rc = x->lat && x->slots ? ucp_cp_new(o, &x->cp) : UCP_E_NOMEM;
  ucp_cp_opts_free(o);
  if (rc != UCP_OK) {
    run_free(x);
    return NULL;
  }
  return x;
}

/* Sums over the control points. */
static long sum_of(run **xs, int k, size_t off) {
  long t = 0;
  for (int i = 0; i < k; i++)
    t += atomic_load((atomic_long *)((char *)xs[i] + off));
  return t;
}
#define SUM(field) sum_of(xs, k, offsetof(run, field))

static int all_have_clock(run **xs, int k) {
  for (int i = 0; i < k; i++)
    if (!atomic_load(&xs[i]->have_clock)) return 0;
  return 1;
}

static double loop_clocks_s(run **xs, int k) {
  double t = 0;
  for (int i = 0; i < k; i++) t += clock_s(xs[i]->loop_clock);
  return t;
}

static void set_phase(run **xs, int k, int ph) {
  for (int i = 0; i < k; i++) atomic_store(&xs[i]->phase, ph);
}

/* The library's counters, summed; they must agree with ours. */
static void check_counters(run **xs, int k, run_result *res) {
  uint64_t cs = 0, cc = 0, cpend = 0;
  for (int i = 0; i < k; i++) {
    /* The pending counter drops right after the last callback returns. */
    for (int j = 0; j < 200 && ucp_cp_counter(xs[i]->cp,
                                              UCP_COUNTER_PENDING); j++)
      sleep_s(0.005);
    cs += ucp_cp_counter(xs[i]->cp, UCP_COUNTER_STARTED);
    cc += ucp_cp_counter(xs[i]->cp, UCP_COUNTER_COMPLETED);
    cpend += ucp_cp_counter(xs[i]->cp, UCP_COUNTER_PENDING);
  }
  if ((uint64_t)res->started == cs && cs == cc && cpend == 0) return;
  /* The library's own count disagrees with ours: counted as lost. */
  res->counters_disagree = 1;
  size_t l = strlen(res->error);
  snprintf(res->error + l, sizeof res->error - l,
           "%slibrary counters: started %llu, completed %llu, pending %llu",
           l ? "; " : "", (unsigned long long)cs, (unsigned long long)cc,
           (unsigned long long)cpend);
}

/* Every latency of the window, over all control points, sorted. */
static void latencies(run **xs, int k, run_result *res) {
  size_t n = 0;
  for (int i = 0; i < k; i++) n += xs[i]->nlat;
  uint32_t *all = n ? malloc(n * sizeof *all) : NULL;
  if (!all) return;
  size_t at = 0;
  for (int i = 0; i < k; i++) {
    memcpy(all + at, xs[i]->lat, xs[i]->nlat * sizeof *all);
    at += xs[i]->nlat;
  }
  qsort(all, n, sizeof *all, cmp_u32);
  res->p50_us = all[n / 2] / 1e3;
  res->p99_us = all[(size_t)((double)n * 0.99)] / 1e3;
  res->p999_us = all[(size_t)((double)n * 0.999)] / 1e3;
  res->max_us = all[n - 1] / 1e3;
  free(all);
}

static run_result run_cp(const config *c, const char *url,
                         const ucp_scpd *scpd, int n, sim_child *ch) {
  run_result res;
  memset(&res, 0, sizeof res);
  int k = c->cps < n ? c->cps : n;
  run *xs[CPS_MAX] = {0};
  for (int i = 0; i < k; i++) {
    /* n split as evenly as it goes: the first n % k get one more. */
    xs[i] = run_new(c, url, scpd, n / k + (i < n % k));
    if (!xs[i]) {
      snprintf(res.error, sizeof res.error, "setup failed");
      for (int j = 0; j < i; j++) run_free(xs[j]);
      return res;
    }
  }
  child_settle(ch);
  sim_stats s_begin = child_stats(ch);
  for (int i = 0; i < k; i++) {
    run *x = xs[i];
    atomic_store(&x->inflight, x->n);
    for (int j = 0; j < x->n; j++) {
      x->slots[j].x = x;
      start_one(&x->slots[j]);
    }
  }
  /* Warm-up: connections opened, the loop threads' clocks known. */
  double wend = now_s() + WARMUP_S;
  while (now_s() < wend || (!all_have_clock(xs, k) &&
                            now_s() < wend + 10 && SUM(inflight)))
    sleep_s(0.01);
  struct rusage u0, u1;
  getrusage(RUSAGE_SELF, &u0);
  sim_stats s0 = child_stats(ch);
  int clk = all_have_clock(xs, k);
  double loop0 = clk ? loop_clocks_s(xs, k) : 0;
  double cpu0 = rusage_s();
  double t0 = now_s();
  set_phase(xs, k, 1);
  sleep_s(c->seconds);
  set_phase(xs, k, 2);
  double t1 = now_s();
  double cpu1 = rusage_s();
  double loop1 = clk ? loop_clocks_s(xs, k) : 0;
  sim_stats s1 = child_stats(ch);
  getrusage(RUSAGE_SELF, &u1);
  double dend = now_s() + DRAIN_MAX_S;
  while (SUM(inflight) > 0 && now_s() < dend) sleep_s(0.005);

  res.window_s = t1 - t0;
  res.started = SUM(started);
  res.completed = SUM(completed);
  res.failed = SUM(failed);
  res.start_failed = SUM(start_failed);
  res.measured = SUM(measured);
  res.no_outs = SUM(no_outs);
  for (int i = 0; i < k; i++)
    if (atomic_load(&xs[i]->have_error)) {
      snprintf(res.error, sizeof res.error, "%s", xs[i]->first_error);
      break;
    }
  check_counters(xs, k, &res);
  sim_stats s_end = child_stats(ch);
  latencies(xs, k, &res);
  for (int i = 0; i < k; i++) run_free(xs[i]);

  res.rate = res.window_s > 0 ? (double)res.measured / res.window_s : 0;
  if (res.measured > 0) {
    res.cpu_us = (cpu1 - cpu0) * 1e6 / (double)res.measured;
    res.loop_us = clk ? (loop1 - loop0) * 1e6 / (double)res.measured : 0;
    if (ch && ch->pid > 0)
      res.sim_us = (s1.cpu_s - s0.cpu_s) * 1e6 / (double)res.measured;
  }
  res.volctx = u1.ru_nvcsw - u0.ru_nvcsw;
  res.involctx = u1.ru_nivcsw - u0.ru_nivcsw;
  res.sim_actions = s_end.actions - s_begin.actions;
  res.sim_conns = s_end.connections - s_begin.connections;
  res.sim_requests = s_end.requests - s_begin.requests;
  res.ok = res.measured > 0;
  return res;
}

/* ------------------------------------------------------------ a wrk run */

typedef struct wrk_result {
  int ok;
  double rate, p50_us, p99_us, sim_us, cpu_us; /* cpu: wrk's, per request */
  long requests, errors;
  long e_connect, e_read, e_write, e_status, e_timeout;
  uint64_t sim_conns;
  char error[256];
} wrk_result;

static wrk_result run_wrk(const config *c, const char *reqfile, int n,
                          sim_child *ch) {
  wrk_result res;
  memset(&res, 0, sizeof res);
  char threads[16], conns[16], dur[32];
  int t = c->wrk_threads < n ? c->wrk_threads : n;
  snprintf(threads, sizeof threads, "%d", t);
  snprintf(conns, sizeof conns, "%d", n);
  snprintf(dur, sizeof dur, "%gs", c->seconds);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return res;
  sim_stats s0 = child_stats(ch);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]), close(p[1]);
    return res;
  }
  if (pid == 0) {
    dup2(p[1], 1);
    char *argv[] = {(char *)c->wrk, "-t", threads, "-c", conns, "-d", dur,
                    "--timeout", "10s", "-s", (char *)c->wrk_script,
                    (char *)c->url, "--", (char *)reqfile, NULL};
    execvp(c->wrk, argv);
    fprintf(stderr, "exec %s: %s\n", c->wrk, strerror(errno));
    _exit(127);
  }
  close(p[1]);
  char out[8192];
  size_t used = 0;
  ssize_t r;
  while (used < sizeof out - 1 &&
         (r = read(p[0], out + used, sizeof out - 1 - used)) != 0) {
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    used += (size_t)r;
  }
  out[used] = '\0';
  close(p[0]);
  int status = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  wait4(pid, &status, 0, &ru);
  sim_stats s1 = child_stats(ch);
  const char *line = strstr(out, "UCP_WRK ");
  double dur_us = 0;
  if (!line ||
      sscanf(line,
             "UCP_WRK requests=%ld duration_us=%lf p50_us=%lf p99_us=%lf "
             "connect=%ld read=%ld write=%ld status=%ld timeout=%ld",
             &res.requests, &dur_us, &res.p50_us, &res.p99_us, &res.e_connect,
             &res.e_read, &res.e_write, &res.e_status, &res.e_timeout) != 9 ||
      dur_us <= 0) {
    snprintf(res.error, sizeof res.error, "wrk exit %d, no summary: %.200s",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
    return res;
  }
  res.errors = res.e_connect + res.e_read + res.e_write + res.e_status +
               res.e_timeout;
  res.rate = (double)res.requests / (dur_us / 1e6);
  if (res.requests > 0)
    res.cpu_us = ru_s(&ru) * 1e6 / (double)res.requests;
  if (ch && ch->pid > 0 && res.requests > 0)
    res.sim_us = (s1.cpu_s - s0.cpu_s) * 1e6 / (double)res.requests;
  res.sim_conns = s1.connections - s0.connections;
  res.ok = 1;
  return res;
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f) {
  fputs(
      "usage: ucp_bench_invoke [--url CONTROL_URL --type SERVICE_TYPE "
      "--action NAME]\n"
      "                        [--arg NAME=VALUE]... [--desc DESCRIPTION_URL]\n"
      "                        [--inflight 1,16,128] [--seconds S] "
      "[--rounds R]\n"
      "                        [--modes raw,scpd] [--wrk PATH|none] "
      "[--wrk-script FILE]\n"
      "                        [--wrk-threads T] [--dump-request FILE]\n"
      "                        [--pin CLIENT_CPU,SERVER_CPU] [--cps K]\n"
      "Without --url: the simulator in a child process, SwitchPower:1 "
      "GetStatus.\n"
      "--desc: the description to take the SCPD from (the \"scpd\" mode).\n"
      "--dump-request FILE: write the captured request (what wrk replays) "
      "and exit.\n"
      "--cps K: K control points (K loop threads) share each in-flight "
      "count (default 1).\n",
      f);
}

static int parse_list(const char *s, int *v, int max) {
  int n = 0;
  while (*s && n < max) {
    char *e;
    long x = strtol(s, &e, 10);
    if (e == s || x < 1 || x > INFLIGHT_MAX) return -1;
    v[n++] = (int)x;
    s = *e == ',' ? e + 1 : e;
    if (*e && *e != ',') return -1;
  }
  return n;
}

/* The wrk script beside this source file (CMake compiles it by absolute
 * path), else bench/wrk_post.lua from the current directory. */
static const char *default_script(void) {
  static char p[1024];
  const char *f = __FILE__, *slash = strrchr(f, '/');
  if (slash) {
    snprintf(p, sizeof p, "%.*s/wrk_post.lua", (int)(slash - f), f);
    if (access(p, R_OK) == 0) return p;
  }
  return "bench/wrk_post.lua";
}

static int have_program(const char *name) {
  if (strchr(name, '/')) return access(name, X_OK) == 0;
  const char *path = getenv("PATH");
  if (!path) path = "/usr/bin:/bin";
  char buf[1024];
  while (*path) {
    const char *e = strchr(path, ':');
    size_t l = e ? (size_t)(e - path) : strlen(path);
    snprintf(buf, sizeof buf, "%.*s/%s", (int)l, path, name);
    if (access(buf, X_OK) == 0) return 1;
    path += l + (e ? 1 : 0);
  }
  return 0;
}

int main(int argc, char **argv) {
  config c;
  memset(&c, 0, sizeof c);
  c.inflight[0] = 1, c.inflight[1] = 16, c.inflight[2] = 128;
  c.ninflight = 3;
  c.seconds = 5;
  c.rounds = 3;
  c.modes = 3;
  c.wrk = "wrk";
  c.wrk_threads = 2;
  c.cps = 1;
  static char argbuf[ARGS_MAX][512];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    }
    if (!v) {
      usage(stderr);
      return 2;
    }
    i++;
    if (!strcmp(a, "--url")) c.url = v;
    else if (!strcmp(a, "--type")) c.type = v;
    else if (!strcmp(a, "--action")) c.action = v;
    else if (!strcmp(a, "--desc")) c.desc = v;
    else if (!strcmp(a, "--seconds")) c.seconds = atof(v);
    else if (!strcmp(a, "--rounds")) c.rounds = atoi(v);
    else if (!strcmp(a, "--wrk")) c.wrk = v;
    else if (!strcmp(a, "--wrk-script")) c.wrk_script = v;
    else if (!strcmp(a, "--wrk-threads")) c.wrk_threads = atoi(v);
    else if (!strcmp(a, "--cps")) c.cps = atoi(v);
    else if (!strcmp(a, "--dump-request")) c.dump = v;
    else if (!strcmp(a, "--pin")) {
      if (sscanf(v, "%d,%d", &pin_client, &pin_server) != 2 ||
          pin_client < 0 || pin_server < 0) {
        usage(stderr);
        return 2;
      }
    }
    else if (!strcmp(a, "--inflight")) {
      c.ninflight = parse_list(v, c.inflight, NMAX);
      if (c.ninflight < 1) {
        usage(stderr);
        return 2;
      }
    } else if (!strcmp(a, "--modes")) {
      c.modes = (strstr(v, "raw") ? 1 : 0) | (strstr(v, "scpd") ? 2 : 0);
    } else if (!strcmp(a, "--arg")) {
      const char *eq = strchr(v, '=');
      if (!eq || c.nargs >= ARGS_MAX || strlen(v) >= sizeof argbuf[0]) {
        usage(stderr);
        return 2;
      }
      char *b = argbuf[c.nargs];
      snprintf(b, sizeof argbuf[0], "%s", v);
      b[eq - v] = '\0';
      c.args[c.nargs].name = b;
      c.args[c.nargs].value = b + (eq - v) + 1;
      c.nargs++;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (c.rounds < 1 || c.rounds > ROUNDS_MAX || c.seconds <= 0 ||
      c.wrk_threads < 1 || c.cps < 1 || c.cps > CPS_MAX || !c.modes || (c.url && (!c.type || !c.action))) {
    usage(stderr);
    return 2;
  }
  if (!c.wrk_script) c.wrk_script = default_script();
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  /* The simulator, forked before any thread exists. */
  sim_child ch = {0};
  static char sim_url[256];
  if (!c.url) {
    if (child_fork(&ch) != 0) {
      fprintf(stderr, "the simulator did not start\n");
      return 3;
    }
  }
  if (pin_client >= 0 && pin_to(pin_client) != 0) {
    fprintf(stderr, "cannot pin to CPU %d\n", pin_client);
    return 3;
  }
  if (!c.url) {
    snprintf(sim_url, sizeof sim_url, "%s/ctl/SwitchPower", ch.base);
    c.url = sim_url;
    c.type = "urn:schemas-upnp-org:service:SwitchPower:1";
    c.action = "GetStatus";
    if (!c.desc) c.desc = ch.desc;
  }
  sim_child *chp = ch.pid > 0 ? &ch : NULL;

  /* The SCPD, through the description (as an application gets it). */
  const ucp_scpd *scpd = NULL;
  char scpd_ctl[2100] = "";
  if ((c.modes & 2) && c.desc) {
    scpd = fetch_scpd(c.desc, c.type, scpd_ctl, sizeof scpd_ctl);
    if (!scpd) {
      if (chp) child_stop(chp);
      return 3;
    }
    if (strcmp(scpd_ctl, c.url) != 0)
      fprintf(stderr, "note: the description's controlURL is %s; invoking "
                      "%s\n", scpd_ctl, c.url);
  } else if (c.modes & 2) {
    fprintf(stderr, "note: no --desc, so no SCPD: the \"with SCPD\" rows "
                    "are skipped\n");
    c.modes &= ~2;
    if (!c.modes) return 2;
  }

  /* What wrk replays: the raw invoke's bytes. */
  static char req_raw[65536], req_scpd[65536];
  long nraw = capture_request(&c, NULL, req_raw, sizeof req_raw);
  long nscpd = scpd ? capture_request(&c, scpd, req_scpd, sizeof req_scpd)
                    : -1;
  if (nraw < 0) {
    fprintf(stderr, "could not capture the request the library sends\n");
    if (chp) child_stop(chp);
    return 3;
  }
  char reqfile[] = "/tmp/ucp-bench-invoke-XXXXXX";
  const char *reqpath = c.dump ? c.dump : reqfile;
  int rfd = c.dump ? open(c.dump, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                          0644)
                   : mkstemp(reqfile);
  if (rfd < 0 || write_full(rfd, req_raw, (size_t)nraw) != 0) {
    perror(reqpath);
    if (chp) child_stop(chp);
    return 3;
  }
  close(rfd);
  if (c.dump) {
    fprintf(stderr, "wrote %ld bytes to %s\n", nraw, c.dump);
    if (chp) child_stop(chp);
    return 0;
  }
  int use_wrk = strcmp(c.wrk, "none") != 0 && have_program(c.wrk) &&
                access(c.wrk_script, R_OK) == 0;
  if (!use_wrk && strcmp(c.wrk, "none") != 0)
    fprintf(stderr, "note: wrk (%s) or its script (%s) is missing: no wrk "
                    "rows\n", c.wrk, c.wrk_script);

  /* Rounds interleaved: in each round, for each N, wrk then raw then SCPD. */
  static wrk_result wr[NMAX][ROUNDS_MAX];
  static run_result rr[2][NMAX][ROUNDS_MAX];
  for (int r = 0; r < c.rounds; r++)
    for (int k = 0; k < c.ninflight; k++) {
      int n = c.inflight[k];
      if (use_wrk) wr[k][r] = run_wrk(&c, reqpath, n, chp);
      for (int m = 0; m < 2; m++)
        if (c.modes & (1 << m))
          rr[m][k][r] = run_cp(&c, c.url, m ? scpd : NULL, n, chp);
    }
  if (!c.dump) unlink(reqfile);

  /* ---- the table */
  long nproc = sysconf(_SC_NPROCESSORS_ONLN);
  printf("upnpcp %s invoke benchmarks: %s %s at %s\n", ucp_version(NULL),
         c.action, c.type, c.url);
  printf("%s; %d round(s) of %g s per row (+%.1f s warm-up), medians with "
         "the range of rounds; nproc %ld\n\n",
         chp ? "the simulator in a child process" : "an external device",
         c.rounds, c.seconds, WARMUP_S, nproc);
  if (pin_client >= 0)
    printf("pinned: the control point and wrk on CPU %d, the server on CPU "
           "%d\n\n", pin_client, pin_server);
  else
    printf("not pinned: clients and server share the cores\n\n");
  if (c.cps > 1)
    printf("%d control points, each with its own loop thread, share every "
           "in-flight count (ucp xK rows)\n\n", c.cps);
  printf("| %9s | %-16s | %9s | %-19s | %8s | %8s | %8s | %10s | %10s | "
         "%10s | %6s | %6s |\n",
         "in flight", "client", "req/s", "range", "% of wrk", "p50 us",
         "p99 us", "client CPU", "loop CPU", "server CPU", "lost", "failed");
  printf("|-----------|------------------|-----------|---------------------|"
         "----------|----------|----------|------------|------------|"
         "------------|--------|--------|\n");
  int bad = 0;
  double ratio[2][NMAX], cpu_med[2][NMAX];
  long lost_tot[2][NMAX], fail_tot[2][NMAX];
  memset(ratio, 0, sizeof ratio);
  for (int k = 0; k < c.ninflight; k++) {
    int n = c.inflight[k];
    double v[ROUNDS_MAX], a[ROUNDS_MAX], b[ROUNDS_MAX], s[ROUNDS_MAX];
    double wc[ROUNDS_MAX];
    int nv = 0;
    double wrk_med = 0;
    if (use_wrk) {
      long errs = 0;
      for (int r = 0; r < c.rounds; r++)
        if (wr[k][r].ok) {
          v[nv] = wr[k][r].rate;
          a[nv] = wr[k][r].p50_us;
          b[nv] = wr[k][r].p99_us;
          s[nv] = wr[k][r].sim_us;
          wc[nv] = wr[k][r].cpu_us;
          errs += wr[k][r].errors;
          nv++;
        }
      char range[32] = "-", t[24];
      if (nv)
        snprintf(range, sizeof range, "%.0f .. %.0f", vmin(v, nv),
                 vmax(v, nv));
      snprintf(t, sizeof t, "wrk -t%d -c%d",
               c.wrk_threads < n ? c.wrk_threads : n, n);
      wrk_med = median(v, nv);
      char sv[16] = "-";
      if (chp && nv) snprintf(sv, sizeof sv, "%.1f", median(s, nv));
      printf("| %9d | %-16s | %9.0f | %-19s | %8s | %8.0f | %8.0f | %10.1f | "
             "%10s | %10s | %6s | %6ld |\n",
             n, t, wrk_med, range, "100", median(a, nv), median(b, nv),
             median(wc, nv), "-", sv, "-", errs);
    }
    for (int m = 0; m < 2; m++) {
      if (!(c.modes & (1 << m))) continue;
      double cpu[ROUNDS_MAX], loop[ROUNDS_MAX], pct[ROUNDS_MAX];
      int nr = 0, np = 0;
      long lost = 0, failed = 0;
      for (int r = 0; r < c.rounds; r++) {
        run_result *x = &rr[m][k][r];
        lost += x->started - x->completed;
        failed += x->failed + x->start_failed + x->no_outs;
        if (x->counters_disagree && x->started == x->completed) lost++;
        if (chp && x->sim_actions != (uint64_t)x->started) lost++;
        if (!x->ok) {
          failed++;
          continue;
        }
        v[nr] = x->rate;
        a[nr] = x->p50_us;
        b[nr] = x->p99_us;
        cpu[nr] = x->cpu_us;
        loop[nr] = x->loop_us;
        s[nr] = x->sim_us;
        if (use_wrk && wr[k][r].ok && wr[k][r].rate > 0)
          pct[np++] = 100.0 * x->rate / wr[k][r].rate;
        nr++;
      }
      lost_tot[m][k] = lost;
      fail_tot[m][k] = failed;
      if (lost || failed) bad = 1;
      char range[32] = "-", pc[16] = "-", sv[16] = "-";
      if (nr)
        snprintf(range, sizeof range, "%.0f .. %.0f", vmin(v, nr),
                 vmax(v, nr));
      ratio[m][k] = np ? median(pct, np) : 0;
      if (np) snprintf(pc, sizeof pc, "%.1f", ratio[m][k]);
      if (chp && nr) snprintf(sv, sizeof sv, "%.1f", median(s, nr));
      cpu_med[m][k] = median(cpu, nr);
      char who[40];
      int kk = c.cps < n ? c.cps : n; /* run_cp's count */
      if (kk > 1)
        snprintf(who, sizeof who, "ucp x%d, %s", kk,
                 m ? "SCPD" : "raw");
      else
        snprintf(who, sizeof who, "%s",
                 m ? "ucp, with SCPD" : "ucp, raw (NULL)");
      printf("| %9d | %-16s | %9.0f | %-19s | %8s | %8.0f | %8.0f | %10.1f | "
             "%10.1f | %10s | %6ld | %6ld |\n",
             n, who, median(v, nr),
             range, pc, median(a, nr), median(b, nr), cpu_med[m][k],
             median(loop, nr), sv, lost, failed);
    }
  }

  printf("\nreq/s: completions in the window / window. %% of wrk: per round, "
         "against the wrk run just before it. p50/p99: per invoke, start "
         "call to completion callback (wrk: its own latency). CPU, in us per "
         "request: client = getrusage of this process (the control point; "
         "for wrk, of the wrk process); loop = the control point's loop "
         "thread alone; server = the simulator process.\n");
  printf("request replayed by wrk (%ld bytes), captured from ucp_invoke_url "
         "with a NULL scpd:\n", nraw);
  for (const char *p = req_raw; p < req_raw + nraw;) {
    const char *e = strstr(p, "\r\n");
    if (!e || e >= req_raw + nraw) e = req_raw + nraw;
    printf("    %.*s\n", (int)(e - p), p);
    p = e + 2;
  }
  if (scpd)
    printf("with the SCPD the request is %s (%ld bytes)\n",
           nscpd == nraw && memcmp(req_raw, req_scpd, (size_t)nraw) == 0
               ? "byte-for-byte the same"
               : "different",
           nscpd);

  printf("\nper round:\n");
  for (int k = 0; k < c.ninflight; k++)
    for (int r = 0; r < c.rounds; r++) {
      if (use_wrk) {
        wrk_result *w = &wr[k][r];
        if (!w->ok)
          printf("  N=%d #%d wrk: FAILED %s\n", c.inflight[k], r + 1,
                 w->error);
        else
        {
          printf("  N=%d #%d wrk: %ld requests, %.0f/s, p50 %.0f us, p99 "
                 "%.0f us, wrk CPU %.2f us/req, errors connect %ld read %ld "
                 "write %ld status %ld timeout %ld",
                 c.inflight[k], r + 1, w->requests, w->rate, w->p50_us,
                 w->p99_us, w->cpu_us, w->e_connect, w->e_read, w->e_write,
                 w->e_status, w->e_timeout);
          if (chp)
            printf(" | server: connections %llu, %.1f us CPU/req",
                   (unsigned long long)w->sim_conns, w->sim_us);
          printf("\n");
        }
      }
      for (int m = 0; m < 2; m++) {
        if (!(c.modes & (1 << m))) continue;
        run_result *x = &rr[m][k][r];
        printf("  N=%d #%d %s: started %ld, completed %ld, failed %ld, "
               "start failures %ld, out-count mismatches %ld; in the %.3f s "
               "window %ld (%.0f/s), p50 %.0f p99 %.0f p99.9 %.0f max %.0f "
               "us, CPU %.2f us/inv (loop %.2f), ctx switches vol %ld "
               "invol %ld",
               c.inflight[k], r + 1, m ? "scpd" : "raw ", x->started,
               x->completed, x->failed, x->start_failed, x->no_outs,
               x->window_s, x->measured, x->rate, x->p50_us, x->p99_us,
               x->p999_us, x->max_us, x->cpu_us, x->loop_us, x->volctx,
               x->involctx);
        if (chp)
          printf(" | server: actions %llu (of %ld started), requests %llu, "
                 "connections %llu, %.1f us CPU/req",
                 (unsigned long long)x->sim_actions, x->started,
                 (unsigned long long)x->sim_requests,
                 (unsigned long long)x->sim_conns, x->sim_us);
        if (x->error[0]) printf(" | FIRST ERROR: %s", x->error);
        printf("\n");
      }
    }

  printf("\ntargets (reported, not asserted, except losses):\n");
  for (int k = 0; k < c.ninflight; k++)
    for (int m = 0; m < 2; m++) {
      if (!(c.modes & (1 << m))) continue;
      int n = c.inflight[k];
      const char *mode = m ? "with SCPD" : "raw";
      if (use_wrk && n >= 16)
        printf("  N=%-3d %-9s >= 95%% of wrk req/s: %5.1f%%  %s\n", n, mode,
               ratio[m][k], ratio[m][k] >= 95 ? "met" : "MISSED");
      printf("  N=%-3d %-9s <= 25 us CP CPU/invoke: %5.1f us  %s\n", n, mode,
             cpu_med[m][k], cpu_med[m][k] <= 25 ? "met" : "MISSED");
      printf("  N=%-3d %-9s no invoke lost or failed: lost %ld, failed %ld  "
             "%s\n", n, mode, lost_tot[m][k], fail_tot[m][k],
             lost_tot[m][k] || fail_tot[m][k] ? "MISSED" : "met");
    }
  ucp_scpd_unref(scpd);
  if (chp) child_stop(chp);
  return bad ? 1 : 0;
}
