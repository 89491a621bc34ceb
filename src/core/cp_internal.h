/* cp_internal.h - the control point struct, shared by core/ files only. */
#ifndef UCP_CORE_CP_INTERNAL_H
#define UCP_CORE_CP_INTERNAL_H

#include <uv.h>

#include "heap.h"
#include "op.h"
#include "registry.h"

struct ucp_cp_opts {
  void *loop;
  uint64_t limits[UCP_LIMIT__COUNT];
  uint64_t deadlines[UCP_OP__COUNT];
};

/* A thread waiting in ucp_cp_free() for a caller's loop to tear down. */
typedef struct ucp__free_waiter {
  uv_mutex_t lock;
  uv_cond_t cond;
  int done;
} ucp__free_waiter;

struct ucp_cp {
  /* ---- shared: under `lock` ---- */
  uv_mutex_t lock;
  uv_cond_t cond;        /* signalled when a dispatch ends */
  ucp__registry reg;     /* id -> op, every op without an outcome yet */
  uint64_t next_id;
  ucp__op *submit_head, *submit_tail;
  ucp__op *cancel_head;
  ucp__task *task_head, *task_tail;
  int closing;           /* no new operations */
  int close_requested;   /* teardown wanted, loop will do it */
  uint64_t dispatching;  /* id whose callback runs now, 0 if none */
  unsigned waiters;
  uint64_t counters[UCP_COUNTER__COUNT];
  ucp__free_waiter *free_waiter;
  uv_thread_t loop_tid;
  int loop_tid_known;

  /* ---- loop thread only ---- */
  uv_loop_t *loop;
  uv_loop_t own_loop;
  int own_thread;
  uv_thread_t thread;
  uv_async_t async;     /* wakes the loop from other threads */
  uv_idle_t idle;       /* ... from the loop thread itself */
  uv_timer_t deadline_timer;
  ucp__heap deadlines;
  ucp__op *done_head, *done_tail;
  ucp__op *prog_head;
  ucp__op *ev_ops_head, *ev_ops_tail; /* ops with queued events, FIFO */
  int torn_down;
  int free_when_closed; /* free the struct when the last handle closes */
  unsigned open_handles;
  void *ext[UCP__EXT__COUNT];
  void (*ext_close[UCP__EXT__COUNT])(void *);

  /* ---- immutable after creation ---- */
  uint64_t limits[UCP_LIMIT__COUNT];
  uint64_t deadline_defaults[UCP_OP__COUNT];
};

void ucp__opts_defaults(ucp_cp_opts *o);

#endif
