/* scpd_cache.c - SCPDs by device and service, and the downloads that fill
 * them. An entry owns its download; requests (waiters) come and go. So a
 * cancelled ucp_scpd_download stops its notifications while the download
 * goes on and fills the cache (CONTRACT §3). Loop thread only. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/mem.h"
#include "../core/op.h"
#include "../http/http.h"
#include "control.h"

enum { E_LOADING = 1, E_READY };
/* A later waiter needs at least this much time left for a new download. */
enum { RESTART_MIN_MS = 50 };

typedef struct entry entry;
struct entry {
  entry *prev, *next; /* most recently used first */
  struct cache *c;
  int state;
  int stale;          /* forgotten while loading: fill nothing */
  char *udn, *sid, *url;
  int64_t config_id;
  char pin[48];
  ucp__scpd *scpd;    /* E_READY */
  ucp__http_req *req; /* E_LOADING */
  ucp__scpd_parser *parser;
  ucp__scpd_waiter *waiters;
  uint64_t until;  /* E_LOADING: the latest deadline of a waiter (ucp__now_ms) */
  uint64_t dl_end; /* when the running download's own time runs out */
};

typedef struct cache {
  ucp_cp *cp;
  entry *head, *tail;
  size_t count;
} cache;

/* ------------------------------------------------------------ entries */

static void unlink_entry(entry *e) {
  cache *c = e->c;
  if (e->prev) e->prev->next = e->next;
  else c->head = e->next;
  if (e->next) e->next->prev = e->prev;
  else c->tail = e->prev;
  e->prev = e->next = NULL;
  c->count--;
}

static void push_front(cache *c, entry *e) {
  e->c = c;
  e->prev = NULL;
  e->next = c->head;
  if (c->head) c->head->prev = e;
  else c->tail = e;
  c->head = e;
  c->count++;
}

static void free_entry(entry *e) {
  ucp__http_abort(e->req);
  ucp__scpd_parser_free(e->parser);
  ucp__scpd_unref(e->scpd);
  ucp__free(e->udn);
  ucp__free(e->sid);
  ucp__free(e->url);
  ucp__free(e);
}

static void drop_entry(entry *e) {
  unlink_entry(e);
  free_entry(e);
}

/* Keep at most UCP_LIMIT_SCPD_CACHE entries: drop the least recently used
 * ready ones (a loading entry is kept for its waiters). */
static void trim(cache *c) {
  uint64_t limit = ucp__cp_limit(c->cp, UCP_LIMIT_SCPD_CACHE);
  for (entry *e = c->tail; e && c->count > limit;) {
    entry *prev = e->prev;
    if (e->state == E_READY) drop_entry(e);
    e = prev;
  }
}

static int same_key(const entry *e, const ucp__scpd_key *k) {
  return strcmp(e->url, k->url) == 0 && strcasecmp(e->udn, k->udn) == 0 &&
         strcmp(e->sid, k->service_id) == 0;
}

/* The live entry for `k`; a ready entry loaded under another configId is
 * dropped on the way (the device changed its descriptions). */
static entry *find(cache *c, const ucp__scpd_key *k) {
  for (entry *e = c->head; e;) {
    entry *next = e->next;
    if (!e->stale && same_key(e, k)) {
      if (e->config_id == k->config_id) return e;
      if (e->state == E_READY) drop_entry(e);
    }
    e = next;
  }
  return NULL;
}

/* ------------------------------------------------------------ download */

static void answer_all(entry *e, int status, int http, const char *detail) {
  ucp__scpd_waiter *w = e->waiters;
  e->waiters = NULL;
  while (w) {
    ucp__scpd_waiter *next = w->next;
    w->next = NULL;
    w->entry = NULL;
    w->done(w, status, http, e->scpd, 0, detail);
    w = next;
  }
}

static int on_headers(void *ctx, int http_status, uint64_t content_length) {
  entry *e = ctx;
  (void)content_length;
  if (http_status < 200 || http_status >= 300) {
    ucp__http_set_error(e->req, "HTTP status %d", http_status);
    return UCP_E_HTTP;
  }
  ucp__scpd_limits lim;
  ucp__scpd_limits_default(&lim);
  lim.max_bytes = ucp__cp_limit(e->c->cp, UCP_LIMIT_DESC_BYTES);
  lim.max_depth = ucp__cp_limit(e->c->cp, UCP_LIMIT_XML_DEPTH);
  lim.max_text = ucp__cp_limit(e->c->cp, UCP_LIMIT_XML_TEXT);
  e->parser = ucp__scpd_parser_new(&lim);
  if (e->parser) return UCP_OK;
  ucp__http_set_error(e->req, "out of memory for the parser");
  return UCP_E_NOMEM;
}

static int on_body(void *ctx, const char *p, size_t n) {
  entry *e = ctx;
  int rc = ucp__scpd_parser_feed(e->parser, p, n);
  if (rc != UCP_OK)
    ucp__http_set_error(e->req, "%s", ucp__scpd_parser_error(e->parser));
  return rc;
}

static void on_progress(void *ctx, int phase, uint64_t now, uint64_t total) {
  entry *e = ctx;
  for (ucp__scpd_waiter *w = e->waiters; w; w = w->next)
    if (w->progress) w->progress(w, phase, now, total);
}

/* The body is in: parse it to the end. On failure `detail` is set. */
static int finish_parse(entry *e, char *detail, size_t cap) {
  if (!e->parser) {
    snprintf(detail, cap, "SCPD %s: empty response", e->url);
    return UCP_E_XML;
  }
  int rc = ucp__scpd_parser_finish(e->parser, &e->scpd);
  if (rc != UCP_OK)
    snprintf(detail, cap, "SCPD %s: %s", e->url,
             ucp__scpd_parser_error(e->parser));
  ucp__scpd_parser_free(e->parser);
  e->parser = NULL;
  return rc;
}

static int start_download(cache *c, entry *e, uint64_t deadline_ms);

/* The download ran out of the whole time its first waiter gave it (not a
 * connect or silence timeout, which would recur), but a waiter that joined
 * later still has time of its own (CONTRACT §5: each call its deadline):
 * download again, within that. 1 when restarted. */
static int restart_for_later_waiter(entry *e, int status) {
  uint64_t now = ucp__now_ms();
  if (status != UCP_E_TIMEOUT || !e->waiters || e->stale ||
      now + RESTART_MIN_MS < e->dl_end ||       /* an earlier timeout */
      e->until <= e->dl_end + RESTART_MIN_MS || /* nobody wants longer */
      e->until <= now + RESTART_MIN_MS)
    return 0;
  ucp__scpd_parser_free(e->parser);
  e->parser = NULL;
  return start_download(e->c, e, e->until - now) == UCP_OK;
}

static void on_done(void *ctx, const ucp__http_outcome *o) {
  entry *e = ctx;
  cache *c = e->c;
  e->req = NULL;
  if (restart_for_later_waiter(e, o->status)) return;
  char detail[768] = "";
  int rc = o->status;
  if (rc != UCP_OK) snprintf(detail, sizeof detail, "SCPD %s", o->detail);
  else rc = finish_parse(e, detail, sizeof detail);
  answer_all(e, rc, o->http_status, detail);
  if (rc != UCP_OK || e->stale) {
    drop_entry(e);
    return;
  }
  e->state = E_READY;
  trim(c);
}

static const ucp__http_sink sink = {on_headers, on_body, on_progress, on_done};

static entry *entry_new(cache *c, const ucp__scpd_key *k) {
  entry *e = ucp__calloc(1, sizeof *e);
  if (!e) return NULL;
  e->udn = ucp__strdup(k->udn);
  e->sid = ucp__strdup(k->service_id);
  e->url = ucp__strdup(k->url);
  e->config_id = k->config_id;
  e->state = E_LOADING;
  e->c = c;
  if (k->pin_ip && strlen(k->pin_ip) < sizeof e->pin) strcpy(e->pin, k->pin_ip);
  if (!e->udn || !e->sid || !e->url) {
    free_entry(e);
    return NULL;
  }
  return e;
}

static int start_download(cache *c, entry *e, uint64_t deadline_ms) {
  e->dl_end = ucp__after_ms(deadline_ms);
  ucp__http_spec spec = {
      .method = "GET",
      .url = e->url,
      .max_body = ucp__cp_limit(c->cp, UCP_LIMIT_DESC_BYTES),
      .max_headers = ucp__cp_limit(c->cp, UCP_LIMIT_HEADER_BYTES),
      .pin_ip = e->pin[0] ? e->pin : NULL,
      .timeout_ms = deadline_ms,
  };
  return ucp__http_start(c->cp, &spec, &sink, e, &e->req);
}

/* ------------------------------------------------------------ the cache */

static void cache_close(void *ext) {
  cache *c = ext;
  while (c->head) drop_entry(c->head);
  ucp__free(c);
}

static cache *cache_get(ucp_cp *cp) {
  cache *c = ucp__cp_ext(cp, UCP__EXT_SCPD_CACHE);
  if (c) return c;
  c = ucp__calloc(1, sizeof *c);
  if (!c) return NULL;
  c->cp = cp;
  ucp__cp_set_ext(cp, UCP__EXT_SCPD_CACHE, c, cache_close);
  return c;
}

int ucp__scpd_cache_get(ucp_cp *cp, const ucp__scpd_key *key,
                        uint64_t deadline_ms, ucp__scpd_waiter *w) {
  cache *c = cache_get(cp);
  if (!c) return UCP_E_NOMEM;
  entry *e = find(c, key);
  if (e && e->state == E_READY) {
    unlink_entry(e);
    push_front(c, e);
    w->entry = NULL;
    w->done(w, UCP_OK, 0, e->scpd, 1, "");
    return UCP_OK;
  }
  int fresh = !e;
  if (fresh && !(e = entry_new(c, key))) return UCP_E_NOMEM;
  w->entry = e; /* first, so it sees the download's first progress */
  w->next = e->waiters;
  e->waiters = w;
  uint64_t until = ucp__after_ms(deadline_ms);
  if (until > e->until) e->until = until;
  if (!fresh) return UCP_OK;
  int rc = start_download(c, e, deadline_ms);
  if (rc != UCP_OK) {
    w->entry = NULL;
    w->next = NULL;
    free_entry(e);
    return rc;
  }
  push_front(c, e);
  trim(c);
  return UCP_OK;
}

void ucp__scpd_cache_detach(ucp_cp *cp, ucp__scpd_waiter *w) {
  (void)cp;
  if (!w || !w->entry) return;
  entry *e = w->entry;
  for (ucp__scpd_waiter **pp = &e->waiters; *pp; pp = &(*pp)->next)
    if (*pp == w) {
      *pp = w->next;
      break;
    }
  w->entry = NULL;
  w->next = NULL;
}

void ucp__scpd_cache_forget(ucp_cp *cp, const char *udn) {
  cache *c = ucp__cp_ext(cp, UCP__EXT_SCPD_CACHE);
  for (entry *e = c ? c->head : NULL; e;) {
    entry *next = e->next;
    if (strcasecmp(e->udn, udn) == 0) { /* UUIDs: any case (RFC 4122) */
      if (e->state == E_READY) drop_entry(e);
      else e->stale = 1;
    }
    e = next;
  }
}
