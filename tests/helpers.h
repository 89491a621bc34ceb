/* helpers.h - shared test helpers: a probe that records an operation's
 * callbacks, bounded waits, fd counting, and the in-process simulator. */
#ifndef UCP_TEST_HELPERS_H
#define UCP_TEST_HELPERS_H

#include <pthread.h>
#include <stdint.h>

#include "sim.h"
#include "upnpcp.h"

typedef struct probe {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  uint64_t id;
  int done_calls;
  int progress_calls;
  int status, http_status;
  char detail[1024];
  uint64_t last_num, last_den;
  int progress_after_done;
  int numerator_decreased;
  int concurrent;       /* a callback overlapped another one */
  pthread_t cb_thread;
  const ucp_description *desc; /* a reference, when the load succeeded */
  ucp_cp *cp;
  int cancel_in_done;   /* ucp_cancel(own id) from inside the completion */
  int cancel_in_progress; /* from inside the first progress callback */
  int cancel_in_progress_rc;
} probe;

/* A control point on the caller's libuv loop (a uv_loop_t *), with these
 * transfer limits (0: the default); NULL if it cannot be made. */
ucp_cp *test_cp_on_loop(void *uv_loop, uint64_t active, uint64_t per_host);

void probe_init(probe *p);
void probe_destroy(probe *p);
/* Wait until the completion ran; 0 when it did, -1 after `ms`. */
int probe_wait(probe *p, int ms);
int probe_done_count(probe *p);
int probe_progress_count(probe *p);
void probe_done_cb(uint64_t id, const ucp_result *r, void *user);
void probe_progress_cb(uint64_t id, uint64_t num, uint64_t den, int status,
                       void *user);
/* Start a description load recording into `p`, with progress. */
int probe_load(ucp_cp *cp, probe *p, const char *url, uint64_t deadline_ms);

void sleep_ms(int ms);
int count_open_fds(void);
/* The simulator, serving tests/data as /files/. */
ucp_sim *test_sim_start(void);
/* base URL of `s` + path, in a static rotating buffer (8 slots). */
const char *sim_url(ucp_sim *s, const char *path);

#endif
