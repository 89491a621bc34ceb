/* h1.c - the HTTP/1.1 client for plain URLs (http_engine.h): libuv TCP,
 * Node's http_parser (Debian libhttp-parser) for the response framing
 * (Content-Length, chunked, read to close, 1xx), connections kept alive and
 * pooled per host. Same policy as http_curl.c: http only, no redirects, no
 * proxy, no compressed encodings, caps checked as bytes arrive, and the
 * destination pinned to the device address.
 *
 * Why not curl here: per request, curl costs more CPU than the loopback
 * exchange itself (docs/benchmarks.md); this engine does one write and one
 * read per kept-alive exchange, like wrk.
 *
 * Lifetimes. A request is in one place at a time: its host's queue (in
 * order of start; a retry goes first), on a connection, or on the reap
 * list (failed; on_done runs from the engine's idle handle, never inside
 * the call that failed it). A request holds one of UCP_LIMIT_HTTP_ACTIVE
 * slots only while it is on a connection: requests queued for a busy or
 * dead host do not hold up the others. A host that could start a request
 * but finds no free slot waits in the engine's `ready` list; slots that
 * free go round that list, one request per turn. Hosts are freed only by a
 * sweep when a new one is made, so a host pointer stays valid through any
 * callback. */
#include <errno.h>
#include <arpa/inet.h>
#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <uv.h>

#include "../core/mem.h"
#include "../core/op.h"
#include "http_engine.h"

enum {
  READ_BUF = 64 * 1024,
  IDLE_MS = 20000,      /* an unused kept-alive connection is closed */
  HOST_BUCKETS = 64,
  HOST_SWEEP_AT = 256,  /* hosts kept before empty ones are swept */
  HDRS_FIRST = 512
};

typedef struct h1_engine h1_engine;
typedef struct h1_host h1_host;
typedef struct h1_conn h1_conn;
typedef struct h1_req h1_req;

enum req_where { R_NONE, R_HOST_FIFO, R_CONN, R_REAP };

typedef struct req_list {
  h1_req *head, *tail;
} req_list;

struct h1_req {
  ucp__http_req base;
  h1_engine *eng;
  h1_host *host;
  h1_conn *conn;
  h1_req *prev, *next;         /* in the list of `where` */
  struct sockaddr_in addr;
  char *head;                  /* request line and headers, made at launch */
  size_t head_len;
  const char *const *lines;    /* the caller's header lines (borrowed) */
  const char *path;            /* in the URL (borrowed) */
  char *url_own;               /* the URL, once the request is self-contained */
  const char *body;
  size_t body_len;
  uint64_t max_body, body_bytes, content_length;
  uint64_t started, last_activity;
  uint32_t max_headers, header_bytes;
  uint32_t connect_timeout_ms, low_speed_ms, timeout_ms;
  char *hdrs;                  /* response headers: "name\0value\0"... */
  uint32_t hdrs_len, hdrs_cap;
  int err;                     /* reason when failed; UCP_OK otherwise */
  uint16_t port, http_status;
  uint16_t host_len;           /* the host is the URL's bytes 7.. */
  uint8_t where;               /* enum req_where */
  uint8_t phase;
  uint8_t hdr_state;           /* 0 between headers, 1 in a name, 2 in a value */
  uint8_t hdrs_own : 1;        /* hdrs grew out of the head's allocation */
  uint8_t headers_done : 1, got_bytes : 1, retried : 1, close_after : 1;
  uint8_t counted : 1;         /* holds one of UCP_LIMIT_HTTP_ACTIVE */
  uint8_t bound : 1;           /* has had a connection (started is set) */
  uint8_t is_head : 1;         /* a HEAD request: responses have no body */
};

struct h1_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t connect;
  uv_write_t write;
  http_parser parser;
  h1_engine *eng;
  h1_host *host;
  h1_req *req;                 /* NULL when idle */
  uint64_t idle_since;
  unsigned uses;               /* exchanges completed on it */
  int connected, write_pending, closing, handles, in_idle;
  uint64_t connect_started;
  h1_conn *hprev, *hnext;      /* host's idle list, newest first */
  h1_conn *lprev, *lnext;      /* engine's idle list, oldest first */
  h1_conn *aprev, *anext;      /* all connections */
};

struct h1_host {
  struct sockaddr_in addr;
  char name[INET_ADDRSTRLEN + 8]; /* "a.b.c.d:port" for messages */
  size_t nconns;
  h1_conn *idle;
  req_list pending;
  int kicking;                 /* inside host_kick: nested calls return */
  int in_ready;                /* in the engine's ready list */
  h1_host *next;
  h1_host *ready_next;
};

struct h1_engine {
  ucp_cp *cp;
  uv_idle_t reaper;
  h1_host *hosts[HOST_BUCKETS];
  size_t nhosts;
  req_list reap;
  h1_host *ready_head, *ready_tail; /* hosts waiting for a free slot */
  h1_conn *all;
  h1_conn *lru_head, *lru_tail;
  size_t nidle, active, handles;
  int closing;
  char rbuf[READ_BUF];
};

static const http_parser_settings parser_settings;

/* ------------------------------------------------------------- lists */

static void list_push(req_list *l, h1_req *r, enum req_where w) {
  r->where = w;
  r->next = NULL;
  r->prev = l->tail;
  if (l->tail) l->tail->next = r;
  else l->head = r;
  l->tail = r;
}

/* At the head: a retry, the oldest request of its host, holding a slot. */
static void list_push_front(req_list *l, h1_req *r, enum req_where w) {
  r->where = w;
  r->prev = NULL;
  r->next = l->head;
  if (l->head) l->head->prev = r;
  else l->tail = r;
  l->head = r;
}

static void list_unlink(req_list *l, h1_req *r) {
  if (r->prev) r->prev->next = r->next;
  else l->head = r->next;
  if (r->next) r->next->prev = r->prev;
  else l->tail = r->prev;
  r->prev = r->next = NULL;
  r->where = R_NONE;
}

static void idle_unlink(h1_conn *c) {
  h1_engine *eng = c->eng;
  h1_host *h = c->host;
  if (c->hprev) c->hprev->hnext = c->hnext;
  else h->idle = c->hnext;
  if (c->hnext) c->hnext->hprev = c->hprev;
  if (c->lprev) c->lprev->lnext = c->lnext;
  else eng->lru_head = c->lnext;
  if (c->lnext) c->lnext->lprev = c->lprev;
  else eng->lru_tail = c->lprev;
  c->hprev = c->hnext = c->lprev = c->lnext = NULL;
  c->in_idle = 0;
  eng->nidle--;
}

/* ------------------------------------------------------------ requests */

static uint64_t now_ms(h1_engine *eng) { return uv_now(ucp__cp_loop(eng->cp)); }

static void set_phase(h1_req *r, int phase) {
  if (phase > r->phase) r->phase = phase;
  if (r->base.sink.on_progress)
    r->base.sink.on_progress(r->base.ctx, r->phase, r->body_bytes,
                             r->content_length == UINT64_MAX
                                 ? 0 : r->content_length);
}

static void req_free(h1_req *r) {
  ucp__free(r->url_own);
  ucp__free(r->head);
  if (r->hdrs_own) ucp__free(r->hdrs);
  ucp__free(r->base.err_detail);
  ucp__free(r);
}

static size_t slot_limit(h1_engine *eng) {
  return ucp__cp_limit(eng->cp, UCP_LIMIT_HTTP_ACTIVE);
}

static void take_slot(h1_req *r) {
  if (r->counted) return;
  r->counted = 1;
  r->eng->active++;
  ucp__cp_counter_add(r->eng->cp, UCP_COUNTER_HTTP_ACTIVE, 1);
}

static void release_slot(h1_req *r) {
  if (!r->counted) return;
  r->counted = 0;
  r->eng->active--;
  ucp__cp_counter_add(r->eng->cp, UCP_COUNTER_HTTP_ACTIVE, -1);
}

static void report(h1_req *r, int status) {
  ucp__http_outcome o = {status, r->http_status, ""};
  char detail[768];
  if (status != UCP_OK) {
    snprintf(detail, sizeof detail, "%s %s: %s", r->base.method, r->base.url,
             r->base.err_detail ? r->base.err_detail : ucp_strerror(status));
    o.detail = detail;
  }
  r->base.sink.on_done(r->base.ctx, &o);
}

static void engine_kick(h1_engine *eng);
static void on_reap(uv_idle_t *hd);
static int build_head(h1_req *r);
static void conn_close(h1_conn *c);
static void conn_idle(h1_conn *c);
static void ready_push(h1_engine *eng, h1_host *h);

/* Take the request off its connection: the connection is kept for the next
 * exchange or closed. */
static void req_detach(h1_req *r, int reusable) {
  h1_conn *c = r->conn;
  if (!c) return;
  r->conn = NULL;
  r->where = R_NONE;
  c->req = NULL;
  if (reusable) {
    c->uses++;
    conn_idle(c);
  } else {
    conn_close(c);
  }
}

/* Failure: the connection goes (its state is unknown), on_done runs from
 * the reaper. Safe from any context. */
static void req_fail(h1_req *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void req_fail(h1_req *r, int code, const char *fmt, ...) {
  h1_engine *eng = r->eng;
  if (fmt && !r->base.err_detail) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->base.err_detail = ucp__strdup(buf);
  }
  if (!r->err) r->err = code;
  if (r->where == R_HOST_FIFO) list_unlink(&r->host->pending, r);
  release_slot(r); /* the reaper gives it away (engine_kick) */
  req_detach(r, 0);
  list_push(&eng->reap, r, R_REAP);
  uv_idle_start(&eng->reaper, on_reap);
}

/* Success: called from the read callback once the response is complete. */
static void req_done(h1_req *r, int reusable) {
  h1_engine *eng = r->eng;
  release_slot(r); /* first: the connection's next request may take it */
  req_detach(r, reusable);
  report(r, UCP_OK);
  req_free(r);
  engine_kick(eng);
}

/* ---------------------------------------------------------- connections */

static void engine_handle_closed(h1_engine *eng) {
  ucp__cp_handle_closed(eng->cp);
  if (--eng->handles == 0 && eng->closing) ucp__free(eng);
}

static void on_conn_handle_closed(uv_handle_t *hd) {
  h1_conn *c = hd->data;
  h1_engine *eng = c->eng;
  if (--c->handles == 0) ucp__free(c);
  engine_handle_closed(eng);
}

static void host_kick(h1_host *h);
static void host_turn(h1_host *h, int kick_now);

static void conn_close(h1_conn *c) {
  if (c->closing) return;
  h1_engine *eng = c->eng;
  c->closing = 1;
  if (c->in_idle) idle_unlink(c);
  if (c->aprev) c->aprev->anext = c->anext;
  else eng->all = c->anext;
  if (c->anext) c->anext->aprev = c->aprev;
  c->host->nconns--;
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
  /* Not kicking the engine from here: failing connects would nest. */
  if (!eng->closing) host_turn(c->host, 0);
}

static void on_conn_timer(uv_timer_t *t);

/* Arm the connection's one timer at the nearest deadline of its request
 * (connect, whole transfer, no data), or at the idle limit. */
static void conn_arm(h1_conn *c) {
  uint64_t now = now_ms(c->eng), due;
  h1_req *r = c->req;
  if (!r) {
    due = c->idle_since + IDLE_MS;
  } else {
    due = r->last_activity + r->low_speed_ms;
    if (!c->connected && c->connect_started + r->connect_timeout_ms < due)
      due = c->connect_started + r->connect_timeout_ms;
    if (r->timeout_ms && r->started + r->timeout_ms < due)
      due = r->started + r->timeout_ms;
  }
  uv_timer_start(&c->timer, on_conn_timer, due > now ? due - now : 0, 0);
}

static void on_conn_timer(uv_timer_t *t) {
  h1_conn *c = t->data;
  h1_req *r = c->req;
  uint64_t now = now_ms(c->eng);
  if (!r) {
    if (now >= c->idle_since + IDLE_MS) conn_close(c);
    else conn_arm(c);
    return;
  }
  if (r->timeout_ms && now >= r->started + r->timeout_ms)
    req_fail(r, UCP_E_TIMEOUT, "no complete response within %llu ms",
             (unsigned long long)r->timeout_ms);
  else if (!c->connected && now >= c->connect_started + r->connect_timeout_ms)
    req_fail(r, UCP_E_TIMEOUT, "connecting to %s timed out after %llu ms",
             c->host->name, (unsigned long long)r->connect_timeout_ms);
  else if (now >= r->last_activity + r->low_speed_ms)
    req_fail(r, UCP_E_TIMEOUT, "no data from %s for %llu s", c->host->name,
             (unsigned long long)(r->low_speed_ms / 1000));
  else
    conn_arm(c);
}

static void on_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *buf) {
  (void)hint;
  h1_conn *c = hd->data;
  *buf = uv_buf_init(c->eng->rbuf, READ_BUF);
}

/* A kept-alive connection the device closed before answering: the request
 * goes once more on a new connection, as curl does. */
static int retry_fresh(h1_req *r) {
  h1_conn *c = r->conn;
  if (r->retried || r->got_bytes || !c || !c->uses) return 0;
  r->retried = 1;
  req_detach(r, 0);
  list_push_front(&r->host->pending, r, R_HOST_FIFO);
  host_kick(r->host);
  return 1;
}

static void read_eof(h1_conn *c, h1_req *r) {
  http_parser_execute(&c->parser, &parser_settings, NULL, 0);
  if (HTTP_PARSER_ERRNO(&c->parser) == HPE_PAUSED && !r->err) {
    req_done(r, 0);
    return;
  }
  if (retry_fresh(r)) return;
  if (r->err)
    req_fail(r, r->err, NULL);
  else if (!r->got_bytes)
    req_fail(r, UCP_E_NETWORK, "%s closed the connection without answering",
             c->host->name);
  else
    req_fail(r, UCP_E_NETWORK,
             "%s closed the connection before the response was complete "
             "(%llu body bytes received)",
             c->host->name, (unsigned long long)r->body_bytes);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  h1_conn *c = s->data;
  h1_req *r = c->req;
  if (n == 0) return;
  if (!r) { /* idle: the device closed it, or sent what nobody asked */
    conn_close(c);
    return;
  }
  if (n == UV_EOF) {
    read_eof(c, r);
    return;
  }
  if (n < 0) {
    if (!retry_fresh(r))
      req_fail(r, UCP_E_NETWORK, "reading from %s: %s", c->host->name,
               uv_strerror((int)n));
    return;
  }
  r->got_bytes = 1;
  r->last_activity = now_ms(c->eng);
  size_t used = http_parser_execute(&c->parser, &parser_settings, buf->base,
                                    (size_t)n);
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (e == HPE_PAUSED && !r->err) {
    int reusable = http_should_keep_alive(&c->parser) && used == (size_t)n &&
                   !c->write_pending && !r->close_after;
    req_done(r, reusable);
  } else if (r->err) {
    req_fail(r, r->err, NULL);
  } else if (e != HPE_OK) {
    req_fail(r, UCP_E_NETWORK, "malformed HTTP response from %s: %s",
             c->host->name, http_errno_description(e));
  } else if (used != (size_t)n) {
    req_fail(r, UCP_E_NETWORK, "HTTP response from %s stopped the parser",
             c->host->name);
  }
}

static void on_write(uv_write_t *w, int status) {
  h1_conn *c = w->data;
  c->write_pending = 0;
  h1_req *r = c->req;
  if (status == UV_ECANCELED || !r) return;
  if (status < 0) {
    if (!retry_fresh(r))
      req_fail(r, UCP_E_NETWORK, "sending to %s: %s", c->host->name,
               uv_strerror(status));
    return;
  }
  r->last_activity = now_ms(c->eng);
  if (r->phase < UCP_PHASE_WAITING) set_phase(r, UCP_PHASE_WAITING);
}

/* One sendmsg with MSG_NOSIGNAL (uv_try_write's writev would raise
 * SIGPIPE on a reset connection, killing an application that runs its own
 * loop and does not ignore the signal). Nothing else is queued on the
 * stream when it runs. Bytes written, or a negative libuv error. */
static int send_now(h1_conn *c, uv_buf_t *b, unsigned nb) {
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0) return UV_EBADF;
  struct iovec iov[2];
  for (unsigned i = 0; i < nb; i++)
    iov[i] = (struct iovec){.iov_base = b[i].base, .iov_len = b[i].len};
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = nb};
  ssize_t n;
  do n = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n >= 0) return (int)n;
  return errno == EAGAIN || errno == EWOULDBLOCK ? UV_EAGAIN : -errno;
}

/* The request goes out with one sendmsg when the socket takes it all; the
 * rest, if any, through uv_write (on the library's own loop thread SIGPIPE
 * is blocked; see ucp_cp_opts_set_loop for a loop of the caller's). */
static void conn_send(h1_conn *c) {
  h1_req *r = c->req;
  uv_buf_t b[2] = {uv_buf_init(r->head, (unsigned)r->head_len),
                   uv_buf_init((char *)r->body, (unsigned)r->body_len)};
  unsigned nb = r->body_len ? 2 : 1;
  size_t total = r->head_len + r->body_len;
  set_phase(r, UCP_PHASE_SENDING);
  int n = send_now(c, b, nb);
  if (n == (int)total) {
    set_phase(r, UCP_PHASE_WAITING);
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    if (!retry_fresh(r))
      req_fail(r, UCP_E_NETWORK, "sending to %s: %s", c->host->name,
               uv_strerror(n));
    return;
  }
  size_t done = n > 0 ? (size_t)n : 0;
  uv_buf_t *p = b;
  if (done >= p->len) done -= p->len, p++, nb--;
  p->base += done;
  p->len -= done;
  c->write_pending = 1;
  int rc = uv_write(&c->write, (uv_stream_t *)&c->tcp, p, nb, on_write);
  if (rc != 0) {
    c->write_pending = 0;
    req_fail(r, UCP_E_NETWORK, "sending to %s: %s", c->host->name,
             uv_strerror(rc));
  }
}

static void bind_conn(h1_req *r, h1_conn *c) {
  r->conn = c;
  r->where = R_CONN;
  c->req = r;
  http_parser_init(&c->parser, HTTP_RESPONSE);
  c->parser.data = c;
  r->last_activity = now_ms(c->eng);
  if (!r->bound) { /* a retry keeps its first start */
    r->bound = 1;
    r->started = r->last_activity;
  }
  conn_arm(c);
  if (c->connected) conn_send(c);
}

static void on_connect(uv_connect_t *cr, int status) {
  h1_conn *c = cr->data;
  if (status == UV_ECANCELED || c->closing) return;
  h1_req *r = c->req;
  if (status < 0) {
    if (r) req_fail(r, UCP_E_CONNECT, "connecting to %s: %s", c->host->name,
                    uv_strerror(status));
    else conn_close(c);
    return;
  }
  c->connected = 1;
  if (r) conn_send(c);
  else conn_idle(c);
}

/* A new connection for `r` (bound to it at once). */
static void conn_open(h1_req *r) {
  h1_engine *eng = r->eng;
  h1_host *h = r->host;
  h1_conn *c = ucp__calloc(1, sizeof *c);
  if (!c) {
    req_fail(r, UCP_E_NOMEM, "out of memory for a connection");
    return;
  }
  uv_loop_t *loop = ucp__cp_loop(eng->cp);
  c->eng = eng;
  c->host = h;
  if (uv_tcp_init(loop, &c->tcp) != 0) {
    ucp__free(c);
    req_fail(r, UCP_E_NOMEM, "no socket handle");
    return;
  }
  uv_timer_init(loop, &c->timer);
  c->tcp.data = c->timer.data = c->connect.data = c->write.data = c;
  c->handles = 2;
  eng->handles += 2;
  ucp__cp_handle_opened(eng->cp);
  ucp__cp_handle_opened(eng->cp);
  c->anext = eng->all;
  if (eng->all) eng->all->aprev = c;
  eng->all = c;
  h->nconns++;
  c->connect_started = now_ms(eng);
  set_phase(r, UCP_PHASE_CONNECTING);
  uv_tcp_nodelay(&c->tcp, 1);
  bind_conn(r, c);
  int rc = uv_tcp_connect(&c->connect, &c->tcp,
                          (const struct sockaddr *)&h->addr, on_connect);
  /* Reading starts with the connect (libuv allows it once the socket
   * exists): the fd is added to epoll once, for both directions, instead
   * of re-added after the connect (an EEXIST and a second epoll_ctl). */
  if (rc == 0)
    rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (rc != 0)
    req_fail(r, UCP_E_CONNECT, "connecting to %s: %s", h->name,
             uv_strerror(rc));
}

/* A connection free for the next exchange: into the idle lists, from
 * which a request of its host that waits takes it at once (host_kick); the
 * oldest idle one closes when there are more than UCP_LIMIT_HTTP_ACTIVE. */
static void conn_idle(h1_conn *c) {
  h1_engine *eng = c->eng;
  h1_host *h = c->host;
  if (eng->closing) {
    conn_close(c);
    return;
  }
  c->idle_since = now_ms(eng);
  c->in_idle = 1;
  c->hnext = h->idle;
  if (h->idle) h->idle->hprev = c;
  h->idle = c;
  c->lprev = eng->lru_tail;
  if (eng->lru_tail) eng->lru_tail->lnext = c;
  else eng->lru_head = c;
  eng->lru_tail = c;
  eng->nidle++;
  conn_arm(c);
  host_turn(h, 1); /* its host's next request may take it at once */
  if (eng->nidle > slot_limit(eng)) conn_close(eng->lru_head);
}

static void ready_push(h1_engine *eng, h1_host *h) {
  if (h->in_ready) return;
  h->in_ready = 1;
  h->ready_next = NULL;
  if (eng->ready_tail) eng->ready_tail->ready_next = h;
  else eng->ready_head = h;
  eng->ready_tail = h;
}

static h1_host *ready_pop(h1_engine *eng) {
  h1_host *h = eng->ready_head;
  if (!h) return NULL;
  eng->ready_head = h->ready_next;
  if (!eng->ready_head) eng->ready_tail = NULL;
  h->in_ready = 0;
  return h;
}

/* Start what the host's queue holds while it has connections to give and
 * a slot for each (a retry keeps the slot it has), at most `turn` requests
 * (0: no limit). 1 when it stopped at `turn` with requests left. */
static int host_kick_n(h1_host *h, unsigned turn) {
  if (h->kicking || !h->pending.head) return 0; /* the outer loop looks again */
  h1_engine *eng = h->pending.head->eng;
  unsigned started = 0;
  int more = 0;
  h->kicking = 1;
  while (h->pending.head) {
    /* A request holding its slot already (a retry) does not use a turn. */
    if (turn && started >= turn && !h->pending.head->counted) {
      more = 1;
      break;
    }
    h1_req *r = h->pending.head;
    int room = h->nconns < ucp__cp_limit(eng->cp, UCP_LIMIT_HTTP_PER_HOST);
    if (!(h->idle && !r->retried) && !room) {
      if (!h->idle) break; /* busy: a connection that frees kicks again */
      conn_close(h->idle); /* a retry wants a new connection: make room */
      continue;
    }
    if (!r->counted && eng->active >= slot_limit(eng)) {
      ready_push(eng, h);
      break;
    }
    /* Written only now: a queued request holds no buffer. */
    if (!r->head && build_head(r) != UCP_OK) {
      req_fail(r, UCP_E_NOMEM, "out of memory for the request");
      continue;
    }
    take_slot(r);
    list_unlink(&h->pending, r);
    started++;
    if (h->idle && !r->retried) {
      h1_conn *c = h->idle;
      idle_unlink(c);
      bind_conn(r, c);
    } else {
      conn_open(r);
    }
  }
  h->kicking = 0;
  return more;
}

static void host_kick(h1_host *h) { (void)host_kick_n(h, 0); }

/* `h` has something to start (a request came, or a connection of its
 * freed or closed). When other hosts wait for a slot, `h` takes its turn
 * behind them: slots go round the hosts, one request per turn, so a
 * device with a long queue does not keep every slot to itself. A retry
 * (at the head of its queue) holds its slot and goes at once. kick_now 0:
 * the engine is kicked from the loop's next turn, not from inside this
 * call (conn_close, where failing connects would otherwise nest). */
static void host_turn(h1_host *h, int kick_now) {
  if (!h->pending.head) return;
  h1_engine *eng = h->pending.head->eng;
  if (!eng->ready_head || h->pending.head->counted) {
    host_kick(h);
    return;
  }
  ready_push(eng, h);
  if (kick_now) engine_kick(eng);
  else uv_idle_start(&eng->reaper, on_reap); /* kicks from the loop */
}

/* ---------------------------------------------------------------- hosts */

static unsigned host_hash(const struct sockaddr_in *a) {
  uint32_t x = a->sin_addr.s_addr * 2654435761u ^ a->sin_port;
  return (x ^ (x >> 16)) % HOST_BUCKETS;
}

static void hosts_sweep(h1_engine *eng) {
  for (unsigned b = 0; b < HOST_BUCKETS; b++)
    for (h1_host **pp = &eng->hosts[b]; *pp;) {
      h1_host *h = *pp;
      if (!h->nconns && !h->pending.head && !h->in_ready) {
        *pp = h->next;
        ucp__free(h);
        eng->nhosts--;
      } else {
        pp = &h->next;
      }
    }
}

static h1_host *host_get(h1_engine *eng, const struct sockaddr_in *a) {
  unsigned b = host_hash(a);
  for (h1_host *h = eng->hosts[b]; h; h = h->next)
    if (h->addr.sin_addr.s_addr == a->sin_addr.s_addr &&
        h->addr.sin_port == a->sin_port)
      return h;
  if (eng->nhosts >= HOST_SWEEP_AT) hosts_sweep(eng);
  h1_host *h = ucp__calloc(1, sizeof *h);
  if (!h) return NULL;
  h->addr = *a;
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
  snprintf(h->name, sizeof h->name, "%s:%u", ip, ntohs(a->sin_port));
  h->next = eng->hosts[b];
  eng->hosts[b] = h;
  eng->nhosts++;
  return h;
}

/* ------------------------------------------------------- the reaper */

static void on_reap(uv_idle_t *hd) {
  h1_engine *eng = hd->data;
  while (eng->reap.head) {
    h1_req *r = eng->reap.head;
    list_unlink(&eng->reap, r); /* its slot went back in req_fail */
    report(r, r->err);
    req_free(r);
  }
  uv_idle_stop(&eng->reaper);
  engine_kick(eng);
}

/* -------------------------------------------------------- engine */

/* A new request joins its host's queue (the host gives it a connection
 * and a slot, or keeps it until it can). */
static void launch(h1_req *r) {
  h1_engine *eng = r->eng;
  r->host = host_get(eng, &r->addr);
  if (!r->host) {
    req_fail(r, UCP_E_NOMEM, "out of memory for a host record");
    return;
  }
  list_push(&r->host->pending, r, R_HOST_FIFO);
  host_turn(r->host, 1);
  if (r->where == R_HOST_FIFO) set_phase(r, UCP_PHASE_QUEUED);
}

/* Free slots go round the hosts that wait for one, a request each. Ends:
 * every turn takes a slot or a request, or drops a host from the list. */
static void engine_kick(h1_engine *eng) {
  size_t limit = slot_limit(eng);
  while (eng->ready_head && eng->active < limit && !eng->closing) {
    h1_host *h = ready_pop(eng);
    if (host_kick_n(h, 1)) ready_push(eng, h);
  }
}

static void on_reaper_closed(uv_handle_t *hd) { engine_handle_closed(hd->data); }

static void drop(h1_req *r) {
  release_slot(r);
  req_free(r);
}

static void free_list(req_list *l) {
  while (l->head) {
    h1_req *r = l->head;
    list_unlink(l, r);
    drop(r);
  }
}

static void engine_close(void *ext) {
  h1_engine *eng = ext;
  eng->closing = 1;
  /* Every op was released before this runs; drop stragglers anyway. */
  free_list(&eng->reap);
  while (eng->all) {
    h1_conn *c = eng->all;
    if (c->req) {
      h1_req *r = c->req;
      c->req = NULL;
      drop(r);
    }
    conn_close(c);
  }
  for (unsigned b = 0; b < HOST_BUCKETS; b++)
    for (h1_host *h = eng->hosts[b]; h;) {
      h1_host *next = h->next;
      free_list(&h->pending);
      ucp__free(h);
      h = next;
    }
  eng->ready_head = eng->ready_tail = NULL;
  uv_idle_stop(&eng->reaper);
  uv_close((uv_handle_t *)&eng->reaper, on_reaper_closed);
}

static h1_engine *engine_get(ucp_cp *cp) {
  h1_engine *eng = ucp__cp_ext(cp, UCP__EXT_H1);
  if (eng) return eng;
  eng = ucp__calloc(1, sizeof *eng);
  if (!eng) return NULL;
  eng->cp = cp;
  if (uv_idle_init(ucp__cp_loop(cp), &eng->reaper) != 0) {
    ucp__free(eng);
    return NULL;
  }
  eng->reaper.data = eng;
  eng->handles = 1;
  ucp__cp_handle_opened(cp);
  ucp__cp_set_ext(cp, UCP__EXT_H1, eng, engine_close);
  return eng;
}

/* ------------------------------------------------------ the request head */

static int header_named(const char *line, const char *name) {
  size_t n = strlen(name);
  return strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/* "Name:" with nothing after it means "do not send" (curl's convention). */
static int header_empty(const char *line) {
  const char *c = strchr(line, ':');
  if (!c) return 1;
  for (c++; *c == ' ' || *c == '\t'; c++) {}
  return *c == '\0';
}

static int has_ctl(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 && *s != '\t') return 1;
  return 0;
}

static char *put(char *p, const char *s, size_t n) {
  memcpy(p, s, n);
  return p + n;
}

static char *put_str(char *p, const char *s) { return put(p, s, strlen(s)); }

static char *put_uint(char *p, uint64_t v) {
  char tmp[24];
  size_t n = 0;
  do tmp[n++] = (char)('0' + v % 10);
  while (v /= 10);
  while (n) *p++ = tmp[--n];
  return p;
}

#define AGENT "User-Agent: Linux UPnP/1.1 upnpcp/" UCP_VERSION_STRING "\r\n"

/* The caller's header lines are checked at the start (a line break would
 * smuggle a header in); the head is written at launch, so a request that
 * waits for a slot holds no buffer. */
static int check_lines(h1_req *r) {
  if (has_ctl(r->base.method)) return UCP_E_INVALIDARG;
  for (const char *const *hd = r->lines; hd && *hd; hd++) {
    if (has_ctl(*hd)) return UCP_E_INVALIDARG;
    if (header_named(*hd, "Connection") && strcasestr(*hd, "close"))
      r->close_after = 1;
  }
  return UCP_OK;
}

/* The request line and headers, written without printf (the hot path). */
static int build_head(h1_req *r) {
  const char *host = r->base.url + 7;
  size_t need = strlen(r->base.method) + strlen(r->path) + r->host_len +
                sizeof AGENT + 96;
  int own_host = 1, own_agent = 1;
  for (const char *const *hd = r->lines; hd && *hd; hd++) {
    need += strlen(*hd) + 2;
    if (header_named(*hd, "Host")) own_host = 0;
    if (header_named(*hd, "User-Agent")) own_agent = 0;
  }
  /* The response headers' first buffer comes with the head, so a usual
   * answer needs no allocation (nothing to fail once a device acted). */
  char *buf = ucp__malloc(need + HDRS_FIRST), *p = buf;
  if (!buf) return UCP_E_NOMEM;
  r->hdrs = buf + need;
  r->hdrs_cap = HDRS_FIRST;
  p = put_str(p, r->base.method);
  *p++ = ' ';
  p = put_str(p, *r->path ? r->path : "/");
  p = put(p, " HTTP/1.1\r\n", 11);
  if (own_host) {
    p = put(put(p, "Host: ", 6), host, r->host_len);
    if (r->port != 80) p = put_uint(put(p, ":", 1), r->port);
    p = put(p, "\r\n", 2);
  }
  if (own_agent) p = put(p, AGENT, sizeof AGENT - 1);
  for (const char *const *hd = r->lines; hd && *hd; hd++)
    if (!header_empty(*hd)) p = put(put_str(p, *hd), "\r\n", 2);
  if (r->body)
    p = put(put_uint(put(p, "Content-Length: ", 16), r->body_len), "\r\n", 2);
  p = put(p, "\r\n", 2);
  r->head = buf;
  r->head_len = (size_t)(p - buf);
  return UCP_OK;
}

/* ---------------------------------------------------------- public */

static int pin_refused(h1_req *r, const char *host, const char *pin) {
  struct in_addr a;
  if (!pin) return 0;
  if (inet_pton(AF_INET, pin, &a) == 1 &&
      a.s_addr == r->addr.sin_addr.s_addr)
    return 0;
  ucp__http_set_error(&r->base, "connection to %s refused: device address is %s",
                      host, pin);
  return 1;
}

/* Caps and times above 4 G (ms: 49 days) mean "no smaller limit". */
static uint32_t clamp32(uint64_t v) { return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v; }

int ucp__h1_start(ucp_cp *cp, const ucp__http_spec *spec, const char *host,
                  unsigned port, const char *path, const ucp__http_sink *sink,
                  void *ctx, ucp__http_req **out) {
  h1_engine *eng = engine_get(cp);
  if (!eng) return UCP_E_NOMEM;
  h1_req *r = ucp__calloc(1, sizeof *r);
  if (!r) return UCP_E_NOMEM;
  ucp__http_base_init(&r->base, UCP__HTTP_H1, spec, sink, ctx);
  r->eng = eng;
  r->body = spec->body;
  r->body_len = spec->body_len;
  r->max_body = spec->max_body ? spec->max_body : 1024 * 1024;
  r->max_headers = (uint32_t)clamp32(spec->max_headers ? spec->max_headers
                                                      : 64 * 1024);
  r->content_length = UINT64_MAX;
  r->connect_timeout_ms = clamp32(spec->connect_timeout_ms
                                      ? spec->connect_timeout_ms : 5000);
  uint64_t quiet_s = spec->low_speed_time_s ? spec->low_speed_time_s : 30;
  r->low_speed_ms = quiet_s > UINT32_MAX / 1000 ? UINT32_MAX
                                                : (uint32_t)(quiet_s * 1000);
  r->is_head = strcmp(r->base.method, "HEAD") == 0;
  r->timeout_ms = clamp32(spec->timeout_ms);
  r->lines = spec->headers;
  r->path = path;
  r->host_len = (uint16_t)strlen(host);
  r->port = (uint16_t)port;
  if (uv_ip4_addr(host, (int)port, &r->addr) != 0) {
    req_free(r);
    return UCP_E_URL;
  }
  int rc = check_lines(r);
  if (rc != UCP_OK) {
    req_free(r);
    return rc;
  }
  *out = &r->base;
  if (pin_refused(r, host, spec->pin_ip)) {
    r->counted = 0;
    req_fail(r, UCP_E_POLICY, NULL);
    return UCP_OK;
  }
  launch(r);
  return UCP_OK;
}

void ucp__h1_abort(ucp__http_req *req) {
  h1_req *r = (h1_req *)req;
  h1_engine *eng = r->eng;
  switch (r->where) {
    case R_HOST_FIFO: list_unlink(&r->host->pending, r); break;
    case R_REAP: list_unlink(&eng->reap, r); break;
    case R_CONN: req_detach(r, 0); break;
    case R_NONE: break;
  }
  int had_slot = r->counted;
  release_slot(r);
  req_free(r);
  if (had_slot) engine_kick(eng);
}

/* Copy what the request still borrows from its owner: the URL (messages
 * read it) and, when the head is not written yet, everything it is made
 * of (the head is written now). */
int ucp__h1_own(ucp__http_req *req) {
  h1_req *r = (h1_req *)req;
  if (r->url_own) return UCP_OK;
  char *u = ucp__strdup(r->base.url);
  if (!u) return UCP_E_NOMEM;
  r->path = u + (r->path - r->base.url);
  r->base.url = u;
  r->url_own = u;
  if (!r->head && build_head(r) != UCP_OK) return UCP_E_NOMEM;
  r->lines = NULL;
  return UCP_OK;
}

const char *ucp__h1_header(ucp__http_req *req, const char *name) {
  h1_req *r = (h1_req *)req;
  if (!r->headers_done) return NULL; /* none, or cut short */
  const char *p = r->hdrs, *end = r->hdrs + r->hdrs_len;
  while (p < end) { /* pairs "name\0value\0", never read past the end */
    size_t nl = strnlen(p, (size_t)(end - p));
    const char *v = p + nl + 1;
    if (v >= end) break;
    size_t vl = strnlen(v, (size_t)(end - v));
    if (strcasecmp(p, name) == 0 && v + vl < end) return v;
    p = v + vl + 1;
  }
  return NULL;
}

/* ------------------------------------------------ parser callbacks */

static h1_req *parser_req(http_parser *p) { return ((h1_conn *)p->data)->req; }

static int hdr_append(h1_req *r, const char *at, size_t len, int state) {
  if (memchr(at, '\0', len)) { /* would split the stored name or value */
    ucp__http_set_error(&r->base, "a response header holds a NUL byte");
    r->err = UCP_E_NETWORK;
    return -1;
  }
  size_t extra = len + (r->hdr_state && r->hdr_state != state ? 1 : 0) + 2;
  r->header_bytes += len;
  if (r->header_bytes > r->max_headers) {
    ucp__http_set_error(&r->base, "response headers exceed the cap of %llu bytes",
                        (unsigned long long)r->max_headers);
    r->err = UCP_E_TOO_LARGE;
    return -1;
  }
  if (r->hdrs_len + extra > r->hdrs_cap) {
    size_t cap = r->hdrs_cap ? r->hdrs_cap * 2 : HDRS_FIRST;
    while (cap < r->hdrs_len + extra) cap *= 2;
    char *h = r->hdrs_own ? ucp__realloc(r->hdrs, cap) : ucp__malloc(cap);
    if (!h) {
      ucp__http_set_error(&r->base, "out of memory for the response headers");
      r->err = UCP_E_NOMEM;
      return -1;
    }
    if (!r->hdrs_own) memcpy(h, r->hdrs, r->hdrs_len);
    r->hdrs = h;
    r->hdrs_cap = cap;
    r->hdrs_own = 1;
  }
  if (r->hdr_state && r->hdr_state != state) r->hdrs[r->hdrs_len++] = '\0';
  r->hdr_state = state;
  memcpy(r->hdrs + r->hdrs_len, at, len);
  r->hdrs_len += len;
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  h1_req *r = parser_req(p);
  if (r->headers_done) return 0; /* a chunked trailer: not kept */
  if (p->status_code >= 200) r->http_status = p->status_code;
  if (r->hdr_state == 2) { /* a value ended: a new pair starts */
    r->hdrs[r->hdrs_len++] = '\0';
    r->hdr_state = 0;
  }
  return hdr_append(r, at, len, 1);
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  h1_req *r = parser_req(p);
  if (r->headers_done) return 0;
  return hdr_append(r, at, len, 2);
}

/* Close the last pair and trim the values' trailing blanks. */
static void hdrs_finish(h1_req *r) {
  if (r->hdr_state == 1) r->hdrs[r->hdrs_len++] = '\0';
  if (r->hdr_state) r->hdrs[r->hdrs_len++] = '\0';
  r->hdr_state = 0;
  char *p = r->hdrs, *end = r->hdrs + r->hdrs_len;
  while (p < end) {
    size_t nl = strnlen(p, (size_t)(end - p));
    char *v = p + nl + 1;
    if (v >= end) break;
    size_t vl = strnlen(v, (size_t)(end - v));
    p = v + vl + 1;
    while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) v[--vl] = '\0';
  }
}

/* 1 tells http_parser the response has no body. */
static int on_headers_complete(http_parser *p) {
  h1_req *r = parser_req(p);
  hdrs_finish(r);
  if (p->status_code < 100 || p->status_code == 101) {
    if (p->status_code == 101)
      ucp__http_set_error(&r->base, "the device switches protocols (status 101)");
    else
      ucp__http_set_error(&r->base, "status code %u is not HTTP",
                          (unsigned)p->status_code);
    r->err = UCP_E_NETWORK;
    return -1;
  }
  if (p->status_code < 200) return 1; /* interim, never with a body */
  r->http_status = p->status_code;
  r->headers_done = 1;
  r->content_length =
      (p->flags & F_CONTENTLENGTH) ? p->content_length : UINT64_MAX;
  if (r->content_length != UINT64_MAX && r->content_length > r->max_body) {
    ucp__http_set_error(&r->base, "Content-Length %llu exceeds the cap of %llu bytes",
                        (unsigned long long)r->content_length,
                        (unsigned long long)r->max_body);
    r->err = UCP_E_TOO_LARGE;
    return -1;
  }
  set_phase(r, UCP_PHASE_RECEIVING);
  if (r->base.sink.on_headers) {
    int rc = r->base.sink.on_headers(r->base.ctx, r->http_status,
                                     r->content_length);
    if (rc != UCP_OK) {
      r->err = rc;
      return -1;
    }
  }
  /* RFC 9110: no body after HEAD, 204 or 304, whatever the headers say. */
  return r->is_head || p->status_code == 204 || p->status_code == 304;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  h1_req *r = parser_req(p);
  if (!r->headers_done) return -1; /* cannot happen: 1xx skip their body */
  if (r->body_bytes + len > r->max_body) {
    ucp__http_set_error(&r->base, "response body exceeds the cap of %llu bytes",
                        (unsigned long long)r->max_body);
    r->err = UCP_E_TOO_LARGE;
    return -1;
  }
  r->body_bytes += len;
  int rc = r->base.sink.on_body ? r->base.sink.on_body(r->base.ctx, at, len)
                                : UCP_OK;
  if (rc != UCP_OK) {
    r->err = rc;
    return -1;
  }
  set_phase(r, UCP_PHASE_RECEIVING);
  return 0;
}

static int on_message_complete(http_parser *p) {
  h1_req *r = parser_req(p);
  if (!r->headers_done) { /* a 1xx answer: the real one follows */
    r->hdrs_len = 0;
    r->header_bytes = 0;
    return 0;
  }
  http_parser_pause(p, 1); /* handled by on_read, outside the parser */
  return 0;
}

static const http_parser_settings parser_settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};
