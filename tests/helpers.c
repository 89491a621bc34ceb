/* helpers.c - see helpers.h. */
#include "helpers.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_int in_callback;

void probe_init(probe *p) {
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
}

void probe_destroy(probe *p) {
  ucp_description_unref(p->desc);
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->lock);
}

int probe_wait(probe *p, int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  pthread_mutex_lock(&p->lock);
  while (!p->done_calls)
    if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) != 0) break;
  int ok = p->done_calls > 0;
  pthread_mutex_unlock(&p->lock);
  return ok ? 0 : -1;
}

int probe_done_count(probe *p) {
  pthread_mutex_lock(&p->lock);
  int n = p->done_calls;
  pthread_mutex_unlock(&p->lock);
  return n;
}

int probe_progress_count(probe *p) {
  pthread_mutex_lock(&p->lock);
  int n = p->progress_calls;
  pthread_mutex_unlock(&p->lock);
  return n;
}

static void enter_cb(probe *p) {
  if (atomic_fetch_add(&in_callback, 1) != 0) {
    pthread_mutex_lock(&p->lock);
    p->concurrent = 1;
    pthread_mutex_unlock(&p->lock);
  }
}

static void leave_cb(void) { atomic_fetch_sub(&in_callback, 1); }

void probe_done_cb(uint64_t id, const ucp_result *r, void *user) {
  probe *p = user;
  enter_cb(p);
  pthread_mutex_lock(&p->lock);
  int cancel_rc = p->cancel_in_done ? ucp_cancel(p->cp, id) : 0;
  p->done_calls++;
  p->status = ucp_result_status(r);
  p->http_status = ucp_result_http_status(r);
  snprintf(p->detail, sizeof p->detail, "%s", ucp_result_detail(r));
  const ucp_description *d = ucp_result_description(r);
  if (d && !p->desc) p->desc = ucp_description_ref(d);
  if (p->cancel_in_done) p->cancel_in_done = cancel_rc;
  p->cb_thread = pthread_self();
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
  leave_cb();
}

void probe_progress_cb(uint64_t id, uint64_t num, uint64_t den, int status,
                       void *user) {
  probe *p = user;
  (void)status;
  enter_cb(p);
  pthread_mutex_lock(&p->lock);
  if (p->done_calls) p->progress_after_done = 1;
  if (num < p->last_num) p->numerator_decreased = 1;
  p->last_num = num;
  p->last_den = den;
  p->progress_calls++;
  /* From inside its own progress callback a cancel never waits: it is
   * safe under our lock, and keeps every field the test reads under it. */
  if (p->cancel_in_progress && p->progress_calls == 1)
    p->cancel_in_progress_rc = ucp_cancel(p->cp, id);
  pthread_mutex_unlock(&p->lock);
  leave_cb();
}

int probe_load(ucp_cp *cp, probe *p, const char *url, uint64_t deadline_ms) {
  ucp_call_opts *o = ucp_call_opts_new();
  ucp_call_opts_set_progress(o, probe_progress_cb);
  if (deadline_ms) ucp_call_opts_set_deadline(o, deadline_ms);
  p->cp = cp;
  int rc = ucp_load_description(cp, url, o, probe_done_cb, p, &p->id);
  ucp_call_opts_free(o);
  return rc;
}

void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

int count_open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

ucp_sim *test_sim_start(void) {
  ucp_sim_opts so;
  memset(&so, 0, sizeof so);
  so.serve_dir = UCP_TEST_DATA_DIR;
  ucp_sim *s = NULL;
  if (ucp_sim_start(&so, &s) != 0) return NULL;
  return s;
}

const char *sim_url(ucp_sim *s, const char *path) {
  static _Thread_local char bufs[8][512];
  static _Thread_local int next;
  char *b = bufs[next++ & 7];
  snprintf(b, 512, "%s%s", ucp_sim_base_url(s), path);
  return b;
}

ucp_cp *test_cp_on_loop(void *uv_loop, uint64_t active, uint64_t per_host) {
  ucp_cp_opts *o = ucp_cp_opts_new();
  if (!o) return NULL;
  ucp_cp_opts_set_loop(o, uv_loop);
  if (active) ucp_cp_opts_set_limit(o, UCP_LIMIT_HTTP_ACTIVE, active);
  if (per_host) ucp_cp_opts_set_limit(o, UCP_LIMIT_HTTP_PER_HOST, per_host);
  ucp_cp *c = NULL;
  if (ucp_cp_new(o, &c) != UCP_OK) c = NULL;
  ucp_cp_opts_free(o);
  return c;
}
