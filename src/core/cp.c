/* cp.c - the control point: request registry, loop thread, dispatch,
 * cancel and teardown. The rules implemented here are CONTRACT.md §1-§3
 * and §6; docs/architecture.md tells the life of one request. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cp_internal.h"
#include "mem.h"

/* The control point whose callback this thread is running, if any. */
static _Thread_local ucp_cp *tls_dispatch_cp;

static void on_async(uv_async_t *h);
static void on_idle(uv_idle_t *h);
static void on_deadline(uv_timer_t *t);
static void teardown(ucp_cp *cp);

uint64_t ucp__now_ms(void) { return uv_hrtime() / 1000000u; }

uint64_t ucp__after_ms(uint64_t ms) {
  uint64_t now = ucp__now_ms();
  return ms > UINT64_MAX - now ? UINT64_MAX : now + ms;
}

/* ---------------------------------------------------------------- setup */

static void on_handle_closed(uv_handle_t *h) {
  ucp__cp_handle_closed(h->data);
}

static void free_memory(ucp_cp *cp) {
  ucp__registry_free(&cp->reg);
  ucp__heap_free(&cp->deadlines);
  uv_cond_destroy(&cp->cond);
  uv_mutex_destroy(&cp->lock);
  ucp__free(cp);
}

static void loop_thread_main(void *arg) {
  ucp_cp *cp = arg;
  uv_mutex_lock(&cp->lock);
  cp->loop_tid = uv_thread_self();
  cp->loop_tid_known = 1;
  uv_mutex_unlock(&cp->lock);
  uv_run(cp->loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(cp->loop);
  if (rc != 0) fprintf(stderr, "upnpcp: bug: loop not closed (%d)\n", rc);
  uv_mutex_lock(&cp->lock);
  int self_free = cp->free_when_closed;
  uv_mutex_unlock(&cp->lock);
  if (self_free) {
    /* ucp_cp_free was called from inside a callback: nobody joins us. */
    pthread_detach(pthread_self());
    free_memory(cp);
  }
}

static int init_handles(ucp_cp *cp) {
  if (uv_async_init(cp->loop, &cp->async, on_async) != 0) return UCP_E_INTERNAL;
  cp->async.data = cp;
  cp->open_handles++;
  if (uv_timer_init(cp->loop, &cp->deadline_timer) != 0) {
    uv_close((uv_handle_t *)&cp->async, NULL);
    return UCP_E_INTERNAL;
  }
  cp->deadline_timer.data = cp;
  cp->open_handles++;
  if (uv_idle_init(cp->loop, &cp->idle) != 0) {
    uv_close((uv_handle_t *)&cp->async, NULL);
    uv_close((uv_handle_t *)&cp->deadline_timer, NULL);
    return UCP_E_INTERNAL;
  }
  cp->idle.data = cp;
  cp->open_handles++;
  /* The timer must not keep a caller's loop alive on its own. */
  uv_unref((uv_handle_t *)&cp->deadline_timer);
  return UCP_OK;
}

static void init_state(ucp_cp *cp, const ucp_cp_opts *o) {
  ucp__registry_init(&cp->reg);
  ucp__heap_init(&cp->deadlines);
  cp->next_id = 1;
  memcpy(cp->limits, o->limits, sizeof cp->limits);
  memcpy(cp->deadline_defaults, o->deadlines, sizeof cp->deadline_defaults);
}

/* The loop thread starts with SIGPIPE blocked (a thread inherits its
 * creator's mask): a write to a device that reset the connection then
 * fails with EPIPE instead of killing the application. The caller's own
 * mask is left as it was. */
static int start_loop_thread(ucp_cp *cp) {
  sigset_t pipe, old;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, &old);
  int rc = uv_thread_create(&cp->thread, loop_thread_main, cp);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}

/* libuv aborts (an assertion in uv__close) when it closes one of its own
 * descriptors that is 0, 1 or 2, which happens to the first ones it opens
 * when the process runs with standard input, output or error closed (cron,
 * some service managers, `cmd <&-`). Such a slot gets /dev/null first, in
 * order, so every later descriptor is above 2. A slot another thread fills
 * meanwhile is left to it. */
static void fill_closed_std_fds(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    int n = open("/dev/null", O_RDWR);
    if (n > 2) close(n);
  }
}

int ucp_cp_new(const ucp_cp_opts *opts, ucp_cp **out) {
  if (!out) return UCP_E_INVALIDARG;
  *out = NULL;
  fill_closed_std_fds();
  ucp_cp_opts defaults;
  if (!opts) {
    ucp__opts_defaults(&defaults);
    opts = &defaults;
  }
  ucp_cp *cp = ucp__calloc(1, sizeof *cp);
  if (!cp) return UCP_E_NOMEM;
  init_state(cp, opts);
  if (uv_mutex_init(&cp->lock) != 0) goto fail_mutex;
  if (uv_cond_init(&cp->cond) != 0) goto fail_cond;
  cp->own_thread = opts->loop == NULL;
  cp->loop = cp->own_thread ? &cp->own_loop : opts->loop;
  if (cp->own_thread && uv_loop_init(cp->loop) != 0) goto fail_loop;
  if (init_handles(cp) != UCP_OK) goto fail_handles;
  if (cp->own_thread && start_loop_thread(cp) != 0) goto fail_thread;
  *out = cp;
  return UCP_OK;

fail_thread:
  uv_close((uv_handle_t *)&cp->async, NULL);
  uv_close((uv_handle_t *)&cp->deadline_timer, NULL);
  uv_close((uv_handle_t *)&cp->idle, NULL);
  uv_run(cp->loop, UV_RUN_NOWAIT);
fail_handles:
  if (cp->own_thread) uv_loop_close(cp->loop);
fail_loop:
  uv_cond_destroy(&cp->cond);
fail_cond:
  uv_mutex_destroy(&cp->lock);
fail_mutex:
  ucp__free(cp);
  return UCP_E_NOMEM;
}

/* -------------------------------------------------------------- accessors */

uv_loop_t *ucp__cp_loop(ucp_cp *cp) { return cp->loop; }

uint64_t ucp__cp_limit(ucp_cp *cp, ucp_limit which) {
  return cp->limits[which];
}

uint64_t ucp__cp_default_deadline(ucp_cp *cp, ucp_op_kind kind) {
  return cp->deadline_defaults[kind];
}

void *ucp__cp_ext(ucp_cp *cp, enum ucp__ext_slot slot) { return cp->ext[slot]; }

void ucp__cp_set_ext(ucp_cp *cp, enum ucp__ext_slot slot, void *ext,
                     void (*close)(void *)) {
  cp->ext[slot] = ext;
  cp->ext_close[slot] = close;
}

void ucp__cp_handle_opened(ucp_cp *cp) { cp->open_handles++; }

void ucp__cp_handle_closed(ucp_cp *cp) {
  if (--cp->open_handles > 0) return;
  /* Caller's loop: the last close callback frees what is left. */
  if (!cp->own_thread && cp->free_when_closed) free_memory(cp);
}

void ucp__cp_counter_add(ucp_cp *cp, ucp_counter which, int64_t delta) {
  uv_mutex_lock(&cp->lock);
  cp->counters[which] += (uint64_t)delta;
  uv_mutex_unlock(&cp->lock);
}

uint64_t ucp_cp_counter(ucp_cp *cp, ucp_counter which) {
  if (!cp || (unsigned)which >= UCP_COUNTER__COUNT) return 0;
  uv_mutex_lock(&cp->lock);
  uint64_t v = which == UCP_COUNTER_PENDING ? (uint64_t)cp->reg.count
                                            : cp->counters[which];
  uv_mutex_unlock(&cp->lock);
  return v;
}

/* ------------------------------------------------------------ start calls */

/* Loop thread: dispatch on this loop iteration's idle phase, before the
 * loop polls again; no system call (uv_async_send costs an eventfd write
 * and read). Work from inside callbacks and curl's I/O comes this way. */
static void wake_loop(ucp_cp *cp) {
  if (!cp->torn_down) uv_idle_start(&cp->idle, on_idle);
}

/* Any thread, under the lock: wake the loop to take the lists. */
static void kick_locked(ucp_cp *cp) {
  uv_thread_t self;
  if (cp->loop_tid_known && (self = uv_thread_self(),
                             uv_thread_equal(&cp->loop_tid, &self)))
    wake_loop(cp);
  else
    uv_async_send(&cp->async);
}

int ucp__op_submit(ucp_cp *cp, ucp__op *op, const ucp__op_vtable *vt,
                   const ucp_call_opts *opts, ucp_done_cb done, void *user,
                   uint64_t *id) {
  op->cp = cp;
  op->vt = vt;
  op->done = done;
  op->user = user;
  op->progress = opts ? opts->progress : NULL;
  op->deadline_ms = opts && opts->deadline_ms ? opts->deadline_ms
                                              : cp->deadline_defaults[vt->kind];
  op->timer.key = ucp__after_ms(op->deadline_ms);
  op->timer.idx = SIZE_MAX;
  op->result.kind = vt->kind;
  op->state = UCP__OP_QUEUED;
  int rc = UCP_OK;
  uv_mutex_lock(&cp->lock);
  if (cp->closing) {
    rc = UCP_E_SHUTDOWN;
  } else if (cp->reg.count >= cp->limits[UCP_LIMIT_PENDING_OPS]) {
    rc = UCP_E_LIMIT;
  } else {
    op->id = cp->next_id;
    if (ucp__registry_put(&cp->reg, op->id, op) != 0) {
      rc = UCP_E_NOMEM;
    } else {
      cp->next_id++;
      cp->counters[UCP_COUNTER_STARTED]++;
      if (cp->submit_tail) cp->submit_tail->q_next = op;
      else cp->submit_head = op;
      cp->submit_tail = op;
      kick_locked(cp);
      *id = op->id;
    }
  }
  uv_mutex_unlock(&cp->lock);
  if (rc == UCP_OK) ucp__detail_clear();
  else if (rc == UCP_E_LIMIT)
    ucp__detail_set("%s: UCP_LIMIT_PENDING_OPS (%llu) reached", vt->name,
                    (unsigned long long)cp->limits[UCP_LIMIT_PENDING_OPS]);
  else ucp__detail_set("%s: %s", vt->name, ucp_strerror(rc));
  return rc;
}

/* ---------------------------------------------------------------- cancel */

int ucp_cancel(ucp_cp *cp, uint64_t id) {
  if (!cp || id == 0) return UCP_E_INVALIDARG;
  int rc;
  uv_mutex_lock(&cp->lock);
  ucp__op *op = ucp__registry_get(&cp->reg, id);
  if (!op) {
    rc = UCP_E_INVALIDARG;
  } else if (op->state == UCP__OP_COMPLETING) {
    rc = UCP_E_FAIL;
  } else {
    ucp__registry_del(&cp->reg, id);
    op->state = UCP__OP_CANCELLED;
    op->c_next = cp->cancel_head;
    cp->cancel_head = op;
    cp->counters[UCP_COUNTER_CANCELLED]++;
    kick_locked(cp);
    /* A callback of this op running on the loop thread right now started
     * before we returned; wait for it so the caller may free its data. */
    if (tls_dispatch_cp != cp) {
      cp->waiters++;
      while (cp->dispatching == id) uv_cond_wait(&cp->cond, &cp->lock);
      cp->waiters--;
    }
    rc = UCP_OK;
  }
  uv_mutex_unlock(&cp->lock);
  return rc;
}

/* ------------------------------------------------------- loop-side events */

static void release_op(ucp__op *op) {
  if (op->released) return;
  op->released = 1;
  if (op->vt->release) op->vt->release(op);
}

static void unlink_progress(ucp_cp *cp, ucp__op *op) {
  if (!op->progress_dirty) return;
  for (ucp__op **pp = &cp->prog_head; *pp; pp = &(*pp)->p_next) {
    if (*pp == op) {
      *pp = op->p_next;
      break;
    }
  }
  op->progress_dirty = 0;
}

static void drop_events(ucp_cp *cp, ucp__op *op) {
  if (op->events_listed) {
    ucp__op *prev = NULL;
    for (ucp__op *o = cp->ev_ops_head; o; prev = o, o = o->e_next) {
      if (o != op) continue;
      if (prev) prev->e_next = o->e_next;
      else cp->ev_ops_head = o->e_next;
      if (cp->ev_ops_tail == o) cp->ev_ops_tail = prev;
      break;
    }
    op->events_listed = 0;
  }
  while (op->ev_head) {
    ucp__event *ev = op->ev_head;
    op->ev_head = ev->next;
    ev->free(ev);
  }
  op->ev_tail = NULL;
}

static void destroy_op(ucp_cp *cp, ucp__op *op) {
  ucp__heap_remove(&cp->deadlines, &op->timer);
  /* Release first: stopping a transfer can still report progress (curl
   * calls its progress function while a handle is removed). */
  release_op(op);
  unlink_progress(cp, op);
  drop_events(cp, op);
  ucp__free(op->result.detail);
  ucp__free(op->result.upnp_desc);
  op->vt->destroy(op);
}

void ucp__op_progress(ucp__op *op, uint64_t num, uint64_t den, int status) {
  if (op->released) return; /* its I/O is being stopped */
  if (num < op->prog_num) num = op->prog_num;
  op->prog_num = num;
  op->prog_den = den;
  op->prog_status = status;
  if (!op->progress || op->progress_dirty) return;
  op->progress_dirty = 1;
  op->p_next = op->cp->prog_head;
  op->cp->prog_head = op;
  wake_loop(op->cp);
}

void ucp__op_post(ucp__op *op, ucp__event *ev) {
  ucp_cp *cp = op->cp;
  if (op->released) { /* nobody will see it */
    ev->free(ev);
    return;
  }
  ev->next = NULL;
  if (op->ev_tail) op->ev_tail->next = ev;
  else op->ev_head = ev;
  op->ev_tail = ev;
  if (!op->events_listed) {
    op->events_listed = 1;
    op->e_next = NULL;
    if (cp->ev_ops_tail) cp->ev_ops_tail->e_next = op;
    else cp->ev_ops_head = op;
    cp->ev_ops_tail = op;
  }
  wake_loop(cp);
}

int ucp__op_finish(ucp__op *op, int status, int http_status,
                   const char *detail) {
  ucp_cp *cp = op->cp;
  uv_mutex_lock(&cp->lock);
  int ok = op->state == UCP__OP_ACTIVE;
  if (ok) op->state = UCP__OP_COMPLETING;
  uv_mutex_unlock(&cp->lock);
  if (!ok) return status;
  ucp__heap_remove(&cp->deadlines, &op->timer);
  op->result.status = status;
  op->result.http_status = http_status;
  if (detail && *detail && !op->result.detail)
    op->result.detail = ucp__strdup(detail);
  op->q_next = NULL;
  if (cp->done_tail) cp->done_tail->q_next = op;
  else cp->done_head = op;
  cp->done_tail = op;
  wake_loop(cp);
  return status;
}

void ucp__op_clear_deadline(ucp__op *op) {
  ucp__heap_remove(&op->cp->deadlines, &op->timer);
}

ucp_op_kind ucp__op_kind_of(ucp_cp *cp, uint64_t id) {
  uv_mutex_lock(&cp->lock);
  ucp__op *op = ucp__registry_get(&cp->reg, id);
  ucp_op_kind k = op && (op->state == UCP__OP_QUEUED ||
                         op->state == UCP__OP_ACTIVE) ? op->vt->kind
                                                      : (ucp_op_kind)0;
  uv_mutex_unlock(&cp->lock);
  return k;
}

ucp__op *ucp__op_find(ucp_cp *cp, uint64_t id) {
  uv_mutex_lock(&cp->lock);
  ucp__op *op = ucp__registry_get(&cp->reg, id);
  if (op && op->state != UCP__OP_ACTIVE) op = NULL;
  uv_mutex_unlock(&cp->lock);
  return op;
}

int ucp__op_fail(ucp__op *op, int status, int http_status, const char *fmt,
                 ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return ucp__op_finish(op, status, http_status, buf);
}

static const char *phase_name(int status) {
  switch (status) {
    case UCP_PHASE_QUEUED: return "queued";
    case UCP_PHASE_CONNECTING: return "connecting";
    case UCP_PHASE_SENDING: return "sending";
    case UCP_PHASE_WAITING: return "waiting for the response";
    case UCP_PHASE_RECEIVING: return "receiving";
    default: return "starting";
  }
}

static void rearm_deadline(ucp_cp *cp) {
  ucp__heap_node *min = ucp__heap_min(&cp->deadlines);
  if (!min) {
    uv_timer_stop(&cp->deadline_timer);
    return;
  }
  uint64_t now = ucp__now_ms();
  uv_timer_start(&cp->deadline_timer, on_deadline,
                 min->key > now ? min->key - now : 0, 0);
}

static void on_deadline(uv_timer_t *t) {
  ucp_cp *cp = t->data;
  uint64_t now = ucp__now_ms();
  ucp__heap_node *min;
  while ((min = ucp__heap_min(&cp->deadlines)) && min->key <= now) {
    ucp__op *op = (ucp__op *)((char *)min - offsetof(ucp__op, timer));
    ucp__heap_remove(&cp->deadlines, min);
    release_op(op); /* stop the I/O at the deadline, not later */
    ucp__op_fail(op, UCP_E_TIMEOUT, 0,
                 "%s: deadline of %llu ms expired while %s (%llu bytes)",
                 op->vt->name, (unsigned long long)op->deadline_ms,
                 phase_name(op->prog_status),
                 (unsigned long long)op->prog_num);
  }
  rearm_deadline(cp);
}

/* -------------------------------------------------------------- dispatch */

static int close_requested(ucp_cp *cp) {
  uv_mutex_lock(&cp->lock);
  int v = cp->close_requested;
  uv_mutex_unlock(&cp->lock);
  return v;
}

static void dispatch_end_locked(ucp_cp *cp) {
  cp->dispatching = 0;
  if (cp->waiters) uv_cond_broadcast(&cp->cond);
}

static int progress_due(ucp__op *op) {
  return op->prog_num != op->sent_num || op->prog_status != op->sent_status;
}

static void dispatch_progress(ucp_cp *cp) {
  ucp__op *list = cp->prog_head;
  cp->prog_head = NULL;
  while (list) {
    ucp__op *op = list;
    list = op->p_next;
    op->progress_dirty = 0;
    if (!progress_due(op)) continue;
    uv_mutex_lock(&cp->lock);
    /* A COMPLETING op still gets the progress it made before it finished:
     * progress is dispatched before completions, never after. */
    int live = (op->state == UCP__OP_ACTIVE ||
                op->state == UCP__OP_COMPLETING) && !cp->close_requested;
    if (live) cp->dispatching = op->id;
    uv_mutex_unlock(&cp->lock);
    if (!live) continue;
    op->sent_num = op->prog_num;
    op->sent_status = op->prog_status;
    ucp_cp *outer = tls_dispatch_cp;
    tls_dispatch_cp = cp;
    op->progress(op->id, op->prog_num, op->prog_den, op->prog_status,
                 op->user);
    tls_dispatch_cp = outer;
    uv_mutex_lock(&cp->lock);
    dispatch_end_locked(cp);
    uv_mutex_unlock(&cp->lock);
  }
}

/* Deliver one event of `op`, if it is still live. Returns 0 when the op
 * must not get any more (cancelled, finishing or closing). */
static int deliver_event(ucp_cp *cp, ucp__op *op, ucp__event *ev) {
  uv_mutex_lock(&cp->lock);
  /* Events posted before the op finished still precede its completion. */
  int live = (op->state == UCP__OP_ACTIVE || op->state == UCP__OP_COMPLETING) &&
             !cp->close_requested;
  if (live) cp->dispatching = op->id;
  uv_mutex_unlock(&cp->lock);
  if (live) {
    ucp_cp *outer = tls_dispatch_cp;
    tls_dispatch_cp = cp;
    ev->deliver(op, ev);
    tls_dispatch_cp = outer;
    uv_mutex_lock(&cp->lock);
    dispatch_end_locked(cp);
    uv_mutex_unlock(&cp->lock);
  }
  ev->free(ev);
  return live;
}

/* Events go out after progress and before completions, so an op's events
 * always precede its completion. Ops whose events were queued during this
 * pass (from inside callbacks) wait for the next one. */
static void dispatch_events(ucp_cp *cp) {
  ucp__op *ops = cp->ev_ops_head;
  cp->ev_ops_head = cp->ev_ops_tail = NULL;
  while (ops) {
    ucp__op *op = ops;
    ops = op->e_next;
    op->events_listed = 0;
    ucp__event *list = op->ev_head;
    op->ev_head = op->ev_tail = NULL;
    while (list) {
      ucp__event *ev = list;
      list = ev->next;
      if (!deliver_event(cp, op, ev))
        while (list) { /* the op is cancelled: drop the rest */
          ev = list;
          list = ev->next;
          ev->free(ev);
        }
    }
  }
}

static void dispatch_completions(ucp_cp *cp) {
  ucp__op *op;
  while ((op = cp->done_head)) {
    uv_mutex_lock(&cp->lock);
    int stop = cp->close_requested;
    if (!stop) cp->dispatching = op->id;
    uv_mutex_unlock(&cp->lock);
    if (stop) break;
    cp->done_head = op->q_next;
    if (!cp->done_head) cp->done_tail = NULL;
    ucp_cp *outer = tls_dispatch_cp;
    tls_dispatch_cp = cp;
    op->done(op->id, &op->result, op->user);
    tls_dispatch_cp = outer;
    uv_mutex_lock(&cp->lock);
    dispatch_end_locked(cp);
    ucp__registry_del(&cp->reg, op->id);
    op->state = UCP__OP_DONE;
    cp->counters[UCP_COUNTER_COMPLETED]++;
    uv_mutex_unlock(&cp->lock);
    destroy_op(cp, op);
  }
}

/* Start every submitted op that is still queued. */
static void start_submitted(ucp_cp *cp, ucp__op *list) {
  while (list) {
    ucp__op *op = list;
    list = op->q_next;
    op->q_next = NULL;
    uv_mutex_lock(&cp->lock);
    int go = op->state == UCP__OP_QUEUED;
    if (go) op->state = UCP__OP_ACTIVE;
    uv_mutex_unlock(&cp->lock);
    if (!go) continue; /* cancelled meanwhile: it is on the cancel list */
    if (ucp__heap_push(&cp->deadlines, &op->timer) != 0) {
      ucp__op_fail(op, UCP_E_NOMEM, 0, "%s: out of memory arming the deadline",
                   op->vt->name);
      continue;
    }
    op->vt->start(op);
  }
}

static void free_cancelled(ucp_cp *cp, ucp__op *list) {
  while (list) {
    ucp__op *op = list;
    list = op->c_next;
    destroy_op(cp, op);
  }
}

static void run_tasks(ucp_cp *cp, ucp__task *list, int live) {
  while (list) {
    ucp__task *t = list;
    list = t->next;
    t->run(cp, t, live);
  }
}

int ucp__cp_post_task(ucp_cp *cp, ucp__task *t) {
  t->next = NULL;
  uv_mutex_lock(&cp->lock);
  int ok = !cp->closing && !cp->close_requested;
  if (ok) {
    if (cp->task_tail) cp->task_tail->next = t;
    else cp->task_head = t;
    cp->task_tail = t;
    kick_locked(cp);
  }
  uv_mutex_unlock(&cp->lock);
  return ok ? UCP_OK : UCP_E_SHUTDOWN;
}

static void dispatch(ucp_cp *cp);

static void on_async(uv_async_t *h) { dispatch(h->data); }

static void on_idle(uv_idle_t *h) {
  uv_idle_stop(h);
  dispatch(h->data);
}

/* One round of the loop's work, in the order of docs/architecture.md. */
static void dispatch(ucp_cp *cp) {
  uv_mutex_lock(&cp->lock);
  if (!cp->loop_tid_known) {
    cp->loop_tid = uv_thread_self();
    cp->loop_tid_known = 1;
  }
  ucp__op *submitted = cp->submit_head;
  cp->submit_head = cp->submit_tail = NULL;
  ucp__op *cancelled = cp->cancel_head;
  cp->cancel_head = NULL;
  ucp__task *tasks = cp->task_head;
  cp->task_head = cp->task_tail = NULL;
  int closing = cp->close_requested;
  uv_mutex_unlock(&cp->lock);
  if (closing) {
    run_tasks(cp, tasks, 0);
    free_cancelled(cp, cancelled);
    teardown(cp);
    return;
  }
  run_tasks(cp, tasks, 1);
  start_submitted(cp, submitted);
  dispatch_progress(cp);
  dispatch_events(cp);
  free_cancelled(cp, cancelled);
  dispatch_completions(cp);
  if (close_requested(cp)) teardown(cp);
  else rearm_deadline(cp);
}

/* -------------------------------------------------------------- teardown */

/* Destroy counts as a successful cancel of every pending op (CONTRACT §2):
 * take them all out of the registry first, so ops started from inside a
 * callback meanwhile are refused rather than swept half-way. */
static void cancel_all(ucp_cp *cp) {
  void *chunk[256];
  for (;;) {
    uv_mutex_lock(&cp->lock);
    size_t n = ucp__registry_drain(&cp->reg, chunk, 256);
    for (size_t i = 0; i < n; i++)
      ((ucp__op *)chunk[i])->state = UCP__OP_CANCELLED;
    cp->counters[UCP_COUNTER_CANCELLED] += n;
    ucp__op *cancelled = cp->cancel_head;
    cp->cancel_head = NULL;
    uv_mutex_unlock(&cp->lock);
    free_cancelled(cp, cancelled);
    if (n == 0) break;
    for (size_t i = 0; i < n; i++) destroy_op(cp, chunk[i]);
  }
}

static void teardown(ucp_cp *cp) {
  if (cp->torn_down) return;
  cp->torn_down = 1;
  uv_mutex_lock(&cp->lock);
  cp->closing = 1;
  cp->submit_head = cp->submit_tail = NULL;
  ucp__task *tasks = cp->task_head;
  cp->task_head = cp->task_tail = NULL;
  uv_mutex_unlock(&cp->lock);
  run_tasks(cp, tasks, 0);
  cp->done_head = cp->done_tail = NULL;
  cancel_all(cp);
  cp->prog_head = NULL;
  cp->ev_ops_head = cp->ev_ops_tail = NULL;
  for (int i = 0; i < UCP__EXT__COUNT; i++)
    if (cp->ext_close[i]) {
      void (*close_ext)(void *) = cp->ext_close[i];
      cp->ext_close[i] = NULL;
      close_ext(cp->ext[i]);
      cp->ext[i] = NULL; /* later users find nothing, not freed memory */
    }
  uv_timer_stop(&cp->deadline_timer);
  uv_close((uv_handle_t *)&cp->deadline_timer, on_handle_closed);
  uv_close((uv_handle_t *)&cp->async, on_handle_closed);
  uv_close((uv_handle_t *)&cp->idle, on_handle_closed);
  uv_mutex_lock(&cp->lock);
  ucp__free_waiter *w = cp->free_waiter;
  uv_mutex_unlock(&cp->lock);
  if (w) {
    uv_mutex_lock(&w->lock);
    w->done = 1;
    uv_cond_signal(&w->cond);
    uv_mutex_unlock(&w->lock);
  }
}

static int request_close(ucp_cp *cp, ucp__free_waiter *w) {
  uv_mutex_lock(&cp->lock);
  int again = cp->close_requested;
  cp->close_requested = 1;
  cp->closing = 1;
  cp->free_waiter = w;
  if (!again) kick_locked(cp);
  uv_mutex_unlock(&cp->lock);
  return again ? UCP_E_INVALIDARG : UCP_OK;
}

static int free_from_foreign_thread(ucp_cp *cp) {
  ucp__free_waiter w;
  uv_mutex_init(&w.lock);
  uv_cond_init(&w.cond);
  w.done = 0;
  int rc = request_close(cp, &w);
  if (rc == UCP_OK) {
    uv_mutex_lock(&w.lock);
    while (!w.done) uv_cond_wait(&w.cond, &w.lock);
    uv_mutex_unlock(&w.lock);
  }
  uv_cond_destroy(&w.cond);
  uv_mutex_destroy(&w.lock);
  return rc;
}

static int on_loop_thread(ucp_cp *cp) {
  uv_mutex_lock(&cp->lock);
  uv_thread_t self = uv_thread_self();
  int yes = !cp->loop_tid_known || uv_thread_equal(&cp->loop_tid, &self);
  uv_mutex_unlock(&cp->lock);
  return yes;
}

int ucp_cp_free(ucp_cp *cp) {
  if (!cp) return UCP_E_INVALIDARG;
  if (tls_dispatch_cp == cp) {
    /* Inside our own callback: defer until the dispatch unwinds. */
    uv_mutex_lock(&cp->lock);
    cp->free_when_closed = 1;
    uv_mutex_unlock(&cp->lock);
    return request_close(cp, NULL);
  }
  if (cp->own_thread) {
    int rc = request_close(cp, NULL);
    if (rc != UCP_OK) return rc;
    uv_thread_join(&cp->thread);
    free_memory(cp);
    return UCP_OK;
  }
  /* Caller's loop: the close callbacks, run by it, free the struct. */
  uv_mutex_lock(&cp->lock);
  cp->free_when_closed = 1;
  uv_mutex_unlock(&cp->lock);
  if (!on_loop_thread(cp)) return free_from_foreign_thread(cp);
  int rc = request_close(cp, NULL);
  if (rc == UCP_OK) teardown(cp);
  return rc;
}
