/* http_curl.c - the engine for URLs h1.c does not take (http_engine.h):
 * libcurl multi-socket on the libuv loop. The glue follows curl's
 * docs/examples/multi-uv.c; the policy (http only, no redirects, no proxy,
 * no decompression, caps in the callbacks, destination pinning) is
 * SECURITY.md's. */
#include "http_engine.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "../core/mem.h"
#include "../core/op.h"
#include "url.h"

typedef struct http_engine http_engine;
typedef struct curl_req curl_req;

/* A host ("name:port" as curl's URL parser gives them, lower case, the
 * default port filled in): how many transfers it has running, and how many
 * requests for it wait in the engine's queue. A request whose host has
 * UCP_LIMIT_HTTP_PER_HOST transfers running is not launched (it would wait
 * inside curl, holding a transfer slot): a dead device's requests do not
 * hold up the others. Freed when no request refers to it. */
typedef struct curl_host {
  struct curl_host *next; /* hash chain */
  size_t refs, running, waiting;
  char key[];
} curl_host;

enum { CURL_HOST_BUCKETS = 64 };

typedef struct poll_ctx {
  uv_poll_t poll;
  curl_socket_t fd;
  int events; /* what curl last asked to watch: UV_READABLE|UV_WRITABLE */
  http_engine *eng;
  struct poll_ctx *prev, *next;
} poll_ctx;

/* A socket number: the poll handle watching it, and whether it was opened
 * by opensocket_cb, so that curl closes it through closesocket_cb. Other
 * sockets (the threaded resolver's socketpair) curl closes by itself. */
typedef struct fd_slot {
  poll_ctx *pc;
  unsigned char mine;
} fd_slot;

/* An easy handle kept for the next transfer (curl_easy_reset keeps its
 * buffers), with its error buffer. */
typedef struct easy_slot {
  CURL *easy;
  char *errbuf;
} easy_slot;

enum { EASY_POOL = 64 };

struct http_engine {
  ucp_cp *cp;
  CURLM *multi;
  uv_timer_t timer;
  poll_ctx *polls;
  fd_slot *byfd; /* by socket: its poll handle, and whether we opened it */
  size_t nbyfd;
  easy_slot pool[EASY_POOL];
  size_t npool;
  curl_req *wait_head, *wait_tail; /* waiting for a transfer slot */
  curl_host *hosts[CURL_HOST_BUCKETS];
  curl_req *doomed; /* failed inside a curl callback: reap after it */
  size_t active;
  size_t handles; /* open uv handles: the engine is freed at 0 */
  int closing;
};

struct curl_req {
  ucp__http_req base;
  http_engine *eng;
  CURL *easy;
  struct curl_slist *headers;
  const char *const *extra_headers;
  const char *body;
  size_t body_len;
  const char *pin_ip;
  char *owned;          /* URL and pin copied by ucp__curl_own, or NULL */
  uint64_t max_body, max_headers, header_bytes, body_bytes;
  uint64_t connect_timeout_ms, low_speed_time_s, timeout_ms;
  uint64_t content_length;
  int phase;
  int headers_done;
  int err;              /* our own abort reason, 0 if none */
  int policy_refused;
  curl_req *wait_prev, *wait_next;
  curl_req *doomed_next;
  curl_host *host;      /* a reference, from start to free_req */
  int waiting, running, doomed;
  char *errbuf; /* CURL_ERROR_SIZE, made with the easy handle */
};

/* ------------------------------------------------------- engine lifetime */

static void engine_handle_closed(http_engine *eng) {
  ucp__cp_handle_closed(eng->cp);
  if (--eng->handles == 0 && eng->closing) {
    ucp__free(eng->byfd);
    ucp__free(eng);
  }
}

static void on_poll_closed(uv_handle_t *h) {
  poll_ctx *pc = h->data;
  http_engine *eng = pc->eng;
  ucp__free(pc);
  engine_handle_closed(eng);
}

static void on_timer_closed(uv_handle_t *h) { engine_handle_closed(h->data); }

static void poll_close(poll_ctx *pc) {
  http_engine *eng = pc->eng;
  if (pc->prev) pc->prev->next = pc->next;
  else eng->polls = pc->next;
  if (pc->next) pc->next->prev = pc->prev;
  uv_poll_stop(&pc->poll);
  uv_close((uv_handle_t *)&pc->poll, on_poll_closed);
}

static void free_req(curl_req *r);

static void engine_close(void *ext) {
  http_engine *eng = ext;
  eng->closing = 1;
  /* Every op was released before this runs; drop stragglers anyway. */
  while (eng->wait_head) {
    curl_req *r = eng->wait_head;
    eng->wait_head = r->wait_next;
    r->waiting = 0;
    free_req(r);
  }
  for (size_t b = 0; b < CURL_HOST_BUCKETS; b++) /* kept while closing */
    while (eng->hosts[b]) {
      curl_host *h = eng->hosts[b];
      eng->hosts[b] = h->next;
      ucp__free(h);
    }
  curl_multi_cleanup(eng->multi); /* closes pooled connections */
  eng->multi = NULL;
  while (eng->npool) {
    easy_slot *e = &eng->pool[--eng->npool];
    curl_easy_cleanup(e->easy);
    ucp__free(e->errbuf);
  }
  while (eng->polls) poll_close(eng->polls);
  uv_timer_stop(&eng->timer);
  uv_close((uv_handle_t *)&eng->timer, on_timer_closed);
}

/* ------------------------------------------------------- curl <-> libuv */

static void check_multi_info(http_engine *eng);
static void on_curl_timer(uv_timer_t *t);

/* Arm our timer from curl's own view of its next timeout. curl calls the
 * timer callback only when that timeout changes, and skips it when a new
 * expiry equals the last one it reported (e.g. "now" again after a handle
 * is added right after our timer fired), which would leave the transfer
 * waiting forever; asking after every action avoids depending on it. */
static void sync_timer(http_engine *eng) {
  long ms = -1;
  if (eng->multi) curl_multi_timeout(eng->multi, &ms);
  if (ms < 0) uv_timer_stop(&eng->timer);
  else uv_timer_start(&eng->timer, on_curl_timer, (uint64_t)ms, 0);
}

static poll_ctx *byfd_get(http_engine *eng, curl_socket_t fd);

static void on_poll(uv_poll_t *h, int status, int events) {
  poll_ctx *pc = h->data;
  http_engine *eng = pc->eng;
  int flags = 0;
  /* An error (a reset): libuv stopped the handle. curl reads and writes to
   * find out what happened, as after poll() - CURL_CSELECT_ERR alone would
   * fail the transfer without its retry of a dead kept-alive connection. */
  if (status < 0) flags = CURL_CSELECT_IN | CURL_CSELECT_OUT;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  int running;
  curl_socket_t fd = pc->fd;
  curl_multi_socket_action(eng->multi, fd, flags, &running);
  /* Still the same watch, and curl did not change what it wants (it then
   * calls socket_cb, which restarts the handle): watch again. */
  if (status < 0 && byfd_get(eng, fd) == pc && pc->events &&
      !uv_is_active((uv_handle_t *)&pc->poll))
    uv_poll_start(&pc->poll, pc->events, on_poll);
  check_multi_info(eng);
  sync_timer(eng);
}

static void on_curl_timer(uv_timer_t *t) {
  http_engine *eng = t->data;
  int running;
  curl_multi_socket_action(eng->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_multi_info(eng);
  sync_timer(eng);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  (void)multi;
  http_engine *eng = userp;
  if (timeout_ms < 0) uv_timer_stop(&eng->timer);
  else uv_timer_start(&eng->timer, on_curl_timer, (uint64_t)timeout_ms, 0);
  return 0;
}

static poll_ctx *poll_open(http_engine *eng, curl_socket_t fd) {
  poll_ctx *pc = ucp__calloc(1, sizeof *pc);
  if (!pc) return NULL;
  if (uv_poll_init_socket(ucp__cp_loop(eng->cp), &pc->poll, fd) != 0) {
    ucp__free(pc);
    return NULL;
  }
  pc->fd = fd;
  pc->eng = eng;
  pc->poll.data = pc;
  pc->next = eng->polls;
  if (eng->polls) eng->polls->prev = pc;
  eng->polls = pc;
  eng->handles++;
  ucp__cp_handle_opened(eng->cp);
  return pc;
}

/* Out of memory inside a curl callback: curl 7.88 does not abort the
 * transfer on our error, and we may not remove it from here, so mark it and
 * let reap_doomed() end it once curl_multi_socket_action has returned. */
static int doom(http_engine *eng, CURL *easy) {
  curl_req *r = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
  if (r && !r->doomed) {
    r->doomed = 1;
    r->err = UCP_E_NOMEM;
    r->doomed_next = eng->doomed;
    eng->doomed = r;
  }
  /* 0, not -1: curl 7.88 keeps the transfer and spins on a zero timeout
   * after a -1; the doomed transfer is removed right after this action. */
  return 0;
}

static fd_slot *byfd_slot(http_engine *eng, curl_socket_t fd) {
  return fd >= 0 && (size_t)fd < eng->nbyfd ? &eng->byfd[fd] : NULL;
}

static poll_ctx *byfd_get(http_engine *eng, curl_socket_t fd) {
  fd_slot *sl = byfd_slot(eng, fd);
  return sl ? sl->pc : NULL;
}

/* The slot of `fd`, the table grown to hold it; NULL without memory. */
static fd_slot *byfd_grow(http_engine *eng, curl_socket_t fd) {
  if (fd < 0) return NULL;
  if ((size_t)fd >= eng->nbyfd) {
    size_t n = eng->nbyfd ? eng->nbyfd : 64;
    while (n <= (size_t)fd) n *= 2;
    fd_slot *b = ucp__realloc(eng->byfd, n * sizeof *b);
    if (!b) return NULL;
    memset(b + eng->nbyfd, 0, (n - eng->nbyfd) * sizeof *b);
    eng->byfd = b;
    eng->nbyfd = n;
  }
  return &eng->byfd[fd];
}

static int byfd_set(http_engine *eng, curl_socket_t fd, poll_ctx *pc) {
  fd_slot *sl = pc ? byfd_grow(eng, fd) : byfd_slot(eng, fd);
  if (!sl) return pc ? -1 : 0;
  sl->pc = pc;
  return 0;
}

/* Forget the poll handle of `fd` and close it: libuv's close of a poll
 * handle takes the fd number out of epoll, so it must happen while the
 * socket still has that number. */
static void poll_drop(http_engine *eng, curl_socket_t fd, poll_ctx *pc) {
  byfd_set(eng, fd, NULL);
  poll_close(pc);
}

/* The poll handle of a socket we opened lives as long as the socket: curl
 * removes a kept-alive connection's socket after each transfer and adds it
 * back on the next, which would otherwise cost a handle, an ioctl and
 * epoll calls per request. It is closed with the socket (closesocket_cb).
 * A socket curl opened itself (the resolver's socketpair) is never
 * closed through us: its handle goes when curl stops watching it, before
 * the number can be reused. */
static int socket_cb(CURL *easy, curl_socket_t s, int action, void *userp,
                     void *socketp) {
  http_engine *eng = userp;
  poll_ctx *pc = socketp ? socketp : byfd_get(eng, s);
  if (action == CURL_POLL_REMOVE) {
    fd_slot *sl = byfd_slot(eng, s);
    if (pc && !(sl && sl->mine)) {
      curl_multi_assign(eng->multi, s, NULL);
      poll_drop(eng, s, pc);
    } else if (pc) {
      pc->events = 0;
      uv_poll_stop(&pc->poll);
    }
    return 0;
  }
  if (!pc) {
    pc = poll_open(eng, s);
    if (!pc) return doom(eng, easy);
    if (byfd_set(eng, s, pc) != 0) {
      poll_close(pc);
      return doom(eng, easy);
    }
  }
  if (!socketp) curl_multi_assign(eng->multi, s, pc);
  int ev = 0;
  if (action != CURL_POLL_OUT) ev |= UV_READABLE;
  if (action != CURL_POLL_IN) ev |= UV_WRITABLE;
  pc->events = ev;
  uv_poll_start(&pc->poll, ev, on_poll);
  return 0;
}

static http_engine *engine_get(ucp_cp *cp) {
  http_engine *eng = ucp__cp_ext(cp, UCP__EXT_HTTP);
  if (eng) return eng;
  ucp__curl_init_once();
  eng = ucp__calloc(1, sizeof *eng);
  if (!eng) return NULL;
  eng->cp = cp;
  eng->multi = curl_multi_init();
  if (!eng->multi) goto fail;
  if (uv_timer_init(ucp__cp_loop(cp), &eng->timer) != 0) goto fail;
  eng->timer.data = eng;
  uv_unref((uv_handle_t *)&eng->timer);
  eng->handles = 1;
  ucp__cp_handle_opened(cp);
  curl_multi_setopt(eng->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(eng->multi, CURLMOPT_SOCKETDATA, eng);
  curl_multi_setopt(eng->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt(eng->multi, CURLMOPT_TIMERDATA, eng);
  curl_multi_setopt(eng->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                    (long)ucp__cp_limit(cp, UCP_LIMIT_HTTP_PER_HOST));
  curl_multi_setopt(eng->multi, CURLMOPT_MAXCONNECTS,
                    (long)ucp__cp_limit(cp, UCP_LIMIT_HTTP_ACTIVE));
  ucp__cp_set_ext(cp, UCP__EXT_HTTP, eng, engine_close);
  return eng;
fail:
  if (eng->multi) curl_multi_cleanup(eng->multi);
  ucp__free(eng);
  return NULL;
}

/* ------------------------------------------------------ curl callbacks */

static void set_phase(curl_req *r, int phase) {
  if (phase > r->phase) r->phase = phase;
  if (r->base.sink.on_progress)
    r->base.sink.on_progress(r->base.ctx, r->phase, r->body_bytes,
                        r->content_length == UINT64_MAX ? 0
                                                        : r->content_length);
}


static int fail_in_callback(curl_req *r, int code) {
  r->err = code;
  return 0;
}

static int headers_complete(curl_req *r) {
  long code = 0;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 100 && code < 200) return UCP_OK; /* interim: more follow */
  r->headers_done = 1;
  curl_off_t cl = -1;
  curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
  r->content_length = cl >= 0 ? (uint64_t)cl : UINT64_MAX;
  if (cl >= 0 && (uint64_t)cl > r->max_body) {
    ucp__http_set_error(&r->base, "Content-Length %lld exceeds the cap of %llu bytes",
                        (long long)cl, (unsigned long long)r->max_body);
    return UCP_E_TOO_LARGE;
  }
  set_phase(r, UCP_PHASE_RECEIVING);
  if (r->base.sink.on_headers)
    return r->base.sink.on_headers(r->base.ctx, (int)code, r->content_length);
  return UCP_OK;
}

static size_t header_cb(char *p, size_t size, size_t n, void *userp) {
  curl_req *r = userp;
  size_t len = size * n;
  r->header_bytes += len;
  if (r->header_bytes > r->max_headers) {
    ucp__http_set_error(&r->base, "response headers exceed the cap of %llu bytes",
                        (unsigned long long)r->max_headers);
    return fail_in_callback(r, UCP_E_TOO_LARGE);
  }
  if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
    int rc = headers_complete(r);
    if (rc != UCP_OK) return fail_in_callback(r, rc);
  }
  return len;
}

static size_t write_cb(char *p, size_t size, size_t n, void *userp) {
  curl_req *r = userp;
  size_t len = size * n;
  if (!r->headers_done) {
    int rc = headers_complete(r);
    if (rc != UCP_OK) return fail_in_callback(r, rc);
  }
  if (r->body_bytes + len > r->max_body) {
    ucp__http_set_error(&r->base, "response body exceeds the cap of %llu bytes",
                        (unsigned long long)r->max_body);
    return fail_in_callback(r, UCP_E_TOO_LARGE);
  }
  r->body_bytes += len;
  int rc = r->base.sink.on_body ? r->base.sink.on_body(r->base.ctx, p, len) : UCP_OK;
  if (rc != UCP_OK) return fail_in_callback(r, rc);
  set_phase(r, UCP_PHASE_RECEIVING);
  return len;
}

static int xferinfo_cb(void *userp, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow) {
  (void)dltotal;
  (void)dlnow;
  curl_req *r = userp;
  if (r->phase >= UCP_PHASE_WAITING) return 0;
  curl_off_t pre = 0;
  curl_easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
  if (pre <= 0) return 0;
  set_phase(r, ultotal > 0 && ulnow < ultotal ? UCP_PHASE_SENDING
                                              : UCP_PHASE_WAITING);
  return 0;
}

/* Connect-time check of the real destination (SECURITY.md): the address
 * curl is about to connect to must be the pinned device address. */
static int closesocket_cb(void *clientp, curl_socket_t fd) {
  http_engine *eng = clientp;
  fd_slot *sl = byfd_slot(eng, fd);
  if (sl) sl->mine = 0;
  poll_ctx *pc = byfd_get(eng, fd);
  if (pc) poll_drop(eng, fd, pc);
  return close(fd);
}

/* Two textual addresses name the same address (or, when either is not an
 * address, are the same text): curl keeps an IPv6 literal as written
 * ("::FFFF:..."), so the pin is compared as an address. */
static int same_ip(const char *a, const char *b) {
  unsigned char x[16], y[16];
  int fam = strchr(a, ':') ? AF_INET6 : AF_INET;
  if (inet_pton(fam, a, x) == 1 && inet_pton(fam, b, y) == 1)
    return memcmp(x, y, fam == AF_INET6 ? 16 : 4) == 0;
  return strcmp(a, b) == 0;
}

/* The address curl is about to connect to, as text ("" if not IP). */
static void sockaddr_text(const struct curl_sockaddr *a, char *ip, size_t cap) {
  ip[0] = '\0';
  if (a->family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->addr)->sin_addr, ip,
              (socklen_t)cap);
  else if (a->family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->addr)->sin6_addr,
              ip, (socklen_t)cap);
}

/* Before every request, a reused connection's too: curl pools connections
 * by host name and port, so a connection opened under another request's
 * pin must not carry this one to another address. */
static int prereq_cb(void *clientp, char *ip, char *local_ip, int port,
                     int local_port) {
  curl_req *r = clientp;
  (void)local_ip, (void)port, (void)local_port;
  if (!r->pin_ip || same_ip(ip, r->pin_ip)) return CURL_PREREQFUNC_OK;
  r->policy_refused = 1;
  ucp__http_set_error(&r->base, "connection to %s refused: device address is %s",
                      ip, r->pin_ip);
  return CURL_PREREQFUNC_ABORT;
}

static curl_socket_t opensocket_cb(void *userp, curlsocktype purpose,
                                   struct curl_sockaddr *a) {
  curl_req *r = userp;
  (void)purpose;
  char ip[INET6_ADDRSTRLEN];
  sockaddr_text(a, ip, sizeof ip);
  if (r->pin_ip && !(ip[0] && same_ip(ip, r->pin_ip))) {
    r->policy_refused = 1;
    ucp__http_set_error(&r->base, "connection to %s refused: device address is %s",
                        ip, r->pin_ip);
    return CURL_SOCKET_BAD;
  }
  curl_socket_t fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
  fd_slot *sl = fd >= 0 ? byfd_grow(r->eng, fd) : NULL;
  if (fd >= 0 && !sl) { /* no memory to remember it: refuse it */
    close(fd);
    return CURL_SOCKET_BAD;
  }
  if (sl) sl->mine = 1;
  return fd;
}

/* ------------------------------------------------------------ requests */

static int map_curl_error(const curl_req *r, CURLcode cc) {
  if (r->err) return r->err;
  if (r->policy_refused) return UCP_E_POLICY;
  switch (cc) {
    case CURLE_OK: return UCP_OK;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: return UCP_E_URL;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT: return UCP_E_CONNECT;
    case CURLE_OPERATION_TIMEDOUT: return UCP_E_TIMEOUT;
    case CURLE_FILESIZE_EXCEEDED: return UCP_E_TOO_LARGE;
    case CURLE_OUT_OF_MEMORY: return UCP_E_NOMEM;
    default: return UCP_E_NETWORK;
  }
}

/* ---------------------------------------------------------------- hosts */

#ifdef CURLU_PUNYCODE
static int non_ascii_host(CURLU *u) {
  char *h = NULL;
  int yes = 0;
  if (curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK)
    for (const unsigned char *p = (const unsigned char *)h; *p; p++)
      yes |= *p >= 0x80;
  curl_free(h);
  return yes;
}
#endif

/* "host:port" of `url` as curl parses it (so "HTTP://Dev", "dev:80" and
 * "dev" agree), lower case. UCP_OK, UCP_E_NOMEM, or UCP_E_URL. */
static int host_key(const char *url, char *key, size_t n) {
  CURLU *u = curl_url();
  if (!u) return UCP_E_NOMEM;
  char *host = NULL, *port = NULL;
  int rc = UCP_E_URL;
  CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
  /* As curl groups connections: an IDN name as punycode. (An IPv6 zone id
   * is dropped: two zones share a key, which only under-uses them.) */
#ifdef CURLU_PUNYCODE
  if (uc == CURLUE_OK)
    uc = curl_url_get(u, CURLUPART_HOST, &host, CURLU_PUNYCODE);
  /* curl 7.88 says "out of memory" when libidn2 cannot convert a name
   * (in the C locale, any non-ASCII one): a URL curl cannot use. */
  if (uc == CURLUE_OUT_OF_MEMORY && non_ascii_host(u)) uc = CURLUE_BAD_HOSTNAME;
#else
  if (uc == CURLUE_OK) uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
#endif
  if (uc == CURLUE_OK)
    uc = curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
  if (uc == CURLUE_OUT_OF_MEMORY) rc = UCP_E_NOMEM;
  if (uc == CURLUE_OK) {
    int w = snprintf(key, n, "%s:%s", host, port);
    if (w > 0 && (size_t)w < n) {
      for (char *k = key; *k; k++)
        if (*k >= 'A' && *k <= 'Z') *k = (char)(*k - 'A' + 'a');
      rc = UCP_OK;
    }
  }
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return rc;
}

static size_t key_bucket(const char *key) {
  uint32_t x = 2166136261u; /* FNV-1a */
  for (; *key; key++) x = (x ^ (unsigned char)*key) * 16777619u;
  return x % CURL_HOST_BUCKETS;
}

/* r->host: the record of its URL's host, made when missing, one more
 * reference. UCP_OK, UCP_E_NOMEM or UCP_E_URL. */
static int host_attach(http_engine *eng, curl_req *r, const char *url) {
  char key[UCP__HOST_MAX + 16];
  int rc = host_key(url, key, sizeof key);
  if (rc != UCP_OK) return rc;
  size_t b = key_bucket(key);
  curl_host *h = eng->hosts[b];
  while (h && strcmp(h->key, key) != 0) h = h->next;
  if (!h) {
    size_t n = strlen(key) + 1;
    h = ucp__calloc(1, sizeof *h + n);
    if (!h) return UCP_E_NOMEM;
    memcpy(h->key, key, n);
    h->next = eng->hosts[b];
    eng->hosts[b] = h;
  }
  h->refs++;
  r->host = h;
  return UCP_OK;
}

/* One reference fewer; the record goes with the last (while the engine
 * closes, engine_close frees them all). */
static void host_unref(http_engine *eng, curl_host *h) {
  if (--h->refs || eng->closing) return;
  for (curl_host **pp = &eng->hosts[key_bucket(h->key)]; *pp;
       pp = &(*pp)->next)
    if (*pp == h) {
      *pp = h->next;
      ucp__free(h);
      return;
    }
}

static int host_full(const curl_req *r) {
  return r->host->running >=
         ucp__cp_limit(r->eng->cp, UCP_LIMIT_HTTP_PER_HOST);
}

/* The easy handle (out of the multi handle by now) goes back to the pool. */

static void free_req(curl_req *r) {
  http_engine *eng = r->eng;
  if (r->host) host_unref(eng, r->host);
  if (r->easy && r->errbuf && !eng->closing && eng->npool < EASY_POOL) {
    curl_easy_reset(r->easy);
    eng->pool[eng->npool++] = (easy_slot){r->easy, r->errbuf};
    r->easy = NULL;
    r->errbuf = NULL;
  }
  if (r->easy) curl_easy_cleanup(r->easy);
  curl_slist_free_all(r->headers);
  ucp__free(r->errbuf);
  ucp__free(r->base.err_detail);
  ucp__free(r->owned);
  ucp__free(r);
}

static void finish_req(curl_req *r, CURLcode cc) {
  long code = 0;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
  ucp__http_outcome o = {map_curl_error(r, cc), (int)code, ""};
  char detail[768];
  if (cc == CURLE_FILESIZE_EXCEEDED && !r->base.err_detail)
    ucp__http_set_error(&r->base, "Content-Length exceeds the cap of %llu bytes",
                        (unsigned long long)r->max_body);
  if (o.status != UCP_OK) {
    const char *why = r->base.err_detail ? r->base.err_detail
                      : r->errbuf && r->errbuf[0] ? r->errbuf
                                     : curl_easy_strerror(cc);
    snprintf(detail, sizeof detail, "%s %s: %s", r->base.method, r->base.url, why);
    o.detail = detail;
  }
  r->base.sink.on_done(r->base.ctx, &o);
}

static void start_waiting(http_engine *eng);
static void transfer_ended(curl_req *r);

static void reap_doomed(http_engine *eng) {
  while (eng->doomed) {
    curl_req *r = eng->doomed;
    eng->doomed = r->doomed_next;
    transfer_ended(r);
    ucp__http_set_error(&r->base, "out of memory watching a socket");
    finish_req(r, CURLE_OUT_OF_MEMORY);
    free_req(r);
  }
}

static void check_multi_info(http_engine *eng) {
  CURLMsg *msg;
  reap_doomed(eng);
  int left;
  while ((msg = curl_multi_info_read(eng->multi, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    curl_req *r = NULL;
    CURLcode cc = msg->data.result;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    if (r->doomed) continue; /* reaped below */
    transfer_ended(r);
    /* The freed slot goes to the queue first: a request the owner starts
     * from on_done (an M-POST retry) queues behind the waiting ones. */
    start_waiting(eng);
    finish_req(r, cc);
    free_req(r);
  }
  reap_doomed(eng);
  start_waiting(eng);
}

static int build_headers(curl_req *r) {
  const char *const *hdrs = r->extra_headers;
  /* Never advertise compressed encodings (decompression bombs). */
  struct curl_slist *l = curl_slist_append(NULL, "Accept-Encoding:");
  if (!l) return UCP_E_NOMEM;
  r->headers = l;
  for (; hdrs && *hdrs; hdrs++) {
    l = curl_slist_append(r->headers, *hdrs);
    if (!l) return UCP_E_NOMEM;
    r->headers = l;
  }
  return UCP_OK;
}

static void set_policy_opts(CURL *e) {
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(e, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "Linux UPnP/1.1 upnpcp/" UCP_VERSION_STRING);
}

static void set_callbacks(curl_req *r) {
  CURL *e = r->easy;
  curl_easy_setopt(e, CURLOPT_PRIVATE, r);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, r);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, r);
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, prereq_cb);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, r);
  /* The engine, not the request: connections outlive requests. */
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, closesocket_cb);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, r->eng);
}

/* curl keeps times in a long and multiplies seconds by 1000: bound them as
 * h1.c does (24.8 days), so that a huge deadline is not "too slow" at once. */
static long clamp_ms(uint64_t ms) {
  return ms > INT32_MAX ? (long)INT32_MAX : (long)ms;
}

static long clamp_s(uint64_t s) {
  return s > INT32_MAX / 1000 ? (long)(INT32_MAX / 1000) : (long)s;
}

static int configure(curl_req *r) {
  CURL *e = r->easy;
  set_policy_opts(e);
  set_callbacks(r);
  if (curl_easy_setopt(e, CURLOPT_URL, r->base.url) != CURLE_OK) return UCP_E_URL;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, clamp_ms(r->connect_timeout_ms));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, clamp_s(r->low_speed_time_s));
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_body);
  if (r->timeout_ms)
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, clamp_ms(r->timeout_ms));
  if (r->body) {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
  }
  if (strcmp(r->base.method, "GET") != 0 && strcmp(r->base.method, "POST") != 0)
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->base.method);
  return UCP_OK;
}

/* The easy handle is made only when the transfer gets a slot, so a request
 * waiting in the queue costs its strings, not curl's buffers. */
static int launch(curl_req *r) {
  http_engine *eng = r->eng;
  if (eng->npool) {
    easy_slot *slot = &eng->pool[--eng->npool];
    r->easy = slot->easy;
    r->errbuf = slot->errbuf;
    r->errbuf[0] = '\0';
  } else {
    r->easy = curl_easy_init();
    r->errbuf = ucp__calloc(1, CURL_ERROR_SIZE);
  }
  if (!r->easy || !r->errbuf) return UCP_E_NOMEM;
  int rc = r->headers ? UCP_OK : build_headers(r);
  if (rc == UCP_OK) rc = configure(r);
  if (rc != UCP_OK) return rc;
  set_phase(r, UCP_PHASE_CONNECTING);
  if (curl_multi_add_handle(eng->multi, r->easy) != CURLM_OK)
    return UCP_E_NOMEM;
  sync_timer(eng);
  r->running = 1;
  eng->active++;
  r->host->running++;
  ucp__cp_counter_add(eng->cp, UCP_COUNTER_HTTP_ACTIVE, 1);
  return UCP_OK;
}

static void wait_unlink(curl_req *r) {
  http_engine *eng = r->eng;
  if (r->wait_prev) r->wait_prev->wait_next = r->wait_next;
  else eng->wait_head = r->wait_next;
  if (r->wait_next) r->wait_next->wait_prev = r->wait_prev;
  else eng->wait_tail = r->wait_prev;
  r->wait_prev = r->wait_next = NULL;
  r->waiting = 0;
  r->host->waiting--;
}

static void wait_push(curl_req *r) {
  http_engine *eng = r->eng;
  r->waiting = 1;
  r->host->waiting++;
  r->wait_next = NULL;
  r->wait_prev = eng->wait_tail;
  if (eng->wait_tail) eng->wait_tail->wait_next = r;
  else eng->wait_head = r;
  eng->wait_tail = r;
}

/* A running transfer is over: its slot and its host's room go back. */
static void transfer_ended(curl_req *r) {
  http_engine *eng = r->eng;
  curl_multi_remove_handle(eng->multi, r->easy);
  r->running = 0;
  eng->active--;
  r->host->running--;
  ucp__cp_counter_add(eng->cp, UCP_COUNTER_HTTP_ACTIVE, -1);
}

/* Free slots go to the queue in order, passing over requests whose host
 * has all its connections busy (they hold no slot meanwhile). A walk of
 * the queue: long only when many requests wait for busy hosts. `next`
 * stays valid because a launch calls no owner's code but on_progress,
 * which only records; after a launch failure (its on_done may abort
 * others) the walk starts again. */
static void start_waiting(http_engine *eng) {
  size_t limit = ucp__cp_limit(eng->cp, UCP_LIMIT_HTTP_ACTIVE);
restart:
  for (curl_req *r = eng->wait_head; r && eng->active < limit && !eng->closing;) {
    curl_req *next = r->wait_next;
    if (!host_full(r)) {
      wait_unlink(r);
      if (launch(r) != UCP_OK) {
        ucp__http_outcome o = {UCP_E_NOMEM, 0,
                               "out of memory starting a transfer"};
        r->base.sink.on_done(r->base.ctx, &o);
        free_req(r);
        goto restart;
      }
    }
    r = next;
  }
}

static curl_req *req_new(http_engine *eng, const ucp__http_spec *s) {
  curl_req *r = ucp__calloc(1, sizeof *r);
  if (!r) return NULL;
  r->eng = eng;
  r->pin_ip = s->pin_ip;
  r->extra_headers = s->headers;
  r->body = s->body;
  r->body_len = s->body_len;
  r->max_body = s->max_body ? s->max_body : 1024 * 1024;
  r->max_headers = s->max_headers ? s->max_headers : 64 * 1024;
  r->content_length = UINT64_MAX;
  r->connect_timeout_ms = s->connect_timeout_ms ? s->connect_timeout_ms : 5000;
  r->low_speed_time_s = s->low_speed_time_s ? s->low_speed_time_s : 30;
  r->timeout_ms = s->timeout_ms;
  return r;
}

int ucp__curl_start(ucp_cp *cp, const ucp__http_spec *spec,
                    const ucp__http_sink *sink, void *ctx,
                    ucp__http_req **out) {
  http_engine *eng = engine_get(cp);
  if (!eng) return UCP_E_NOMEM;
  curl_req *r = req_new(eng, spec);
  if (!r) return UCP_E_NOMEM;
  ucp__http_base_init(&r->base, UCP__HTTP_CURL, spec, sink, ctx);
  int rc = host_attach(eng, r, spec->url);
  if (rc != UCP_OK) {
    free_req(r);
    return rc;
  }
  /* At once when a slot is free, its host has room and none of its
   * host's requests waits before it (no overtaking). */
  if (!r->host->waiting && !host_full(r) &&
      eng->active < ucp__cp_limit(cp, UCP_LIMIT_HTTP_ACTIVE)) {
    rc = launch(r);
    if (rc != UCP_OK) free_req(r);
    else *out = &r->base;
    return rc;
  }
  *out = &r->base;
  wait_push(r);
  set_phase(r, UCP_PHASE_QUEUED);
  return UCP_OK;
}


void ucp__curl_abort(ucp__http_req *req) {
  curl_req *r = (curl_req *)req;
  http_engine *eng = r->eng;
  if (r->waiting) wait_unlink(r);
  if (r->doomed) {
    for (curl_req **pp = &eng->doomed; *pp; pp = &(*pp)->doomed_next)
      if (*pp == r) {
        *pp = r->doomed_next;
        break;
      }
  }
  if (r->running) transfer_ended(r);
  free_req(r);
  start_waiting(eng);
}

/* Copy what the request still borrows from its owner: the URL and the pin
 * (curl copies the URL at launch, but messages and the connect-time check
 * read them later), and the header lines of a request not launched yet. */
int ucp__curl_own(ucp__http_req *req) {
  curl_req *r = (curl_req *)req;
  if (r->owned) return UCP_OK;
  size_t ul = strlen(r->base.url) + 1, pl = r->pin_ip ? strlen(r->pin_ip) + 1 : 0;
  char *o = ucp__malloc(ul + pl);
  if (!o) return UCP_E_NOMEM;
  if (!r->headers && build_headers(r) != UCP_OK) {
    curl_slist_free_all(r->headers);
    r->headers = NULL;
    ucp__free(o);
    return UCP_E_NOMEM;
  }
  r->extra_headers = NULL;
  memcpy(o, r->base.url, ul);
  r->base.url = o;
  if (pl) {
    memcpy(o + ul, r->pin_ip, pl);
    r->pin_ip = o + ul;
  }
  r->owned = o;
  return UCP_OK;
}

const char *ucp__curl_header(ucp__http_req *req, const char *name) {
  curl_req *r = (curl_req *)req;
  struct curl_header *h = NULL;
  if (!r->easy) return NULL;
  if (curl_easy_header(r->easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
    return NULL;
  return h->value;
}

