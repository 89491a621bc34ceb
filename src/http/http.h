/* http.h - the HTTP client engine: libcurl's multi-socket API driven by the
 * control point's libuv loop. Loop thread only. Requests beyond the
 * UCP_LIMIT_HTTP_ACTIVE limit wait in FIFO order. The sink's callbacks run
 * inside curl callbacks except on_done, which runs after the easy handle was
 * removed from the multi handle. ucp__http_abort() must not be called from
 * inside a sink callback other than on_done (return an error code instead). */
#ifndef UCP_HTTP_HTTP_H
#define UCP_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "upnpcp.h"

typedef struct ucp__http_req ucp__http_req;

/* Every string and array of the spec is borrowed until on_done returns or
 * the request is aborted: the caller (an op) owns them. */
typedef struct ucp__http_spec {
  const char *method;           /* "GET", "POST", "SUBSCRIBE", ... */
  const char *url;              /* absolute http:// URL */
  const char *const *headers;   /* NULL-terminated "Name: value" lines */
  const char *body;             /* request body, borrowed until on_done */
  size_t body_len;
  uint64_t connect_timeout_ms;  /* 0 = 5000 */
  uint64_t low_speed_time_s;    /* abort below 1 byte/s for this long; 0 = 30 */
  uint64_t timeout_ms;          /* whole transfer once started; 0 = none */
  uint64_t max_body;            /* cap on the response body */
  uint64_t max_headers;         /* cap on all response headers together */
  const char *pin_ip;           /* connect only to this IP literal, or NULL */
} ucp__http_spec;

typedef struct ucp__http_outcome {
  int status;          /* UCP_OK or a negative code */
  int http_status;     /* 0 when no response was received */
  const char *detail;  /* what went wrong, and where; "" on success */
} ucp__http_outcome;

typedef struct ucp__http_sink {
  /* Headers complete. content_length is UINT64_MAX when unknown. Return
   * UCP_OK to go on, or a negative code to abort (set the detail with
   * ucp__http_set_error first). Optional. */
  int (*on_headers)(void *ctx, int http_status, uint64_t content_length);
  /* A piece of the body. Return UCP_OK or a negative code to abort. */
  int (*on_body)(void *ctx, const char *p, size_t n);
  /* Phase change or bytes received. Optional. */
  void (*on_progress)(void *ctx, int phase, uint64_t now, uint64_t total);
  /* Exactly once, unless aborted; the request is freed after it returns. */
  void (*on_done)(void *ctx, const ucp__http_outcome *o);
} ucp__http_sink;

/* Start a request. Returns UCP_OK and *out, or a negative code (and sets no
 * request; on_done will not run). */
int ucp__http_start(ucp_cp *cp, const ucp__http_spec *spec,
                    const ucp__http_sink *sink, void *ctx,
                    ucp__http_req **out);
/* Hand a running request to another owner: its callbacks go to `sink`
 * and `ctx` from now on, and it stops borrowing the spec's URL, header
 * lines and pin (they are copied, so the old owner may go). The method
 * (a literal) and the body stay borrowed: hand over only requests without
 * a body. UCP_OK, or UCP_E_NOMEM (nothing changed: abort it). Not from
 * inside one of its own callbacks. */
int ucp__http_retarget(ucp__http_req *req, const ucp__http_sink *sink,
                       void *ctx);
/* Abort and free without calling on_done. */
void ucp__http_abort(ucp__http_req *req);
/* Record why a sink callback is about to return an error. */
void ucp__http_set_error(ucp__http_req *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Response header lookup for on_headers/on_done (case-insensitive name);
 * NULL when absent. The pointer is valid until the next curl call. */
const char *ucp__http_header(ucp__http_req *req, const char *name);
/* The request's URL (for messages). */
const char *ucp__http_url(const ucp__http_req *req);

#endif
