/* bench.c - the foundation benchmarks, printed as one table:
 *   start+cancel pairs per second, issued on the loop thread and from
 *   another thread; memory per pending operation; description loads per
 *   second against the simulator; description parse MB/s.
 * Loopback only. Run: make bench (or ./build/bench/ucp_bench). */
#include <dirent.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "sim.h"
#include "upnpcp.h"

#ifndef UCP_CORPUS_DIR
#define UCP_CORPUS_DIR "../shared/corpus/real"
#endif

static double now_s(void) { return (double)uv_hrtime() / 1e9; }

enum { ROUNDS_MAX = 15 };
static int rounds = 5;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The median of `rounds` runs, with the range beside it: one machine's
 * neighbours make single runs vary by a quarter. */
static void row(const char *what, double *v, const char *unit,
                const char *target) {
  qsort(v, (size_t)rounds, sizeof *v, cmp_double);
  char range[48];
  snprintf(range, sizeof range, "%.1f .. %.1f", v[0], v[rounds - 1]);
  printf("| %-44s | %12.1f | %-24s | %-8s | %-12s |\n", what, v[rounds / 2],
         range, unit, target);
}

static void never_cb(uint64_t id, const ucp_result *r, void *user) {
  fprintf(stderr, "unexpected completion of cancelled request %llu: %s %s\n",
          (unsigned long long)id, ucp_err_name(ucp_result_status(r)),
          ucp_result_detail(r));
  atomic_fetch_add((atomic_long *)user, 1);
}

/* Start+cancel on the loop thread: the caller's loop, run between batches
 * so the cancelled operations are released (their cost is counted). */
static double start_cancel_on_loop(long pairs) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  ucp_cp_opts *o = ucp_cp_opts_new();
  ucp_cp_opts_set_loop(o, &loop);
  ucp_cp *cp;
  ucp_cp_new(o, &cp);
  ucp_cp_opts_free(o);
  atomic_long calls = 0;
  double t0 = now_s();
  for (long i = 0; i < pairs; i++) {
    uint64_t id;
    int rc = ucp_load_description(cp, "http://127.0.0.1:9/d.xml", NULL,
                                  never_cb, &calls, &id);
    if (rc == UCP_OK) rc = ucp_cancel(cp, id);
    if (rc != UCP_OK) {
      fprintf(stderr, "pair %ld: %s\n", i, ucp_err_name(rc));
      abort();
    }
    if ((i & 4095) == 4095) uv_run(&loop, UV_RUN_NOWAIT);
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  double dt = now_s() - t0;
  ucp_cp_free(cp);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (calls) abort(); /* a cancelled op must never call back */
  return (double)pairs / dt;
}

static void counted_cb(uint64_t id, const ucp_result *r, void *user) {
  (void)id, (void)r;
  atomic_fetch_add((atomic_long *)user, 1);
}

/* Start+cancel from another thread than the control point's own loop. The
 * loop thread may start an operation before its cancel arrives; against a
 * stalled device it cannot finish first, so every cancel must succeed. */
static double start_cancel_other_thread(ucp_sim *sim, long pairs) {
  ucp_cp *cp;
  ucp_cp_new(NULL, &cp);
  atomic_long calls = 0;
  char url[256];
  snprintf(url, sizeof url, "%s/fault/stall?ms=20000", ucp_sim_base_url(sim));
  double t0 = now_s();
  for (long i = 0; i < pairs; i++) {
    uint64_t id;
    int rc = ucp_load_description(cp, url, NULL, counted_cb, &calls, &id);
    if (rc == UCP_OK) rc = ucp_cancel(cp, id);
    if (rc != UCP_OK) {
      fprintf(stderr, "pair %ld: %s\n", i, ucp_err_name(rc));
      abort();
    }
  }
  double dt = now_s() - t0;
  ucp_cp_free(cp);
  if (calls) abort();
  return (double)pairs / dt;
}

/* Bytes of heap per pending operation: N loads of a stalled URL, started
 * and waiting in the HTTP queue (UCP_LIMIT_HTTP_ACTIVE of them have a curl
 * handle and a socket: those network buffers are included, amortised). */
static double memory_per_pending(ucp_sim *sim, long n) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  ucp_cp_opts *o = ucp_cp_opts_new();
  ucp_cp_opts_set_loop(o, &loop);
  ucp_cp_opts_set_limit(o, UCP_LIMIT_PENDING_OPS, (uint64_t)n + 1);
  ucp_cp *cp;
  ucp_cp_new(o, &cp);
  ucp_cp_opts_free(o);
  char url[256];
  snprintf(url, sizeof url, "%s/fault/stall?ms=20000", ucp_sim_base_url(sim));
  atomic_long calls = 0;
  /* Warm up the HTTP engine so its fixed cost is not counted. */
  uint64_t id;
  ucp_load_description(cp, url, NULL, never_cb, &calls, &id);
  uv_run(&loop, UV_RUN_NOWAIT);
  ucp_cancel(cp, id);
  uv_run(&loop, UV_RUN_NOWAIT);
  malloc_trim(0);
  size_t before = mallinfo2().uordblks;
  for (long i = 0; i < n; i++)
    if (ucp_load_description(cp, url, NULL, never_cb, &calls, &id) != UCP_OK)
      abort();
  for (int i = 0; i < 5; i++) uv_run(&loop, UV_RUN_NOWAIT);
  size_t after = mallinfo2().uordblks;
  ucp_cp_free(cp);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return (double)(after - before) / (double)n;
}

typedef struct load_bench {
  ucp_cp *cp;
  const char *url;
  long started, done, failed, total;
  uv_mutex_t lock;
  uv_cond_t cond;
} load_bench;

static void start_one(load_bench *b);

static void load_done(uint64_t id, const ucp_result *r, void *user) {
  load_bench *b = user;
  (void)id;
  uv_mutex_lock(&b->lock);
  b->done++;
  if (ucp_result_status(r) != UCP_OK) b->failed++;
  int more = b->started < b->total;
  if (more) b->started++;
  if (b->done == b->total) uv_cond_signal(&b->cond);
  uv_mutex_unlock(&b->lock);
  if (more) start_one(b);
}

static void start_one(load_bench *b) {
  uint64_t id;
  if (ucp_load_description(b->cp, b->url, NULL, load_done, b, &id) != UCP_OK)
    abort();
}

/* Full description loads (HTTP GET + parse + tree) with 16 in flight. */
static double loads_per_second(ucp_sim *sim, long total, long *failed) {
  load_bench b = {0};
  uv_mutex_init(&b.lock);
  uv_cond_init(&b.cond);
  ucp_cp_new(NULL, &b.cp);
  b.url = ucp_sim_description_url(sim);
  b.total = total;
  double t0 = now_s();
  uv_mutex_lock(&b.lock);
  b.started = 16;
  uv_mutex_unlock(&b.lock);
  for (int i = 0; i < 16; i++) start_one(&b);
  uv_mutex_lock(&b.lock);
  while (b.done < b.total) uv_cond_wait(&b.cond, &b.lock);
  uv_mutex_unlock(&b.lock);
  double dt = now_s() - t0;
  ucp_cp_free(b.cp);
  *failed = b.failed;
  return (double)total / dt;
}

typedef struct doc {
  char *data;
  size_t len;
} doc;

static size_t load_corpus(doc *docs, size_t max) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/description", UCP_CORPUS_DIR);
  DIR *d = opendir(dir);
  size_t n = 0;
  struct dirent *e;
  while (d && n < max && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    docs[n].data = malloc((size_t)len);
    docs[n].len = fread(docs[n].data, 1, (size_t)len, f);
    fclose(f);
    n++;
  }
  if (d) closedir(d);
  return n;
}

/* Parse throughput over the real-device corpus, from memory. */
static double parse_mb_per_s(double seconds, size_t *ndocs) {
  doc docs[128];
  size_t n = load_corpus(docs, 128);
  *ndocs = n;
  if (!n) return 0;
  size_t bytes = 0;
  double t0 = now_s(), dt;
  do {
    for (size_t i = 0; i < n; i++) {
      const ucp_description *d;
      if (ucp_description_parse(docs[i].data, docs[i].len,
                                "http://192.168.1.10:49152/desc.xml", &d, NULL,
                                0) == UCP_OK)
        ucp_description_unref(d);
      bytes += docs[i].len;
    }
    dt = now_s() - t0;
  } while (dt < seconds);
  for (size_t i = 0; i < n; i++) free(docs[i].data);
  return (double)bytes / dt / 1e6;
}

int main(int argc, char **argv) {
  long pairs = argc > 1 ? atol(argv[1]) : 1000000;
  if (argc > 2) rounds = atoi(argv[2]);
  if (rounds < 1 || rounds > ROUNDS_MAX) rounds = 5;
  ucp_sim *sim;
  ucp_sim_opts so = {0};
  if (ucp_sim_start(&so, &sim) != 0) return 1;
  printf("upnpcp %s benchmarks (loopback; %ld start+cancel pairs a round; "
         "median of %d rounds)\n\n", ucp_version(NULL), pairs, rounds);
  printf("| %-44s | %12s | %-24s | %-8s | %-12s |\n", "measure", "median",
         "range", "unit", "target");
  printf("|%s|%s|%s|%s|%s|\n", "----------------------------------------------",
         "--------------", "--------------------------", "----------",
         "--------------");
  double v[5][ROUNDS_MAX];
  long failed = 0;
  size_t ndocs = 0;
  for (int r = 0; r < rounds; r++) {
    v[0][r] = start_cancel_on_loop(pairs);
    v[1][r] = start_cancel_other_thread(sim, pairs);
    v[2][r] = memory_per_pending(sim, 100000);
    long f = 0;
    v[3][r] = loads_per_second(sim, 10000, &f);
    failed += f;
    v[4][r] = parse_mb_per_s(1.0, &ndocs);
  }
  row("start+cancel, issued on the loop thread", v[0], "pairs/s", ">= 1000000");
  row("start+cancel, issued from another thread", v[1], "pairs/s", ">= 300000");
  row("memory per pending operation (100k pending)", v[2], "bytes", "<= 1024");
  row("description loads, 16 in flight (simulator)", v[3], "loads/s", "-");
  char what[64];
  snprintf(what, sizeof what, "description parse (%zu corpus files)", ndocs);
  row(what, v[4], "MB/s", ">= 100");
  ucp_sim_stop(sim);
  if (failed) printf("\n%ld description loads failed\n", failed);
  return failed ? 1 : 0;
}
