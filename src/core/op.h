/* op.h - the base of every asynchronous operation, and what the protocol
 * layers use of the control point. The life of an operation:
 *
 *   start call (any thread)  -> QUEUED: in the registry and the submit list
 *   loop: vt->start          -> ACTIVE: I/O under way, deadline armed
 *   ucp__op_finish (loop)    -> COMPLETING: completion queued; cancel = E_FAIL
 *   loop: done callback      -> removed from the registry, released, destroyed
 *
 * ucp_cancel in QUEUED or ACTIVE -> CANCELLED: removed from the registry at
 * once (so no callback can start), released and destroyed by the loop. */
#ifndef UCP_CORE_OP_H
#define UCP_CORE_OP_H

#include <stdint.h>

#include "heap.h"
#include "upnpcp.h"

typedef struct ucp__op ucp__op;

/* An event an operation reports before its completion (a device found, a
 * subscription state...). Queued by the kind on the loop thread, delivered
 * by the core like progress: in order, one callback at a time, never after
 * a successful cancel or the completion. `deliver` calls the user's
 * callback; `free` releases the event (delivered or dropped). */
typedef struct ucp__event ucp__event;
struct ucp__event {
  ucp__event *next;
  void (*deliver)(ucp__op *op, ucp__event *ev);
  void (*free)(ucp__event *ev);
};

typedef struct ucp__op_vtable {
  ucp_op_kind kind;
  const char *name; /* for messages: "description load" */
  /* Loop thread. Begin the I/O. Return UCP_OK, or fail the operation with
   * ucp__op_fail() and return its code. */
  int (*start)(ucp__op *op);
  /* Loop thread, never inside a curl callback. Stop all I/O and free the
   * kind's resources but not the op itself. Called exactly once. */
  void (*release)(ucp__op *op);
  /* Free the op's memory (the kind's struct that embeds it). */
  void (*destroy)(ucp__op *op);
} ucp__op_vtable;

enum ucp__op_state {
  UCP__OP_QUEUED = 1,
  UCP__OP_ACTIVE,
  UCP__OP_COMPLETING,
  UCP__OP_CANCELLED,
  UCP__OP_DONE
};

struct ucp_result {
  ucp_op_kind kind;
  int status;
  int http_status;
  int upnp_error;
  char *detail;     /* NULL = "" */
  char *upnp_desc;  /* NULL = none */
  const void *payload; /* kind-specific, owned by the op */
};

struct ucp__op {
  uint64_t id;
  ucp_cp *cp;
  const ucp__op_vtable *vt;
  int state;        /* under the cp lock */
  uint8_t released;
  uint8_t progress_dirty;
  uint8_t events_listed;
  uint64_t deadline_ms; /* relative, from the start call */
  ucp__heap_node timer; /* absolute deadline (uv_now) in timer.key */
  ucp_done_cb done;
  ucp_progress_cb progress;
  void *user;
  uint64_t prog_num, prog_den;
  int prog_status;
  uint64_t sent_num; /* last delivered numerator, so it never decreases */
  int sent_status;
  ucp__op *q_next; /* submit list, then completion queue */
  ucp__op *c_next; /* cancel list */
  ucp__op *p_next; /* progress list (loop only) */
  ucp__op *e_next; /* list of ops with events (loop only) */
  ucp__event *ev_head, *ev_tail;
  ucp_result result;
};

/* The per-call options, as copied into an op. */
struct ucp_call_opts {
  uint64_t deadline_ms;
  ucp_progress_cb progress;
};

/* Start call helper: fill `op` (zeroed, allocated by the kind), give it an
 * id, register and queue it. On failure returns the code and the caller
 * frees `op`; no callback will run. Any thread. */
int ucp__op_submit(ucp_cp *cp, ucp__op *op, const ucp__op_vtable *vt,
                   const ucp_call_opts *opts, ucp_done_cb done, void *user,
                   uint64_t *id);

/* Loop thread. Record progress; delivered on a later loop turn, outside
 * any curl callback. A decreasing numerator is clamped. */
void ucp__op_progress(ucp__op *op, uint64_t num, uint64_t den, int status);

/* Loop thread. Queue an event for delivery on a later loop turn; the core
 * owns it from here (freed after delivery, or dropped with the op). */
void ucp__op_post(ucp__op *op, ucp__event *ev);

/* Loop thread. Set the result and queue the completion, unless the op was
 * cancelled or already finished (then nothing happens). `detail` may be
 * NULL. Returns `status`. */
int ucp__op_finish(ucp__op *op, int status, int http_status,
                   const char *detail);
int ucp__op_fail(ucp__op *op, int status, int http_status, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));


/* Loop thread. Disarm the op's deadline: it runs until it finishes or is
 * cancelled (a subscription once accepted). */
void ucp__op_clear_deadline(ucp__op *op);
/* Loop thread. The op of `id` if it is registered and ACTIVE, else NULL.
 * The pointer is valid until control returns to the loop. */
ucp__op *ucp__op_find(ucp_cp *cp, uint64_t id);

/* Any thread. The kind of the pending op `id` (queued or active), else 0. */
ucp_op_kind ucp__op_kind_of(ucp_cp *cp, uint64_t id);

/* ---- what protocol layers use of the control point (loop thread) ---- */
struct uv_loop_s;
struct uv_handle_s;
struct uv_loop_s *ucp__cp_loop(ucp_cp *cp);
uint64_t ucp__cp_limit(ucp_cp *cp, ucp_limit which);
uint64_t ucp__cp_default_deadline(ucp_cp *cp, ucp_op_kind kind);
/* Layer extensions (the HTTP engine...): created lazily on the loop, torn
 * down with the control point. `close` must uv_close its handles; each
 * handle it opens is counted with ucp__cp_handle_opened and its close
 * callback must call ucp__cp_handle_closed. */
/* Closed in this order at teardown: the users of the HTTP engine (their
 * requests are aborted through it) before the engine itself. */
enum ucp__ext_slot {
  UCP__EXT_SUBS,       /* the subscriptions' timer */
  UCP__EXT_GENA,       /* callback server; sends the last UNSUBSCRIBEs */
  UCP__EXT_SCPD_CACHE, /* SCPD downloads */
  UCP__EXT_SOAP_POOL,  /* SOAP response parsers kept for reuse */
  UCP__EXT_HTTP,       /* the curl multi handle */
  UCP__EXT_H1,         /* the plain-URL HTTP engine (src/http/h1.c) */
  UCP__EXT__COUNT
};
void *ucp__cp_ext(ucp_cp *cp, enum ucp__ext_slot slot);
void ucp__cp_set_ext(ucp_cp *cp, enum ucp__ext_slot slot, void *ext,
                     void (*close)(void *ext));
/* Adjust a public counter (UCP_COUNTER_HTTP_ACTIVE...). Any thread. */
void ucp__cp_counter_add(ucp_cp *cp, ucp_counter which, int64_t delta);
void ucp__cp_handle_opened(ucp_cp *cp);
void ucp__cp_handle_closed(ucp_cp *cp);
/* Work handed to the loop thread from any thread (ucp_cp_forget_device...).
 * `run` is called once on the loop thread with live 1, or with live 0 when
 * the control point is torn down first; either way it owns and frees the
 * task. */
typedef struct ucp__task ucp__task;
struct ucp__task {
  ucp__task *next;
  void (*run)(ucp_cp *cp, ucp__task *t, int live);
};
/* Any thread. UCP_OK, or UCP_E_SHUTDOWN (the caller keeps the task). */
int ucp__cp_post_task(ucp_cp *cp, ucp__task *t);

/* Thread-local detail of the last failed start call (ucp_last_error_detail):
 * set it on failure, clear it on success. Any thread. */
void ucp__detail_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ucp__detail_clear(void);

/* Monotonic milliseconds, any thread. */
uint64_t ucp__now_ms(void);
/* ucp__now_ms() + ms, saturating: a deadline near UINT64_MAX means none. */
uint64_t ucp__after_ms(uint64_t ms);

#endif
