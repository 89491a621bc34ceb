/* test_lifecycle.c - creating and destroying control points (CONTRACT §2,
 * §6; SECURITY.md "Lifecycle"): destroy with pending operations, destroy
 * from a callback, the caller's loop, fd stability, cancel waiting for a
 * running callback, SIGPIPE, closed standard descriptors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "helpers.h"

static ucp_sim *sim;

static int setup(void **state) {
  (void)state;
  sim = test_sim_start();
  return sim ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  ucp_sim_stop(sim);
  return 0;
}

static atomic_int g_calls;
static atomic_int g_after_free;
static atomic_int g_freed;

static void count_cb(uint64_t id, const ucp_result *r, void *user) {
  (void)id, (void)r, (void)user;
  atomic_fetch_add(&g_calls, 1);
  if (atomic_load(&g_freed)) atomic_fetch_add(&g_after_free, 1);
}

static void count_progress(uint64_t id, uint64_t n, uint64_t d, int s, void *u) {
  (void)n, (void)d, (void)s;
  count_cb(id, NULL, u);
}

/* Destroy with 10,000 operations pending: returns once no callback can run,
 * and none runs after. */
static void destroy_with_10000_pending(void **state) {
  (void)state;
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  ucp_call_opts *o = ucp_call_opts_new();
  ucp_call_opts_set_progress(o, count_progress);
  atomic_store(&g_freed, 0);
  atomic_store(&g_after_free, 0);
  for (int i = 0; i < 10000; i++) {
    uint64_t id;
    const char *path = i % 3 == 0 ? "/fault/stall?ms=5000"
                       : i % 3 == 1 ? "/fault/drip?bytes=100&interval_ms=50"
                                    : "/desc.xml";
    assert_int_equal(ucp_load_description(cp, sim_url(sim, path), o, count_cb,
                                          NULL, &id), UCP_OK);
  }
  ucp_call_opts_free(o);
  sleep_ms(300);
  assert_true(ucp_cp_counter(cp, UCP_COUNTER_PENDING) > 9000);
  ucp_cp_free(cp);
  atomic_store(&g_freed, 1);
  sleep_ms(300);
  assert_int_equal(atomic_load(&g_after_free), 0);
}

static ucp_cp *g_cp_to_free;
static atomic_int g_free_rc = 99;

static void free_inside_cb(uint64_t id, const ucp_result *r, void *user) {
  (void)id, (void)r, (void)user;
  atomic_fetch_add(&g_calls, 1);
  atomic_store(&g_free_rc, ucp_cp_free(g_cp_to_free));
}

/* Destroy from inside a callback is deferred until the dispatch unwinds;
 * the other pending operations count as cancelled: no callback. */
static void destroy_from_inside_callback(void **state) {
  (void)state;
  assert_int_equal(ucp_cp_new(NULL, &g_cp_to_free), UCP_OK);
  atomic_store(&g_calls, 0);
  uint64_t id;
  for (int i = 0; i < 4; i++) /* under the per-host connection limit */
    assert_int_equal(ucp_load_description(g_cp_to_free,
        sim_url(sim, "/fault/stall?ms=3000"), NULL, count_cb, NULL, &id), UCP_OK);
  assert_int_equal(ucp_load_description(g_cp_to_free, sim_url(sim, "/desc.xml"),
                                        NULL, free_inside_cb, NULL, &id), UCP_OK);
  for (int i = 0; i < 100 && atomic_load(&g_free_rc) == 99; i++) sleep_ms(20);
  assert_int_equal(atomic_load(&g_free_rc), UCP_OK);
  sleep_ms(500);
  assert_int_equal(atomic_load(&g_calls), 1);
}

/* The caller's loop: callbacks on its thread; after free and one more run,
 * uv_loop_close() returns 0 (nothing left behind). */
static void callers_loop_closes_clean(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  ucp_cp *cp = test_cp_on_loop(&loop, 0, 0);
  assert_non_null(cp);
  probe p, stalled;
  probe_init(&p);
  probe_init(&stalled);
  assert_int_equal(probe_load(cp, &p, sim_url(sim, "/desc.xml"), 0), UCP_OK);
  assert_int_equal(probe_load(cp, &stalled, sim_url(sim, "/fault/stall?ms=5000"), 0),
                   UCP_OK);
  for (int i = 0; i < 2000 && !p.done_calls; i++) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(p.done_calls, 1);
  assert_int_equal(p.status, UCP_OK);
  assert_true(pthread_equal(p.cb_thread, pthread_self()));
  assert_int_equal(ucp_cp_free(cp), UCP_OK); /* with `stalled` pending */
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(stalled.done_calls, 0);
  probe_destroy(&p);
  probe_destroy(&stalled);
}

typedef struct loop_thread_arg {
  uv_loop_t loop;
  atomic_int stop;
} loop_thread_arg;

static void run_loop(void *arg) {
  loop_thread_arg *a = arg;
  while (!atomic_load(&a->stop)) uv_run(&a->loop, UV_RUN_NOWAIT), sleep_ms(1);
  uv_run(&a->loop, UV_RUN_DEFAULT);
}

/* The caller's loop on another thread; ucp_cp_free from this thread waits
 * for the loop to run the teardown. */
static void callers_loop_free_from_other_thread(void **state) {
  (void)state;
  loop_thread_arg a;
  atomic_init(&a.stop, 0);
  assert_int_equal(uv_loop_init(&a.loop), 0);
  ucp_cp_opts *o = ucp_cp_opts_new();
  ucp_cp_opts_set_loop(o, &a.loop);
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(o, &cp), UCP_OK);
  ucp_cp_opts_free(o);
  uv_thread_t t;
  uv_thread_create(&t, run_loop, &a);
  probe p;
  probe_init(&p);
  assert_int_equal(probe_load(cp, &p, sim_url(sim, "/desc.xml"), 0), UCP_OK);
  assert_int_equal(probe_wait(&p, 10000), 0);
  uint64_t id;
  assert_int_equal(ucp_load_description(cp, sim_url(sim, "/fault/stall?ms=4000"),
                                        NULL, count_cb, NULL, &id), UCP_OK);
  assert_int_equal(ucp_cp_free(cp), UCP_OK);
  atomic_store(&a.stop, 1);
  uv_thread_join(&t);
  assert_int_equal(uv_loop_close(&a.loop), 0);
  probe_destroy(&p);
}

/* 1000 create/destroy cycles leave no fd behind. */
static void fd_count_stable_over_1000_cycles(void **state) {
  (void)state;
  /* Warm up once: curl's global init opens what it keeps. */
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  probe p;
  probe_init(&p);
  assert_int_equal(probe_load(cp, &p, sim_url(sim, "/desc.xml"), 0), UCP_OK);
  assert_int_equal(probe_wait(&p, 10000), 0);
  probe_destroy(&p);
  ucp_cp_free(cp);
  sleep_ms(300); /* the in-process simulator closes its side */
  int before = count_open_fds();
  for (int i = 0; i < 1000; i++) {
    assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
    if (i % 10 == 0) { /* every tenth cycle does real HTTP work */
      probe_init(&p);
      assert_int_equal(probe_load(cp, &p, sim_url(sim, "/desc.xml"), 0), UCP_OK);
      assert_int_equal(probe_wait(&p, 10000), 0);
      probe_destroy(&p);
      uint64_t id;
      ucp_load_description(cp, sim_url(sim, "/fault/stall?ms=2000"), NULL,
                           count_cb, NULL, &id);
    }
    assert_int_equal(ucp_cp_free(cp), UCP_OK);
  }
  sleep_ms(300);
  int after = count_open_fds();
  printf("  open fds before %d, after 1000 cycles %d\n", before, after);
  assert_int_equal(before, after);
}

static atomic_int g_in_progress;
static atomic_int g_progress_returned;

static void slow_progress(uint64_t id, uint64_t n, uint64_t d, int s, void *u) {
  (void)id, (void)n, (void)d, (void)s, (void)u;
  if (atomic_fetch_add(&g_in_progress, 1) == 0) {
    sleep_ms(300);
    atomic_store(&g_progress_returned, 1);
  }
}

/* A cancel from another thread while the op's callback runs waits for it,
 * so the caller may free the user data at once. */
static void cancel_waits_for_running_callback(void **state) {
  (void)state;
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  ucp_call_opts *o = ucp_call_opts_new();
  ucp_call_opts_set_progress(o, slow_progress);
  uint64_t id;
  assert_int_equal(ucp_load_description(cp, sim_url(sim, "/fault/drip?bytes=50&interval_ms=50"),
                                        o, count_cb, NULL, &id), UCP_OK);
  ucp_call_opts_free(o);
  for (int i = 0; i < 200 && !atomic_load(&g_in_progress); i++) sleep_ms(5);
  assert_true(atomic_load(&g_in_progress) > 0);
  assert_int_equal(ucp_cancel(cp, id), UCP_OK);
  assert_int_equal(atomic_load(&g_progress_returned), 1);
  int seen = atomic_load(&g_in_progress);
  sleep_ms(300);
  assert_int_equal(atomic_load(&g_in_progress), seen);
  ucp_cp_free(cp);
}

static void counters_add_up(void **state) {
  (void)state;
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  probe p[4];
  for (int i = 0; i < 4; i++) {
    probe_init(&p[i]);
    assert_int_equal(probe_load(cp, &p[i], sim_url(sim, i < 2 ? "/desc.xml" : "/fault/stall?ms=3000"), 0),
                     UCP_OK);
  }
  assert_int_equal(probe_wait(&p[0], 10000), 0);
  assert_int_equal(probe_wait(&p[1], 10000), 0);
  assert_int_equal(ucp_cancel(cp, p[2].id), UCP_OK);
  assert_int_equal(ucp_cp_counter(cp, UCP_COUNTER_STARTED), 4);
  assert_int_equal(ucp_cp_counter(cp, UCP_COUNTER_CANCELLED), 1);
  sleep_ms(50);
  assert_int_equal(ucp_cp_counter(cp, UCP_COUNTER_COMPLETED), 2);
  assert_int_equal(ucp_cp_counter(cp, UCP_COUNTER_PENDING), 1);
  ucp_cp_free(cp);
  for (int i = 0; i < 4; i++) probe_destroy(&p[i]);
}

static atomic_int g_pipe_blocked = -1;

static void mask_cb(uint64_t id, const ucp_result *r, void *user) {
  (void)id, (void)r, (void)user;
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  atomic_store(&g_pipe_blocked, sigismember(&now, SIGPIPE));
}

/* The library's own loop thread runs with SIGPIPE blocked (a write to a
 * device that reset the connection fails with EPIPE, the application
 * lives), and the creating thread's mask is left as it was. */
static void loop_thread_blocks_sigpipe(void **state) {
  (void)state;
  sigset_t before, after;
  pthread_sigmask(SIG_BLOCK, NULL, &before);
  assert_false(sigismember(&before, SIGPIPE));
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  pthread_sigmask(SIG_BLOCK, NULL, &after);
  assert_false(sigismember(&after, SIGPIPE));
  uint64_t id;
  assert_int_equal(ucp_load_description(cp, sim_url(sim, "/desc.xml"), NULL,
                                        mask_cb, NULL, &id), UCP_OK);
  for (int i = 0; i < 250 && atomic_load(&g_pipe_blocked) < 0; i++) sleep_ms(20);
  assert_int_equal(atomic_load(&g_pipe_blocked), 1);
  ucp_cp_free(cp);
}

static atomic_int g_load_status = -1;
static void load_cb(uint64_t id, const ucp_result *r, void *user) {
  (void)id, (void)user;
  atomic_store(&g_load_status, ucp_result_status(r));
}

/* Standard input, output and error closed (cron, `cmd <&-`): libuv aborts
 * when one of its own descriptors is 0-2, so ucp_cp_new fills them with
 * /dev/null first. The child is this program again (exec'd, so that it
 * starts with one thread and with 0-2 closed): a load, then teardown,
 * must end normally (before the fix: SIGABRT from uv__close). */
static int closed_std_fds_child(const char *url) {
  ucp_cp *cp;
  uint64_t id;
  if (ucp_cp_new(NULL, &cp) != UCP_OK) return 3;
  if (ucp_load_description(cp, url, NULL, load_cb, NULL, &id) != UCP_OK)
    return 4;
  for (int i = 0; i < 500 && atomic_load(&g_load_status) < 0; i++)
    sleep_ms(10);
  ucp_cp_free(cp);
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl(fd, F_GETFD) == -1) return 5;
  return atomic_load(&g_load_status) == UCP_OK ? 0 : 6;
}

static void closed_std_fds(void **state) {
  (void)state;
  char url[256];
  snprintf(url, sizeof url, "%s", sim_url(sim, "/desc.xml"));
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char *argv[] = {"test_lifecycle", "--closed-std-fds-child", url, NULL};
    close(0), close(1), close(2);
    execv("/proc/self/exe", argv);
    _exit(7);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (WIFSIGNALED(st)) fail_msg("child killed by signal %d", WTERMSIG(st));
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--closed-std-fds-child"))
    return closed_std_fds_child(argv[2]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(destroy_with_10000_pending),
      cmocka_unit_test(destroy_from_inside_callback),
      cmocka_unit_test(callers_loop_closes_clean),
      cmocka_unit_test(callers_loop_free_from_other_thread),
      cmocka_unit_test(fd_count_stable_over_1000_cycles),
      cmocka_unit_test(cancel_waits_for_running_callback),
      cmocka_unit_test(counters_add_up),
      cmocka_unit_test(loop_thread_blocks_sigpipe),
      cmocka_unit_test(closed_std_fds),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
