/*
 * sim.c - HTTP UPnP device simulator (BinaryLight:1) on libmicrohttpd.
 *
 * One MHD daemon per virtual device (two with IPv6), thread per
 * connection, so a stalled or dripping connection never blocks the others.
 * Every wait is done in steps of at most SIM_STEP_MS checking the per-sim
 * stop flag, which bounds the time ucp_sim_stop() needs to join the
 * connection threads. The SSDP side (sim_ssdp.c) is optional; the SOAP
 * control side is sim_soap.c and the GENA side sim_gena.c (this file does
 * their HTTP parts).
 */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define SIM_CONN_LIMIT 512u /* >= 256: 128 concurrent keep-alive bench
                               connections, plus slack */
#define SIM_BACKLOG 1024u   /* 128 connects at once must not overflow it */
#define SIM_CONN_TIMEOUT_S 30u
/* Per connection. MHD zeroes the whole pool between requests on a kept-
 * alive connection, so this is a per-request cost: enough for /bigheader. */
#define SIM_MEM_LIMIT ((size_t)256 * 1024)
#define SIM_STEP_MS 20u
#define SIM_BLOCK 16384u
#define SIM_FILE_MAX ((uint64_t)16 * 1024 * 1024)
#define SIM_BODY_MAX ((size_t)1024 * 1024) /* request bodies (POST later) */
#define SIM_WAIT_MAX_MS 600000u
#define SIM_BIGHDR_MAX ((uint64_t)200 * 1024)
#define SIM_HUGE_MAX ((uint64_t)1024 * 1024 * 1024)
#define SIM_DRIP_MAX ((uint64_t)16 * 1024 * 1024)
#define SIM_DEEP_MAX 1000000u
#define SIM_RESET_LEN 10000u
#define SIM_OTHER_HOST "http://192.0.2.1:80" /* TEST-NET-1, RFC 5737 */
#define SIM_CT_XML "text/xml; charset=\"utf-8\""
#define SIM_SERVER "POSIX/1.0 UPnP/1.0 upnpcp-sim/1.0" /* UDA 1.0 2.1 */

#define SIM_UUID_MAX 128u

typedef struct sim_doc {
  char *data;
  size_t len;
} sim_doc;

/* One virtual device: its own HTTP server(s), UDN and description. */
typedef struct sim_dev {
  ucp_sim *sim;
  struct MHD_Daemon *daemon;  /* IPv4 */
  struct MHD_Daemon *daemon6; /* IPv6, only with SSDP over IPv6 */
  unsigned short port, port6;
  char *udn;
  char base_url[48];
  char desc_url[64];
  sim_doc desc;       /* /desc.xml */
  sim_doc desc_other; /* /fault/otherhost */
  sim_doc huge_head;  /* desc up to "</root>", then "<!-- " */
} sim_dev;

struct ucp_sim {
  atomic_bool stopping;
  atomic_uint_fast64_t requests;
  atomic_uint_fast64_t connections;
  char *serve_dir;
  sim_dev *devs;
  int ndevs;
  ucp__sim_ssdp *ssdp; /* NULL without SSDP */
  ucp__sim_ctl *ctl;   /* control state of every device (sim_soap.c) */
  ucp__sim_gena *gena; /* subscriptions and events (sim_gena.c) */
  atomic_uint bootid;  /* BOOTID without SSDP (ucp_sim_reboot) */
  sim_doc scpd_sp;     /* documents shared by all devices */
  sim_doc scpd_dim;
  sim_doc malformed;
  sim_doc doctype;
  sim_doc index;
};

/* ------------------------------------------------------------------ */
/* Growable buffer                                                    */
/* ------------------------------------------------------------------ */

typedef struct sim_buf {
  char *p;
  size_t len, cap;
  bool oom;
} sim_buf;

static void sim_buf_add(sim_buf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (n > SIZE_MAX / 4 - b->len) { /* also keeps gcc -O3 from doubting */
    b->oom = true;
    return;
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sim_buf_str(sim_buf *b, const char *s) {
  sim_buf_add(b, s, strlen(s));
}

/* Hands the buffer over as a document; 0 ok, -1 out of memory. */
static int sim_buf_take(sim_buf *b, sim_doc *d) {
  if (b->oom || !b->p) {
    free(b->p);
    *b = (sim_buf){0};
    return -1;
  }
  d->data = b->p;
  d->len = b->len;
  *b = (sim_buf){0};
  return 0;
}

/* XML character escaping for element content (XML 1.0 section 2.4). */
static void sim_buf_escaped(sim_buf *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '&': sim_buf_str(b, "&amp;"); break;
      case '<': sim_buf_str(b, "&lt;"); break;
      case '>': sim_buf_str(b, "&gt;"); break;
      case '"': sim_buf_str(b, "&quot;"); break;
      case '\'': sim_buf_str(b, "&apos;"); break;
      default: sim_buf_add(b, s, 1); break;
    }
  }
}

/* ------------------------------------------------------------------ */
/* Documents                                                          */
/* ------------------------------------------------------------------ */

static int sim_join(const char *const *parts, sim_doc *d) {
  sim_buf b = {0};
  for (; *parts; parts++) sim_buf_str(&b, *parts);
  return sim_buf_take(&b, d);
}

typedef struct sim_subst {
  const char *key; /* token name between "{{" and "}}" */
  const char *val; /* already escaped */
} sim_subst;

static void sim_expand_one(sim_buf *b, const char *tmpl, const sim_subst *subs,
                           size_t nsubs) {
  const char *p = tmpl;
  const char *t;
  while ((t = strstr(p, "{{")) != NULL) {
    sim_buf_add(b, p, (size_t)(t - p));
    const char *end = strstr(t + 2, "}}");
    size_t klen = end ? (size_t)(end - t - 2) : 0;
    size_t i = 0;
    while (i < nsubs && (strlen(subs[i].key) != klen ||
                         strncmp(subs[i].key, t + 2, klen) != 0))
      i++;
    if (!end || i == nsubs) { /* not a token: copy literally */
      sim_buf_add(b, t, 2);
      p = t + 2;
      continue;
    }
    sim_buf_str(b, subs[i].val);
    p = end + 2;
  }
  sim_buf_str(b, p);
}

static int sim_expand(const char *const *parts, const sim_subst *subs,
                      size_t nsubs, sim_doc *d) {
  sim_buf b = {0};
  for (; *parts; parts++) sim_expand_one(&b, *parts, subs, nsubs);
  return sim_buf_take(&b, d);
}

static int sim_build_desc(sim_dev *s, const char *uuid, const char *name) {
  sim_buf en = {0}, eu = {0};
  sim_buf_escaped(&en, name);
  sim_buf_escaped(&eu, uuid);
  sim_buf_str(&en, "");
  sim_buf_str(&eu, "");
  int rc = -1;
  if (!en.oom && !eu.oom) {
    sim_subst subs[] = {
        {"NAME", en.p}, {"UUID", eu.p}, {"SP", ""}, {"DIM", ""}};
    rc = sim_expand(ucp_sim_desc_tmpl, subs, 4, &s->desc);
    subs[2].val = SIM_OTHER_HOST;
    if (rc == 0) rc = sim_expand(ucp_sim_desc_tmpl, subs, 4, &s->desc_other);
  }
  free(en.p);
  free(eu.p);
  return rc;
}

/* /fault/huge body head: the description minus its end tag, in a comment. */
static int sim_build_huge_head(sim_dev *s) {
  const char *end = strstr(s->desc.data, "</root>");
  size_t n = end ? (size_t)(end - s->desc.data) : s->desc.len;
  sim_buf b = {0};
  sim_buf_add(&b, s->desc.data, n);
  sim_buf_str(&b, "<!-- ");
  return sim_buf_take(&b, &s->huge_head);
}

static int sim_build_dev_docs(sim_dev *d, const char *uuid, const char *name) {
  if (sim_build_desc(d, uuid, name) != 0) return -1;
  return sim_build_huge_head(d);
}

static int sim_build_docs(ucp_sim *s) {
  if (sim_join(ucp_sim_scpd_switchpower, &s->scpd_sp) != 0) return -1;
  if (sim_join(ucp_sim_scpd_dimming, &s->scpd_dim) != 0) return -1;
  if (sim_join(ucp_sim_doc_malformed, &s->malformed) != 0) return -1;
  if (sim_join(ucp_sim_doc_doctype, &s->doctype) != 0) return -1;
  return sim_join(ucp_sim_doc_index, &s->index);
}

static void sim_free_doc_list(sim_doc *const *docs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(docs[i]->data);
    *docs[i] = (sim_doc){0};
  }
}

static void sim_free_docs(ucp_sim *s) {
  sim_doc *const docs[] = {&s->scpd_sp, &s->scpd_dim, &s->malformed,
                           &s->doctype, &s->index};
  sim_free_doc_list(docs, sizeof docs / sizeof docs[0]);
}

static void sim_free_dev_docs(sim_dev *d) {
  sim_doc *const docs[] = {&d->desc, &d->desc_other, &d->huge_head};
  sim_free_doc_list(docs, sizeof docs / sizeof docs[0]);
}

/* ------------------------------------------------------------------ */
/* Waiting                                                            */
/* ------------------------------------------------------------------ */

static uint64_t sim_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sim_sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* True if the peer closed (or half-closed) its side, or the socket failed. */
static bool sim_peer_gone(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci =
      conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD)
           : NULL;
  if (!ci) return false;
  char c;
  ssize_t n = recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/*
 * Waits ms in steps of SIM_STEP_MS. False if the sim is stopping or the
 * client of conn (may be NULL) went away, so no thread outlives its peer.
 */
static bool sim_wait_ms(ucp_sim *s, struct MHD_Connection *conn, uint64_t ms) {
  /* +1: the clock is in whole ms, so at least `ms` really pass. */
  uint64_t end = sim_now_ms() + ms + 1;
  for (;;) {
    if (atomic_load(&s->stopping) || sim_peer_gone(conn)) return false;
    uint64_t now = sim_now_ms();
    if (now >= end) return true;
    uint64_t left = end - now;
    sim_sleep_ms(left < SIM_STEP_MS ? (unsigned)left : SIM_STEP_MS);
  }
}

/* ------------------------------------------------------------------ */
/* Requests and responses                                             */
/* ------------------------------------------------------------------ */

enum {
  SIM_M_GET = 1u << 0,
  SIM_M_HEAD = 1u << 1,
  SIM_M_POST = 1u << 2,
  SIM_M_SUBSCRIBE = 1u << 3,
  SIM_M_UNSUBSCRIBE = 1u << 4,
  SIM_M_MPOST = 1u << 5, /* RFC 2774 mandatory POST (UDA 1.0 3.2.1) */
  SIM_M_READ = SIM_M_GET | SIM_M_HEAD,
  SIM_M_CONTROL = SIM_M_POST | SIM_M_MPOST
};

static const char *const sim_method_names[] = {
    "GET", "HEAD", "POST", "SUBSCRIBE", "UNSUBSCRIBE", "M-POST"};
#define SIM_NMETHODS (sizeof sim_method_names / sizeof sim_method_names[0])

/* Per-request state, freed by sim_completed(). */
typedef struct sim_req {
  ucp_sim *sim;
  sim_dev *dev; /* the device whose server got the request */
  struct MHD_Connection *conn;
  const char *url; /* decoded path, no query */
  unsigned method; /* one SIM_M_* bit, 0 if unknown */
  char *body;      /* request body, NUL-terminated (for POST handlers) */
  size_t body_len;
  bool body_too_big;
  uint64_t gena_release; /* != 0: a held initial event, sent once the
                            response has gone out (sim_completed) */
  int gena_svc;
} sim_req;

static unsigned sim_method_bit(const char *m) {
  for (size_t i = 0; i < SIM_NMETHODS; i++)
    if (strcmp(m, sim_method_names[i]) == 0) return 1u << i;
  return 0;
}

/* Adds the common headers, queues and releases resp. */
static enum MHD_Result sim_queue(sim_req *r, unsigned status,
                                 struct MHD_Response *resp, const char *ctype) {
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, SIM_SERVER);
  if (ctype) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
  MHD_destroy_response(resp);
  return ret;
}

/* Replies with memory that outlives the daemon (sim docs, literals). */
static enum MHD_Result sim_reply_static(sim_req *r, unsigned status,
                                        const void *data, size_t len,
                                        const char *ctype) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      len, (void *)(uintptr_t)data, MHD_RESPMEM_PERSISTENT);
  return sim_queue(r, status, resp, ctype);
}

static enum MHD_Result sim_reply_text(sim_req *r, unsigned status,
                                      const char *text) {
  return sim_reply_static(r, status, text, strlen(text), "text/plain");
}

static enum MHD_Result sim_reply_doc(sim_req *r, const sim_doc *d) {
  return sim_reply_static(r, MHD_HTTP_OK, d->data, d->len, SIM_CT_XML);
}

/* Takes ownership of data (malloc'ed) in all cases. */
static enum MHD_Result sim_reply_owned(sim_req *r, unsigned status, char *data,
                                       size_t len, const char *ctype) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
  if (!resp) free(data);
  return sim_queue(r, status, resp, ctype);
}

/*
 * Reads the numeric query parameter key: absent = def, above max = max.
 * Returns false if it is present but not a decimal number.
 */
static bool sim_qnum(sim_req *r, const char *key, uint64_t def, uint64_t max,
                     uint64_t *out) {
  const char *v =
      MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
  if (!v) {
    *out = def;
    return true;
  }
  if (*v < '0' || *v > '9') return false;
  errno = 0;
  char *end = NULL;
  unsigned long long n = strtoull(v, &end, 10);
  if (*end != '\0') return false;
  *out = (errno == ERANGE || n > max) ? max : (uint64_t)n;
  return true;
}

static enum MHD_Result sim_bad_param(sim_req *r) {
  return sim_reply_text(r, MHD_HTTP_BAD_REQUEST, "bad query parameter\n");
}

/* ------------------------------------------------------------------ */
/* Streamed bodies: drip, reset, huge, chunked                        */
/* ------------------------------------------------------------------ */

/* Body = head, then pad bytes, then tail, cut to total bytes. */
typedef struct sim_stream {
  ucp_sim *sim;
  const char *head;
  size_t head_len;
  const char *tail;
  size_t tail_len;
  char pad;
  uint64_t total;        /* body length */
  uint64_t limit;        /* abort the connection at this offset */
  uint64_t interval_ms;  /* delay before each byte after the first */
  uint64_t stall_at;     /* with stall_ms: one wait before this offset */
  uint64_t stall_ms;
  size_t piece;          /* at most this much per read (chunks); 0 = any */
  bool rst;              /* abort at limit with a TCP reset */
  bool stalled;
  struct MHD_Connection *conn; /* the one connection using this stream */
} sim_stream;

static uint64_t sim_stream_pad_len(const sim_stream *st) {
  uint64_t fixed = (uint64_t)st->head_len + st->tail_len;
  return st->total > fixed ? st->total - fixed : 0;
}

static void sim_stream_fill(const sim_stream *st, uint64_t pos, char *buf,
                            size_t n) {
  uint64_t pad_end = st->head_len + sim_stream_pad_len(st);
  size_t i = 0;
  while (i < n) {
    uint64_t p = pos + i;
    size_t k = n - i;
    if (p < st->head_len) {
      if (k > st->head_len - p) k = (size_t)(st->head_len - p);
      memcpy(buf + i, st->head + p, k);
    } else if (p < pad_end) {
      if (k > pad_end - p) k = (size_t)(pad_end - p);
      memset(buf + i, st->pad, k);
    } else {
      uint64_t t = p - pad_end;
      if (k > st->tail_len - t) k = (size_t)(st->tail_len - t);
      memcpy(buf + i, st->tail + t, k);
    }
    i += k;
  }
}

/* Before the bytes at pos: the drip interval, or the one stall. */
static bool sim_stream_pace(sim_stream *st, uint64_t pos) {
  if (st->interval_ms && pos > 0 &&
      !sim_wait_ms(st->sim, st->conn, st->interval_ms))
    return false;
  if (st->stall_ms && !st->stalled && pos > 0 && pos >= st->stall_at) {
    st->stalled = true;
    return sim_wait_ms(st->sim, st->conn, st->stall_ms);
  }
  return true;
}

/* How much the read at pos returns: each one is sent before the next. */
static size_t sim_stream_room(const sim_stream *st, uint64_t pos,
                              size_t max) {
  uint64_t n = st->total - pos;
  if (n > st->limit - pos) n = st->limit - pos;
  if (st->interval_ms && n > 1) n = 1;
  if (st->stall_ms && !st->stalled && pos < st->stall_at &&
      n > st->stall_at - pos)
    n = st->stall_at - pos;
  if (st->piece && n > st->piece) n = st->piece;
  if (n > max) n = max;
  if (n > SSIZE_MAX) n = SSIZE_MAX;
  return (size_t)n;
}

/* SO_LINGER 0: when MHD closes the socket the kernel sends an RST. */
static ssize_t sim_stream_abort(const sim_stream *st) {
  const union MHD_ConnectionInfo *ci =
      st->rst ? MHD_get_connection_info(st->conn,
                                        MHD_CONNECTION_INFO_CONNECTION_FD)
              : NULL;
  if (ci) {
    struct linger lg = {1, 0};
    (void)setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  return MHD_CONTENT_READER_END_WITH_ERROR;
}

static ssize_t sim_stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  sim_stream *st = cls;
  if (atomic_load(&st->sim->stopping)) return MHD_CONTENT_READER_END_WITH_ERROR;
  if (pos >= st->limit) return sim_stream_abort(st);
  if (pos >= st->total) return MHD_CONTENT_READER_END_OF_STREAM;
  if (!sim_stream_pace(st, pos)) return MHD_CONTENT_READER_END_WITH_ERROR;
  size_t n = sim_stream_room(st, pos, max);
  sim_stream_fill(st, pos, buf, n);
  return (ssize_t)n;
}

/*
 * A response reading tmpl; head and tail are copied into the same block,
 * so they may live on the caller's stack. chunked: no Content-Length, MHD
 * uses chunked encoding (RFC 7230 4.1).
 */
static struct MHD_Response *sim_stream_response(sim_req *r,
                                                const sim_stream *tmpl,
                                                bool chunked, size_t block) {
  sim_stream *st = malloc(sizeof *st + tmpl->head_len + tmpl->tail_len);
  if (!st) return NULL;
  *st = *tmpl;
  char *copy = (char *)(st + 1);
  memcpy(copy, tmpl->head, tmpl->head_len);
  memcpy(copy + tmpl->head_len, tmpl->tail, tmpl->tail_len);
  st->head = copy;
  st->tail = copy + tmpl->head_len;
  st->sim = r->sim;
  st->conn = r->conn;
  uint64_t size = chunked ? MHD_SIZE_UNKNOWN : st->total;
  struct MHD_Response *resp =
      MHD_create_response_from_callback(size, block, sim_stream_read, st, free);
  if (!resp) free(st);
  return resp;
}

static enum MHD_Result sim_reply_stream(sim_req *r, const sim_stream *tmpl,
                                        bool chunked, size_t block) {
  return sim_queue(r, MHD_HTTP_OK, sim_stream_response(r, tmpl, chunked, block),
                   SIM_CT_XML);
}

/* A stream of the description, padded with spaces or cut to total. */
static sim_stream sim_desc_stream(const sim_dev *s, uint64_t total) {
  sim_stream st = {0};
  st.head = s->desc.data;
  st.head_len = s->desc.len;
  st.tail = "";
  st.pad = ' ';
  st.total = total;
  st.limit = UINT64_MAX;
  return st;
}

/* ------------------------------------------------------------------ */
/* Handlers: device documents                                         */
/* ------------------------------------------------------------------ */

static enum MHD_Result sim_h_desc(sim_req *r) {
  return sim_reply_doc(r, &r->dev->desc);
}

/* An SCPD, after ?ms=N of silence when asked (a slow device). */
static enum MHD_Result sim_reply_scpd(sim_req *r, const sim_doc *d) {
  uint64_t ms;
  if (!sim_qnum(r, "ms", 0, SIM_WAIT_MAX_MS, &ms)) return sim_bad_param(r);
  if (ms && !sim_wait_ms(r->sim, r->conn, ms)) return MHD_NO; /* stop, gone */
  return sim_reply_doc(r, d);
}

static enum MHD_Result sim_h_scpd_sp(sim_req *r) {
  return sim_reply_scpd(r, &r->sim->scpd_sp);
}

static enum MHD_Result sim_h_scpd_dim(sim_req *r) {
  return sim_reply_scpd(r, &r->sim->scpd_dim);
}

static enum MHD_Result sim_h_icon(sim_req *r) {
  return sim_reply_static(r, MHD_HTTP_OK, ucp_sim_icon_png,
                          ucp_sim_icon_png_len, "image/png");
}

static enum MHD_Result sim_h_index(sim_req *r) {
  const sim_doc *d = &r->sim->index;
  return sim_reply_static(r, MHD_HTTP_OK, d->data, d->len,
                          "text/html; charset=utf-8");
}

/* ------------------------------------------------------------------ */
/* Handler: /files/<name>                                             */
/* ------------------------------------------------------------------ */

/* Relative, no "..", no backslash (NUL arrives as '\\': sim_unescape). */
static bool sim_name_ok(const char *name) {
  if (*name == '\0' || *name == '/' || strchr(name, '\\')) return false;
  for (const char *p = name; *p;) {
    size_t n = strcspn(p, "/");
    if (n == 2 && p[0] == '.' && p[1] == '.') return false;
    p += n;
    if (*p == '/') p++;
  }
  return true;
}

static bool sim_read_all(int fd, char *buf, size_t want, size_t *got) {
  size_t off = 0;
  while (off < want) {
    ssize_t n = read(fd, buf + off, want - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break; /* file shrank */
    off += (size_t)n;
  }
  *got = off;
  return true;
}

/* Reads a regular file; returns the HTTP status (200, 404 or 500). */
static unsigned sim_load_file(const char *path, char **data, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return errno == ENOENT || errno == ENOTDIR ? 404u : 500u;
  struct stat st;
  unsigned status = 500;
  if (fstat(fd, &st) != 0) goto out;
  status = 404;
  if (!S_ISREG(st.st_mode)) goto out;
  status = 500;
  if ((uint64_t)st.st_size > SIM_FILE_MAX) goto out;
  size_t want = (size_t)st.st_size;
  *data = malloc(want ? want : 1);
  if (!*data) goto out;
  if (!sim_read_all(fd, *data, want, len)) {
    free(*data);
    *data = NULL;
    goto out;
  }
  status = 200;
out:
  close(fd);
  return status;
}

static bool sim_ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static enum MHD_Result sim_h_files(sim_req *r) {
  const char *name = r->url + strlen("/files/");
  const char *dir = r->sim->serve_dir;
  if (!dir || !sim_name_ok(name))
    return sim_reply_text(r, MHD_HTTP_NOT_FOUND, "not found\n");
  size_t plen = strlen(dir) + strlen(name) + 2;
  char *path = malloc(plen);
  if (!path) return MHD_NO;
  snprintf(path, plen, "%s/%s", dir, name);
  char *data = NULL;
  size_t len = 0;
  unsigned status = sim_load_file(path, &data, &len);
  free(path);
  if (status == 404) return sim_reply_text(r, status, "not found\n");
  if (status != 200) return sim_reply_text(r, status, "cannot serve file\n");
  const char *ctype = sim_ends_with(name, ".xml") ? "text/xml" : "text/plain";
  return sim_reply_owned(r, MHD_HTTP_OK, data, len, ctype);
}

/* ------------------------------------------------------------------ */
/* Handlers: faults                                                   */
/* ------------------------------------------------------------------ */

/* No response at all for ms, then the description; also /slow_headers. */
static enum MHD_Result sim_h_stall(sim_req *r) {
  uint64_t ms;
  if (!sim_qnum(r, "ms", 60000, SIM_WAIT_MAX_MS, &ms)) return sim_bad_param(r);
  if (!sim_wait_ms(r->sim, r->conn, ms)) return MHD_NO; /* stop or gone */
  return sim_reply_doc(r, &r->dev->desc);
}

static enum MHD_Result sim_h_drip(sim_req *r) {
  uint64_t bytes, interval;
  if (!sim_qnum(r, "bytes", 200, SIM_DRIP_MAX, &bytes) ||
      !sim_qnum(r, "interval_ms", 1000, SIM_WAIT_MAX_MS, &interval))
    return sim_bad_param(r);
  sim_stream st = sim_desc_stream(r->dev, bytes);
  st.interval_ms = interval;
  return sim_reply_stream(r, &st, false, 1);
}

/* Claims SIM_RESET_LEN bytes, sends `after` (always fewer), then aborts. */
static enum MHD_Result sim_h_reset(sim_req *r) {
  uint64_t after;
  if (!sim_qnum(r, "after", 100, SIM_RESET_LEN - 1, &after))
    return sim_bad_param(r);
  sim_stream st = sim_desc_stream(r->dev, SIM_RESET_LEN);
  st.limit = after;
  return sim_reply_stream(r, &st, false, SIM_BLOCK);
}

/* Well-formed while it lasts: the padding sits inside a comment. */
static enum MHD_Result sim_h_huge(sim_req *r) {
  uint64_t bytes, chunked;
  if (!sim_qnum(r, "bytes", 2u * 1024 * 1024, SIM_HUGE_MAX, &bytes) ||
      !sim_qnum(r, "chunked", 0, 1, &chunked))
    return sim_bad_param(r);
  sim_stream st = sim_desc_stream(r->dev, bytes);
  st.head = r->dev->huge_head.data;
  st.head_len = r->dev->huge_head.len;
  st.tail = " -->\n</root>\n";
  st.tail_len = strlen(st.tail);
  return sim_reply_stream(r, &st, chunked != 0, SIM_BLOCK);
}

static enum MHD_Result sim_h_chunked(sim_req *r) {
  sim_stream st = sim_desc_stream(r->dev, r->dev->desc.len);
  return sim_reply_stream(r, &st, true, SIM_BLOCK);
}

static enum MHD_Result sim_h_status(sim_req *r) {
  uint64_t code;
  if (!sim_qnum(r, "code", 500, 999, &code) || code < 200 || code > 599)
    return sim_bad_param(r);
  char text[64];
  int n = snprintf(text, sizeof text, "simulated status %u\n", (unsigned)code);
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      (size_t)n, text, MHD_RESPMEM_MUST_COPY);
  return sim_queue(r, (unsigned)code, resp, "text/plain");
}

static enum MHD_Result sim_h_malformed(sim_req *r) {
  return sim_reply_doc(r, &r->sim->malformed);
}

static enum MHD_Result sim_h_doctype(sim_req *r) {
  return sim_reply_doc(r, &r->sim->doctype);
}

static enum MHD_Result sim_h_deep(sim_req *r) {
  uint64_t depth;
  if (!sim_qnum(r, "depth", 1000, SIM_DEEP_MAX, &depth))
    return sim_bad_param(r);
  sim_buf b = {0};
  sim_buf_str(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                  "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">");
  for (uint64_t i = 0; i < depth && !b.oom; i++) sim_buf_str(&b, "<e>");
  for (uint64_t i = 0; i < depth && !b.oom; i++) sim_buf_str(&b, "</e>");
  sim_buf_str(&b, "</root>\n");
  sim_doc d;
  if (sim_buf_take(&b, &d) != 0) return MHD_NO;
  return sim_reply_owned(r, MHD_HTTP_OK, d.data, d.len, SIM_CT_XML);
}

static enum MHD_Result sim_echo_header(void *cls, enum MHD_ValueKind kind,
                                       const char *key, const char *value) {
  (void)kind;
  sim_buf *b = cls;
  sim_buf_str(b, "header ");
  sim_buf_str(b, key);
  sim_buf_str(b, ": ");
  sim_buf_str(b, value ? value : "");
  sim_buf_str(b, "\n");
  return MHD_YES;
}

/* /echo: any method; answers with the method, the headers and the body it
 * received, as text, so tests can check what the client really sent. */
static enum MHD_Result sim_h_echo(sim_req *r) {
  sim_buf b = {0};
  const char *m = "?";
  for (size_t i = 0; i < SIM_NMETHODS; i++)
    if (r->method == (1u << i)) m = sim_method_names[i];
  sim_buf_str(&b, "method ");
  sim_buf_str(&b, m);
  sim_buf_str(&b, "\n");
  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, sim_echo_header, &b);
  char n[64];
  snprintf(n, sizeof n, "body-length %zu\nbody ", r->body_len);
  sim_buf_str(&b, n);
  if (r->body) sim_buf_add(&b, r->body, r->body_len);
  sim_doc d;
  if (sim_buf_take(&b, &d) != 0) return MHD_NO;
  return sim_reply_owned(r, MHD_HTTP_OK, d.data, d.len, "text/plain");
}

static enum MHD_Result sim_h_bigheader(sim_req *r) {
  uint64_t bytes;
  if (!sim_qnum(r, "bytes", 100000, SIM_BIGHDR_MAX, &bytes))
    return sim_bad_param(r);
  const sim_doc *d = &r->dev->desc;
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      d->len, d->data, MHD_RESPMEM_PERSISTENT);
  char *val = malloc((size_t)bytes + 1);
  if (!resp || !val) {
    free(val);
    if (resp) MHD_destroy_response(resp);
    return MHD_NO;
  }
  memset(val, 'x', (size_t)bytes);
  val[bytes] = '\0';
  enum MHD_Result ok = MHD_add_response_header(resp, "X-Big", val);
  free(val);
  if (ok != MHD_YES) {
    MHD_destroy_response(resp);
    return sim_reply_text(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "no header\n");
  }
  return sim_queue(r, MHD_HTTP_OK, resp, SIM_CT_XML);
}

static enum MHD_Result sim_h_redirect(sim_req *r) {
  const char *text = "moved\n";
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
  if (resp)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->dev->desc_url);
  return sim_queue(r, MHD_HTTP_FOUND, resp, "text/plain");
}

static enum MHD_Result sim_h_otherhost(sim_req *r) {
  return sim_reply_doc(r, &r->dev->desc_other);
}

/* ------------------------------------------------------------------ */
/* Handlers: control (UDA 1.0/2.0 section 3.2; sim_soap.c executes)   */
/* ------------------------------------------------------------------ */

#define SIM_SOAP_ENV_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define SIM_CTL_MS_DEF 2000u
#define SIM_CTL_MS_MAX 60000u
#define SIM_OVERSIZED_DEF ((uint64_t)2 * 1024 * 1024)
#define SIM_OVERSIZED_MAX ((uint64_t)64 * 1024 * 1024)
#define SIM_CHUNK_PIECE 64u

static enum MHD_Result sim_method_not_allowed(sim_req *r, unsigned methods);

typedef struct sim_cfault sim_cfault;

/* A fault chosen by "?fault=NAME" and its numbers. */
typedef struct sim_cparams {
  const sim_cfault *k;
  uint64_t ms, bytes;
} sim_cparams;

/* Sends a successful (200) outcome of sim_soap.c. */
typedef enum MHD_Result (*sim_creply)(sim_req *r, const ucp__sim_soap_out *o,
                                      const sim_cparams *p);

struct sim_cfault {
  const char *name;
  bool executes;   /* false: the action is only checked */
  bool wait_first; /* slow: ms before anything else */
  bool post_405;   /* mpost: POST is refused */
  sim_creply reply;
};

/* UDA 2.0 section 3.2.2: responses carry an empty EXT header. MHD refuses
 * an empty value; a space is optional whitespace, which readers trim. */
static enum MHD_Result sim_queue_ctl(sim_req *r, unsigned status,
                                     struct MHD_Response *resp) {
  if (resp) MHD_add_response_header(resp, "EXT", " ");
  return sim_queue(r, status, resp, SIM_CT_XML);
}

/* Also every error outcome: 400/503 as text, UPnPError as XML. */
static enum MHD_Result sim_cr_normal(sim_req *r, const ucp__sim_soap_out *o,
                                     const sim_cparams *p) {
  (void)p;
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      o->len, (void *)(uintptr_t)o->body, MHD_RESPMEM_MUST_COPY);
  if (o->status == MHD_HTTP_OK || o->status == MHD_HTTP_INTERNAL_SERVER_ERROR)
    return sim_queue_ctl(r, o->status, resp);
  return sim_queue(r, o->status, resp, o->ctype);
}

static sim_stream sim_out_stream(const ucp__sim_soap_out *o) {
  sim_stream st = {0};
  st.head = o->body;
  st.head_len = o->len;
  st.tail = "";
  st.pad = ' ';
  st.total = o->len;
  st.limit = UINT64_MAX;
  return st;
}

static enum MHD_Result sim_reply_ctl_stream(sim_req *r, const sim_stream *st,
                                            bool chunked) {
  return sim_queue_ctl(r, MHD_HTTP_OK,
                       sim_stream_response(r, st, chunked, SIM_BLOCK));
}

static enum MHD_Result sim_cr_stall(sim_req *r, const ucp__sim_soap_out *o,
                                    const sim_cparams *p) {
  sim_stream st = sim_out_stream(o);
  st.stall_at = o->head_len;
  st.stall_ms = p->ms;
  return sim_reply_ctl_stream(r, &st, false);
}

static enum MHD_Result sim_cr_chunked(sim_req *r, const ucp__sim_soap_out *o,
                                      const sim_cparams *p) {
  (void)p;
  sim_stream st = sim_out_stream(o);
  st.piece = SIM_CHUNK_PIECE;
  return sim_reply_ctl_stream(r, &st, true);
}

/* o is the head alone (not executed): claim more, send it, reset. */
static enum MHD_Result sim_cr_reset(sim_req *r, const ucp__sim_soap_out *o,
                                    const sim_cparams *p) {
  (void)p;
  sim_stream st = sim_out_stream(o);
  st.total = o->len + SIM_RESET_LEN;
  st.limit = o->len;
  st.rst = true;
  return sim_reply_ctl_stream(r, &st, false);
}

/* The first out-argument's value becomes p->bytes of 'x', streamed. */
static enum MHD_Result sim_cr_oversized(sim_req *r,
                                        const ucp__sim_soap_out *o,
                                        const sim_cparams *p) {
  sim_stream st = sim_out_stream(o);
  st.head_len = o->val_start;
  st.tail = o->body + o->val_end;
  st.tail_len = o->len - o->val_end;
  st.pad = o->nout ? 'x' : ' ';
  st.total = o->val_start + p->bytes + st.tail_len;
  return sim_reply_ctl_stream(r, &st, false);
}

static enum MHD_Result sim_cr_malformed(sim_req *r,
                                        const ucp__sim_soap_out *o,
                                        const sim_cparams *p) {
  (void)p;
  static const char tail[] = "<broken>\n";
  char buf[UCP__SIM_SOAP_OUT_MAX + sizeof tail];
  memcpy(buf, o->body, o->head_len);
  memcpy(buf + o->head_len, tail, sizeof tail);
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      o->head_len + sizeof tail - 1, buf, MHD_RESPMEM_MUST_COPY);
  return sim_queue_ctl(r, MHD_HTTP_OK, resp);
}

static enum MHD_Result sim_cr_500(sim_req *r, const ucp__sim_soap_out *o,
                                  const sim_cparams *p) {
  (void)o;
  (void)p;
  static const char html[] =
      "<html><body><h1>500 Internal Server Error</h1></body></html>\n";
  return sim_reply_static(r, MHD_HTTP_INTERNAL_SERVER_ERROR, html,
                          sizeof html - 1, "text/html");
}

static enum MHD_Result sim_cr_empty(sim_req *r, const ucp__sim_soap_out *o,
                                    const sim_cparams *p) {
  (void)o;
  (void)p;
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(0, (void *)(uintptr_t)"",
                                      MHD_RESPMEM_PERSISTENT);
  return sim_queue_ctl(r, MHD_HTTP_OK, resp);
}

/* A UPnPError whose errorCode is not a number (a device bending UDA). */
static enum MHD_Result sim_cr_badcode(sim_req *r, const ucp__sim_soap_out *o,
                                      const sim_cparams *p) {
  (void)o;
  (void)p;
  static const char body[] =
      "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap"
      ".org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/"
      "soap/encoding/\"><s:Body><s:Fault><faultcode>s:Client</faultcode>"
      "<faultstring>UPnPError</faultstring><detail><UPnPError xmlns=\"urn:"
      "schemas-upnp-org:control-1-0\"><errorCode>abc</errorCode>"
      "<errorDescription>Odd Device</errorDescription></UPnPError></detail>"
      "</s:Fault></s:Body></s:Envelope>\n";
  return sim_reply_static(r, MHD_HTTP_INTERNAL_SERVER_ERROR, body,
                          sizeof body - 1, "text/xml; charset=\"utf-8\"");
}

static const sim_cfault sim_cfaults[] = {
    {"slow", true, true, false, sim_cr_normal},
    {"stall_body", true, false, false, sim_cr_stall},
    {"chunked", true, false, false, sim_cr_chunked},
    {"oversized", true, false, false, sim_cr_oversized},
    {"mpost", true, false, true, sim_cr_normal},
    {"reset", false, false, false, sim_cr_reset},
    {"malformed", false, false, false, sim_cr_malformed},
    {"500", false, false, false, sim_cr_500},
    {"empty", false, false, false, sim_cr_empty},
    {"badcode", false, false, false, sim_cr_badcode},
};

static const sim_cfault sim_cfault_none = {"", true, false, false,
                                           sim_cr_normal};

/* False for an unknown fault name or a bad number (400). */
static bool sim_ctl_params(sim_req *r, sim_cparams *p) {
  const char *name =
      MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "fault");
  p->k = name ? NULL : &sim_cfault_none;
  for (size_t i = 0; name && i < sizeof sim_cfaults / sizeof sim_cfaults[0];
       i++)
    if (strcmp(name, sim_cfaults[i].name) == 0) p->k = &sim_cfaults[i];
  return p->k &&
         sim_qnum(r, "ms", SIM_CTL_MS_DEF, SIM_CTL_MS_MAX, &p->ms) &&
         sim_qnum(r, "bytes", SIM_OVERSIZED_DEF, SIM_OVERSIZED_MAX, &p->bytes);
}

/* MAN: "http://schemas.xmlsoap.org/soap/envelope/"; ns=NN (RFC 2774
 * section 2, quotes optional): copies NN. */
static bool sim_man_ns(const char *man, char *ns, size_t cap) {
  const char *p = man + strspn(man, " \t");
  bool quoted = *p == '"';
  if (quoted) p++;
  size_t n = strlen(SIM_SOAP_ENV_NS);
  if (strncmp(p, SIM_SOAP_ENV_NS, n) != 0) return false;
  p += n;
  if (quoted && *p != '"') return false;
  if (quoted) p++;
  if (*p && *p != ';' && *p != ' ' && *p != '\t') return false;
  while ((p = strchr(p, ';')) != NULL) {
    p++;
    p += strspn(p, " \t");
    if (strncasecmp(p, "ns=", 3) != 0) continue;
    p += 3;
    size_t k = strspn(p, "0123456789abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    if (k == 0 || k >= cap) return false;
    memcpy(ns, p, k);
    ns[k] = '\0';
    return true;
  }
  return false;
}

/*
 * POST: the SOAPACTION header. M-POST (UDA 1.0 section 3.2.1): the
 * NN-SOAPACTION header named by MAN's ns. False when an M-POST's MAN does
 * not declare the SOAP envelope extension (510).
 */
static bool sim_soapaction(sim_req *r, const char **out) {
  *out = NULL;
  if (r->method != SIM_M_MPOST) {
    *out = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "SOAPACTION");
    return true;
  }
  const char *man = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "MAN");
  char ns[16], key[32];
  if (!man || !sim_man_ns(man, ns, sizeof ns)) return false;
  snprintf(key, sizeof key, "%s-SOAPACTION", ns);
  *out = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, key);
  return true;
}

/* Per TCP connection (socket context): its reused expat parser. */
typedef struct sim_conn {
  void *parser;
} sim_conn;

static void **sim_parser_slot(sim_req *r) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  sim_conn *c = ci ? ci->socket_context : NULL;
  return c ? &c->parser : NULL;
}

static enum MHD_Result sim_h_ctl(sim_req *r, int svc) {
  sim_cparams p;
  const char *action;
  if (!sim_ctl_params(r, &p))
    return sim_reply_text(r, MHD_HTTP_BAD_REQUEST,
                          "unknown fault or bad query parameter\n");
  if (p.k->post_405 && r->method == SIM_M_POST)
    return sim_method_not_allowed(r, SIM_M_MPOST);
  if (!sim_soapaction(r, &action))
    return sim_reply_text(r, MHD_HTTP_NOT_EXTENDED,
                          "M-POST needs MAN: \"" SIM_SOAP_ENV_NS "\"; ns=NN\n");
  if (p.k->wait_first && !sim_wait_ms(r->sim, r->conn, p.ms))
    return MHD_NO; /* stopping, or the client went away: not executed */
  ucp__sim_soap_in in = {(int)(r->dev - r->sim->devs), svc, action, r->body,
                         r->body_len, sim_parser_slot(r), p.k->executes};
  ucp__sim_soap_out o;
  ucp__sim_soap_handle(r->sim->ctl, &in, &o);
  if (o.status != MHD_HTTP_OK) return sim_cr_normal(r, &o, &p);
  return p.k->reply(r, &o, &p);
}

static enum MHD_Result sim_h_ctl_sp(sim_req *r) {
  return sim_h_ctl(r, UCP__SIM_SVC_SWITCHPOWER);
}

static enum MHD_Result sim_h_ctl_dim(sim_req *r) {
  return sim_h_ctl(r, UCP__SIM_SVC_DIMMING);
}

/* ------------------------------------------------------------------ */
/* Handlers: eventing (UDA 2.0 section 4.1; sim_gena.c decides)       */
/* ------------------------------------------------------------------ */

#define SIM_GENA_MS_DEF 1000u /* slow_notify */

static const char *sim_header(sim_req *r, const char *key) {
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, key);
}

/* 200: SID and TIMEOUT for a SUBSCRIBE, nothing more for UNSUBSCRIBE. */
static enum MHD_Result sim_reply_gena(sim_req *r, const ucp__sim_gena_ans *a,
                                      int svc) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      0, (void *)(uintptr_t)"", MHD_RESPMEM_PERSISTENT);
  if (resp && a->sid[0]) {
    char t[32];
    snprintf(t, sizeof t, "Second-%u", a->timeout_s);
    MHD_add_response_header(resp, "SID", a->sid);
    MHD_add_response_header(resp, "TIMEOUT", t);
  }
  r->gena_release = a->release;
  r->gena_svc = svc;
  return sim_queue(r, MHD_HTTP_OK, resp, NULL);
}

static enum MHD_Result sim_h_evt(sim_req *r, int svc) {
  ucp__sim_gena_req rq = {
      .dev = (int)(r->dev - r->sim->devs),
      .svc = svc,
      .unsubscribe = r->method == SIM_M_UNSUBSCRIBE,
      .callback = sim_header(r, "CALLBACK"),
      .nt = sim_header(r, "NT"),
      .sid = sim_header(r, "SID"),
      .timeout = sim_header(r, "TIMEOUT"),
      .fault = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
                                           "fault")};
  if (!sim_qnum(r, "ms", SIM_GENA_MS_DEF, SIM_CTL_MS_MAX, &rq.ms) ||
      !sim_qnum(r, "timeout_cap", UINT64_MAX, UINT64_MAX, &rq.timeout_cap))
    return sim_bad_param(r);
  ucp__sim_gena_ans a;
  ucp__sim_gena_handle(r->sim->gena, &rq, &a); /* early_notify waits */
  if (a.status != MHD_HTTP_OK) return sim_reply_text(r, a.status, a.text);
  return sim_reply_gena(r, &a, svc);
}

static enum MHD_Result sim_h_evt_sp(sim_req *r) {
  return sim_h_evt(r, UCP__SIM_SVC_SWITCHPOWER);
}

static enum MHD_Result sim_h_evt_dim(sim_req *r) {
  return sim_h_evt(r, UCP__SIM_SVC_DIMMING);
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                           */
/* ------------------------------------------------------------------ */

typedef enum MHD_Result (*sim_handler)(sim_req *r);

typedef struct sim_route {
  const char *path;
  bool prefix;      /* path is a prefix ("/files/") */
  unsigned methods; /* SIM_M_* bits accepted; others get 405 */
  sim_handler fn;
} sim_route;

static const sim_route sim_routes[] = {
    {"/", false, SIM_M_READ, sim_h_index},
    {"/desc.xml", false, SIM_M_READ, sim_h_desc},
    {"/SwitchPower.xml", false, SIM_M_READ, sim_h_scpd_sp},
    {"/Dimming.xml", false, SIM_M_READ, sim_h_scpd_dim},
    {"/icon.png", false, SIM_M_READ, sim_h_icon},
    {"/files/", true, SIM_M_READ, sim_h_files},
    {"/fault/stall", false, SIM_M_READ, sim_h_stall},
    {"/fault/slow_headers", false, SIM_M_READ, sim_h_stall},
    {"/fault/drip", false, SIM_M_READ, sim_h_drip},
    {"/fault/reset", false, SIM_M_READ, sim_h_reset},
    {"/fault/huge", false, SIM_M_READ, sim_h_huge},
    {"/fault/status", false, SIM_M_READ, sim_h_status},
    {"/fault/malformed", false, SIM_M_READ, sim_h_malformed},
    {"/fault/doctype", false, SIM_M_READ, sim_h_doctype},
    {"/fault/deep", false, SIM_M_READ, sim_h_deep},
    {"/fault/bigheader", false, SIM_M_READ, sim_h_bigheader},
    {"/fault/redirect", false, SIM_M_READ, sim_h_redirect},
    {"/fault/otherhost", false, SIM_M_READ, sim_h_otherhost},
    {"/fault/chunked", false, SIM_M_READ, sim_h_chunked},
    {"/echo", false,
     SIM_M_READ | SIM_M_CONTROL | SIM_M_SUBSCRIBE | SIM_M_UNSUBSCRIBE,
     sim_h_echo},
    {"/ctl/SwitchPower", false, SIM_M_CONTROL, sim_h_ctl_sp},
    {"/ctl/Dimming", false, SIM_M_CONTROL, sim_h_ctl_dim},
    {"/evt/SwitchPower", false, SIM_M_SUBSCRIBE | SIM_M_UNSUBSCRIBE,
     sim_h_evt_sp},
    {"/evt/Dimming", false, SIM_M_SUBSCRIBE | SIM_M_UNSUBSCRIBE,
     sim_h_evt_dim},
};

static const sim_route *sim_find_route(const char *url) {
  for (size_t i = 0; i < sizeof sim_routes / sizeof sim_routes[0]; i++) {
    const sim_route *rt = &sim_routes[i];
    if (rt->prefix ? strncmp(url, rt->path, strlen(rt->path)) == 0
                   : strcmp(url, rt->path) == 0)
      return rt;
  }
  return NULL;
}

static enum MHD_Result sim_method_not_allowed(sim_req *r, unsigned methods) {
  char allow[80] = "";
  for (size_t i = 0; i < SIM_NMETHODS; i++) {
    if (!(methods & (1u << i))) continue;
    if (allow[0]) strcat(allow, ", ");
    strcat(allow, sim_method_names[i]);
  }
  const char *text = "method not allowed\n";
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
  if (resp) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
  return sim_queue(r, MHD_HTTP_METHOD_NOT_ALLOWED, resp, "text/plain");
}

static enum MHD_Result sim_dispatch(sim_req *r) {
  atomic_fetch_add(&r->sim->requests, 1);
  const sim_route *rt = sim_find_route(r->url);
  if (!rt) return sim_reply_text(r, MHD_HTTP_NOT_FOUND, "not found\n");
  if (!(rt->methods & r->method)) return sim_method_not_allowed(r, rt->methods);
  if (r->body_too_big) /* 413; the MHD macro name varies by version */
    return sim_reply_text(r, 413u, "body too large\n");
  return rt->fn(r);
}

/* Keeps the request body (up to SIM_BODY_MAX) for the handler. */
static void sim_store_body(sim_req *r, const char *data, size_t n) {
  if (r->body_too_big) return;
  if (n > SIM_BODY_MAX - r->body_len) {
    r->body_too_big = true;
    return;
  }
  char *p = realloc(r->body, r->body_len + n + 1);
  if (!p) {
    r->body_too_big = true;
    return;
  }
  memcpy(p + r->body_len, data, n);
  r->body = p;
  r->body_len += n;
  r->body[r->body_len] = '\0';
}

static enum MHD_Result sim_access(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls) {
  (void)version;
  sim_req *r = *req_cls;
  if (!r) { /* headers only: set up, respond once the body is in */
    r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    r->dev = cls;
    r->sim = r->dev->sim;
    r->method = sim_method_bit(method);
    *req_cls = r;
    return MHD_YES;
  }
  if (*upload_data_size) {
    sim_store_body(r, upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  r->conn = conn;
  r->url = url;
  return sim_dispatch(r);
}

static void sim_completed(void *cls, struct MHD_Connection *conn,
                          void **req_cls, enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)conn;
  (void)toe;
  sim_req *r = *req_cls;
  if (!r) return;
  if (r->gena_release) /* UDA 2.0 section 4.2.1: after the response */
    ucp__sim_gena_release(r->sim->gena, (int)(r->dev - r->sim->devs),
                          r->gena_svc, r->gena_release);
  free(r->body);
  free(r);
  *req_cls = NULL;
}

/* Counts accepted TCP connections (keep-alive checks) and gives each a
 * sim_conn (NULL when out of memory: its parser is then not reused). */
static void sim_on_connection(void *cls, struct MHD_Connection *conn,
                              void **socket_ctx,
                              enum MHD_ConnectionNotificationCode code) {
  sim_dev *d = cls;
  (void)conn;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    atomic_fetch_add(&d->sim->connections, 1);
    *socket_ctx = calloc(1, sizeof(sim_conn));
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_ctx) {
    sim_conn *c = *socket_ctx;
    ucp__sim_soap_parser_free(c->parser);
    free(c);
    *socket_ctx = NULL;
  }
}

/*
 * Percent-decoding (RFC 3986 2.1) for the path and query arguments. A
 * decoded NUL would silently cut the path, so "%00" becomes '\\', which
 * every path check rejects.
 */
static size_t sim_unescape(void *cls, struct MHD_Connection *conn, char *s) {
  (void)cls;
  (void)conn;
  char *w = s;
  for (const char *p = s; *p;) {
    if (p[0] == '%' && p[1] == '0' && p[2] == '0') {
      *w++ = '\\';
      p += 3;
    } else {
      *w++ = *p++;
    }
  }
  *w = '\0';
  return MHD_http_unescape(s);
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                         */
/* ------------------------------------------------------------------ */

static void sim_free(ucp_sim *s) {
  if (!s) return;
  for (int i = 0; i < s->ndevs; i++) {
    sim_free_dev_docs(&s->devs[i]);
    free(s->devs[i].udn);
  }
  free(s->devs);
  ucp__sim_gena_free(s->gena);
  ucp__sim_ctl_free(s->ctl);
  sim_free_docs(s);
  free(s->serve_dir);
  free(s);
}

static int sim_parse_addr(const char *addr, unsigned short port,
                          struct sockaddr_in *sa) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons(port);
  if (inet_pton(AF_INET, addr, &sa->sin_addr) != 1) {
    fprintf(stderr, "upnpcp sim: not an IPv4 address: %s\n", addr);
    return -1;
  }
  return 0;
}

/* libmicrohttpd's messages ("closing connection" on every fault the sim
 * injects on purpose) go to stderr only when UCP_SIM_LOG is set. */
static void sim_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void sim_log(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  static int enabled = -1;
  if (enabled < 0) enabled = getenv("UCP_SIM_LOG") != NULL;
  if (!enabled) return;
  fputs("upnpcp sim: ", stderr);
  vfprintf(stderr, fmt, ap);
}

static struct MHD_Daemon *sim_start_daemon(sim_dev *d,
                                           const struct sockaddr *sa,
                                           unsigned short port, bool v6) {
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                   MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                   MHD_USE_AUTO | MHD_USE_ITC | (v6 ? MHD_USE_IPv6 : 0u);
  return MHD_start_daemon(
      flags, port, NULL, NULL, sim_access, d, MHD_OPTION_SOCK_ADDR, sa,
      MHD_OPTION_CONNECTION_LIMIT, SIM_CONN_LIMIT,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, SIM_BACKLOG,
      MHD_OPTION_CONNECTION_TIMEOUT, SIM_CONN_TIMEOUT_S,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, SIM_MEM_LIMIT,
      MHD_OPTION_NOTIFY_COMPLETED, sim_completed, d,
      MHD_OPTION_NOTIFY_CONNECTION, sim_on_connection, d,
      MHD_OPTION_UNESCAPE_CALLBACK, sim_unescape, d,
      MHD_OPTION_EXTERNAL_LOGGER, sim_log, d, MHD_OPTION_END);
}

static unsigned short sim_bound_port(struct MHD_Daemon *daemon,
                                     unsigned short asked) {
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
  return info ? info->port : asked;
}

/* Base URL host: the bind address, or loopback for the wildcard. */
static void sim_set_urls(sim_dev *d, const char *bind_addr) {
  const char *host =
      strcmp(bind_addr, "0.0.0.0") == 0 ? "127.0.0.1" : bind_addr;
  snprintf(d->base_url, sizeof d->base_url, "http://%s:%u", host,
           (unsigned)d->port);
  snprintf(d->desc_url, sizeof d->desc_url, "%s/desc.xml", d->base_url);
}

/*
 * IPv6 server of a device (its LOCATION in answers over IPv6): the same
 * port as the IPv4 one when free, else any.
 */
static int sim_start_dev6(sim_dev *d, const char *bind6) {
  struct sockaddr_in6 sa;
  memset(&sa, 0, sizeof sa);
  sa.sin6_family = AF_INET6;
  if (inet_pton(AF_INET6, bind6, &sa.sin6_addr) != 1) return -1;
  for (int attempt = 0; attempt < 2 && !d->daemon6; attempt++) {
    unsigned short port = attempt == 0 ? d->port : 0;
    sa.sin6_port = htons(port);
    d->daemon6 = sim_start_daemon(d, (const struct sockaddr *)&sa, port, true);
    if (d->daemon6) d->port6 = sim_bound_port(d->daemon6, port);
  }
  if (d->daemon6) return 0;
  fprintf(stderr, "upnpcp sim: cannot listen on [%s]\n", bind6);
  return -1;
}

static int sim_start_dev(sim_dev *d, const char *bind_addr,
                         unsigned short port, const char *bind6) {
  struct sockaddr_in sa;
  if (sim_parse_addr(bind_addr, port, &sa) != 0) return -1;
  d->daemon = sim_start_daemon(d, (const struct sockaddr *)&sa, port, false);
  if (!d->daemon) {
    fprintf(stderr, "upnpcp sim: cannot listen on %s:%u\n", bind_addr,
            (unsigned)port);
    return -1;
  }
  d->port = sim_bound_port(d->daemon, port);
  sim_set_urls(d, bind_addr);
  return bind6 ? sim_start_dev6(d, bind6) : 0;
}

/* It goes into SSDP headers and URLs: printable, no space, no ':'. */
static bool sim_uuid_ok(const char *u) {
  size_t n = strlen(u);
  if (n == 0 || n > SIM_UUID_MAX) return false;
  for (; *u; u++)
    if (*u <= ' ' || *u > '~' || *u == ':') return false;
  return true;
}

/*
 * uuid of device i: device 0 keeps it; the others add i to its last group
 * of hex digits (mod 16^width), or append "-i" when there is none.
 */
static void sim_dev_uuid(const char *uuid, int i, char *out, size_t cap) {
  const char *dash = strrchr(uuid, '-');
  const char *g = dash ? dash + 1 : uuid;
  size_t w = strlen(g);
  bool hex = w > 0 && w <= 12 && strspn(g, "0123456789abcdefABCDEF") == w;
  if (i == 0) {
    snprintf(out, cap, "%s", uuid);
  } else if (!hex) {
    snprintf(out, cap, "%s-%d", uuid, i);
  } else {
    uint64_t v = strtoull(g, NULL, 16) + (uint64_t)i;
    v &= ((uint64_t)1 << (4 * w)) - 1;
    snprintf(out, cap, "%.*s%0*llx", (int)(g - uuid), uuid, (int)w,
             (unsigned long long)v);
  }
}

static int sim_init_dev(ucp_sim *s, int i, const char *uuid,
                        const char *name) {
  sim_dev *d = &s->devs[i];
  d->sim = s;
  char u[SIM_UUID_MAX + 16];
  sim_dev_uuid(uuid, i, u, sizeof u);
  size_t n = strlen(u) + sizeof "uuid:";
  if (!(d->udn = malloc(n))) return -1;
  snprintf(d->udn, n, "uuid:%s", u);
  if (s->ndevs == 1) return sim_build_dev_docs(d, u, name);
  size_t nn = strlen(name) + 16;
  char *numbered = malloc(nn);
  if (!numbered) return -1;
  snprintf(numbered, nn, "%s #%d", name, i);
  int rc = sim_build_dev_docs(d, u, numbered);
  free(numbered);
  return rc;
}

static int sim_init(ucp_sim *s, const ucp_sim_opts *o, int ndevs) {
  const char *uuid = o->uuid ? o->uuid : UCP_SIM_DEFAULT_UUID;
  const char *name = o->friendly_name ? o->friendly_name : UCP_SIM_DEFAULT_NAME;
  if (o->serve_dir && !(s->serve_dir = strdup(o->serve_dir))) return -1;
  if (!(s->devs = calloc((size_t)ndevs, sizeof *s->devs))) return -1;
  s->ndevs = ndevs;
  if (!(s->ctl = ucp__sim_ctl_new(ndevs))) return -1;
  ucp__sim_gena_cfg gc = {ndevs, o->gena_timeout_cap_s,
                          o->gena_max_subscriptions};
  if (ucp__sim_gena_new(&gc, s->ctl, &s->gena) != 0) return -1;
  ucp__sim_ctl_set_gena(s->ctl, s->gena);
  atomic_store(&s->bootid,
               (o->bootid ? o->bootid : (unsigned)time(NULL)) & 0x7fffffffu);
  for (int i = 0; i < ndevs; i++)
    if (sim_init_dev(s, i, uuid, name) != 0) return -1;
  return sim_build_docs(s);
}

/* Stops the NOTIFY sender (in-flight NOTIFYs aborted), the SSDP side
 * (its byebye goes out while HTTP still answers), then every HTTP server;
 * frees s. */
static void sim_shutdown(ucp_sim *s) {
  atomic_store(&s->stopping, true); /* waits notice within SIM_STEP_MS */
  ucp__sim_gena_stop(s->gena);
  ucp__sim_ssdp_close(s->ssdp);
  s->ssdp = NULL;
  for (int i = 0; i < s->ndevs; i++) {
    if (s->devs[i].daemon) MHD_stop_daemon(s->devs[i].daemon);
    if (s->devs[i].daemon6) MHD_stop_daemon(s->devs[i].daemon6);
  }
  sim_free(s);
}

static int sim_check_opts(const ucp_sim_opts *o) {
  struct sockaddr_in sa;
  if (o->bind_addr && sim_parse_addr(o->bind_addr, 0, &sa) != 0) return -1;
  if (o->uuid && !sim_uuid_ok(o->uuid)) {
    fprintf(stderr, "upnpcp sim: bad uuid (1..%u printable, no ':')\n",
            SIM_UUID_MAX);
    return -1;
  }
  if (o->devices < 0 || o->devices > UCP_SIM_MAX_DEVICES ||
      (o->port && (unsigned)o->port + (unsigned)o->devices > 65536u)) {
    fprintf(stderr, "upnpcp sim: bad number of devices: %d\n", o->devices);
    return -1;
  }
  return 0;
}

/* UDA 2.0 section 1: hands the devices' UDNs and ports to the SSDP side. */
static int sim_run_ssdp(ucp_sim *s, const char *bind4, const char *bind6) {
  ucp__sim_ssdp_dev *devs = calloc((size_t)s->ndevs, sizeof *devs);
  if (!devs) return -1;
  for (int i = 0; i < s->ndevs; i++) {
    devs[i].udn = s->devs[i].udn;
    devs[i].port = s->devs[i].port;
    devs[i].port6 = s->devs[i].port6;
  }
  int rc = ucp__sim_ssdp_run(s->ssdp, devs, s->ndevs, bind4, bind6);
  free(devs);
  return rc;
}

static int sim_open_ssdp(ucp_sim *s, const ucp_sim_opts *o) {
  ucp__sim_ssdp_cfg cfg = {0};
  cfg.ifaces = o->ssdp_ifaces;
  cfg.port = o->ssdp_port;
  cfg.ipv6 = o->ipv6;
  cfg.alive_interval_s = o->alive_interval_s;
  cfg.bootid = o->bootid;
  cfg.fault = o->fault;
  cfg.unicast_only = o->ssdp_unicast_only;
  return ucp__sim_ssdp_open(&cfg, &s->ssdp);
}

/*
 * HTTP listens on bind_addr; by default on loopback, or on every address
 * when SSDP advertises on a non-loopback interface (LOCATION must work
 * there). With IPv6 it also listens on ::1, or on :: with the wildcard.
 */
int ucp_sim_start(const ucp_sim_opts *opts, ucp_sim **out) {
  ucp_sim_opts o = opts ? *opts : (ucp_sim_opts){0};
  *out = NULL;
  if (sim_check_opts(&o) != 0) return -1;
  int ndevs = o.devices > 1 ? o.devices : 1;
  ucp_sim *s = calloc(1, sizeof *s);
  if (!s || sim_init(s, &o, ndevs) != 0) {
    fprintf(stderr, "upnpcp sim: out of memory\n");
    if (s) sim_shutdown(s);
    return -1;
  }
  if (o.ssdp && sim_open_ssdp(s, &o) != 0) goto fail;
  const char *bind4 = o.bind_addr ? o.bind_addr : "127.0.0.1";
  if (!o.bind_addr && s->ssdp && !ucp__sim_ssdp_loopback_only(s->ssdp))
    bind4 = "0.0.0.0";
  const char *bind6 = NULL;
  if (s->ssdp && o.ipv6) bind6 = strcmp(bind4, "0.0.0.0") ? "::1" : "::";
  for (int i = 0; i < ndevs; i++) {
    unsigned short port = o.port ? (unsigned short)(o.port + i) : 0;
    if (sim_start_dev(&s->devs[i], bind4, port, bind6) != 0) goto fail;
  }
  if (s->ssdp && sim_run_ssdp(s, bind4, bind6) != 0) goto fail;
  *out = s;
  return 0;
fail:
  sim_shutdown(s);
  return -1;
}

unsigned short ucp_sim_port(const ucp_sim *s) { return s->devs[0].port; }

const char *ucp_sim_base_url(const ucp_sim *s) { return s->devs[0].base_url; }

const char *ucp_sim_description_url(const ucp_sim *s) {
  return s->devs[0].desc_url;
}

const char *ucp_sim_udn(const ucp_sim *s) { return s->devs[0].udn; }

int ucp_sim_device_count(const ucp_sim *s) { return s->ndevs; }

static const sim_dev *sim_device(const ucp_sim *s, int i) {
  return i >= 0 && i < s->ndevs ? &s->devs[i] : NULL;
}

unsigned short ucp_sim_device_port(const ucp_sim *s, int i) {
  const sim_dev *d = sim_device(s, i);
  return d ? d->port : 0;
}

const char *ucp_sim_device_udn(const ucp_sim *s, int i) {
  const sim_dev *d = sim_device(s, i);
  return d ? d->udn : NULL;
}

const char *ucp_sim_device_location(const ucp_sim *s, int i) {
  const sim_dev *d = sim_device(s, i);
  return d ? d->desc_url : NULL;
}

unsigned short ucp_sim_ssdp_port(const ucp_sim *s) {
  return s->ssdp ? ucp__sim_ssdp_port(s->ssdp) : 0;
}

uint64_t ucp_sim_msearch_received(const ucp_sim *s) {
  return s->ssdp ? ucp__sim_ssdp_msearch(s->ssdp) : 0;
}

uint64_t ucp_sim_ssdp_dropped(const ucp_sim *s) {
  return s->ssdp ? ucp__sim_ssdp_dropped(s->ssdp) : 0;
}

unsigned ucp_sim_bootid(const ucp_sim *s) {
  if (s->ssdp) return ucp__sim_ssdp_bootid(s->ssdp);
  return atomic_load(&((ucp_sim *)(uintptr_t)s)->bootid);
}

int ucp_sim_restart(ucp_sim *s) {
  if (!s || !s->ssdp) return -1;
  ucp__sim_gena_drop_all(s->gena); /* a rebooted device forgets them */
  return ucp__sim_ssdp_restart(s->ssdp);
}

int ucp_sim_reboot(ucp_sim *s) {
  if (!s) return -1;
  ucp__sim_gena_drop_all(s->gena);
  if (s->ssdp) return ucp__sim_ssdp_restart(s->ssdp);
  unsigned old = atomic_load(&s->bootid), next;
  do {
    next = (old + 1u) & 0x7fffffffu; /* 31 bits, UDA 2.0 section 1.2.2 */
  } while (!atomic_compare_exchange_weak(&s->bootid, &old, next));
  return 0;
}

size_t ucp_sim_subscriptions(const ucp_sim *s) {
  return ucp__sim_gena_subscriptions(s->gena);
}

uint64_t ucp_sim_notifies_sent(const ucp_sim *s) {
  return ucp__sim_gena_sent(s->gena);
}

uint64_t ucp_sim_notify_failures(const ucp_sim *s) {
  return ucp__sim_gena_failures(s->gena);
}

uint64_t ucp_sim_notifies_dropped(const ucp_sim *s) {
  return ucp__sim_gena_dropped(s->gena);
}

int ucp_sim_set_switch(ucp_sim *s, int dev, int on) {
  return s ? ucp__sim_ctl_set_switch(s->ctl, dev, on) : -1;
}

int ucp_sim_set_next_seq(ucp_sim *s, const char *sid, uint32_t seq) {
  return s && sid ? ucp__sim_gena_set_next_seq(s->gena, sid, seq) : -1;
}

uint64_t ucp_sim_requests(const ucp_sim *s) {
  return (uint64_t)atomic_load(&((ucp_sim *)(uintptr_t)s)->requests);
}

uint64_t ucp_sim_connections(const ucp_sim *s) {
  return (uint64_t)atomic_load(&((ucp_sim *)(uintptr_t)s)->connections);
}

int ucp_sim_switch_status(const ucp_sim *s, int dev) {
  return ucp__sim_ctl_switch_status(s->ctl, dev);
}

unsigned ucp_sim_load_level(const ucp_sim *s, int dev) {
  return ucp__sim_ctl_load_level(s->ctl, dev);
}

uint64_t ucp_sim_actions(const ucp_sim *s) {
  return ucp__sim_ctl_actions(s->ctl);
}

uint64_t ucp_sim_faults_sent(const ucp_sim *s) {
  return ucp__sim_ctl_faults(s->ctl);
}

uint64_t ucp_sim_state_changes(const ucp_sim *s) {
  return ucp__sim_ctl_changes(s->ctl);
}

void ucp_sim_stop(ucp_sim *s) {
  if (s) sim_shutdown(s);
}

/* ------------------------------------------------------------------ */
/* `upnpcp sim` command                                               */
/* ------------------------------------------------------------------ */

/* Set by SIGINT/SIGTERM (stop) and SIGHUP (simulated reboot); the only
 * process-wide state, used by the CLI. */
static volatile sig_atomic_t sim_sig_caught;
static volatile sig_atomic_t sim_hup_caught;

static void sim_on_signal(int sig) {
  if (sig == SIGHUP)
    sim_hup_caught = 1;
  else
    sim_sig_caught = 1;
}

static void sim_usage(FILE *f) {
  fputs(
      "usage: upnpcp sim [--port N] [--bind ADDR] [--serve-dir DIR]\n"
      "                  [--uuid U] [--name NAME] [--duration S]\n"
      "                  [--devices N] [--ssdp] [--iface LIST] [--ssdp-port N]\n"
      "                  [--ipv6] [--alive S] [--bootid N] [--fault KIND]...\n"
      "Serves simulated UPnP BinaryLight:1 devices until SIGINT/SIGTERM\n"
      "or for S seconds. --port 0 (default) picks free ports; else device i\n"
      "listens on N+i. Without --ssdp nothing is multicast and HTTP listens\n"
      "on loopback only. SIGHUP simulates a reboot: GENA subscriptions are\n"
      "forgotten and BOOTID.UPNP.ORG goes up.\n"
      "  --ssdp          answer M-SEARCH and advertise (UDA 2.0 section 1);\n"
      "                  a reboot then sends byebye, update, alive\n"
      "  --iface LIST    comma-separated interfaces (default lo); implies\n"
      "                  --ssdp; a non-loopback one makes HTTP listen on any\n"
      "                  address unless --bind is given\n"
      "  --ssdp-port N   SSDP port (default 1900)\n"
      "  --ssdp-unicast  answer unicast M-SEARCH on 127.0.0.1 only (a free\n"
      "                  port unless --ssdp-port): nothing multicast at all\n"
      "  --ipv6          also FF02::C, and HTTP over IPv6\n"
      "  --alive S       re-advertise every S seconds (default 30)\n"
      "  --bootid N      BOOTID.UPNP.ORG (default: the time)\n"
      "  --fault KIND    no-response, malformed, other-host or flood\n"
      "Multicast leaves on the named interfaces: use a network namespace.\n",
      f);
}

typedef struct sim_cli {
  ucp_sim_opts opts;
  double duration; /* < 0: until a signal */
  bool help;
} sim_cli;

/* "--key VALUE" or "--key=VALUE"; advances *i past what it consumed. */
static bool sim_opt(int argc, char **argv, int *i, const char *key,
                    const char **val) {
  const char *a = argv[*i];
  size_t n = strlen(key);
  if (strncmp(a, key, n) != 0) return false;
  if (a[n] == '=') {
    *val = a + n + 1;
    return true;
  }
  if (a[n] != '\0') return false;
  *val = *i + 1 < argc ? argv[++*i] : NULL;
  return true;
}

static bool sim_parse_port(const char *v, unsigned short *port) {
  char *end = NULL;
  if (!v || *v < '0' || *v > '9') return false;
  unsigned long n = strtoul(v, &end, 10);
  if (*end != '\0' || n > 65535) return false;
  *port = (unsigned short)n;
  return true;
}

/* Decimal in [min, max]. */
static bool sim_parse_uint(const char *v, unsigned long min, unsigned long max,
                           unsigned long *out) {
  char *end = NULL;
  if (!v || *v < '0' || *v > '9') return false;
  errno = 0;
  unsigned long n = strtoul(v, &end, 10);
  if (*end != '\0' || errno == ERANGE || n < min || n > max) return false;
  *out = n;
  return true;
}

static bool sim_parse_fault(const char *v, unsigned *fault) {
  static const struct {
    const char *name;
    unsigned bit;
  } faults[] = {{"no-response", UCP_SIM_FAULT_NO_RESPONSE},
                {"malformed", UCP_SIM_FAULT_MALFORMED},
                {"other-host", UCP_SIM_FAULT_OTHER_HOST},
                {"flood", UCP_SIM_FAULT_FLOOD}};
  for (size_t i = 0; v && i < sizeof faults / sizeof faults[0]; i++) {
    if (strcmp(v, faults[i].name) == 0) {
      *fault |= faults[i].bit;
      return true;
    }
  }
  return false;
}

/* The SSDP and multi-device options; false if argv[*i] is none of them
 * (*known = false) or has a bad value. */
static bool sim_parse_ssdp_opt(int argc, char **argv, int *i,
                               ucp_sim_opts *o, bool *known) {
  const char *v = NULL;
  unsigned long n = 0;
  *known = true;
  if (strcmp(argv[*i], "--ssdp") == 0) return (o->ssdp = 1);
  if (strcmp(argv[*i], "--ssdp-unicast") == 0)
    return (o->ssdp = 1) && (o->ssdp_unicast_only = 1);
  if (strcmp(argv[*i], "--ipv6") == 0) return (o->ipv6 = 1);
  if (sim_opt(argc, argv, i, "--iface", &v))
    return (o->ssdp = 1) && (o->ssdp_ifaces = v) && *v;
  if (sim_opt(argc, argv, i, "--ssdp-port", &v))
    return sim_parse_port(v, &o->ssdp_port);
  if (sim_opt(argc, argv, i, "--fault", &v))
    return sim_parse_fault(v, &o->fault);
  if (sim_opt(argc, argv, i, "--devices", &v)) {
    bool ok = sim_parse_uint(v, 1, UCP_SIM_MAX_DEVICES, &n);
    o->devices = (int)n;
    return ok;
  }
  if (sim_opt(argc, argv, i, "--alive", &v)) {
    bool ok = sim_parse_uint(v, 1, 86400, &n);
    o->alive_interval_s = (unsigned)n;
    return ok;
  }
  if (sim_opt(argc, argv, i, "--bootid", &v)) {
    bool ok = sim_parse_uint(v, 1, 0x7fffffffUL, &n);
    o->bootid = (unsigned)n;
    return ok;
  }
  *known = false;
  return false;
}

static bool sim_parse_duration(const char *v, double *out) {
  char *end = NULL;
  if (!v || !*v) return false;
  double d = strtod(v, &end);
  if (*end != '\0' || !(d >= 0) || d > 1e9) return false;
  *out = d;
  return true;
}

/* One option at argv[*i]; false on a bad or unknown option. */
static bool sim_parse_one(int argc, char **argv, int *i, sim_cli *c) {
  const char *v = NULL;
  ucp_sim_opts *o = &c->opts;
  bool known = false;
  if (strcmp(argv[*i], "--help") == 0 || strcmp(argv[*i], "-h") == 0)
    return (c->help = true);
  bool ok = sim_parse_ssdp_opt(argc, argv, i, o, &known);
  if (known) return ok;
  if (sim_opt(argc, argv, i, "--port", &v)) return sim_parse_port(v, &o->port);
  if (sim_opt(argc, argv, i, "--duration", &v))
    return sim_parse_duration(v, &c->duration);
  if (sim_opt(argc, argv, i, "--bind", &v)) {
    struct in_addr a;
    return (o->bind_addr = v) && inet_pton(AF_INET, v, &a) == 1;
  }
  if (sim_opt(argc, argv, i, "--serve-dir", &v))
    return (o->serve_dir = v) != NULL;
  if (sim_opt(argc, argv, i, "--uuid", &v)) return (o->uuid = v) && *v;
  if (sim_opt(argc, argv, i, "--name", &v))
    return (o->friendly_name = v) != NULL;
  return false;
}

static int sim_parse_cli(int argc, char **argv, sim_cli *c) {
  *c = (sim_cli){.duration = -1};
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (!sim_parse_one(argc, argv, &i, c)) {
      fprintf(stderr, "upnpcp sim: bad option or value: %s\n", opt);
      sim_usage(stderr);
      return -1;
    }
    if (c->help) break;
  }
  return 0;
}

static void sim_run_until_done(ucp_sim *s, double duration) {
  uint64_t end = duration >= 0 ? sim_now_ms() + (uint64_t)(duration * 1000.0)
                               : UINT64_MAX;
  while (!sim_sig_caught && sim_now_ms() < end) {
    if (sim_hup_caught) {
      sim_hup_caught = 0;
      if (ucp_sim_reboot(s) == 0)
        printf("upnpcp sim: restarted, BOOTID.UPNP.ORG %u\n",
               ucp_sim_bootid(s));
      fflush(stdout);
    }
    sim_sleep_ms(50);
  }
}

static void sim_print_devices(const ucp_sim *s, bool ssdp) {
  printf("upnpcp sim: serving %s\n", ucp_sim_description_url(s));
  if (ssdp) printf("upnpcp sim: SSDP port %u\n", ucp_sim_ssdp_port(s));
  if (ssdp || s->ndevs > 1) {
    for (int i = 0; i < s->ndevs; i++)
      printf("upnpcp sim: device %d %s at %s\n", i, s->devs[i].udn,
             s->devs[i].desc_url);
  }
  fflush(stdout);
}

int ucp_sim_main(int argc, char **argv) {
  sim_cli c;
  if (sim_parse_cli(argc, argv, &c) != 0) return 2;
  if (c.help) {
    sim_usage(stdout);
    return 0;
  }
  struct sigaction sa, old_int, old_term, old_hup;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = sim_on_signal;
  sigemptyset(&sa.sa_mask);
  sim_sig_caught = 0;
  sim_hup_caught = 0;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGHUP, &sa, &old_hup);
  ucp_sim *s = NULL;
  int rc = 1;
  if (ucp_sim_start(&c.opts, &s) == 0) {
    sim_print_devices(s, c.opts.ssdp != 0);
    sim_run_until_done(s, c.duration);
    ucp_sim_stop(s);
    rc = 0;
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGHUP, &old_hup, NULL);
  return rc;
}
