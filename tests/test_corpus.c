/* test_corpus.c - every real-device description of the shared corpus
 * (shared/corpus/real/description/), parsed from memory and loaded over
 * HTTP through the whole stack (control point, curl, the in-process
 * simulator serving the corpus directory). Both paths must agree, and
 * every file must load except those named in `expected_failures`.
 * Exits 77 (skipped) when the corpus directory is missing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sim.h"
#include "upnpcp.h"

#define DESC_DIR UCP_CORPUS_DIR "/description"
#define MEM_LOCATION "http://127.0.0.1:8080/desc.xml"
#define LOAD_TIMEOUT_S 10

/* Files that are EXPECTED to fail, with their exact code and a substring
 * of the reason. Today every file of the corpus loads: the parser repairs
 * or tolerates every quirk in it (see the quirk catalogue in the corpus
 * README). A file added to the corpus that fails must be listed here with
 * its documented reason, or fixed in the parser. */
typedef struct expected_failure {
  const char *file;
  int code;
  const char *reason;
} expected_failure;
static const expected_failure expected_failures[] = {
    {NULL, 0, NULL} /* end */
};

static const expected_failure *expected_failure_of(const char *name) {
  for (const expected_failure *e = expected_failures; e->file; e++)
    if (!strcmp(e->file, name)) return e;
  return NULL;
}

/* ------------------------------------------------------------- helpers */

/* Descriptions a test holds are released by the teardown, so that a failed
 * assertion does not leak them. */
enum { MAX_TRACKED = 16 };
static const ucp_description *tracked[MAX_TRACKED];
static size_t ntracked;

static const ucp_description *track(const ucp_description *d) {
  assert_true(ntracked < MAX_TRACKED);
  tracked[ntracked++] = d;
  return d;
}

static void release_all(void) {
  for (size_t i = 0; i < ntracked; i++) ucp_description_unref(tracked[i]);
  ntracked = 0;
}

typedef struct sbuf {
  char *s;
  size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  assert_true(n >= 0);
  if (b->len + (size_t)n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + (size_t)n + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    assert_non_null(s);
    b->s = s;
    b->cap = cap;
  }
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* Two dumps, held in statics so that a failing test does not leak them. */
static sbuf dump_a, dump_b;

static const char *nz(const char *s) { return s ? s : "<NULL>"; }

static size_t device_index(const ucp_description *d, const ucp_device *dev) {
  for (size_t i = 0; i < ucp_description_device_count(d); i++)
    if (ucp_description_device(d, i) == dev) return i;
  return SIZE_MAX;
}

/* Everything a description holds, as text. */
static void dump(const ucp_description *d, sbuf *b) {
  b->len = 0;
  int ma, mi;
  ucp_description_spec_version(d, &ma, &mi);
  sb_add(b, "url=%s\nbase=%s\nspec=%d.%d\nconfig=%lld\nwarnings=[%s]\n",
         nz(ucp_description_url(d)), nz(ucp_description_base_url(d)), ma, mi,
         (long long)ucp_description_config_id(d), ucp_description_warnings(d));
  size_t nd = ucp_description_device_count(d);
  sb_add(b, "devices=%zu\n", nd);
  for (size_t i = 0; i < nd; i++) {
    const ucp_device *dev = ucp_description_device(d, i);
    const ucp_device *par = ucp_device_parent(dev);
    sb_add(b, "device %zu parent=%zu\n", i,
           par ? device_index(d, par) : SIZE_MAX);
    for (int f = 0; f < UCP_DEVICE__FIELD_COUNT; f++)
      sb_add(b, " f%d=%s\n", f, nz(ucp_device_field_get(dev, f)));
    sb_add(b, " children=%zu\n", ucp_device_child_count(dev));
    for (size_t s = 0; s < ucp_device_service_count(dev); s++) {
      const ucp_service *sv = ucp_device_service(dev, s);
      for (int f = 0; f < UCP_SERVICE__FIELD_COUNT; f++)
        sb_add(b, "  s%zu.f%d=%s err=%s\n", s, f,
               nz(ucp_service_field_get(sv, f)),
               nz(ucp_service_url_error(sv, f)));
    }
    for (size_t k = 0; k < ucp_device_icon_count(dev); k++) {
      const ucp_icon *ic = ucp_device_icon(dev, k);
      sb_add(b, "  icon%zu %s %dx%dx%d %s err=%s\n", k,
             nz(ucp_icon_mimetype(ic)), ucp_icon_width(ic),
             ucp_icon_height(ic), ucp_icon_depth(ic), nz(ucp_icon_url(ic)),
             nz(ucp_icon_url_error(ic)));
    }
  }
}

static size_t service_total(const ucp_description *d) {
  size_t n = 0;
  for (size_t i = 0; i < ucp_description_device_count(d); i++)
    n += ucp_device_service_count(ucp_description_device(d, i));
  return n;
}

static size_t icon_total(const ucp_description *d) {
  size_t n = 0;
  for (size_t i = 0; i < ucp_description_device_count(d); i++)
    n += ucp_device_icon_count(ucp_description_device(d, i));
  return n;
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

static void assert_contains(const char *hay, const char *needle) {
  assert_non_null(hay);
  if (!strstr(hay, needle))
    fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* A file of the corpus, read into `file_buf` (a static, freed by the
 * teardown). */
static char *file_buf;
static size_t file_len;

static int read_corpus_file(const char *name) {
  free(file_buf);
  file_buf = NULL;
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", DESC_DIR, name);
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  int ok = fseek(f, 0, SEEK_END) == 0;
  long n = ok ? ftell(f) : -1;
  if (n >= 0) {
    rewind(f);
    file_buf = malloc((size_t)n + 1);
    if (file_buf && fread(file_buf, 1, (size_t)n, f) == (size_t)n) {
      file_buf[n] = '\0';
      file_len = (size_t)n;
    } else {
      free(file_buf);
      file_buf = NULL;
    }
  }
  fclose(f);
  return file_buf ? 0 : -1;
}

/* Parse a corpus file from memory against `location`; asserts success
 * and returns the (tracked) description. */
static const ucp_description *parse_file(const char *name,
                                         const char *location) {
  assert_int_equal(read_corpus_file(name), 0);
  const ucp_description *d = NULL;
  char detail[512];
  int rc = ucp_description_parse(file_buf, file_len, location, &d, detail,
                                 sizeof detail);
  if (rc != UCP_OK)
    fail_msg("%s: %s: %s", name, ucp_err_name(rc), detail);
  assert_non_null(d);
  return track(d);
}

/* ------------------------------------------------- directory and stack */

static char **names;
static size_t nnames;
static size_t files_in_dir; /* counted separately, by a second listing */

static int is_regular(const char *name) {
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", DESC_DIR, name);
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 0, or -1 when the directory cannot be listed. */
static int list_directory(void) {
  DIR *dir = opendir(DESC_DIR);
  if (!dir) return -1;
  size_t cap = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.' || !is_regular(e->d_name)) continue;
    if (nnames == cap) {
      cap = cap ? cap * 2 : 64;
      char **n = realloc(names, cap * sizeof *n);
      if (!n) break;
      names = n;
    }
    names[nnames] = strdup(e->d_name);
    if (!names[nnames]) break;
    nnames++;
  }
  closedir(dir);
  if (nnames) qsort(names, nnames, sizeof *names, cmp_names);
  /* an independent count, for the "every file was seen" check */
  dir = opendir(DESC_DIR);
  if (!dir) return -1;
  while ((e = readdir(dir)) != NULL)
    if (e->d_name[0] != '.' && is_regular(e->d_name)) files_in_dir++;
  closedir(dir);
  return 0;
}

static void free_names(void) {
  for (size_t i = 0; i < nnames; i++) free(names[i]);
  free(names);
  names = NULL;
  nnames = 0;
}

static ucp_sim *sim;
static ucp_cp *cp;

static int group_setup(void **state) {
  (void)state;
  ucp_sim_opts so = {0};
  so.serve_dir = UCP_CORPUS_DIR;
  if (ucp_sim_start(&so, &sim) != 0) {
    fprintf(stderr, "cannot start the simulator\n");
    return -1;
  }
  if (ucp_cp_new(NULL, &cp) != UCP_OK) {
    fprintf(stderr, "cannot create a control point\n");
    ucp_sim_stop(sim);
    sim = NULL;
    return -1;
  }
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  int rc = cp ? ucp_cp_free(cp) : UCP_OK;
  cp = NULL;
  ucp_sim_stop(sim);
  sim = NULL;
  return rc == UCP_OK ? 0 : -1;
}

static int test_teardown(void **state) {
  (void)state;
  release_all();
  free(dump_a.s);
  free(dump_b.s);
  dump_a = dump_b = (sbuf){0};
  free(file_buf);
  file_buf = NULL;
  return 0;
}

/* ------------------------------------------------------ HTTP loading */

typedef struct waiter {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int done;
  int calls;
  int status, http_status;
  char detail[1024];
  const ucp_description *desc; /* a reference, on success */
} waiter;

static void on_done(uint64_t id, const ucp_result *r, void *user) {
  (void)id;
  waiter *w = user;
  pthread_mutex_lock(&w->lock);
  w->calls++;
  w->status = ucp_result_status(r);
  w->http_status = ucp_result_http_status(r);
  snprintf(w->detail, sizeof w->detail, "%s", ucp_result_detail(r));
  const ucp_description *d = ucp_result_description(r);
  if (d && !w->desc) w->desc = ucp_description_ref(d);
  w->done = 1;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

/* Load `url` and wait (bounded) for the completion. Returns the status;
 * on success *out is a tracked reference. */
static int load_over_http(const char *url, const ucp_description **out,
                          char *detail, size_t dlen, int *http_status) {
  waiter w;
  memset(&w, 0, sizeof w);
  pthread_mutex_init(&w.lock, NULL);
  pthread_cond_init(&w.cond, NULL);
  uint64_t id = 0;
  int rc = ucp_load_description(cp, url, NULL, on_done, &w, &id);
  assert_int_equal(rc, UCP_OK);
  assert_true(id != 0);
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += LOAD_TIMEOUT_S;
  pthread_mutex_lock(&w.lock);
  int timed_out = 0;
  while (!w.done && !timed_out)
    timed_out = pthread_cond_timedwait(&w.cond, &w.lock, &deadline) ==
                ETIMEDOUT;
  pthread_mutex_unlock(&w.lock);
  if (!w.done) {
    /* Cancelled: no callback runs after this. Too late (E_FAIL): the
     * completion is under way, wait for it so `w` outlives it. */
    if (ucp_cancel(cp, id) == UCP_E_FAIL) {
      pthread_mutex_lock(&w.lock);
      while (!w.done) pthread_cond_wait(&w.cond, &w.lock);
      pthread_mutex_unlock(&w.lock);
    }
  }
  if (w.desc) track(w.desc);
  pthread_mutex_destroy(&w.lock);
  pthread_cond_destroy(&w.cond);
  if (timed_out && !w.done)
    fail_msg("%s: no completion within %d s", url, LOAD_TIMEOUT_S);
  assert_int_equal(w.calls, 1);
  snprintf(detail, dlen, "%s", w.detail);
  *http_status = w.http_status;
  *out = w.desc;
  if (w.status == UCP_OK) assert_non_null(w.desc);
  else assert_null(w.desc);
  return w.status;
}

static const char *file_url(const char *name) {
  static char url[1024];
  snprintf(url, sizeof url, "%s/files/description/%s", ucp_sim_base_url(sim),
           name);
  return url;
}

/* --------------------------------------------------------------- tests */

static void test_every_file(void **state) {
  (void)state;
  assert_true(nnames >= 1);
  assert_int_equal(nnames, files_in_dir);
  uint64_t requests_before = ucp_sim_requests(sim);
  size_t seen = 0, loaded = 0, failed_as_expected = 0;
  size_t devices = 0, services = 0, warned = 0;
  print_message("%-58s %4s %4s %5s %4s\n", "file", "devs", "svcs", "icons",
                "warn");
  for (size_t i = 0; i < nnames; i++) {
    const char *name = names[i];
    const expected_failure *exp = expected_failure_of(name);
    assert_int_equal(read_corpus_file(name), 0);

    /* (a) from memory, as if loaded from MEM_LOCATION */
    const ucp_description *mem = NULL;
    char mem_detail[512];
    int mem_rc = ucp_description_parse(file_buf, file_len, MEM_LOCATION, &mem,
                                       mem_detail, sizeof mem_detail);
    if (mem) track(mem);

    /* (b) over HTTP, from the simulator */
    const char *url = file_url(name);
    const ucp_description *net = NULL;
    char net_detail[1024];
    int http_status = 0;
    int net_rc = load_over_http(url, &net, net_detail, sizeof net_detail,
                                &http_status);
    seen++;

    /* both paths agree on the verdict */
    if (mem_rc != net_rc)
      fail_msg("%s: from memory %s (%s), over HTTP %s (%s)", name,
               ucp_err_name(mem_rc), mem_detail, ucp_err_name(net_rc),
               net_detail);
    if (exp) {
      if (mem_rc != exp->code)
        fail_msg("%s: expected %s, got %s (%s)", name,
                 ucp_err_name(exp->code), ucp_err_name(mem_rc), mem_detail);
      assert_contains(mem_detail, exp->reason);
      assert_contains(net_detail, exp->reason);
      assert_contains(net_detail, url); /* the detail names the URL */
      print_message("%-58s FAILS as expected: %s: %s\n", name,
                    ucp_err_name(mem_rc), mem_detail);
      failed_as_expected++;
      release_all();
      continue;
    }
    if (mem_rc != UCP_OK)
      fail_msg("%s: %s: %s", name, ucp_err_name(mem_rc), mem_detail);
    assert_int_equal(http_status, 200);
    assert_non_null(ucp_description_root(mem));
    assert_non_null(ucp_description_root(net));
    assert_true(ucp_description_device_count(mem) >= 1);
    assert_ptr_equal(ucp_description_device(mem, 0),
                     ucp_description_root(mem));
    assert_string_equal(ucp_description_url(net), url);

    /* the same facts either way (the URLs differ only by the port) */
    assert_int_equal(ucp_description_device_count(mem),
                     ucp_description_device_count(net));
    assert_int_equal(service_total(mem), service_total(net));
    assert_int_equal(icon_total(mem), icon_total(net));
    assert_int_equal(count_lines(ucp_description_warnings(mem)),
                     count_lines(ucp_description_warnings(net)));
    /* and byte for byte against a memory parse from the same URL */
    const ucp_description *same = NULL;
    char same_detail[512];
    assert_int_equal(ucp_description_parse(file_buf, file_len, url, &same,
                                           same_detail, sizeof same_detail),
                     UCP_OK);
    track(same);
    dump(same, &dump_a);
    dump(net, &dump_b);
    if (strcmp(dump_a.s, dump_b.s) != 0) {
      print_message("--- memory\n%s--- http\n%s", dump_a.s, dump_b.s);
      fail_msg("%s: the HTTP load differs from the memory parse", name);
    }

    size_t nd = ucp_description_device_count(mem);
    size_t ns = service_total(mem);
    size_t nw = count_lines(ucp_description_warnings(mem));
    print_message("%-58s %4zu %4zu %5zu %4zu\n", name, nd, ns,
                  icon_total(mem), nw);
    devices += nd;
    services += ns;
    warned += nw > 0;
    loaded++;
    release_all();
  }
  print_message("%zu files: %zu loaded (%zu devices, %zu services, %zu with "
                "warnings), %zu failed as expected\n",
                seen, loaded, devices, services, warned, failed_as_expected);
  assert_int_equal(seen, files_in_dir);
  assert_int_equal(loaded + failed_as_expected, files_in_dir);
  assert_true(seen >= 1);
  /* every expected failure names a file that exists */
  size_t listed = 0;
  for (const expected_failure *e = expected_failures; e->file; e++) listed++;
  assert_int_equal(failed_as_expected, listed);
  /* each file was fetched from the simulator once */
  assert_true(ucp_sim_requests(sim) - requests_before >= seen);
  /* and nothing is left pending (the counters are updated once the
   * completion callback has returned: poll, bounded) */
  for (int i = 0; i < 200 && ucp_cp_counter(cp, UCP_COUNTER_PENDING); i++)
    nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
  assert_int_equal(ucp_cp_counter(cp, UCP_COUNTER_PENDING), 0);
  assert_int_equal(ucp_cp_counter(cp, UCP_COUNTER_COMPLETED),
                   ucp_cp_counter(cp, UCP_COUNTER_STARTED));
}

/* The well-known files checked below must be in the corpus: a renamed or
 * removed file fails the check rather than silently disabling it. */
static int have(const char *name) {
  for (size_t i = 0; i < nnames; i++)
    if (!strcmp(names[i], name)) return 1;
  fail_msg("%s is not in the corpus any more", name);
  return 0;
}

static const char *dfield(const ucp_description *d, size_t i,
                          ucp_device_field f) {
  const ucp_device *dev = ucp_description_device(d, i);
  assert_non_null(dev);
  return ucp_device_field_get(dev, f);
}

/* NETGEAR ReadyDLNA: <friendlyName>R&N:DGND3700</friendlyName>. */
static void test_netgear_bare_ampersand(void **state) {
  (void)state;
  const char *name = "netgear-dgnd3700-readydlna-description.xml";
  if (!have(name)) return;
  const ucp_description *d = parse_file(name, MEM_LOCATION);
  assert_true(strstr(file_buf, "R&N:DGND3700") != NULL); /* bare in the file */
  assert_string_equal(dfield(d, 0, UCP_DEVICE_FRIENDLY_NAME), "R&N:DGND3700");
  assert_contains(ucp_description_warnings(d), "'&' repaired");
  assert_int_equal(ucp_device_service_count(ucp_description_root(d)), 3);
  /* over HTTP, streamed in whatever pieces curl delivers: the same */
  const ucp_description *n;
  char detail[1024];
  int http;
  assert_int_equal(load_over_http(file_url(name), &n, detail, sizeof detail,
                                  &http),
                   UCP_OK);
  assert_string_equal(dfield(n, 0, UCP_DEVICE_FRIENDLY_NAME), "R&N:DGND3700");
  assert_contains(ucp_description_warnings(n), "'&' repaired");
}

/* LG HT DMR-6945: binary garbage after </root>. */
static void test_lg_trailing_garbage(void **state) {
  (void)state;
  const char *name = "lg-ht-dmr6945-description.xml";
  if (!have(name)) return;
  const ucp_description *d = parse_file(name, MEM_LOCATION);
  const char *end = strstr(file_buf, "</root>");
  assert_non_null(end);
  size_t after = file_len - (size_t)(end + 7 - file_buf);
  int garbage = 0;
  for (size_t i = 0; i < after; i++)
    garbage |= (unsigned char)end[7 + i] > 0x7e;
  assert_true(garbage); /* the quirk is really in the file */
  assert_string_equal(dfield(d, 0, UCP_DEVICE_FRIENDLY_NAME),
                      "LG HT DMR-6945");
  assert_int_equal(ucp_device_service_count(ucp_description_root(d)), 3);
  assert_string_equal(dfield(d, 0, UCP_DEVICE_PRESENTATION_URL),
                      "http://127.0.0.1:8080/Presentation.html");
  const ucp_description *n;
  char detail[1024];
  int http;
  assert_int_equal(load_over_http(file_url(name), &n, detail, sizeof detail,
                                  &http),
                   UCP_OK);
  assert_int_equal(ucp_device_service_count(ucp_description_root(n)), 3);
}

/* Philips hue 2012: "(null)" as serviceType, serviceId and all URLs;
 * URLBase with a trailing slash and relative icon URLs. */
static void test_hue_null_urls_and_urlbase(void **state) {
  (void)state;
  const char *name = "philips-hue-bridge-2012-description.xml";
  if (!have(name)) return;
  const ucp_description *d = parse_file(name, MEM_LOCATION);
  const ucp_service *s = ucp_device_service(ucp_description_root(d), 0);
  assert_non_null(s);
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_TYPE), "(null)");
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_ID), "(null)");
  for (int f = UCP_SERVICE_SCPD_URL; f <= UCP_SERVICE_EVENT_SUB_URL; f++) {
    assert_null(ucp_service_field_get(s, f));
    assert_contains(ucp_service_url_error(s, f), "(null)");
  }
  /* loaded from another host than its URLBase: URLBase ignored */
  assert_string_equal(ucp_description_base_url(d), MEM_LOCATION);
  assert_contains(ucp_description_warnings(d), "192.168.0.21");
  const ucp_icon *ic = ucp_device_icon(ucp_description_root(d), 0);
  assert_string_equal(ucp_icon_url(ic), "http://127.0.0.1:8080/hue_logo_0.png");
  assert_int_equal(ucp_icon_width(ic), 48);
  assert_int_equal(ucp_icon_height(ic), 48);

  /* loaded from the bridge's own host: URLBase (with its trailing slash)
   * is the base */
  d = parse_file(name, "http://192.168.0.21/description.xml");
  assert_string_equal(ucp_description_base_url(d), "http://192.168.0.21:80/");
  assert_string_equal(ucp_description_warnings(d), "");
  ic = ucp_device_icon(ucp_description_root(d), 1);
  assert_string_equal(ucp_icon_url(ic), "http://192.168.0.21:80/hue_logo_3.png");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_PRESENTATION_URL),
                      "http://192.168.0.21:80/index.html");
  s = ucp_device_service(ucp_description_root(d), 0);
  assert_null(ucp_service_field_get(s, UCP_SERVICE_CONTROL_URL));
}

/* Ceton InfiniTV: URLBase with a path-less trailing slash, service URLs
 * relative without a leading slash, seven devices. */
static void test_ceton_urlbase_relative(void **state) {
  (void)state;
  const char *name = "ceton-infinitv-pcie-description.xml";
  if (!have(name)) return;
  /* another port of the same host than URLBase: URLBase is used */
  const ucp_description *d =
      parse_file(name, "http://192.168.1.7:8080/description.xml");
  assert_string_equal(ucp_description_base_url(d), "http://192.168.1.7/");
  assert_int_equal(ucp_description_device_count(d), 7);
  const ucp_service *s = ucp_device_service(ucp_description_root(d), 0);
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_SCPD_URL),
                      "http://192.168.1.7/Services/CetonFactory/"
                      "Description.xml");
  assert_string_equal(ucp_description_warnings(d), "");
}

/* TPG IPTV proxy: URLBase after the <device>. */
static void test_tpg_urlbase_after_device(void **state) {
  (void)state;
  const char *name = "tpg-iptv-proxy-dlna-description.xml";
  if (!have(name)) return;
  const ucp_description *d =
      parse_file(name, "http://192.168.1.100:9999/dlna/desc.xml");
  assert_true(strstr(file_buf, "<URLBase>") > strstr(file_buf, "</device>"));
  assert_string_equal(ucp_description_base_url(d), "http://192.168.1.100:1238");
  const ucp_service *s = ucp_device_service(ucp_description_root(d), 0);
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_SCPD_URL),
                      "http://192.168.1.100:1238/ContentDirectory.xml");
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_CONTROL_URL),
                      "http://192.168.1.100:1238/ContentDirectory/control");
  /* serviceId is a bare name: kept as written */
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_ID),
                      "ContentDirectory");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "uuid:1287-a000-9273-e000");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_SERIAL_NUMBER), "");
  /* from another host: ignored, with a warning naming it */
  d = parse_file(name, MEM_LOCATION);
  assert_string_equal(ucp_description_base_url(d), MEM_LOCATION);
  assert_contains(ucp_description_warnings(d), "URLBase");
  assert_contains(ucp_description_warnings(d), "192.168.1.100");
  s = ucp_device_service(ucp_description_root(d), 0);
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_SCPD_URL),
                      "http://127.0.0.1:8080/ContentDirectory.xml");
}

/* Pannaway: <URLBase>http://127.0.0.1:{port}</URLBase>, a placeholder,
 * even though it names the right host. */
static void test_pannaway_placeholder_urlbase(void **state) {
  (void)state;
  const char *name = "pannaway-rg210-speedtouch-igd-template.xml";
  if (!have(name)) return;
  const ucp_description *d = parse_file(name, MEM_LOCATION);
  assert_string_equal(ucp_description_base_url(d), MEM_LOCATION);
  const char *w = ucp_description_warnings(d);
  assert_contains(w, "URLBase");
  assert_contains(w, "{port}");
  assert_contains(w, "ignored");
  assert_int_equal(ucp_description_device_count(d), 3);
  const ucp_service *s = ucp_device_service(ucp_description_root(d), 0);
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_SCPD_URL),
                      "http://127.0.0.1:8080/upnp/Layer3Forwarding.xml");
  /* empty <UDN /> is "", not absent */
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "");
}

/* A few more quirks from the catalogue. */
static void test_catalogue_quirks(void **state) {
  (void)state;
  const ucp_description *d;
  if (have("mikrotik-routeros-7.10-rootDesc.xml")) {
    /* URLBase renamed to disabledForTestURLBase: no URLBase at all */
    d = parse_file("mikrotik-routeros-7.10-rootDesc.xml", MEM_LOCATION);
    assert_string_equal(ucp_description_base_url(d), MEM_LOCATION);
    assert_int_equal(ucp_description_device_count(d), 5);
  }
  if (have("geexbox-ushare-missing-namespaces-description.xml")) {
    /* two deviceType elements: the first kept, a warning */
    d = parse_file("geexbox-ushare-missing-namespaces-description.xml",
                   MEM_LOCATION);
    assert_string_equal(dfield(d, 0, UCP_DEVICE_TYPE),
                        "urn:schemas-upnp-org:device:MediaServer:1");
    assert_contains(ucp_description_warnings(d), "duplicate <deviceType>");
  }
  if (have("eyecon-mobile-renderer-htc-desire-description.xml")) {
    /* <mimeType> instead of <mimetype>, relative icon URL */
    d = parse_file("eyecon-mobile-renderer-htc-desire-description.xml",
                   MEM_LOCATION);
    const ucp_icon *ic = ucp_device_icon(ucp_description_root(d), 0);
    assert_non_null(ic);
    assert_string_equal(ucp_icon_mimetype(ic), "image/png");
    assert_int_equal(ucp_icon_width(ic), 64);
    assert_string_equal(ucp_icon_url(ic), "http://127.0.0.1:8080/android.png");
  }
  if (have("awox-mediactrl-renderer-description-unrecoverable.xml")) {
    /* empty <deviceType></deviceType> */
    d = parse_file("awox-mediactrl-renderer-description-unrecoverable.xml",
                   MEM_LOCATION);
    assert_string_equal(dfield(d, 0, UCP_DEVICE_TYPE), "");
  }
  if (have("escient-ipod-dock-description.xml")) {
    d = parse_file("escient-ipod-dock-description.xml", MEM_LOCATION);
    assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "uuid:iPod Dock");
  }
  if (have("pfsense-2.5.0-miniupnpd-rootDesc.xml")) {
    d = parse_file("pfsense-2.5.0-miniupnpd-rootDesc.xml", MEM_LOCATION);
    assert_int_equal(ucp_description_config_id(d), 1337);
    assert_int_equal(ucp_description_device_count(d), 3);
  }
  if (have("adb-miviewtv-stb-tlf5810-description.xml")) {
    /* absolute URLs naming the STB's own address, loaded from elsewhere:
     * unusable, with the reason */
    d = parse_file("adb-miviewtv-stb-tlf5810-description.xml", MEM_LOCATION);
    size_t refused = 0;
    const ucp_device *root = ucp_description_root(d);
    for (size_t i = 0; i < ucp_device_service_count(root); i++) {
      const ucp_service *s = ucp_device_service(root, i);
      const char *why = ucp_service_url_error(s, UCP_SERVICE_CONTROL_URL);
      if (why && strstr(why, "names host")) refused++;
    }
    assert_int_equal(ucp_device_service_count(root), 2);
    assert_int_equal(refused, 2);
    const ucp_service *s = ucp_device_service(root, 0);
    assert_null(ucp_service_field_get(s, UCP_SERVICE_CONTROL_URL));
    assert_contains(ucp_service_url_error(s, UCP_SERVICE_CONTROL_URL),
                    "10.213.63.98");
    /* loaded from the STB itself, the same URLs are fine */
    d = parse_file("adb-miviewtv-stb-tlf5810-description.xml",
                   "http://10.213.63.98:49152/description.xml");
    s = ucp_device_service(ucp_description_root(d), 0);
    assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_CONTROL_URL),
                        "http://10.213.63.98:49152/control/ContentDirectory2");
  }
}

int main(void) {
  DIR *probe = opendir(DESC_DIR);
  if (!probe) {
    printf("corpus directory %s is missing: test skipped\n", DESC_DIR);
    return 77;
  }
  closedir(probe);
  if (list_directory() != 0) {
    printf("cannot list %s\n", DESC_DIR);
    free_names();
    return 1;
  }
  printf("corpus: %zu files in %s\n", nnames, DESC_DIR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_every_file, test_teardown),
      cmocka_unit_test_teardown(test_netgear_bare_ampersand, test_teardown),
      cmocka_unit_test_teardown(test_lg_trailing_garbage, test_teardown),
      cmocka_unit_test_teardown(test_hue_null_urls_and_urlbase, test_teardown),
      cmocka_unit_test_teardown(test_ceton_urlbase_relative, test_teardown),
      cmocka_unit_test_teardown(test_tpg_urlbase_after_device, test_teardown),
      cmocka_unit_test_teardown(test_pannaway_placeholder_urlbase,
                                test_teardown),
      cmocka_unit_test_teardown(test_catalogue_quirks, test_teardown),
  };
  int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
  free_names();
  return rc;
}
