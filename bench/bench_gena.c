/* bench_gena.c - eventing: NOTIFYs processed per second, send-to-callback
 * latency and memory per subscription, printed as one table.
 *
 * The device is the simulator (ucp_sim_start in a child process forked
 * before any thread exists, so its CPU and heap are not this process's):
 * it answers SUBSCRIBE with a SID and sends each subscription's initial
 * event (SEQ 0). Every other NOTIFY comes from this benchmark: raw HTTP/1.1
 * over kept-alive TCP connections to the callback URL that the
 * UCP_SUB_ACTIVE state event names ("events to http://..."), with the
 * right Host, NT, NTS, SID and consecutive SEQs, as a device sends them.
 * The sender's sockets are bound to 127.0.0.2 (another "device" than the
 * simulator on 127.0.0.1, so the callback server's 64-per-address limit is
 * not shared with the simulator's own connections); 127.0.0.1 if that
 * bind fails.
 *
 * Throughput (per S in --subs, default 1,16,64, and per body):
 *   a fresh control point, S subscriptions to the simulator's Dimming
 *   service; once every initial event is in, one sender thread (epoll)
 *   keeps min(S, --conns 16) connections busy, one NOTIFY outstanding per
 *   connection (--depth pipelines more), subscription i on connection
 *   i % conns, so each subscription's SEQs go out one at a time, in order,
 *   as UDA has devices send them. --count NOTIFYs a round, count/S per
 *   subscription; after a NOTIFY is refused nothing more is sent (the
 *   round is lost; the rest would only measure 412s). Bodies:
 *     - "propertyset": the Dimming variables (LoadLevelStatus, StepDelta,
 *       RampRate, IsRamping, RampPaused; about 430 bytes), typed by the
 *       SCPD the subscription was given;
 *     - "LastChange": an AVTransport LastChange of about 4 KB (14
 *       variables of InstanceID 0, two of them escaped DIDL-Lite), no SCPD,
 *       read by the library into per-instance changes; half the count.
 *   The event callback reads every variable (or every change) as an
 *   application would, checks SEQ order and the variable/change count.
 *   Rate = events delivered to the callback / (last delivery - first send).
 *   CPU per NOTIFY over the same window: the loop thread (its clock, taken
 *   inside a callback), the control point's other threads (the callback
 *   server's libmicrohttpd thread: every thread that appeared with the
 *   control point, by Linux thread CPU clock), the sender thread. "Per cp
 *   CPU-second" = events / (loop + callback-server CPU seconds): what one
 *   core would process if it only ran the control point.
 *   Latency under load: send (just before the write) to callback, every
 *   event.
 * Latency (one subscription, propertyset body):
 *   - one at a time: send, wait for the 200 and for the callback, repeat
 *     (--lat-count, default 20000);
 *   - a fixed rate (--rate, default 2000/s, for --rate-seconds 5).
 *   Send time: CLOCK_MONOTONIC just before the write, kept in a table by
 *   SEQ; read in the event callback. Every event kept; exact percentiles.
 * Memory (--mem-subs, default 1000): a fresh control point, warmed by one
 *   subscription (callback server started, HTTP engine running) that is
 *   ended; heap in use (mallinfo2 of every arena plus malloc's mmaps,
 *   after malloc_trim), fds and RSS; then N subscriptions, until all are
 *   ACTIVE and their initial event was delivered; heap again; divided by
 *   N. Then all are ended (UNSUBSCRIBE, completion) and the heap taken
 *   again; then a second batch of N the same way. The first batch
 *   includes what the control point grows once (HTTP engine pools, callback
 *   connections); the second shows the per-subscription cost once those
 *   exist, and "kept after the second batch ended" is a leak check.
 *
 * Nothing is asserted except losses. Exit status: 0; 1 when an event was
 * lost (delivered != planned, an answer other than 200, a
 * UCP_COUNTER_NOTIFY_DROPPED increase, NOTIFY_RECEIVED != sent, a SEQ out
 * of order, a MISSED_EVENTS/RESUBSCRIBED/UNREACHABLE/LOST state event, a
 * wrong variable or change count); 2 usage; 3 setup failure (without a
 * loss).
 *
 * Run: make bench, or ./build/bench/ucp_bench_gena [--rounds 5] [...];
 * about 4 minutes with the defaults on the 2-core machine. Progress goes
 * to stderr, the table to stdout. Loopback only, no multicast.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"
#include "bench_util.h"
#include "upnpcp.h"

enum { ROUNDS_MAX = 15, NMAX = 8, MAX_THREADS = 64, MAX_CONNS = 64 };

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

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the DIR's own */
}

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kb = atol(line + 6);
  fclose(f);
  return kb;
}

static size_t heap_in_use(void) {
  malloc_trim(0);
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd; /* every arena, plus malloc's own mmaps */
}

/* ------------------------------------------------- per-thread CPU */

/* Linux thread CPU clock of any thread of this process (what
 * pthread_getcpuclockid computes: CPUCLOCK_SCHED | CPUCLOCK_PERTHREAD). */
static clockid_t tid_clock(pid_t tid) {
  return (clockid_t)((~(unsigned)tid << 3) | 6u);
}

typedef struct tids {
  int n;
  pid_t tid[MAX_THREADS];
} tids;

static void list_tids(tids *t) {
  t->n = 0;
  DIR *d = opendir("/proc/self/task");
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) && t->n < MAX_THREADS)
    if (e->d_name[0] != '.') t->tid[t->n++] = (pid_t)atoi(e->d_name);
  closedir(d);
}

static int has_tid(const tids *t, pid_t x) {
  for (int i = 0; i < t->n; i++)
    if (t->tid[i] == x) return 1;
  return 0;
}

static void tid_name(pid_t tid, char *out, size_t cap) {
  char p[64];
  snprintf(p, sizeof p, "/proc/self/task/%d/comm", (int)tid);
  FILE *f = fopen(p, "r");
  out[0] = '\0';
  if (!f) return;
  if (fgets(out, (int)cap, f)) out[strcspn(out, "\n")] = '\0';
  fclose(f);
}

/* User and system clock ticks of one thread (/proc, 10 ms resolution). */
static void tid_ticks(pid_t tid, long *user, long *sys) {
  char p[64], buf[1024];
  snprintf(p, sizeof p, "/proc/self/task/%d/stat", (int)tid);
  *user = *sys = 0;
  FILE *f = fopen(p, "r");
  if (!f) return;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *c = strrchr(buf, ')'); /* after the name: fields 3.. */
  long v[13];
  if (c && sscanf(c + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld",
                  &v[0], &v[1]) == 2)
    *user = v[0], *sys = v[1];
}

/* ------------------------------------------------- the simulator child */

typedef struct sim_child {
  pid_t pid;
  int cmd, reply;
  char base[128], desc[160];
} sim_child;

typedef struct sim_hello {
  int ok;
  char base[128], desc[160];
} sim_hello;

typedef struct sim_stats {
  uint64_t notifies_sent, notify_failures, subscriptions;
  double cpu_s;
} sim_stats;

static void child_main(int cmd, int reply) {
  ucp_sim *sim = NULL;
  ucp_sim_opts o;
  memset(&o, 0, sizeof o);
  sim_hello h;
  memset(&h, 0, sizeof h);
  if (ucp_sim_start(&o, &sim) == 0) {
    h.ok = 1;
    snprintf(h.base, sizeof h.base, "%s", ucp_sim_base_url(sim));
    snprintf(h.desc, sizeof h.desc, "%s", ucp_sim_description_url(sim));
  }
  write_full(reply, &h, sizeof h);
  char c;
  while (h.ok && read_full(cmd, &c, 1) == 0 && c == 'Q') {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    sim_stats st = {ucp_sim_notifies_sent(sim), ucp_sim_notify_failures(sim),
                    ucp_sim_subscriptions(sim),
                    (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 +
                        (double)u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6};
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

static void child_stop(sim_child *ch) {
  bench_child_stop(&ch->pid, ch->cmd, ch->reply);
}

/* ------------------------------------------------------------ bodies */

enum body_kind { BODY_PROPSET = 0, BODY_LASTCHANGE = 1 };
static const char *const body_name[2] = {"propertyset", "LastChange"};
enum { BODY_MAX = 16384, LC_CHANGES = 14, PROPSET_VARS = 5 };

static char lc_body[BODY_MAX];
static size_t lc_len, lc_patch; /* where the 5-digit CurrentTrack goes */
static size_t propset_len_sample;

/* XML-escape `in` (text or attribute) into out; returns the length. */
static size_t xml_escape(const char *in, char *out, size_t cap) {
  size_t n = 0;
  for (; *in; in++) {
    const char *r = NULL;
    switch (*in) {
    case '<': r = "&lt;"; break;
    case '>': r = "&gt;"; break;
    case '&': r = "&amp;"; break;
    case '"': r = "&quot;"; break;
    default: break;
    }
    size_t l = r ? strlen(r) : 1;
    if (n + l + 1 >= cap) break;
    if (r) memcpy(out + n, r, l);
    else out[n] = *in;
    n += l;
  }
  out[n] = '\0';
  return n;
}

/* An AVTransport LastChange as a renderer sends it after a new track
 * starts: 14 variables of InstanceID 0, the URI metadata as escaped
 * DIDL-Lite inside the escaped Event document (so escaped twice). */
static void build_lastchange(void) {
  static const char didl[] =
      "<DIDL-Lite xmlns=\"urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/\" "
      "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
      "xmlns:upnp=\"urn:schemas-upnp-org:metadata-1-0/upnp/\" "
      "xmlns:dlna=\"urn:schemas-dlna-org:metadata-1-0/\">"
      "<item id=\"64$1$3$0$12\" parentID=\"64$1$3$0\" restricted=\"1\">"
      "<dc:title>Variations on a Theme (Live at the Royal Albert Hall)"
      "</dc:title><dc:creator>The Benchmark Ensemble</dc:creator>"
      "<upnp:artist>The Benchmark Ensemble</upnp:artist>"
      "<upnp:album>Live Recordings 2009-2011</upnp:album>"
      "<upnp:genre>Classical</upnp:genre>"
      "<upnp:originalTrackNumber>12</upnp:originalTrackNumber>"
      "<dc:date>2011-05-14</dc:date>"
      "<upnp:albumArtURI dlna:profileID=\"JPEG_TN\">http://192.168.1.20:8200/"
      "AlbumArt/2231-1412.jpg</upnp:albumArtURI>"
      "<upnp:class>object.item.audioItem.musicTrack</upnp:class>"
      "<res size=\"9416384\" duration=\"0:05:43.123\" bitrate=\"27432\" "
      "sampleFrequency=\"44100\" nrAudioChannels=\"2\" protocolInfo=\"http-"
      "get:*:audio/mpeg:DLNA.ORG_PN=MP3;DLNA.ORG_OP=01;DLNA.ORG_CI=0;"
      "DLNA.ORG_FLAGS=01700000000000000000000000000000\">http://192.168.1.20"
      ":8200/MediaItems/1412.mp3</res></item></DIDL-Lite>";
  static char meta[4096], ev[12288], evesc[BODY_MAX];
  xml_escape(didl, meta, sizeof meta);
  snprintf(ev, sizeof ev,
           "<Event xmlns=\"urn:schemas-upnp-org:metadata-1-0/AVT/\">"
           "<InstanceID val=\"0\">"
           "<TransportState val=\"PLAYING\"/>"
           "<TransportStatus val=\"OK\"/>"
           "<PlaybackStorageMedium val=\"NETWORK\"/>"
           "<CurrentPlayMode val=\"NORMAL\"/>"
           "<TransportPlaySpeed val=\"1\"/>"
           "<NumberOfTracks val=\"1\"/>"
           "<CurrentTrack val=\"QQQQQ\"/>"
           "<CurrentTrackDuration val=\"0:05:43\"/>"
           "<CurrentMediaDuration val=\"0:05:43\"/>"
           "<CurrentTrackURI val=\"http://192.168.1.20:8200/MediaItems/"
           "1412.mp3\"/>"
           "<AVTransportURI val=\"http://192.168.1.20:8200/MediaItems/"
           "1412.mp3\"/>"
           "<CurrentTrackMetaData val=\"%s\"/>"
           "<AVTransportURIMetaData val=\"%s\"/>"
           "<CurrentTransportActions val=\"Play,Stop,Pause,Seek,Next,"
           "Previous\"/>"
           "</InstanceID></Event>",
           meta, meta);
  xml_escape(ev, evesc, sizeof evesc);
  int n = snprintf(lc_body, sizeof lc_body,
                   "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                   "<e:propertyset xmlns:e=\"urn:schemas-upnp-org:event-1-0\">"
                   "\n<e:property>\n<LastChange>%s</LastChange>\n"
                   "</e:property>\n</e:propertyset>\n",
                   evesc);
  lc_len = n > 0 ? (size_t)n : 0;
  const char *q = strstr(lc_body, "QQQQQ");
  lc_patch = q ? (size_t)(q - lc_body) : 0;
}

/* The body of NOTIFY `seq`: the variables change with it. */
static size_t build_body(int kind, uint32_t seq, char *out, size_t cap) {
  if (kind == BODY_LASTCHANGE) {
    memcpy(out, lc_body, lc_len);
    uint32_t v = seq % 100000;
    for (int i = 4; i >= 0; i--, v /= 10) out[lc_patch + (size_t)i] = (char)('0' + v % 10);
    return lc_len;
  }
  int n = snprintf(
      out, cap,
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<e:propertyset xmlns:e=\"urn:schemas-upnp-org:event-1-0\">\n"
      "<e:property>\n<LoadLevelStatus>%u</LoadLevelStatus>\n</e:property>\n"
      "<e:property>\n<StepDelta>%u</StepDelta>\n</e:property>\n"
      "<e:property>\n<RampRate>%u</RampRate>\n</e:property>\n"
      "<e:property>\n<IsRamping>%u</IsRamping>\n</e:property>\n"
      "<e:property>\n<RampPaused>%u</RampPaused>\n</e:property>\n"
      "</e:propertyset>\n",
      seq % 101, 1 + seq % 100, (seq / 7) % 101, seq & 1u, (seq >> 3) & 1u);
  return n > 0 ? (size_t)n : 0;
}

/* ------------------------------------------------------------ settings */

typedef struct config {
  int subs[NMAX], nsubs;
  long count;
  int conns, depth, rounds, bodies; /* bodies: bit 0 propset, bit 1 LC */
  long lat_count;
  double rate, rate_seconds;
  int mem_subs;
  int parts; /* bit 0 throughput, 1 latency, 2 memory */
  const char *src_ip;
  const char *dump; /* per-NOTIFY latencies of the last throughput round */
} config;

/* ------------------------------------------------------------ a run */

typedef struct bench bench;

typedef struct sub {
  bench *b;
  int idx;
  uint64_t id;
  atomic_int active, initial, done;
  char sid[128], host[64], path[128];
  /* loop thread */
  uint32_t next_seq;
  long out_of_order, content_bad, delivered;
  /* sender thread (the one owning its connection) */
  uint32_t sent;
  uint32_t quota;
  _Atomic uint64_t *t_send; /* [quota + 1], ns */
  uint32_t *lat;            /* [quota + 1], ns; UINT32_MAX = none */
} sub;

struct bench {
  int kind;
  sub *subs;
  int nsubs;
  ucp_cp *cp;
  atomic_long delivered, bad_states, sink;
  _Atomic uint64_t last_delivery;
  atomic_int have_clock;
  clockid_t loop_clock;
  atomic_int loop_tid;
  int wake; /* signal `cond` on every delivery (latency runs) */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  char first_bad[600];
  atomic_int have_bad;
};

static void note_bad(bench *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note_bad(bench *b, const char *fmt, ...) {
  if (atomic_exchange(&b->have_bad, 1)) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->first_bad, sizeof b->first_bad, fmt, ap);
  va_end(ap);
}

static void on_event(uint64_t id, const ucp_event *ev, void *user) {
  sub *s = user;
  bench *b = s->b;
  uint64_t t = mono_ns();
  (void)id;
  if (!atomic_load_explicit(&b->have_clock, memory_order_relaxed)) {
    if (pthread_getcpuclockid(pthread_self(), &b->loop_clock) == 0) {
      atomic_store(&b->loop_tid, (int)gettid());
      atomic_store(&b->have_clock, 1);
    }
  }
  if (ucp_event_get_kind(ev) == UCP_EVENT_STATE) {
    ucp_sub_state st = ucp_event_state(ev);
    if (st == UCP_SUB_ACTIVE && !atomic_load(&s->active)) {
      const char *d = ucp_event_detail(ev), *at = strstr(d, "events to ");
      snprintf(s->sid, sizeof s->sid, "%s", ucp_event_sid(ev));
      if (at && sscanf(at + 10, "http://%63[^/]%127s", s->host, s->path) == 2)
        atomic_store(&s->active, 1);
      else
        note_bad(b, "ACTIVE without a callback URL: %s", d);
    } else if (st != UCP_SUB_RENEWING && st != UCP_SUB_RENEWED &&
               st != UCP_SUB_ACTIVE) {
      atomic_fetch_add(&b->bad_states, 1);
      note_bad(b, "state %d: %s", (int)st, ucp_event_detail(ev));
    }
    return;
  }
  uint32_t seq = ucp_event_seq(ev);
  if (seq == 0) {
    atomic_store(&s->initial, 1);
    return;
  }
  if (seq != s->next_seq) s->out_of_order++;
  s->next_seq = seq + 1;
  if (seq <= s->quota) {
    uint64_t t0 = atomic_load_explicit(&s->t_send[seq], memory_order_relaxed);
    uint64_t d = t0 && t > t0 ? t - t0 : 0;
    s->lat[seq] = d > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)d;
  } else {
    s->out_of_order++;
  }
  /* Read it as an application would. */
  long sum = 0;
  if (b->kind == BODY_LASTCHANGE) {
    size_t n = ucp_event_change_count(ev);
    for (size_t i = 0; i < n; i++) {
      const char *in, *var, *val, *ch;
      if (ucp_event_change(ev, i, &in, &var, &val, &ch) == UCP_OK && val)
        sum += val[0];
    }
    if (n != LC_CHANGES || ucp_event_var_count(ev) != 1) {
      s->content_bad++;
      note_bad(b, "LastChange read as %zu changes: %s", n,
               ucp_event_warnings(ev));
    }
  } else {
    size_t n = ucp_event_var_count(ev);
    for (size_t i = 0; i < n; i++) {
      const char *v = ucp_event_var_value(ev, i);
      sum += v[0] + (long)ucp_event_var_type(ev, i);
      sum += ucp_event_var_name(ev, i)[0];
    }
    if (n != PROPSET_VARS || ucp_event_var_type(ev, 0) != UCP_TYPE_UI1) {
      s->content_bad++;
      note_bad(b, "propertyset read as %zu variables, the first typed %d", n,
               (int)ucp_event_var_type(ev, 0));
    }
  }
  atomic_fetch_add_explicit(&b->sink, sum, memory_order_relaxed);
  s->delivered++;
  atomic_store_explicit(&b->last_delivery, t, memory_order_relaxed);
  atomic_fetch_add(&b->delivered, 1);
  if (b->wake) {
    pthread_mutex_lock(&b->lock);
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
  }
}

static void on_done(uint64_t id, const ucp_result *r, void *user) {
  sub *s = user;
  (void)id;
  if (ucp_result_status(r) != UCP_OK)
    note_bad(s->b, "completion: %s %s", ucp_err_name(ucp_result_status(r)),
             ucp_result_detail(r));
  atomic_store(&s->done, 1);
}

/* ------------------------------------------------------ setup helpers */

typedef struct waiter {
  atomic_int done;
  int status;
  char detail[512];
  const ucp_description *desc;
  const ucp_scpd *scpd;
} waiter;

static void waiter_cb(uint64_t id, const ucp_result *r, void *user) {
  waiter *w = user;
  (void)id;
  w->status = ucp_result_status(r);
  snprintf(w->detail, sizeof w->detail, "%s", ucp_result_detail(r));
  if (ucp_result_kind(r) == UCP_OP_LOAD_DESCRIPTION)
    w->desc = ucp_description_ref(ucp_result_description(r));
  else if (ucp_result_kind(r) == UCP_OP_SCPD_DOWNLOAD)
    w->scpd = ucp_scpd_ref(ucp_result_scpd(r));
  atomic_store(&w->done, 1);
}

static int waiter_wait(waiter *w, double max_s) {
  double end = now_s() + max_s;
  while (!atomic_load(&w->done) && now_s() < end) sleep_s(0.002);
  return atomic_load(&w->done) ? 0 : -1;
}

/* The Dimming service's eventSubURL and SCPD, through the description. */
static const ucp_scpd *fetch_dimming(const char *desc, char *evt, size_t n) {
  static const char type[] = "urn:schemas-upnp-org:service:Dimming:1";
  ucp_cp *cp;
  if (ucp_cp_new(NULL, &cp) != UCP_OK) return NULL;
  waiter w;
  memset(&w, 0, sizeof w);
  uint64_t id;
  const ucp_scpd *scpd = NULL;
  if (ucp_load_description(cp, desc, NULL, waiter_cb, &w, &id) != UCP_OK ||
      waiter_wait(&w, 15) != 0 || w.status != UCP_OK) {
    fprintf(stderr, "description %s: %s\n", desc,
            atomic_load(&w.done) ? w.detail : ucp_last_error_detail());
    ucp_cp_free(cp);
    return NULL;
  }
  const ucp_service *svc = NULL;
  for (size_t i = 0; !svc && i < ucp_description_device_count(w.desc); i++) {
    const ucp_device *dev = ucp_description_device(w.desc, i);
    for (size_t k = 0; !svc && k < ucp_device_service_count(dev); k++) {
      const ucp_service *s = ucp_device_service(dev, k);
      const char *t = ucp_service_field_get(s, UCP_SERVICE_TYPE);
      if (t && strcmp(t, type) == 0) svc = s;
    }
  }
  if (svc) {
    const char *e = ucp_service_field_get(svc, UCP_SERVICE_EVENT_SUB_URL);
    snprintf(evt, n, "%s", e ? e : "");
    waiter s;
    memset(&s, 0, sizeof s);
    if (ucp_scpd_download(cp, svc, NULL, waiter_cb, &s, &id) == UCP_OK &&
        waiter_wait(&s, 15) == 0 && s.status == UCP_OK)
      scpd = s.scpd;
    else
      fprintf(stderr, "SCPD of Dimming: %s\n", s.detail);
  } else {
    fprintf(stderr, "description %s: no %s\n", desc, type);
  }
  ucp_description_unref(w.desc);
  ucp_cp_free(cp);
  return scpd;
}

/* Subscribe subs[from..to) and wait until each is ACTIVE with its initial
 * event delivered. 0, or -1 with a message in err. */
static int subscribe_all(bench *b, int from, int to, const char *url,
                         const ucp_scpd *scpd, double max_s, char *err,
                         size_t nerr) {
  for (int i = from; i < to; i++) {
    sub *s = &b->subs[i];
    int rc = ucp_subscribe_url(b->cp, url, NULL, scpd, NULL, NULL, on_event,
                               on_done, s, &s->id);
    if (rc != UCP_OK) {
      snprintf(err, nerr, "ucp_subscribe_url: %s: %s", ucp_err_name(rc),
               ucp_last_error_detail());
      return -1;
    }
  }
  double end = now_s() + max_s;
  for (int i = from; i < to; i++) {
    sub *s = &b->subs[i];
    while ((!atomic_load(&s->active) || !atomic_load(&s->initial)) &&
           !atomic_load(&s->done) && now_s() < end)
      sleep_s(0.002);
    if (!atomic_load(&s->active) || !atomic_load(&s->initial)) {
      snprintf(err, nerr, "subscription %d: %s%s", i,
               atomic_load(&s->active) ? "no initial event"
                                       : "not ACTIVE",
               atomic_load(&b->have_bad) ? "" : "");
      if (atomic_load(&b->have_bad)) {
        size_t l = strlen(err);
        snprintf(err + l, nerr - l, " (%s)", b->first_bad);
      }
      return -1;
    }
  }
  return 0;
}

static bench *bench_new(int nsubs, uint32_t quota, int kind) {
  bench *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->kind = kind;
  b->nsubs = nsubs;
  b->subs = calloc((size_t)nsubs, sizeof *b->subs);
  pthread_mutex_init(&b->lock, NULL);
  pthread_cond_init(&b->cond, NULL);
  if (!b->subs) return b;
  for (int i = 0; i < nsubs; i++) {
    sub *s = &b->subs[i];
    s->b = b;
    s->idx = i;
    s->next_seq = 1;
    s->quota = quota;
    if (quota) {
      s->t_send = calloc((size_t)quota + 1, sizeof *s->t_send);
      s->lat = malloc(((size_t)quota + 1) * sizeof *s->lat);
      if (s->lat) memset(s->lat, 0xff, ((size_t)quota + 1) * sizeof *s->lat);
    }
  }
  return b;
}

static void bench_free(bench *b) {
  if (!b) return;
  for (int i = 0; b->subs && i < b->nsubs; i++) {
    free(b->subs[i].t_send);
    free(b->subs[i].lat);
  }
  free(b->subs);
  pthread_mutex_destroy(&b->lock);
  pthread_cond_destroy(&b->cond);
  free(b);
}

/* End every subscription that was started with ucp_unsubscribe and wait
 * (bounded) for the completions, then free the control point: the library
 * is then left nothing to UNSUBSCRIBE at teardown. */
static void close_cp(bench *b, double max_s) {
  for (int i = 0; i < b->nsubs; i++)
    if (b->subs[i].id && !atomic_load(&b->subs[i].done))
      ucp_unsubscribe(b->cp, b->subs[i].id);
  double end = now_s() + max_s;
  for (int i = 0; i < b->nsubs; i++)
    while (b->subs[i].id && !atomic_load(&b->subs[i].done) && now_s() < end)
      sleep_s(0.002);
  ucp_cp_free(b->cp);
  b->cp = NULL;
}

/* ------------------------------------------------------------ the sender */

typedef struct conn {
  int fd;
  int *subs, nsubs, cursor;
  long remaining;  /* NOTIFYs still to send */
  int outstanding; /* sent, not answered */
  char rbuf[8192];
  size_t rlen;
  int dead;
} conn;

typedef struct send_stats {
  long sent, ok, non200, conn_errors;
  int first_code;
  char first_error[200];
} send_stats;

static int connect_to(const char *hostport, const char *src_ip) {
  char ip[64];
  unsigned port = 0;
  if (sscanf(hostport, "%63[^:]:%u", ip, &port) != 2) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) return -1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (src_ip && *src_ip) {
    struct sockaddr_in me = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, src_ip, &me.sin_addr) == 1)
      (void)bind(fd, (struct sockaddr *)&me, sizeof me); /* else any */
  }
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Send the next NOTIFY on c (the next subscription in turn). */
static int send_next(bench *b, conn *c, send_stats *st) {
  sub *s = &b->subs[c->subs[c->cursor]];
  c->cursor = (c->cursor + 1) % c->nsubs;
  uint32_t seq = ++s->sent;
  static _Thread_local char body[BODY_MAX];
  char hdr[512];
  size_t blen = build_body(b->kind, seq, body, sizeof body);
  int hl = snprintf(hdr, sizeof hdr,
                    "NOTIFY %s HTTP/1.1\r\nHOST: %s\r\n"
                    "CONTENT-TYPE: text/xml; charset=\"utf-8\"\r\n"
                    "NT: upnp:event\r\nNTS: upnp:propchange\r\nSID: %s\r\n"
                    "SEQ: %u\r\nCONTENT-LENGTH: %zu\r\n\r\n",
                    s->path, s->host, s->sid, seq, blen);
  struct iovec iov[2] = {{hdr, (size_t)hl}, {body, blen}};
  size_t total = (size_t)hl + blen, done = 0;
  if (seq <= s->quota)
    atomic_store_explicit(&s->t_send[seq], mono_ns(), memory_order_relaxed);
  while (done < total) {
    ssize_t w = writev(c->fd, iov, 2);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      struct pollfd p = {c->fd, POLLOUT, 0};
      poll(&p, 1, 1000);
      continue;
    }
    if (w <= 0) {
      st->conn_errors++;
      if (!st->first_error[0])
        snprintf(st->first_error, sizeof st->first_error, "write: %s",
                 strerror(errno));
      return -1;
    }
    done += (size_t)w;
    size_t k = (size_t)w;
    for (int i = 0; i < 2 && k; i++) { /* advance the iovecs */
      size_t t = k < iov[i].iov_len ? k : iov[i].iov_len;
      iov[i].iov_base = (char *)iov[i].iov_base + t;
      iov[i].iov_len -= t;
      k -= t;
    }
  }
  c->remaining--;
  c->outstanding++;
  st->sent++;
  return 0;
}

/* Take the complete responses in c->rbuf. Returns how many. */
static int take_responses(conn *c, send_stats *st) {
  int n = 0;
  for (;;) {
    c->rbuf[c->rlen] = '\0';
    char *end = strstr(c->rbuf, "\r\n\r\n");
    if (!end) return n;
    size_t hlen = (size_t)(end + 4 - c->rbuf);
    long cl = 0;
    char *h = strcasestr(c->rbuf, "\r\nContent-Length:");
    if (h && h < end) cl = atol(h + 17);
    if (c->rlen < hlen + (size_t)cl) return n;
    int code = strncmp(c->rbuf, "HTTP/1.", 7) == 0 ? atoi(c->rbuf + 9) : 0;
    if (code == 200) {
      st->ok++;
    } else {
      st->non200++;
      if (!st->first_code) st->first_code = code;
    }
    c->outstanding--;
    n++;
    memmove(c->rbuf, c->rbuf + hlen + cl, c->rlen - hlen - (size_t)cl);
    c->rlen -= hlen + (size_t)cl;
  }
}

/* Read what is there (blocking or not) and take the responses. -1 when
 * the connection is gone. */
static int conn_read(conn *c, send_stats *st, int block) {
  if (c->rlen >= sizeof c->rbuf - 1) return -1;
  ssize_t r = recv(c->fd, c->rbuf + c->rlen, sizeof c->rbuf - 1 - c->rlen,
                   block ? 0 : MSG_DONTWAIT);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (r <= 0) {
    st->conn_errors++;
    if (!st->first_error[0])
      snprintf(st->first_error, sizeof st->first_error,
               "connection %s with %d NOTIFYs unanswered",
               r == 0 ? "closed by the callback server" : strerror(errno),
               c->outstanding);
    c->dead = 1;
    return -1;
  }
  c->rlen += (size_t)r;
  return take_responses(c, st);
}

typedef struct sender {
  bench *b;
  conn *conns;
  int nconns, depth;
  send_stats st;
  int stop; /* a NOTIFY was refused: send no more */
  atomic_int go;
  uint64_t t_first;
  double cpu_s;
  pthread_t th;
} sender;

/* Keep c busy: up to `depth` NOTIFYs outstanding, none after a refusal
 * (the round is lost then: what follows would only measure 412s). */
static void fill(sender *sd, conn *c) {
  while (!c->dead && !sd->stop && c->outstanding < sd->depth &&
         c->remaining > 0)
    if (send_next(sd->b, c, &sd->st) != 0) c->dead = 1;
}

static int conn_live(const sender *sd, const conn *c) {
  return !c->dead && (c->outstanding > 0 || (c->remaining > 0 && !sd->stop));
}

static void *sender_main(void *arg) {
  sender *sd = arg;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < sd->nconns; i++) {
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, sd->conns[i].fd, &e);
  }
  while (!atomic_load(&sd->go)) sleep_s(0.0005);
  double cpu0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
  sd->t_first = mono_ns();
  for (int i = 0; i < sd->nconns; i++) fill(sd, &sd->conns[i]);
  double idle_since = now_s();
  for (;;) {
    int live = 0;
    for (int i = 0; i < sd->nconns; i++) live += conn_live(sd, &sd->conns[i]);
    if (!live) break;
    struct epoll_event evs[MAX_CONNS];
    int n = epoll_wait(ep, evs, MAX_CONNS, 500);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (now_s() - idle_since > 15) { /* nothing answers: give up */
        if (!sd->st.first_error[0])
          snprintf(sd->st.first_error, sizeof sd->st.first_error,
                   "no answer for 15 s");
        break;
      }
      continue;
    }
    idle_since = now_s();
    for (int k = 0; k < n; k++) {
      conn *c = &sd->conns[evs[k].data.u32];
      if (c->dead) continue;
      long bad = sd->st.non200;
      if (conn_read(c, &sd->st, 0) >= 0) {
        if (sd->st.non200 != bad) sd->stop = 1;
        fill(sd, c);
      }
      if (c->dead) epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    }
  }
  sd->cpu_s = clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
  close(ep);
  return NULL;
}

/* ------------------------------------------------------ throughput run */

typedef struct tp_result {
  int ok;
  long planned, sent, delivered, non200, conn_errors, out_of_order;
  long content_bad, bad_states, dropped, received;
  double window_s, rate, cp_rate;
  double loop_us, mhd_us, sender_us, proc_us;
  double p50_us, p99_us, max_us;
  double loop_sys_pct, mhd_sys_pct; /* system time share, /proc ticks */
  int conns, nthreads_cp;
  char threads[200];
  char error[700];
} tp_result;

static void percentiles(bench *b, double *p50, double *p99, double *mx,
                        long *n_out) {
  size_t n = 0;
  for (int i = 0; i < b->nsubs; i++) n += b->subs[i].quota;
  uint32_t *all = malloc((n ? n : 1) * sizeof *all);
  size_t k = 0;
  for (int i = 0; all && i < b->nsubs; i++)
    for (uint32_t q = 1; q <= b->subs[i].quota; q++)
      if (b->subs[i].lat[q] != UINT32_MAX) all[k++] = b->subs[i].lat[q];
  *p50 = *p99 = *mx = 0;
  if (n_out) *n_out = (long)k;
  if (k) {
    qsort(all, k, sizeof *all, cmp_u32);
    *p50 = all[k / 2] / 1e3;
    *p99 = all[(size_t)((double)k * 0.99)] / 1e3;
    *mx = all[k - 1] / 1e3;
  }
  free(all);
}

/* CPU seconds of the control point's threads other than the loop thread:
 * those in `cp_tids` (appeared with the control point). */
static double others_cpu(const tids *cp_tids, pid_t loop_tid) {
  double s = 0;
  for (int i = 0; i < cp_tids->n; i++)
    if (cp_tids->tid[i] != loop_tid) s += clock_s(tid_clock(cp_tids->tid[i]));
  return s;
}

static double proc_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


/* User and system ticks of every control-point thread but the loop. */
static void others_ticks(const tids *l, pid_t loop_tid, long *u,
                         long *s) {
  for (int i = 0; i < l->n; i++)
    if (l->tid[i] != loop_tid) {
      long tu, ts;
      tid_ticks(l->tid[i], &tu, &ts);
      *u += tu, *s += ts;
    }
}

static tp_result run_throughput(const config *cf, const char *url,
                                const ucp_scpd *scpd, int nsubs, int kind,
                                long count) {
  tp_result res;
  memset(&res, 0, sizeof res);
  uint32_t quota = (uint32_t)(count / nsubs);
  if (quota < 1) quota = 1;
  tids before;
  list_tids(&before);
  bench *b = bench_new(nsubs, quota, kind);
  if (!b || !b->subs || ucp_cp_new(NULL, &b->cp) != UCP_OK) {
    snprintf(res.error, sizeof res.error, "setup failed");
    bench_free(b);
    return res;
  }
  sender sd;
  memset(&sd, 0, sizeof sd);
  conn *conns = NULL;
  int nconns = 0;
  if (subscribe_all(b, 0, nsubs, url, kind == BODY_PROPSET ? scpd : NULL, 20,
                    res.error, sizeof res.error) != 0)
    goto out;
  /* The control point's threads, beside the loop's. */
  tids now, cp_tids = {0};
  list_tids(&now);
  for (int i = 0; i < now.n; i++)
    if (!has_tid(&before, now.tid[i])) cp_tids.tid[cp_tids.n++] = now.tid[i];
  pid_t loop_tid = (pid_t)atomic_load(&b->loop_tid);
  res.nthreads_cp = cp_tids.n;
  {
    size_t l = 0;
    for (int i = 0; i < cp_tids.n; i++) {
      char nm[32];
      tid_name(cp_tids.tid[i], nm, sizeof nm);
      l += (size_t)snprintf(res.threads + l, sizeof res.threads - l, "%s%s%s",
                            l ? "," : "", nm,
                            cp_tids.tid[i] == loop_tid ? "(loop)" : "");
      if (l >= sizeof res.threads) break;
    }
  }
  /* Connections: subscription i on connection i % nconns. */
  nconns = nsubs < cf->conns ? nsubs : cf->conns;
  conns = calloc((size_t)nconns, sizeof *conns);
  res.conns = nconns;
  for (int i = 0; i < nconns; i++) {
    conns[i].fd = -1;
    conns[i].subs = calloc((size_t)nsubs, sizeof(int));
  }
  for (int i = 0; i < nsubs; i++) {
    conn *c = &conns[i % nconns];
    c->subs[c->nsubs++] = i;
    c->remaining += quota;
  }
  for (int i = 0; i < nconns; i++) {
    conns[i].fd = connect_to(b->subs[conns[i].subs[0]].host, cf->src_ip);
    if (conns[i].fd < 0) {
      snprintf(res.error, sizeof res.error, "connect to %s: %s",
               b->subs[conns[i].subs[0]].host, strerror(errno));
      goto out;
    }
  }
  sd.b = b;
  sd.conns = conns;
  sd.nconns = nconns;
  sd.depth = cf->depth;
  if (pthread_create(&sd.th, NULL, sender_main, &sd) != 0) {
    snprintf(res.error, sizeof res.error, "pthread_create failed");
    goto out;
  }
  sleep_s(0.05);
  uint64_t recv0 = ucp_cp_counter(b->cp, UCP_COUNTER_NOTIFY_RECEIVED);
  uint64_t drop0 = ucp_cp_counter(b->cp, UCP_COUNTER_NOTIFY_DROPPED);
  double loop0 = clock_s(b->loop_clock), oth0 = others_cpu(&cp_tids, loop_tid);
  double proc0 = proc_cpu_s();
  long lu0, ls0, mu0 = 0, ms0 = 0;
  tid_ticks(loop_tid, &lu0, &ls0);
  others_ticks(&cp_tids, loop_tid, &mu0, &ms0);
  atomic_store(&sd.go, 1);
  pthread_join(sd.th, NULL);
  long expect = sd.st.sent;
  double end = now_s() + 10;
  while (atomic_load(&b->delivered) < expect && now_s() < end) sleep_s(0.0005);
  double loop1 = clock_s(b->loop_clock), oth1 = others_cpu(&cp_tids, loop_tid);
  double proc1 = proc_cpu_s();
  long lu1, ls1, mu1 = 0, ms1 = 0;
  tid_ticks(loop_tid, &lu1, &ls1);
  others_ticks(&cp_tids, loop_tid, &mu1, &ms1);
  if (lu1 + ls1 > lu0 + ls0)
    res.loop_sys_pct = 100.0 * (double)(ls1 - ls0) /
                       (double)(lu1 + ls1 - lu0 - ls0);
  if (mu1 + ms1 > mu0 + ms0)
    res.mhd_sys_pct = 100.0 * (double)(ms1 - ms0) /
                      (double)(mu1 + ms1 - mu0 - ms0);
  sleep_s(0.05); /* anything late or extra */
  res.planned = (long)quota * nsubs;
  res.sent = sd.st.sent;
  res.delivered = atomic_load(&b->delivered);
  res.non200 = sd.st.non200;
  res.conn_errors = sd.st.conn_errors + (sd.st.ok + sd.st.non200 < sd.st.sent);
  res.received = (long)(ucp_cp_counter(b->cp, UCP_COUNTER_NOTIFY_RECEIVED) - recv0);
  res.dropped = (long)(ucp_cp_counter(b->cp, UCP_COUNTER_NOTIFY_DROPPED) - drop0);
  res.bad_states = atomic_load(&b->bad_states);
  for (int i = 0; i < nsubs; i++) {
    res.out_of_order += b->subs[i].out_of_order;
    res.content_bad += b->subs[i].content_bad;
  }
  uint64_t last = atomic_load(&b->last_delivery);
  res.window_s = last > sd.t_first ? (double)(last - sd.t_first) / 1e9 : 0;
  if (res.window_s > 0) res.rate = (double)res.delivered / res.window_s;
  if (res.delivered > 0) {
    double d = (double)res.delivered;
    res.loop_us = (loop1 - loop0) * 1e6 / d;
    res.mhd_us = (oth1 - oth0) * 1e6 / d;
    res.sender_us = sd.cpu_s * 1e6 / d;
    res.proc_us = (proc1 - proc0) * 1e6 / d;
    double cps = (loop1 - loop0) + (oth1 - oth0);
    res.cp_rate = cps > 0 ? d / cps : 0;
  }
  percentiles(b, &res.p50_us, &res.p99_us, &res.max_us, NULL);
  if (cf->dump) { /* subscription 0: SEQ, send time, latency (ns) */
    FILE *f = fopen(cf->dump, "w");
    for (uint32_t q = 1; f && q <= b->subs[0].quota; q++) {
      uint64_t t = atomic_load(&b->subs[0].t_send[q]);
      fprintf(f, "%u %llu %u\n", q,
              (unsigned long long)(t > sd.t_first ? t - sd.t_first : 0),
              b->subs[0].lat[q]);
    }
    if (f) fclose(f);
  }
  if (sd.st.first_error[0] || sd.st.first_code || atomic_load(&b->have_bad)) {
    char code[32] = "";
    if (sd.st.first_code)
      snprintf(code, sizeof code, " first non-200: %d", sd.st.first_code);
    snprintf(res.error, sizeof res.error, "%.190s%s%s%.400s",
             sd.st.first_error, code,
             atomic_load(&b->have_bad) ? " | " : "",
             atomic_load(&b->have_bad) ? b->first_bad : "");
  }
  res.ok = res.delivered > 0;
out:
  close_cp(b, 10);
  for (int i = 0; conns && i < nconns; i++) {
    if (conns[i].fd >= 0) close(conns[i].fd);
    free(conns[i].subs);
  }
  free(conns);
  bench_free(b);
  return res;
}

/* ------------------------------------------------------ latency runs */

typedef struct lat_result {
  int ok;
  long sent, delivered, lost, late; /* late: sends behind the schedule */
  double p50_us, p99_us, p999_us, max_us, achieved_rate;
  char error[600];
} lat_result;

/* One subscription; `rate` 0: one at a time (send, 200, callback, next);
 * else paced at `rate` per second for `count` NOTIFYs. */
static lat_result run_latency(const config *cf, const char *url,
                              const ucp_scpd *scpd, long count, double rate) {
  lat_result res;
  memset(&res, 0, sizeof res);
  bench *b = bench_new(1, (uint32_t)count, BODY_PROPSET);
  if (!b || !b->subs || ucp_cp_new(NULL, &b->cp) != UCP_OK) {
    snprintf(res.error, sizeof res.error, "setup failed");
    bench_free(b);
    return res;
  }
  b->wake = rate == 0;
  conn c;
  memset(&c, 0, sizeof c);
  c.fd = -1;
  int only = 0;
  c.subs = &only;
  c.nsubs = 1;
  c.remaining = count;
  send_stats st;
  memset(&st, 0, sizeof st);
  if (subscribe_all(b, 0, 1, url, scpd, 20, res.error, sizeof res.error) != 0)
    goto out;
  c.fd = connect_to(b->subs[0].host, cf->src_ip);
  if (c.fd < 0) {
    snprintf(res.error, sizeof res.error, "connect: %s", strerror(errno));
    goto out;
  }
  uint64_t t0 = mono_ns(), period = rate > 0 ? (uint64_t)(1e9 / rate) : 0;
  for (long i = 0; i < count; i++) {
    if (period) {
      uint64_t due = t0 + (uint64_t)i * period;
      uint64_t n = mono_ns();
      if (n < due) {
        struct timespec ts = {(time_t)(due / 1000000000u),
                              (long)(due % 1000000000u)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
               EINTR) {
        }
      } else if (n > due + period) {
        res.late++;
      }
    }
    if (send_next(b, &c, &st) != 0) break;
    while (c.outstanding > 0)
      if (conn_read(&c, &st, 1) < 0) break;
    if (c.dead) break;
    if (!period) { /* and the callback */
      double end = now_s() + 5;
      pthread_mutex_lock(&b->lock);
      while (atomic_load(&b->delivered) < i + 1 && now_s() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000000;
        if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
        pthread_cond_timedwait(&b->cond, &b->lock, &ts);
      }
      pthread_mutex_unlock(&b->lock);
    }
  }
  double t_send_s = (double)(mono_ns() - t0) / 1e9;
  double end = now_s() + 10;
  while (atomic_load(&b->delivered) < st.sent && now_s() < end) sleep_s(0.001);
  res.sent = st.sent;
  res.delivered = atomic_load(&b->delivered);
  res.lost = res.sent - res.delivered + st.non200 +
             (st.sent < count ? count - st.sent : 0) + b->subs[0].out_of_order +
             b->subs[0].content_bad + atomic_load(&b->bad_states);
  res.achieved_rate = t_send_s > 0 ? (double)st.sent / t_send_s : 0;
  {
    long k = 0;
    percentiles(b, &res.p50_us, &res.p99_us, &res.max_us, &k);
    /* p99.9 as well */
    uint32_t *all = malloc((size_t)(k ? k : 1) * sizeof *all);
    long j = 0;
    for (uint32_t q = 1; all && q <= b->subs[0].quota; q++)
      if (b->subs[0].lat[q] != UINT32_MAX) all[j++] = b->subs[0].lat[q];
    if (all && j) {
      qsort(all, (size_t)j, sizeof *all, cmp_u32);
      res.p999_us = all[(size_t)((double)j * 0.999)] / 1e3;
    }
    free(all);
  }
  if (st.first_error[0] || atomic_load(&b->have_bad))
    snprintf(res.error, sizeof res.error, "%.190s %.400s", st.first_error,
             atomic_load(&b->have_bad) ? b->first_bad : "");
  res.ok = res.delivered > 0;
out:
  close_cp(b, 10);
  if (c.fd >= 0) close(c.fd);
  bench_free(b);
  return res;
}

/* ------------------------------------------------------ memory run */

typedef struct mem_result {
  int ok;
  /* bytes (or fds) per subscription: the first batch on a fresh control
   * point (cold), a second batch after the first was ended (warm) */
  double cold, warm, left_cold, left_warm, fds, rss;
  size_t heap[5]; /* before, batch 1, ended, batch 2, ended */
  long fd[5];
  long lost, bad_states, sim_failures; /* initial events that never came */
  char error[600];
} mem_result;

static int end_all(bench *b, int from, int to, double max_s) {
  for (int i = from; i < to; i++) ucp_unsubscribe(b->cp, b->subs[i].id);
  double end = now_s() + max_s;
  for (int i = from; i < to; i++)
    while (!atomic_load(&b->subs[i].done) && now_s() < end) sleep_s(0.002);
  for (int i = from; i < to; i++)
    if (!atomic_load(&b->subs[i].done)) return -1;
  sleep_s(0.2); /* the completions' objects are freed after they return */
  return 0;
}

static mem_result run_memory(const char *url, const ucp_scpd *scpd, int n,
                             sim_child *ch) {
  mem_result res;
  memset(&res, 0, sizeof res);
  sim_stats s0 = child_stats(ch);
  bench *b = bench_new(2 * n + 1, 0, BODY_PROPSET);
  if (!b || !b->subs || ucp_cp_new(NULL, &b->cp) != UCP_OK) {
    snprintf(res.error, sizeof res.error, "setup failed");
    bench_free(b);
    return res;
  }
  /* Warm-up: the callback server, the HTTP engine and its connections. */
  int w = 2 * n;
  if (subscribe_all(b, w, w + 1, url, scpd, 20, res.error,
                    sizeof res.error) != 0 ||
      end_all(b, w, w + 1, 10) != 0)
    goto out;
  res.heap[0] = heap_in_use();
  res.fd[0] = count_fds();
  long rss0 = rss_kb();
  for (int batch = 0; batch < 2; batch++) {
    int from = batch * n;
    if (subscribe_all(b, from, from + n, url, scpd, 60, res.error,
                      sizeof res.error) != 0)
      goto out;
    sleep_s(0.2); /* the last events' objects are freed after their callback */
    res.heap[1 + 2 * batch] = heap_in_use();
    res.fd[1 + 2 * batch] = count_fds();
    if (batch == 0) res.rss = (double)(rss_kb() - rss0) * 1024.0 / n;
    if (end_all(b, from, from + n, 30) != 0) {
      snprintf(res.error, sizeof res.error, "unsubscribe did not complete");
      goto out;
    }
    res.heap[2 + 2 * batch] = heap_in_use();
    res.fd[2 + 2 * batch] = count_fds();
  }
  double h[5];
  for (int i = 0; i < 5; i++) h[i] = (double)res.heap[i];
  res.cold = (h[1] - h[0]) / n;
  res.left_cold = (h[2] - h[0]) / n;
  res.warm = (h[3] - h[2]) / n;
  res.left_warm = (h[4] - h[2]) / n;
  res.fds = (double)(res.fd[1] - res.fd[0]) / n;
  res.ok = 1;
out:
  for (int i = 0; i < 2 * n; i++) /* an initial event that never came */
    if (b->subs[i].id && !atomic_load(&b->subs[i].done) &&
        !atomic_load(&b->subs[i].initial))
      res.lost++;
  res.bad_states = atomic_load(&b->bad_states);
  close_cp(b, 30);
  sim_stats s1 = child_stats(ch);
  res.sim_failures = (long)(s1.notify_failures - s0.notify_failures);
  bench_free(b);
  return res;
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f) {
  fputs(
      "usage: ucp_bench_gena [--rounds 5] [--subs 1,16,64] [--count 100000]\n"
      "                      [--conns 16] [--depth 1] [--bodies propset,lc]\n"
      "                      [--lat-count 20000] [--rate 2000] "
      "[--rate-seconds 5]\n"
      "                      [--mem-subs 1000] [--parts tput,lat,mem] "
      "[--src-ip 127.0.0.2]\n"
      "                      [--dump-latency FILE]\n"
      "--count: NOTIFYs a throughput round (the LastChange body: half).\n"
      "--conns: most sender connections (subscription i on i % conns).\n"
      "--depth: NOTIFYs outstanding per connection (1 = as devices send).\n"
      "--dump-latency: \"SEQ send_ns latency_ns\" of subscription 0 in each\n"
      "  throughput round, overwritten by the next (the last one stays).\n",
      f);
}

static int parse_list(const char *s, int *v, int max) {
  int n = 0;
  while (*s && n < max) {
    char *e;
    long x = strtol(s, &e, 10);
    if (e == s || x < 1 || x > 4000) return -1;
    v[n++] = (int)x;
    if (*e && *e != ',') return -1;
    s = *e == ',' ? e + 1 : e;
  }
  return n;
}

static void row(const char *what, const double *v, int n, const char *unit,
                const char *target, const char *fmt_kind) {
  char med[32], range[48];
  int dec = strcmp(fmt_kind, "1") == 0;
  if (n < 1) {
    snprintf(med, sizeof med, "-");
    snprintf(range, sizeof range, "-");
  } else if (dec) {
    snprintf(med, sizeof med, "%.1f", median(v, n));
    snprintf(range, sizeof range, "%.1f .. %.1f", vmin(v, n), vmax(v, n));
  } else {
    snprintf(med, sizeof med, "%.0f", median(v, n));
    snprintf(range, sizeof range, "%.0f .. %.0f", vmin(v, n), vmax(v, n));
  }
  printf("| %-58s | %10s | %-20s | %-12s | %-10s |\n", what, med, range, unit,
         target);
}

int main(int argc, char **argv) {
  config c;
  memset(&c, 0, sizeof c);
  c.subs[0] = 1, c.subs[1] = 16, c.subs[2] = 64;
  c.nsubs = 3;
  c.count = 100000;
  c.conns = 16;
  c.depth = 1;
  c.rounds = 5;
  c.bodies = 3;
  c.lat_count = 20000;
  c.rate = 2000;
  c.rate_seconds = 5;
  c.mem_subs = 1000;
  c.parts = 7;
  c.src_ip = "127.0.0.2";
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
    if (!strcmp(a, "--rounds")) c.rounds = atoi(v);
    else if (!strcmp(a, "--count")) c.count = atol(v);
    else if (!strcmp(a, "--conns")) c.conns = atoi(v);
    else if (!strcmp(a, "--depth")) c.depth = atoi(v);
    else if (!strcmp(a, "--lat-count")) c.lat_count = atol(v);
    else if (!strcmp(a, "--rate")) c.rate = atof(v);
    else if (!strcmp(a, "--rate-seconds")) c.rate_seconds = atof(v);
    else if (!strcmp(a, "--mem-subs")) c.mem_subs = atoi(v);
    else if (!strcmp(a, "--src-ip")) c.src_ip = v;
    else if (!strcmp(a, "--dump-latency")) c.dump = v;
    else if (!strcmp(a, "--subs")) {
      c.nsubs = parse_list(v, c.subs, NMAX);
      if (c.nsubs < 1) {
        usage(stderr);
        return 2;
      }
    } else if (!strcmp(a, "--bodies")) {
      c.bodies = (strstr(v, "prop") ? 1 : 0) | (strstr(v, "lc") ? 2 : 0);
    } else if (!strcmp(a, "--parts")) {
      c.parts = (strstr(v, "tput") ? 1 : 0) | (strstr(v, "lat") ? 2 : 0) |
                (strstr(v, "mem") ? 4 : 0);
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (c.rounds < 1 || c.rounds > ROUNDS_MAX || c.count < 1 || c.conns < 1 ||
      c.conns > MAX_CONNS || c.depth < 1 || c.depth > 64 || c.lat_count < 1 ||
      c.rate <= 0 || c.rate_seconds <= 0 || c.mem_subs < 1 || !c.parts ||
      !c.bodies || c.mem_subs > 4000) {
    usage(stderr);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  /* The simulator, forked before any thread exists. */
  sim_child ch;
  memset(&ch, 0, sizeof ch);
  if (child_fork(&ch) != 0) {
    fprintf(stderr, "the simulator did not start\n");
    return 3;
  }
  char evt[512];
  const ucp_scpd *scpd = fetch_dimming(ch.desc, evt, sizeof evt);
  if (!scpd || !evt[0]) {
    child_stop(&ch);
    return 3;
  }
  build_lastchange();
  {
    char tmp[BODY_MAX];
    propset_len_sample = build_body(BODY_PROPSET, 57, tmp, sizeof tmp);
  }
  int bad = 0, setup_failed = 0;

  /* Throughput. */
  static tp_result tr[2][NMAX][ROUNDS_MAX];
  if (c.parts & 1)
    for (int k = 0; k < 2; k++) {
      if (!(c.bodies & (1 << k))) continue;
      for (int si = 0; si < c.nsubs; si++)
        for (int r = 0; r < c.rounds; r++) {
          tr[k][si][r] = run_throughput(&c, evt, scpd, c.subs[si], k,
                                        k ? c.count / 2 : c.count);
          tp_result *x = &tr[k][si][r];
          if (!x->ok) setup_failed = 1;
          fprintf(stderr, "  %s S=%d #%d: %.0f/s%s%s\n", body_name[k],
                  c.subs[si], r + 1, x->rate, x->error[0] ? " | " : "",
                  x->error);
        }
    }
  /* Latency. */
  static lat_result l1[ROUNDS_MAX], l2[ROUNDS_MAX];
  long rate_count = (long)(c.rate * c.rate_seconds);
  if (c.parts & 2)
    for (int r = 0; r < c.rounds; r++) {
      l1[r] = run_latency(&c, evt, scpd, c.lat_count, 0);
      l2[r] = run_latency(&c, evt, scpd, rate_count, c.rate);
      if (!l1[r].ok || !l2[r].ok) setup_failed = 1;
      fprintf(stderr, "  latency #%d: one at a time p99 %.0f us, at %.0f/s "
                      "p99 %.0f us\n",
              r + 1, l1[r].p99_us, c.rate, l2[r].p99_us);
    }
  /* Memory. */
  static mem_result mr[ROUNDS_MAX];
  if (c.parts & 4)
    for (int r = 0; r < c.rounds; r++) {
      mr[r] = run_memory(evt, scpd, c.mem_subs, &ch);
      if (mr[r].lost || mr[r].bad_states || mr[r].sim_failures) bad = 1;
      if (!mr[r].ok) setup_failed = 1;
      fprintf(stderr, "  memory #%d: %.0f / %.0f B/subscription%s%s\n", r + 1,
              mr[r].cold, mr[r].warm, mr[r].error[0] ? " | " : "",
              mr[r].error);
    }
  sim_stats ss = child_stats(&ch);

  /* ---- the table ---- */
  printf("\nupnpcp %s eventing benchmark (loopback; simulator in a child "
         "process; median of %d rounds)\n\n",
         ucp_version(NULL), c.rounds);
  printf("| %-58s | %10s | %-20s | %-12s | %-10s |\n", "measure", "median",
         "range", "unit", "target");
  printf("|%s|%s|%s|%s|%s|\n",
         "------------------------------------------------------------",
         "------------", "----------------------", "--------------",
         "------------");
  double tp_med[2][NMAX], cprate_med[2][NMAX];
  long lost_tot[2][NMAX];
  int stopped[2][NMAX];
  memset(lost_tot, 0, sizeof lost_tot);
  memset(stopped, 0, sizeof stopped);
  memset(tp_med, 0, sizeof tp_med);
  memset(cprate_med, 0, sizeof cprate_med);
  if (c.parts & 1)
    for (int k = 0; k < 2; k++) {
      if (!(c.bodies & (1 << k))) continue;
      for (int si = 0; si < c.nsubs; si++) {
        double v[7][ROUNDS_MAX];
        int n = 0;
        for (int r = 0; r < c.rounds; r++) {
          tp_result *x = &tr[k][si][r];
          /* Sent but not delivered, or delivered wrong; any other sign of
           * trouble (a refusal, a drop, a state event, a round that could
           * not send all it planned) makes the run bad too. */
          long lost = x->sent - x->delivered + x->out_of_order +
                      x->content_bad;
          lost_tot[k][si] += lost;
          if (x->sent != x->planned) stopped[k][si]++;
          if (x->non200 || x->conn_errors || x->bad_states || x->dropped ||
              x->received != x->sent || x->sent != x->planned)
            bad = 1;
          if (!x->ok) continue;
          v[0][n] = x->rate;
          v[1][n] = x->cp_rate;
          v[2][n] = x->loop_us;
          v[3][n] = x->mhd_us;
          v[4][n] = x->sender_us;
          v[5][n] = x->p50_us;
          v[6][n] = x->p99_us;
          n++;
        }
        if (lost_tot[k][si]) bad = 1;
        tp_med[k][si] = median(v[0], n);
        cprate_med[k][si] = median(v[1], n);
        char what[100], blen[32];
        snprintf(blen, sizeof blen, "%zu B",
                 k ? lc_len : propset_len_sample);
        int S = c.subs[si];
        snprintf(what, sizeof what, "NOTIFY/s, %s %s, S=%d, wall", body_name[k],
                 blen, S);
        row(what, v[0], n, "events/s", k ? "-" : ">= 20,000", "0");
        snprintf(what, sizeof what,
                 "  ... per CPU-s of cp threads (loop + MHD)");
        row(what, v[1], n, "events/s", k ? "-" : ">= 20,000", "0");
        row("  ... loop thread CPU per NOTIFY", v[2], n, "us", "-", "1");
        row("  ... callback-server (MHD) thread CPU per NOTIFY", v[3], n, "us",
            "-", "1");
        row("  ... sender CPU per NOTIFY (the bench's device)", v[4], n, "us",
            "-", "1");
        row("  ... latency under load, send to callback, p50", v[5], n, "us",
            "-", "0");
        row("  ... latency under load, p99", v[6], n, "us", "-", "0");
        double lv = (double)lost_tot[k][si];
        row("  ... events lost: sent, not delivered or wrong (all rounds)",
            &lv, 1, "events", "0", "0");
        lv = (double)stopped[k][si];
        row("  ... rounds stopped by a refused NOTIFY", &lv, 1, "rounds", "0",
            "0");
      }
    }
  double lat_p99_med[2] = {0, 0};
  if (c.parts & 2) {
    for (int m = 0; m < 2; m++) {
      lat_result *L = m ? l2 : l1;
      double v[4][ROUNDS_MAX];
      int n = 0;
      long lost = 0;
      for (int r = 0; r < c.rounds; r++) {
        lost += L[r].lost;
        if (!L[r].ok) continue;
        v[0][n] = L[r].p50_us;
        v[1][n] = L[r].p99_us;
        v[2][n] = L[r].p999_us;
        v[3][n] = L[r].max_us;
        n++;
      }
      if (lost) bad = 1;
      lat_p99_med[m] = median(v[1], n);
      char what[100];
      const char *mode = m ? "at a fixed rate" : "one at a time";
      char rt[40] = "";
      if (m) snprintf(rt, sizeof rt, " (%.0f/s)", c.rate);
      snprintf(what, sizeof what, "latency send->callback, S=1, %s%s, p50",
               mode, rt);
      row(what, v[0], n, "us", "-", "0");
      snprintf(what, sizeof what, "  ... p99");
      row(what, v[1], n, "us", "< 2000", "0");
      row("  ... p99.9", v[2], n, "us", "-", "0");
      row("  ... max", v[3], n, "us", "-", "0");
      double lv = (double)lost;
      row("  ... events lost (all rounds)", &lv, 1, "events", "0", "0");
    }
  }
  double mem_med[2] = {0, 0};
  if (c.parts & 4) {
    double v[6][ROUNDS_MAX];
    int n = 0;
    for (int r = 0; r < c.rounds; r++) {
      if (!mr[r].ok) continue;
      v[0][n] = mr[r].cold;
      v[1][n] = mr[r].warm;
      v[2][n] = mr[r].left_cold;
      v[3][n] = mr[r].left_warm;
      v[4][n] = mr[r].fds;
      v[5][n] = mr[r].rss;
      n++;
    }
    mem_med[0] = median(v[0], n);
    mem_med[1] = median(v[1], n);
    char what[100];
    snprintf(what, sizeof what,
             "heap per active subscription, first %d (mallinfo2)", c.mem_subs);
    row(what, v[0], n, "bytes", "-", "0");
    snprintf(what, sizeof what, "  ... the next %d, after the first ended",
             c.mem_subs);
    row(what, v[1], n, "bytes", "-", "0");
    row("  ... heap kept after the first batch ended", v[2], n, "bytes/sub",
        "-", "0");
    row("  ... heap kept after the second batch ended", v[3], n, "bytes/sub",
        "0", "1");
    row("  ... fds per subscription (first batch)", v[4], n, "fds", "-", "1");
    row("  ... RSS per subscription (first batch)", v[5], n, "bytes", "-",
        "0");
  }

  printf("\nNOTIFY/s: events delivered to the event callback / (last "
         "delivery - first send). Per CPU-s of cp threads: events / (loop "
         "thread + callback-server thread CPU seconds) over the same window, "
         "i.e. what one core running only the control point would process. "
         "Sender: %d connection(s) max (subscription i on i %% conns), %d "
         "NOTIFY outstanding per connection, source address %s; propertyset "
         "typed by the Dimming SCPD; LastChange (AVTransport, %d changes) "
         "without SCPD. Latency: CLOCK_MONOTONIC before the write to the "
         "event callback, every event.\n",
         c.conns, c.depth, c.src_ip, LC_CHANGES);

  printf("\nper round:\n");
  if (c.parts & 1)
    for (int k = 0; k < 2; k++) {
      if (!(c.bodies & (1 << k))) continue;
      for (int si = 0; si < c.nsubs; si++)
        for (int r = 0; r < c.rounds; r++) {
          tp_result *x = &tr[k][si][r];
          printf("  %s S=%d #%d: conns %d, planned %ld, sent %ld, 200 %ld, "
                 "non-200 %ld, "
                 "conn errors %ld, delivered %ld in %.3f s (%.0f/s), "
                 "counters received %ld dropped %ld, SEQ out of order %ld, "
                 "content bad %ld, bad states %ld; CPU us/NOTIFY loop %.2f "
                 "(%.0f%% sys) MHD %.2f (%.0f%% sys) sender %.2f process "
                 "%.2f; latency p50 %.0f p99 "
                 "%.0f max %.0f us; cp threads %s",
                 body_name[k], c.subs[si], r + 1, x->conns, x->planned,
                 x->sent,
                 x->sent - x->non200 - x->conn_errors, x->non200,
                 x->conn_errors, x->delivered, x->window_s, x->rate,
                 x->received, x->dropped, x->out_of_order, x->content_bad,
                 x->bad_states, x->loop_us, x->loop_sys_pct, x->mhd_us,
                 x->mhd_sys_pct, x->sender_us,
                 x->proc_us, x->p50_us, x->p99_us, x->max_us, x->threads);
          if (x->error[0]) printf(" | %s", x->error);
          printf("\n");
        }
    }
  if (c.parts & 2)
    for (int r = 0; r < c.rounds; r++)
      for (int m = 0; m < 2; m++) {
        lat_result *x = m ? &l2[r] : &l1[r];
        printf("  latency %s #%d: sent %ld, delivered %ld, lost %ld, sends "
               "behind schedule %ld, achieved %.0f/s; p50 %.0f p99 %.0f "
               "p99.9 %.0f max %.0f us",
               m ? "fixed rate" : "one at a time", r + 1, x->sent,
               x->delivered, x->lost, x->late, x->achieved_rate, x->p50_us,
               x->p99_us, x->p999_us, x->max_us);
        if (x->error[0]) printf(" | %s", x->error);
        printf("\n");
      }
  if (c.parts & 4)
    for (int r = 0; r < c.rounds; r++) {
      mem_result *x = &mr[r];
      printf("  memory #%d: heap %zu, +%d subs %zu, ended %zu, +%d subs %zu, "
             "ended %zu; fds %ld, %ld, %ld, %ld, %ld; RSS +%.0f B/sub",
             r + 1, x->heap[0], c.mem_subs, x->heap[1], x->heap[2],
             c.mem_subs, x->heap[3], x->heap[4], x->fd[0], x->fd[1],
             x->fd[2], x->fd[3], x->fd[4], x->rss);
      printf("; initial events missing %ld, bad states %ld, simulator "
             "NOTIFY failures %ld", x->lost, x->bad_states, x->sim_failures);
      if (x->error[0]) printf(" | %s", x->error);
      printf("\n");
    }
  printf("  simulator: NOTIFYs sent %llu (initial events), failures %llu, "
         "live subscriptions at the end %llu, CPU %.2f s\n",
         (unsigned long long)ss.notifies_sent,
         (unsigned long long)ss.notify_failures,
         (unsigned long long)ss.subscriptions, ss.cpu_s);

  printf("\ntargets (reported, not asserted, except losses):\n");
  if ((c.parts & 1) && (c.bodies & 1))
    for (int si = 0; si < c.nsubs; si++)
      printf("  S=%-3d propertyset >= 20,000 NOTIFY/s: wall %.0f %s, per "
             "cp CPU-second %.0f %s\n",
             c.subs[si], tp_med[0][si], tp_med[0][si] >= 20000 ? "met" : "MISSED",
             cprate_med[0][si], cprate_med[0][si] >= 20000 ? "met" : "MISSED");
  if (c.parts & 2)
    for (int m = 0; m < 2; m++)
      printf("  latency p99 < 2 ms, %s: %.0f us %s\n",
             m ? "fixed rate" : "one at a time", lat_p99_med[m],
             lat_p99_med[m] < 2000 ? "met" : "MISSED");
  if (c.parts & 4)
    printf("  memory per subscription: %.0f bytes (first batch), %.0f bytes "
           "(second batch)\n", mem_med[0], mem_med[1]);
  int lost_any = 0;
  for (int k = 0; k < 2; k++)
    for (int si = 0; si < c.nsubs; si++) lost_any |= lost_tot[k][si] != 0;
  printf("  no event lost: %s\n", bad ? "MISSED" : "met");
  if (c.parts & 1)
    for (int k = 0; k < 2; k++)
      for (int si = 0; si < c.nsubs; si++)
        if ((c.bodies & (1 << k)) && (stopped[k][si] || lost_tot[k][si]))
          printf("    %s S=%d: %d of %d rounds stopped by a refused NOTIFY, "
                 "%ld events lost (see the rounds above)\n",
                 body_name[k], c.subs[si], stopped[k][si], c.rounds,
                 lost_tot[k][si]);
  (void)lost_any;
  ucp_scpd_unref(scpd);
  child_stop(&ch);
  if (bad) return 1;
  return setup_failed ? 3 : 0;
}
