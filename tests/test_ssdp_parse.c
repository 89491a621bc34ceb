/* test_ssdp_parse.c - the sans-I/O SSDP parser (src/ssdp/): every real
 * M-SEARCH response of the shared corpus (shared/corpus/real/ssdp/), one
 * hostile datagram per drop reason, NOTIFY and M-SEARCH, ST matching, the
 * M-SEARCH builder, the LOCATION origin rule, and a deterministic mutation
 * loop over the corpus. Exits 77 (skipped) when the corpus is missing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ssdp/ssdp.h"

#define SSDP_CORPUS UCP_CORPUS_DIR "/ssdp"
#define SSDP_DATA UCP_TEST_DATA_DIR "/ssdp"
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- helpers */

typedef struct blob {
  char name[256];
  char *p;
  size_t n;
} blob;

enum { MAX_FILES = 128 };
static blob corpus[MAX_FILES], data[MAX_FILES];
static size_t ncorpus, ndata;

static char *load_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *p = NULL;
  long n = -1;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
      fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL &&
      fread(p, 1, (size_t)n, f) != (size_t)n) {
    free(p);
    p = NULL;
  }
  fclose(f);
  if (p) p[n] = '\0', *len = (size_t)n;
  return p;
}

/* Every regular, non-hidden file of `dir`, sorted by name; -1 on error. */
static int load_dir(const char *dir, const char *suffix, blob *out,
                    size_t *count) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  struct dirent *e;
  *count = 0;
  while ((e = readdir(d)) != NULL) {
    char path[1024];
    struct stat st;
    size_t nl = strlen(e->d_name), sl = strlen(suffix);
    if (e->d_name[0] == '.' || nl < sl || strcmp(e->d_name + nl - sl, suffix))
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (*count == MAX_FILES || nl >= sizeof out->name) break;
    blob *b = &out[(*count)++];
    memcpy(b->name, e->d_name, nl + 1);
    if (!(b->p = load_file(path, &b->n))) return closedir(d), -1;
  }
  closedir(d);
  for (size_t i = 1; i < *count; i++) /* insertion sort: few files */
    for (size_t j = i; j > 0 && strcmp(out[j - 1].name, out[j].name) > 0; j--) {
      blob t = out[j];
      out[j] = out[j - 1], out[j - 1] = t;
    }
  return 0;
}

static const blob *find_blob(const blob *set, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(set[i].name, name)) return &set[i];
  fail_msg("missing file %s", name);
  return NULL;
}

static ucp__slice S(const char *s) { return ucp__slice_cstr(s); }

static void assert_slice_eq(ucp__slice s, const char *want) {
  if (!want) {
    assert_null(s.p);
    return;
  }
  if (!s.p || s.n != strlen(want) || memcmp(s.p, want, s.n))
    fail_msg("slice \"%.*s\" (%s), want \"%s\"", s.p ? (int)s.n : 0,
             s.p ? s.p : "", s.p ? "present" : "absent", want);
}

/* Parse a copy of exactly `n` bytes on the heap, so that ASan sees any
 * read past the end of the datagram. */
static ucp__ssdp_drop parse_heap(const char *buf, size_t n, ucp__ssdp_msg *m,
                                 char **copy) {
  *copy = malloc(n ? n : 1);
  assert_non_null(*copy);
  if (n) memcpy(*copy, buf, n);
  return ucp__ssdp_parse(*copy, n, m);
}

static void expect_drop_n(const char *buf, size_t n, ucp__ssdp_drop want,
                          const char *label) {
  ucp__ssdp_msg m;
  char *copy;
  ucp__ssdp_drop got = parse_heap(buf, n, &m, &copy);
  free(copy);
  if (got != want)
    fail_msg("%s: got %s (%s), want %s", label, ucp__ssdp_drop_name(got),
             ucp__ssdp_drop_text(got), ucp__ssdp_drop_name(want));
  if (got != UCP__SSDP_OK) { /* *m is reset on a drop */
    assert_null(m.location.p);
    assert_null(m.usn.p);
    assert_int_equal(m.max_age, 0);
    assert_int_equal(m.bootid, -1);
    assert_int_equal(m.mx, -1);
  }
}

static void expect_drop(const char *s, ucp__ssdp_drop want) {
  expect_drop_n(s, strlen(s), want, s);
}

typedef struct drop_case {
  const char *dgram;
  ucp__ssdp_drop want;
} drop_case;

static void run_cases(const drop_case *c, size_t n) {
  for (size_t i = 0; i < n; i++) expect_drop(c[i].dgram, c[i].want);
}

/* A minimal valid response, and its pieces. */
#define START "HTTP/1.1 200 OK\r\n"
#define H_CC "CACHE-CONTROL: max-age=1800\r\n"
#define H_LOC "LOCATION: http://10.0.0.5:80/d.xml\r\n"
#define H_ST "ST: upnp:rootdevice\r\n"
#define H_USN "USN: uuid:abc::upnp:rootdevice\r\n"
#define HDRS H_CC H_LOC H_ST H_USN
#define RESP START HDRS "\r\n"

#define NOTIFY "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
#define N_ALIVE NOTIFY "NT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n" H_USN
#define MSEARCH "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"

static int slice_inside(ucp__slice s, const char *buf, size_t len) {
  if (!s.p) return s.n == 0;
  return s.p >= buf && s.n <= len && (size_t)(s.p - buf) <= len - s.n;
}

/* Invariants of every accepted message. */
static void check_ok_msg(const ucp__ssdp_msg *m, const char *buf, size_t len) {
  const ucp__slice all[] = {m->location, m->usn,  m->nt,         m->st,
                            m->server,   m->host, m->man,        m->user_agent,
                            m->udn};
  for (size_t i = 0; i < COUNT(all); i++) {
    ucp__slice s = all[i];
    assert_true(slice_inside(s, buf, len));
    if (!s.p) continue;
    assert_null(memchr(s.p, '\r', s.n));
    assert_null(memchr(s.p, '\n', s.n));
    assert_null(memchr(s.p, '\0', s.n));
    if (s.n) assert_true(s.p[0] != ' ' && s.p[s.n - 1] != ' ' &&
                         s.p[0] != '\t' && s.p[s.n - 1] != '\t');
  }
  if (m->udn.p) assert_true(m->udn.p == m->usn.p && m->udn.n <= m->usn.n);
  assert_true(m->location.n <= UCP__SSDP_MAX_URL);
  assert_true(m->usn.n <= UCP__SSDP_MAX_USN);
  assert_true(m->max_age == 0 ||
              (m->max_age >= UCP__SSDP_MIN_AGE && m->max_age <= UCP__SSDP_MAX_AGE));
  const int64_t ids[] = {m->bootid, m->configid, m->nextbootid};
  for (size_t i = 0; i < COUNT(ids); i++)
    assert_true(ids[i] >= -1 && ids[i] <= INT32_MAX);
  assert_true(m->mx >= -1 && m->mx <= 120);
  assert_true(m->searchport == -1 ||
              (m->searchport >= 49152 && m->searchport <= 65535));
  switch (m->kind) {
  case UCP__SSDP_RESPONSE:
    assert_int_equal(m->http_status, 200);
    assert_true(m->location.n && m->usn.n && m->st.n && m->max_age);
    break;
  case UCP__SSDP_NOTIFY:
    assert_true(m->nts >= UCP__NTS_ALIVE && m->nts <= UCP__NTS_UPDATE);
    assert_true(m->nt.n && m->usn.n);
    break;
  case UCP__SSDP_MSEARCH:
    assert_true(m->st.n && m->man.n);
    break;
  default:
    fail_msg("bad kind %d", (int)m->kind);
  }
}

/* ---------------------------------------------------- the real corpus */

typedef struct corpus_fact {
  const char *file, *location, *st, *udn, *source;
  uint32_t max_age;
  int64_t bootid, configid;
} corpus_fact;

static const corpus_fact facts[] = {
    {"google-onhub-wifi-msearch-response.txt",
     "http://192.168.86.1:5000/rootDesc.xml",
     "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
     "uuid:a9708184-a6c0-413a-bbac-11bcf7e30ece", "192.168.86.1", 120, 1, 1337},
    {"huawei-router-pupnp-1.12.1-msearch-response.txt",
     "http://192.168.1.1:49652/49652gatedesc.xml",
     "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
     "uuid:00e0fc37-2525-2828-2500-0C31DCD93368", "192.168.1.1", 1800, -1, -1},
    {"logitech-harmony-hub-msearch-response-no-final-crlf.txt",
     "http://192.168.107.148:8088/description", "urn:myharmony-com:device:harmony:1",
     "uuid:...", "::ffff:192.168.107.148", 1800, 1619366886, -1},
    {"microsoft-upnp-device-host-ics-msearch-response.txt",
     "http://192.168.1.1:80/RootDevice.xml",
     "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1", "uuid:...",
     "192.168.1.1", 1900, -1, -1},
    {"pfsense-2.5.0-msearch-response.txt", "http://192.168.1.1:2189/rootDesc.xml",
     "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
     "uuid:bee7052b-49e8-3597-b545-55a1e38ac11", "192.168.1.1", 120,
     1627958564, 1337},
    {"sagemcom-fast3890v3-msearch-response.txt",
     "http://192.168.0.1:49153/69692b70/gatedesc0b.xml",
     "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
     "uuid:75802409-bccb-40e7-8e6c-fa095ecce13e", "192.168.0.1", 1800, -1, -1},
};

static const blob *corpus_file(const char *name) {
  return find_blob(corpus, ncorpus, name);
}

static void corpus_every_file(void **state) {
  (void)state;
  size_t parsed = 0;
  assert_true(ncorpus >= COUNT(facts));
  for (size_t i = 0; i < ncorpus; i++) {
    ucp__ssdp_msg m;
    char *copy;
    ucp__ssdp_drop d = parse_heap(corpus[i].p, corpus[i].n, &m, &copy);
    print_message("  %-58s %s\n", corpus[i].name, ucp__ssdp_drop_name(d));
    if (d != UCP__SSDP_OK)
      fail_msg("%s: %s", corpus[i].name, ucp__ssdp_drop_text(d));
    check_ok_msg(&m, copy, corpus[i].n);
    assert_int_equal(m.kind, UCP__SSDP_RESPONSE);
    assert_true(m.location.n && m.usn.n && m.st.n && m.max_age > 0);
    /* the device is its own answer to a search for its ST */
    assert_true(ucp__ssdp_st_matches(m.st, m.st));
    assert_true(ucp__ssdp_st_matches(S("ssdp:all"), m.st));
    free(copy);
    parsed++;
  }
  assert_int_equal(parsed, ncorpus);
}

static void corpus_facts(void **state) {
  (void)state;
  for (size_t i = 0; i < COUNT(facts); i++) {
    const corpus_fact *f = &facts[i];
    const blob *b = corpus_file(f->file);
    ucp__ssdp_msg m;
    assert_int_equal(ucp__ssdp_parse(b->p, b->n, &m), UCP__SSDP_OK);
    assert_slice_eq(m.location, f->location);
    assert_slice_eq(m.st, f->st);
    assert_slice_eq(m.udn, f->udn);
    assert_int_equal(m.max_age, f->max_age);
    assert_int_equal(m.bootid, f->bootid);
    assert_int_equal(m.configid, f->configid);
    assert_int_equal(m.nextbootid, -1);
    assert_int_equal(m.mx, -1);
    assert_int_equal(m.searchport, -1);
    const char *why = "unset";
    if (!ucp__ssdp_location_ok(m.location, f->source, &why))
      fail_msg("%s: LOCATION refused: %s", f->file, why);
    assert_null(why);
    assert_false(ucp__ssdp_location_ok(m.location, "192.168.1.99", &why));
    assert_non_null(why);
  }
}

static void corpus_quirks(void **state) {
  (void)state;
  ucp__ssdp_msg m;
  /* Harmony: no empty line at the end, "max-age = 1800", "DATE:Sun". */
  const blob *h = corpus_file("logitech-harmony-hub-msearch-response-no-final-crlf.txt");
  assert_true(h->n > 4 && memcmp(h->p + h->n - 4, "\r\n\r\n", 4) != 0);
  assert_int_equal(ucp__ssdp_parse(h->p, h->n, &m), UCP__SSDP_OK);
  assert_slice_eq(m.server, "Ubuntu/10.04 UPnP/1.1 Harmony/16.3");
  /* ... and without even the last CRLF */
  assert_int_equal(ucp__ssdp_parse(h->p, h->n - 2, &m), UCP__SSDP_OK);
  assert_int_equal(m.bootid, 1619366886);
  /* Sagemcom: empty SERVER, stray User-Agent in a response. */
  const blob *s = corpus_file("sagemcom-fast3890v3-msearch-response.txt");
  assert_int_equal(ucp__ssdp_parse(s->p, s->n, &m), UCP__SSDP_OK);
  assert_non_null(m.server.p);
  assert_int_equal(m.server.n, 0);
  assert_slice_eq(m.user_agent, "redsonic");
  /* pfSense: malformed UUID kept as sent. */
  const blob *p = corpus_file("pfsense-2.5.0-msearch-response.txt");
  assert_int_equal(ucp__ssdp_parse(p->p, p->n, &m), UCP__SSDP_OK);
  assert_slice_eq(m.usn, "uuid:bee7052b-49e8-3597-b545-55a1e38ac11::"
                         "urn:schemas-upnp-org:device:InternetGatewayDevice:1");
  /* Windows ICS: mixed-case names, "ST:urn:..." without a space. */
  const blob *w = corpus_file("microsoft-upnp-device-host-ics-msearch-response.txt");
  assert_int_equal(ucp__ssdp_parse(w->p, w->n, &m), UCP__SSDP_OK);
  assert_slice_eq(m.server, "UPnP/1.0 UPnP/1.0 UPnP-Device-Host/1.0");
  assert_slice_eq(m.usn, "uuid:...::WANCommonInterfaceConfig:1");
  /* Huawei: commas in SERVER, X-User-Agent is not User-Agent. */
  const blob *u = corpus_file("huawei-router-pupnp-1.12.1-msearch-response.txt");
  assert_int_equal(ucp__ssdp_parse(u->p, u->n, &m), UCP__SSDP_OK);
  assert_slice_eq(m.server, "Linux/4.4.240, UPnP/1.0, Portable SDK for UPnP devices/1.12.1");
  assert_null(m.user_agent.p);
}

/* ---------------------------------------------------- one test per drop */

static size_t build_sized(char *buf, size_t want) {
  size_t n = (size_t)sprintf(buf, START HDRS);
  while (n + 2 < want) {
    size_t room = want - n - 2, line = room <= 1002 ? room : 902;
    assert_true(line >= 8);
    memcpy(buf + n, "X-Pad:", 6);
    memset(buf + n + 6, 'a', line - 8);
    memcpy(buf + n + line - 2, "\r\n", 2);
    n += line;
  }
  memcpy(buf + n, "\r\n", 2);
  return n + 2;
}

static void drop_oversize(void **state) {
  (void)state;
  static char buf[UCP__SSDP_MAX_DATAGRAM + 16];
  assert_int_equal(build_sized(buf, 8192), 8192);
  expect_drop_n(buf, 8192, UCP__SSDP_OK, "8192 bytes");
  assert_int_equal(build_sized(buf, 8193), 8193);
  expect_drop_n(buf, 8193, UCP__SSDP_DROP_OVERSIZE, "8193 bytes");
  /* oversize wins over anything inside */
  memset(buf, 0, sizeof buf);
  expect_drop_n(buf, sizeof buf, UCP__SSDP_DROP_OVERSIZE, "zeros");
}

static void drop_start_line(void **state) {
  (void)state;
  static const drop_case c[] = {
      {"", UCP__SSDP_DROP_START_LINE},
      {"\r\n" RESP, UCP__SSDP_DROP_START_LINE},
      {" " RESP, UCP__SSDP_DROP_START_LINE},
      {"\tNOTIFY * HTTP/1.1\r\n" HDRS "\r\n", UCP__SSDP_DROP_START_LINE},
      {"GET / HTTP/1.1\r\n" HDRS "\r\n", UCP__SSDP_DROP_START_LINE},
      {"notify * HTTP/1.1\r\n" HDRS "\r\n", UCP__SSDP_DROP_START_LINE},
      {"NOTIFY / HTTP/1.1\r\n" HDRS "\r\n", UCP__SSDP_DROP_START_LINE},
      {"NOTIFY * HTTP/2.0\r\n" HDRS "\r\n", UCP__SSDP_DROP_START_LINE},
      {"NOTIFY *  HTTP/1.1\r\n" HDRS "\r\n", UCP__SSDP_DROP_START_LINE},
      {"M-SEARCH * HTTP/1.1x\r\n" HDRS "\r\n", UCP__SSDP_DROP_START_LINE},
      {"M-SEARCH *\r\n" HDRS "\r\n", UCP__SSDP_DROP_START_LINE},
      {"HTTP/1.1 404 Not Found\r\n" HDRS "\r\n", UCP__SSDP_DROP_START_LINE},
      {"HTTP/1.1 2000 OK\r\n" HDRS "\r\n", UCP__SSDP_DROP_START_LINE},
      {"HTTP/1.1 20 OK\r\n" HDRS "\r\n", UCP__SSDP_DROP_START_LINE},
      {"HTTP/1.1 20x OK\r\n" HDRS "\r\n", UCP__SSDP_DROP_START_LINE},
      {"HTTP/2 200 OK\r\n" HDRS "\r\n", UCP__SSDP_DROP_START_LINE},
      {"HTTP/1.1  200 OK\r\n" HDRS "\r\n", UCP__SSDP_DROP_START_LINE},
      {"CACHE-CONTROL: max-age=1800\r\n" RESP, UCP__SSDP_DROP_START_LINE},
      /* accepted: HTTP/1.0, no or any reason phrase, trailing space */
      {"HTTP/1.0 200 OK\r\n" HDRS "\r\n", UCP__SSDP_OK},
      {"HTTP/1.1 200\r\n" HDRS "\r\n", UCP__SSDP_OK},
      {"HTTP/1.1 200 Everything Fine\r\n" HDRS "\r\n", UCP__SSDP_OK},
      {"HTTP/1.1 200 OK \r\n" HDRS "\r\n", UCP__SSDP_OK},
  };
  run_cases(c, COUNT(c));
  ucp__ssdp_msg m;
  assert_int_equal(ucp__ssdp_parse(NULL, 0, &m), UCP__SSDP_DROP_START_LINE);
}

static void drop_nul(void **state) {
  (void)state;
  static const char in_value[] = START H_CC "LOCATION: http://10.0.0.5/\0x\r\n" H_ST H_USN "\r\n";
  static const char after_end[] = RESP "\0";
  static const char in_name[] = START HDRS "X\0Y: z\r\n\r\n";
  expect_drop_n(in_value, sizeof in_value - 1, UCP__SSDP_DROP_NUL, "in value");
  expect_drop_n(after_end, sizeof after_end - 1, UCP__SSDP_DROP_NUL, "after end");
  expect_drop_n(in_name, sizeof in_name - 1, UCP__SSDP_DROP_NUL, "in name");
  expect_drop_n("\0", 1, UCP__SSDP_DROP_NUL, "alone");
}

static void drop_bare_cr(void **state) {
  (void)state;
  static const drop_case c[] = {
      {START H_CC "ST: upnp:root\rdevice\r\n" H_LOC H_USN "\r\n", UCP__SSDP_DROP_BARE_CR},
      {START HDRS "\r", UCP__SSDP_DROP_BARE_CR},
      {START HDRS "\r\r\n", UCP__SSDP_DROP_BARE_CR},
      {"HTTP/1.1 200 OK\r" HDRS "\r\n", UCP__SSDP_DROP_BARE_CR},
      {RESP "trailing\rgarbage", UCP__SSDP_DROP_BARE_CR},
      /* bare LF line ends, and a mix, are fine */
      {"HTTP/1.1 200 OK\nCACHE-CONTROL: max-age=1800\nLOCATION: http://10.0.0.5/\n"
       "ST: upnp:rootdevice\nUSN: uuid:abc\n\n", UCP__SSDP_OK},
      {"HTTP/1.1 200 OK\r\n" H_CC "LOCATION: http://10.0.0.5/\n" H_ST H_USN "\n", UCP__SSDP_OK},
  };
  run_cases(c, COUNT(c));
}

static void drop_obs_fold(void **state) {
  (void)state;
  static const drop_case c[] = {
      {START HDRS "SERVER: Linux\r\n UPnP/1.0\r\n\r\n", UCP__SSDP_DROP_OBS_FOLD},
      {START HDRS "SERVER: Linux\r\n\tUPnP/1.0\r\n\r\n", UCP__SSDP_DROP_OBS_FOLD},
      {START " " HDRS "\r\n", UCP__SSDP_DROP_OBS_FOLD},
      {START HDRS " \r\n\r\n", UCP__SSDP_DROP_OBS_FOLD},
  };
  run_cases(c, COUNT(c));
}

static void drop_line_too_long(void **state) {
  (void)state;
  static char buf[4096];
  /* 1024 bytes of header line (without CRLF) are fine, 1025 are not */
  for (size_t len = 1023; len <= 1025; len++) {
    size_t n = (size_t)sprintf(buf, START HDRS "X-Long: ");
    memset(buf + n, 'v', len - 8);
    n += len - 8;
    n += (size_t)sprintf(buf + n, "\r\n\r\n");
    expect_drop_n(buf, n, len <= 1024 ? UCP__SSDP_OK : UCP__SSDP_DROP_LINE_TOO_LONG,
                  "long header line");
  }
  /* the start line too */
  size_t n = (size_t)sprintf(buf, "HTTP/1.1 200 ");
  memset(buf + n, 'O', 1100);
  n += 1100;
  n += (size_t)sprintf(buf + n, "\r\n" HDRS "\r\n");
  expect_drop_n(buf, n, UCP__SSDP_DROP_LINE_TOO_LONG, "long start line");
  /* a LOCATION over 2 KiB cannot fit in a line: LINE_TOO_LONG first */
  n = (size_t)sprintf(buf, START H_CC H_ST H_USN "LOCATION: http://10.0.0.5/");
  memset(buf + n, 'p', 2100);
  n += 2100;
  n += (size_t)sprintf(buf + n, "\r\n\r\n");
  expect_drop_n(buf, n, UCP__SSDP_DROP_LINE_TOO_LONG, "long LOCATION");
}

static void drop_too_many_headers(void **state) {
  (void)state;
  static char buf[4096];
  /* HDRS holds 4 headers; 60 more make 64 (fine), 61 make 65 */
  for (int extra = 60; extra <= 61; extra++) {
    size_t n = (size_t)sprintf(buf, START HDRS);
    for (int i = 0; i < extra; i++) n += (size_t)sprintf(buf + n, "X-%d: %d\r\n", i, i);
    n += (size_t)sprintf(buf + n, "\r\n");
    expect_drop_n(buf, n, extra == 60 ? UCP__SSDP_OK : UCP__SSDP_DROP_TOO_MANY_HEADERS,
                  "header count");
  }
}

static void drop_bad_header(void **state) {
  (void)state;
  static const drop_case c[] = {
      {START HDRS "NoColonHere\r\n\r\n", UCP__SSDP_DROP_BAD_HEADER},
      {START HDRS ": value\r\n\r\n", UCP__SSDP_DROP_BAD_HEADER},
      {START HDRS "X Y: z\r\n\r\n", UCP__SSDP_DROP_BAD_HEADER},
      {START HDRS "X(: z\r\n\r\n", UCP__SSDP_DROP_BAD_HEADER},
      {START HDRS "X\x01Y: z\r\n\r\n", UCP__SSDP_DROP_BAD_HEADER},
      {START HDRS "X\x80Y: z\r\n\r\n", UCP__SSDP_DROP_BAD_HEADER},
      {START HDRS "\"ST\": z\r\n\r\n", UCP__SSDP_DROP_BAD_HEADER},
      /* accepted: space before the colon, no space after, odd tokens */
      {START HDRS "X-Name : value\r\nDATE:Sun, 25 Apr 2021\r\n01-NLS: 1\r\nEXT:\r\n"
       "X!#$%&'*+-.^_`|~: z\r\n\r\n", UCP__SSDP_OK},
  };
  run_cases(c, COUNT(c));
}

static void drop_duplicate(void **state) {
  (void)state;
  static const drop_case c[] = {
      {START HDRS "location: http://10.0.0.6/\r\n\r\n", UCP__SSDP_DROP_DUPLICATE},
      {START HDRS "Usn: uuid:other\r\n\r\n", UCP__SSDP_DROP_DUPLICATE},
      {START HDRS "st: ssdp:all\r\n\r\n", UCP__SSDP_DROP_DUPLICATE},
      {START HDRS "NT: a\r\nNT: b\r\n\r\n", UCP__SSDP_DROP_DUPLICATE},
      {START HDRS "LOCATION:\r\n\r\n", UCP__SSDP_DROP_DUPLICATE}, /* even empty */
      {START HDRS "SERVER: one\r\nSERVER: two\r\n\r\n", UCP__SSDP_OK},
  };
  run_cases(c, COUNT(c));
  /* other duplicates: the first one is kept */
  ucp__ssdp_msg m;
  const char *s = START "CACHE-CONTROL: max-age=100\r\n" HDRS
                  "SERVER: one\r\nSERVER: two\r\nBOOTID.UPNP.ORG: 1\r\nBOOTID.UPNP.ORG: x\r\n\r\n";
  assert_int_equal(ucp__ssdp_parse(s, strlen(s), &m), UCP__SSDP_OK);
  assert_slice_eq(m.server, "one");
  assert_int_equal(m.max_age, 100);
  assert_int_equal(m.bootid, 1);
}

static void drop_missing(void **state) {
  (void)state;
  static const drop_case c[] = {
      {START H_CC H_ST H_USN "\r\n", UCP__SSDP_DROP_MISSING},
      {START H_CC H_LOC H_ST "\r\n", UCP__SSDP_DROP_MISSING},
      {START H_CC H_LOC H_USN "\r\n", UCP__SSDP_DROP_MISSING},
      {START H_LOC H_ST H_USN "\r\n", UCP__SSDP_DROP_MISSING},
      {START "CACHE-CONTROL: no-cache\r\n" H_LOC H_ST H_USN "\r\n", UCP__SSDP_DROP_MISSING},
      {START "CACHE-CONTROL:\r\n" H_LOC H_ST H_USN "\r\n", UCP__SSDP_DROP_MISSING},
      {START H_CC "LOCATION:\r\n" H_ST H_USN "\r\n", UCP__SSDP_DROP_MISSING},
      {START H_CC H_LOC "ST:   \r\n" H_USN "\r\n", UCP__SSDP_DROP_MISSING},
      {"HTTP/1.1 200 OK\r\n", UCP__SSDP_DROP_MISSING},
      {"HTTP/1.1 200 OK", UCP__SSDP_DROP_MISSING},
      /* NOTIFY */
      {N_ALIVE H_CC "\r\n", UCP__SSDP_DROP_MISSING},             /* alive, LOCATION */
      {N_ALIVE H_LOC "\r\n", UCP__SSDP_DROP_MISSING},            /* alive, max-age */
      {NOTIFY "NTS: ssdp:alive\r\n" H_USN H_CC H_LOC "\r\n", UCP__SSDP_DROP_MISSING},
      {NOTIFY "NT: upnp:rootdevice\r\n" H_USN H_CC H_LOC "\r\n", UCP__SSDP_DROP_MISSING},
      {NOTIFY "NT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n" H_CC H_LOC "\r\n",
       UCP__SSDP_DROP_MISSING},
      {NOTIFY "NT: upnp:rootdevice\r\nNTS: ssdp:byebye\r\n\r\n", UCP__SSDP_DROP_MISSING},
      {NOTIFY "NTS: ssdp:byebye\r\n" H_USN "\r\n", UCP__SSDP_DROP_MISSING},
      {NOTIFY "NT: upnp:rootdevice\r\nNTS: ssdp:update\r\n" H_USN "\r\n",
       UCP__SSDP_DROP_MISSING},
      /* M-SEARCH */
      {MSEARCH "ST: ssdp:all\r\nMX: 2\r\n\r\n", UCP__SSDP_DROP_MISSING},
      {MSEARCH "MAN: ssdp:discover\r\nST: ssdp:all\r\nMX: 2\r\n\r\n", UCP__SSDP_DROP_MISSING},
      {MSEARCH "MAN: \"ssdp:other\"\r\nST: ssdp:all\r\nMX: 2\r\n\r\n", UCP__SSDP_DROP_MISSING},
      {MSEARCH "MAN: \"ssdp:discover\"\r\nMX: 2\r\n\r\n", UCP__SSDP_DROP_MISSING},
      {MSEARCH "MAN: \"ssdp:discover\"\r\nST: ssdp:all\r\n\r\n", UCP__SSDP_DROP_MISSING},
      {"M-SEARCH * HTTP/1.1\r\nHOST: [ff02::c]:1900\r\nMAN: \"ssdp:discover\"\r\n"
       "ST: ssdp:all\r\n\r\n", UCP__SSDP_DROP_MISSING},
      {"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250\r\nMAN: \"ssdp:discover\"\r\n"
       "ST: ssdp:all\r\n\r\n", UCP__SSDP_DROP_MISSING},
      /* byebye needs neither LOCATION nor max-age; unicast needs no MX */
      {NOTIFY "NT: upnp:rootdevice\r\nNTS: ssdp:byebye\r\n" H_USN "\r\n", UCP__SSDP_OK},
      {"M-SEARCH * HTTP/1.1\r\nHOST: 10.0.0.5:1900\r\nMAN: \"ssdp:discover\"\r\n"
       "ST: ssdp:all\r\n\r\n", UCP__SSDP_OK},
      {"M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nST: ssdp:all\r\n\r\n", UCP__SSDP_OK},
  };
  run_cases(c, COUNT(c));
}

static void drop_bad_number(void **state) {
  (void)state;
  static const drop_case c[] = {
      {START "CACHE-CONTROL: max-age=99999999999999999999\r\n" H_LOC H_ST H_USN "\r\n",
       UCP__SSDP_DROP_BAD_NUMBER},
      {START "CACHE-CONTROL: max-age=4294967296\r\n" H_LOC H_ST H_USN "\r\n",
       UCP__SSDP_DROP_BAD_NUMBER},
      {START "CACHE-CONTROL: max-age=-5\r\n" H_LOC H_ST H_USN "\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START "CACHE-CONTROL: max-age=+5\r\n" H_LOC H_ST H_USN "\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START "CACHE-CONTROL: max-age=1e3\r\n" H_LOC H_ST H_USN "\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START "CACHE-CONTROL: max-age=0x10\r\n" H_LOC H_ST H_USN "\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START "CACHE-CONTROL: max-age=12abc\r\n" H_LOC H_ST H_USN "\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START "CACHE-CONTROL: max-age=1 2\r\n" H_LOC H_ST H_USN "\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START "CACHE-CONTROL: max-age=\r\n" H_LOC H_ST H_USN "\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START "CACHE-CONTROL: max-age\r\n" H_LOC H_ST H_USN "\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START "CACHE-CONTROL: max-age=\"1800\"\r\n" H_LOC H_ST H_USN "\r\n",
       UCP__SSDP_DROP_BAD_NUMBER},
      {START HDRS "BOOTID.UPNP.ORG: 2147483648\r\n\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START HDRS "BOOTID.UPNP.ORG: -1\r\n\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START HDRS "BOOTID.UPNP.ORG:\r\n\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START HDRS "CONFIGID.UPNP.ORG: 1.5\r\n\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START HDRS "NEXTBOOTID.UPNP.ORG: 99999999999\r\n\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START HDRS "SEARCHPORT.UPNP.ORG: 1900\r\n\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START HDRS "SEARCHPORT.UPNP.ORG: 65536\r\n\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {START HDRS "SEARCHPORT.UPNP.ORG: 49151\r\n\r\n", UCP__SSDP_DROP_BAD_NUMBER},
      {MSEARCH "MAN: \"ssdp:discover\"\r\nST: ssdp:all\r\nMX: 121\r\n\r\n",
       UCP__SSDP_DROP_BAD_NUMBER},
      {MSEARCH "MAN: \"ssdp:discover\"\r\nST: ssdp:all\r\nMX: two\r\n\r\n",
       UCP__SSDP_DROP_BAD_NUMBER},
      {MSEARCH "MAN: \"ssdp:discover\"\r\nST: ssdp:all\r\nMX: -1\r\n\r\n",
       UCP__SSDP_DROP_BAD_NUMBER},
      /* accepted edges */
      {START HDRS "BOOTID.UPNP.ORG: 2147483647\r\nCONFIGID.UPNP.ORG: 0\r\n"
       "SEARCHPORT.UPNP.ORG: 49152\r\nNEXTBOOTID.UPNP.ORG: 0002\r\n\r\n", UCP__SSDP_OK},
      {START HDRS "SEARCHPORT.UPNP.ORG: 65535\r\n\r\n", UCP__SSDP_OK},
      {MSEARCH "MAN: \"ssdp:discover\"\r\nST: ssdp:all\r\nMX: 120\r\n\r\n", UCP__SSDP_OK},
      {MSEARCH "MAN: \"ssdp:discover\"\r\nST: ssdp:all\r\nMX: 0\r\n\r\n", UCP__SSDP_OK},
      /* MX means nothing outside M-SEARCH: not checked there */
      {START HDRS "MX: junk\r\n\r\n", UCP__SSDP_OK},
  };
  run_cases(c, COUNT(c));
}

static void drop_too_long(void **state) {
  (void)state;
  static char buf[2048];
  for (size_t len = 511; len <= 513; len++) {
    size_t n = (size_t)sprintf(buf, START H_CC H_LOC H_ST "USN: uuid:");
    memset(buf + n, 'u', len - 5);
    n += len - 5;
    n += (size_t)sprintf(buf + n, "\r\n\r\n");
    expect_drop_n(buf, n, len <= UCP__SSDP_MAX_USN ? UCP__SSDP_OK : UCP__SSDP_DROP_TOO_LONG,
                  "long USN");
  }
}

static void drop_bad_nts(void **state) {
  (void)state;
  static const drop_case c[] = {
      {NOTIFY "NT: upnp:rootdevice\r\nNTS: ssdp:dead\r\n" H_USN H_CC H_LOC "\r\n",
       UCP__SSDP_DROP_BAD_NTS},
      {NOTIFY "NT: upnp:rootdevice\r\nNTS:\r\n" H_USN H_CC H_LOC "\r\n", UCP__SSDP_DROP_BAD_NTS},
      {NOTIFY "NT: upnp:rootdevice\r\nNTS: ssdp:alive2\r\n" H_USN H_CC H_LOC "\r\n",
       UCP__SSDP_DROP_BAD_NTS},
      {NOTIFY "NT: upnp:rootdevice\r\nNTS: SSDP:ALIVE\r\n" H_USN H_CC H_LOC "\r\n", UCP__SSDP_OK},
      /* NTS is not read in a response */
      {START HDRS "NTS: anything\r\n\r\n", UCP__SSDP_OK},
  };
  run_cases(c, COUNT(c));
}

static void drop_texts(void **state) {
  (void)state;
  assert_string_equal(ucp__ssdp_drop_name(UCP__SSDP_OK), "OK");
  assert_string_equal(ucp__ssdp_drop_name(UCP__SSDP_DROP_BARE_CR), "BARE_CR");
  assert_string_equal(ucp__ssdp_drop_text(UCP__SSDP_DROP_OVERSIZE), "datagram over 8 KiB");
  assert_int_equal(UCP__SSDP_DROP__COUNT, 14);
  for (int i = 1; i < UCP__SSDP_DROP__COUNT; i++) {
    assert_true(strlen(ucp__ssdp_drop_text((ucp__ssdp_drop)i)) > 3);
    for (int j = 1; j < i; j++)
      assert_string_not_equal(ucp__ssdp_drop_text((ucp__ssdp_drop)i),
                              ucp__ssdp_drop_text((ucp__ssdp_drop)j));
  }
  assert_string_equal(ucp__ssdp_drop_name(UCP__SSDP_DROP__COUNT), "UNKNOWN");
  assert_non_null(ucp__ssdp_drop_text((ucp__ssdp_drop)-1));
}

/* ---------------------------------------------------- numbers */

static uint32_t max_age_of(const char *cc) {
  char buf[512];
  ucp__ssdp_msg m;
  int n = snprintf(buf, sizeof buf, START "CACHE-CONTROL: %s\r\n" H_LOC H_ST H_USN "\r\n", cc);
  ucp__ssdp_drop d = ucp__ssdp_parse(buf, (size_t)n, &m);
  if (d != UCP__SSDP_OK) fail_msg("\"%s\": %s", cc, ucp__ssdp_drop_name(d));
  return m.max_age;
}

static void numbers_max_age(void **state) {
  (void)state;
  assert_int_equal(max_age_of("max-age=1800"), 1800);
  assert_int_equal(max_age_of("max-age = 1800"), 1800);
  assert_int_equal(max_age_of("MAX-AGE=1800"), 1800);
  assert_int_equal(max_age_of("max-age=\t60 "), 60);
  assert_int_equal(max_age_of("max-age=5"), 30);
  assert_int_equal(max_age_of("max-age=0"), 30);
  assert_int_equal(max_age_of("max-age=30"), 30);
  assert_int_equal(max_age_of("max-age=86400"), 86400);
  assert_int_equal(max_age_of("max-age=1000000"), 86400);
  assert_int_equal(max_age_of("max-age=4294967295"), 86400);
  assert_int_equal(max_age_of("max-age=00000000000000000000000120"), 120);
  assert_int_equal(max_age_of("no-cache, max-age=60"), 60);
  assert_int_equal(max_age_of("public,max-age=60,private"), 60);
  assert_int_equal(max_age_of("no-cache=\"a, max-age=5\", max-age=900"), 900);
  assert_int_equal(max_age_of("max-age=100, max-age=200"), 100);
  assert_int_equal(max_age_of("s-max-age=5, max-age=600"), 600);
}

static void numbers_parser(void **state) {
  (void)state;
  uint64_t v = 7;
  assert_int_equal(ucp__ssdp_parse_uint(S("0"), 10, &v), 0);
  assert_int_equal(v, 0);
  assert_int_equal(ucp__ssdp_parse_uint(S(" 42\t"), 42, &v), 0);
  assert_int_equal(v, 42);
  assert_int_equal(ucp__ssdp_parse_uint(S("43"), 42, &v), -1);
  assert_int_equal(ucp__ssdp_parse_uint(S("7"), 5, &v), -1); /* digit > max */
  assert_int_equal(ucp__ssdp_parse_uint(S("18446744073709551615"), UINT64_MAX, &v), 0);
  assert_true(v == UINT64_MAX);
  assert_int_equal(ucp__ssdp_parse_uint(S("18446744073709551616"), UINT64_MAX, &v), -1);
  assert_int_equal(ucp__ssdp_parse_uint(S("2147483647"), INT32_MAX, &v), 0);
  assert_int_equal(ucp__ssdp_parse_uint(S("2147483648"), INT32_MAX, &v), -1);
  const char *bad[] = {"", " ", "-1", "+1", "1e3", "0x1", "1 2", "١", "1.0", "١2"};
  for (size_t i = 0; i < COUNT(bad); i++)
    assert_int_equal(ucp__ssdp_parse_uint(S(bad[i]), UINT64_MAX, &v), -1);
  ucp__slice absent = {NULL, 0};
  assert_int_equal(ucp__ssdp_parse_uint(absent, 10, &v), -1);
}

/* ---------------------------------------------------- NOTIFY, M-SEARCH */

static ucp__ssdp_msg parse_data(const char *name) {
  const blob *b = find_blob(data, ndata, name);
  ucp__ssdp_msg m;
  ucp__ssdp_drop d = ucp__ssdp_parse(b->p, b->n, &m);
  if (d != UCP__SSDP_OK) fail_msg("%s: %s", name, ucp__ssdp_drop_name(d));
  check_ok_msg(&m, b->p, b->n);
  return m;
}

static void notify_kinds(void **state) {
  (void)state;
  ucp__ssdp_msg m = parse_data("notify-alive.txt");
  assert_int_equal(m.kind, UCP__SSDP_NOTIFY);
  assert_int_equal(m.nts, UCP__NTS_ALIVE);
  assert_int_equal(m.http_status, 0);
  assert_slice_eq(m.nt, "urn:schemas-upnp-org:device:MediaRenderer:1");
  assert_slice_eq(m.udn, "uuid:4d696e69-444c-164e-9d41-b827eb1a2b3c");
  assert_slice_eq(m.location, "http://192.168.1.20:49152/description.xml");
  assert_slice_eq(m.host, "239.255.255.250:1900");
  assert_null(m.st.p);
  assert_int_equal(m.max_age, 1800);
  assert_int_equal(m.bootid, 7);
  assert_int_equal(m.configid, 1);
  assert_int_equal(m.searchport, 49200);
  assert_int_equal(m.mx, -1);

  m = parse_data("notify-byebye.txt");
  assert_int_equal(m.nts, UCP__NTS_BYEBYE);
  assert_slice_eq(m.nt, "upnp:rootdevice");
  assert_slice_eq(m.udn, "uuid:4d696e69-444c-164e-9d41-b827eb1a2b3c");
  assert_null(m.location.p);
  assert_int_equal(m.max_age, 0);

  m = parse_data("notify-update.txt");
  assert_int_equal(m.nts, UCP__NTS_UPDATE);
  assert_slice_eq(m.udn, "uuid:4d696e69-444c-164e-9d41-b827eb1a2b3c");
  assert_slice_eq(m.usn, "uuid:4d696e69-444c-164e-9d41-b827eb1a2b3c");
  assert_int_equal(m.nextbootid, 8);
  assert_int_equal(m.max_age, 0);
}

static void msearch_kinds(void **state) {
  (void)state;
  ucp__ssdp_msg m = parse_data("msearch-multicast.txt");
  assert_int_equal(m.kind, UCP__SSDP_MSEARCH);
  assert_int_equal(m.mx, 2);
  assert_slice_eq(m.man, "\"ssdp:discover\"");
  assert_slice_eq(m.st, "urn:schemas-upnp-org:device:InternetGatewayDevice:1");
  assert_slice_eq(m.user_agent, "Linux/6.1 UPnP/2.0 upnpcp/0.1");
  assert_int_equal(m.nts, UCP__NTS_NONE);

  m = parse_data("msearch-ipv6.txt");
  assert_int_equal(m.mx, 3);
  assert_slice_eq(m.host, "[FF02::C]:1900");
  assert_slice_eq(m.st, "ssdp:all");

  m = parse_data("msearch-unicast.txt");
  assert_int_equal(m.mx, -1);
  assert_slice_eq(m.host, "192.168.1.20:1900");
  assert_slice_eq(m.st, "upnp:rootdevice");

  m = parse_data("response-lf-only.txt");
  assert_int_equal(m.kind, UCP__SSDP_RESPONSE);
  assert_slice_eq(m.usn, "uuid:4d696e69-444c-164e-9d41-b827eb1a2b3c::upnp:rootdevice");
  assert_int_equal(ndata, 7);
}

static void udn_extraction(void **state) {
  (void)state;
  static const struct { const char *usn, *udn; } c[] = {
      {"uuid:abc::upnp:rootdevice", "uuid:abc"},
      {"uuid:abc", "uuid:abc"},
      {"uuid:abc::urn:schemas-upnp-org:service:X:1", "uuid:abc"},
      {"uuid:a:b::c::d", "uuid:a:b"},
      {"uuid:abc:", "uuid:abc:"},
      {"::x", ""},
      {"uuid:abc ::x", "uuid:abc"},
  };
  for (size_t i = 0; i < COUNT(c); i++) {
    char buf[512];
    ucp__ssdp_msg m;
    int n = snprintf(buf, sizeof buf, START H_CC H_LOC H_ST "USN: %s\r\n\r\n", c[i].usn);
    assert_int_equal(ucp__ssdp_parse(buf, (size_t)n, &m), UCP__SSDP_OK);
    assert_slice_eq(m.usn, c[i].usn);
    assert_slice_eq(m.udn, c[i].udn);
    assert_true(m.udn.p == m.usn.p);
  }
}

/* ---------------------------------------------------- ST matching */

static void st_matching(void **state) {
  (void)state;
#define DEV "urn:schemas-upnp-org:device:"
#define SVC "urn:schemas-upnp-org:service:"
  static const struct { const char *st, *nt; int want; } c[] = {
      {"ssdp:all", "upnp:rootdevice", 1},
      {"ssdp:all", "uuid:abc", 1},
      {"ssdp:all", DEV "MediaRenderer:1", 1},
      {"SSDP:ALL", "whatever", 1},
      {"upnp:rootdevice", "upnp:rootdevice", 1},
      {"upnp:rootdevice", "uuid:abc", 0},
      {"upnp:rootdevice", DEV "MediaRenderer:1", 0},
      {"uuid:abc-123", "uuid:abc-123", 1},
      {"uuid:ABC-123", "uuid:abc-123", 1},
      {"uuid:abc-123", "uuid:abc-1234", 0},
      {"uuid:abc-123", "upnp:rootdevice", 0},
      {"uuid:", "uuid:", 0},
      {DEV "MediaRenderer:1", DEV "MediaRenderer:1", 1},
      {DEV "MediaRenderer:1", DEV "MediaRenderer:3", 1},
      {DEV "MediaRenderer:2", DEV "MediaRenderer:1", 0},
      {DEV "MediaRenderer:01", DEV "MediaRenderer:1", 1},
      {SVC "AVTransport:1", SVC "AVTransport:3", 1},
      {SVC "AVTransport:3", SVC "AVTransport:1", 0},
      {SVC "AVTransport:2", SVC "AVTransport:2", 1},
      {DEV "MediaRenderer:1", "urn:example-com:device:MediaRenderer:1", 0},
      {DEV "MediaRenderer:1", DEV "MediaServer:1", 0},
      {DEV "AVTransport:1", SVC "AVTransport:1", 0},
      {DEV "MediaRenderer:1", DEV "mediarenderer:1", 0},
      {"URN:Schemas-UPnP-Org:DEVICE:MediaRenderer:1", DEV "MediaRenderer:1", 1},
      {"urn:myharmony-com:device:harmony:1", "urn:myharmony-com:device:harmony:1", 1},
      {DEV "MediaRenderer:1", "uuid:abc", 0},
      {DEV "MediaRenderer:1", "upnp:rootdevice", 0},
      /* malformed */
      {DEV "MediaRenderer", DEV "MediaRenderer", 0},
      {DEV "MediaRenderer:", DEV "MediaRenderer:1", 0},
      {DEV "MediaRenderer:1a", DEV "MediaRenderer:1", 0},
      {DEV "MediaRenderer:-1", DEV "MediaRenderer:1", 0},
      {DEV "MediaRenderer: 1", DEV "MediaRenderer:1", 0},
      {DEV ":1", DEV ":1", 0},
      {"urn::device:X:1", "urn::device:X:1", 0},
      {"urn:schemas-upnp-org:thing:X:1", "urn:schemas-upnp-org:thing:X:1", 0},
      {DEV "X:1:2", DEV "X:1:2", 0},
      {DEV "X:1", DEV "X:99999999999", 0},
      {DEV "X:1", DEV "X", 0},
      {"foo:bar", "foo:bar", 0},
      {"", "", 0},
      {"", "upnp:rootdevice", 0},
      {"ssdp:all", "", 0},
  };
  for (size_t i = 0; i < COUNT(c); i++)
    if (ucp__ssdp_st_matches(S(c[i].st), S(c[i].nt)) != c[i].want)
      fail_msg("st \"%s\" nt \"%s\": want %d", c[i].st, c[i].nt, c[i].want);
  ucp__slice absent = {NULL, 0};
  assert_false(ucp__ssdp_st_matches(absent, S("upnp:rootdevice")));
  assert_false(ucp__ssdp_st_matches(S("ssdp:all"), absent));
#undef DEV
#undef SVC
}

/* ---------------------------------------------------- M-SEARCH builder */

static void build_round_trip(const char *host, const char *st, int mx, const char *ua,
                             ucp__ssdp_drop want) {
  char buf[2048];
  ucp__ssdp_msg m;
  size_t n = ucp__ssdp_build_msearch(buf, sizeof buf, host, st, mx, ua);
  assert_true(n > 0);
  assert_int_equal(strlen(buf), n);
  assert_int_equal(ucp__ssdp_parse(buf, n, &m), want);
  if (want != UCP__SSDP_OK) return;
  check_ok_msg(&m, buf, n);
  assert_int_equal(m.kind, UCP__SSDP_MSEARCH);
  assert_slice_eq(m.host, host);
  assert_slice_eq(m.st, st);
  assert_slice_eq(m.man, "\"ssdp:discover\"");
  assert_int_equal(m.mx, mx < 0 ? -1 : mx);
  assert_slice_eq(m.user_agent, ua && *ua ? ua : NULL);
}

static void build_msearch(void **state) {
  (void)state;
  build_round_trip("239.255.255.250:1900", "ssdp:all", 2, "Linux/6.1 UPnP/2.0 upnpcp/0.1",
                   UCP__SSDP_OK);
  build_round_trip("[FF02::C]:1900", "urn:schemas-upnp-org:device:MediaServer:1", 1, NULL,
                   UCP__SSDP_OK);
  build_round_trip("10.0.0.5:1900", "upnp:rootdevice", -1, "", UCP__SSDP_OK);
  build_round_trip("239.255.255.250:1900", "ssdp:all", 120, NULL, UCP__SSDP_OK);
  build_round_trip("239.255.255.250:1900", "ssdp:all", 0, NULL, UCP__SSDP_OK);
  /* a multicast search without MX is built, and refused by the parser */
  build_round_trip("239.255.255.250:1900", "ssdp:all", -1, NULL, UCP__SSDP_DROP_MISSING);

  char buf[2048];
  const char *h = "239.255.255.250:1900";
  /* injection */
  assert_int_equal(ucp__ssdp_build_msearch(buf, sizeof buf, h, "ssdp:all\r\nX: y", 2, NULL), 0);
  assert_int_equal(buf[0], '\0');
  assert_int_equal(ucp__ssdp_build_msearch(buf, sizeof buf, h, "ssdp:all\nX: y", 2, NULL), 0);
  assert_int_equal(ucp__ssdp_build_msearch(buf, sizeof buf, h, "ssdp:all\r", 2, NULL), 0);
  assert_int_equal(ucp__ssdp_build_msearch(buf, sizeof buf, "1.2.3.4:1900\r\nST: x", "ssdp:all",
                                           2, NULL), 0);
  assert_int_equal(ucp__ssdp_build_msearch(buf, sizeof buf, h, "ssdp:all", 2, "ua\r\nX: y"), 0);
  /* bad arguments */
  assert_int_equal(ucp__ssdp_build_msearch(buf, sizeof buf, NULL, "ssdp:all", 2, NULL), 0);
  assert_int_equal(ucp__ssdp_build_msearch(buf, sizeof buf, "", "ssdp:all", 2, NULL), 0);
  assert_int_equal(ucp__ssdp_build_msearch(buf, sizeof buf, h, NULL, 2, NULL), 0);
  assert_int_equal(ucp__ssdp_build_msearch(buf, sizeof buf, h, "", 2, NULL), 0);
  assert_int_equal(ucp__ssdp_build_msearch(buf, sizeof buf, h, "ssdp:all", 121, NULL), 0);
  assert_int_equal(ucp__ssdp_build_msearch(NULL, 100, h, "ssdp:all", 2, NULL), 0);
  /* too small: every capacity up to the length fails, length+1 fits */
  size_t len = ucp__ssdp_build_msearch(buf, sizeof buf, h, "ssdp:all", 2, "ua/1");
  assert_true(len > 0);
  for (size_t cap = 0; cap <= len; cap++) {
    char *small = malloc(cap ? cap : 1);
    assert_non_null(small);
    assert_int_equal(ucp__ssdp_build_msearch(small, cap, h, "ssdp:all", 2, "ua/1"), 0);
    if (cap) assert_int_equal(small[0], '\0');
    free(small);
  }
  char *exact = malloc(len + 1);
  assert_non_null(exact);
  assert_int_equal(ucp__ssdp_build_msearch(exact, len + 1, h, "ssdp:all", 2, "ua/1"), len);
  free(exact);
  /* lines at the cap: "ST: " + 1020 fits, 1021 would be refused by the parser */
  char st[1100];
  memset(st, 's', sizeof st);
  st[1020] = '\0';
  build_round_trip("10.0.0.5:1900", st, -1, NULL, UCP__SSDP_OK);
  st[1020] = 's', st[1021] = '\0';
  assert_int_equal(ucp__ssdp_build_msearch(buf, sizeof buf, h, st, 2, NULL), 0);
}

/* ---------------------------------------------------- LOCATION rule */

static void location_rule(void **state) {
  (void)state;
  static const struct { const char *loc, *src; int want; } c[] = {
      {"http://192.168.1.1:5000/rootDesc.xml", "192.168.1.1", 1},
      {"http://192.168.1.1/rootDesc.xml", "192.168.1.1", 1},
      {"HTTP://192.168.1.1:80/", "192.168.1.1", 1},
      {"http://192.168.1.2:5000/rootDesc.xml", "192.168.1.1", 0},   /* other IP */
      {"http://router.local:5000/rootDesc.xml", "192.168.1.1", 0},  /* host name */
      {"http://localhost/x", "127.0.0.1", 0},
      {"http://user@192.168.1.1/x", "192.168.1.1", 0},              /* userinfo */
      {"http://user:pw@192.168.1.1/x", "192.168.1.1", 0},
      {"http://192.168.1.1@10.0.0.5/x", "10.0.0.5", 0},
      {"http://10.0.0.5#@evil.example/x", "10.0.0.5", 0},
      {"http://10.0.0.5\\@evil.example/x", "10.0.0.5", 0},
      {"http://10.0.0.5\\evil.example/x", "10.0.0.5", 0},
      {"https://192.168.1.1/x", "192.168.1.1", 0},                  /* scheme */
      {"ftp://192.168.1.1/x", "192.168.1.1", 0},
      {"http:/192.168.1.1/x", "192.168.1.1", 0},
      {"//192.168.1.1/x", "192.168.1.1", 0},
      {"http://[fe80::1]:8080/d.xml", "fe80::1", 1},                /* IPv6 */
      {"http://[fe80::1]:8080/d.xml", "fe80::1%eth0", 1},
      {"http://[FE80:0:0::0001]/d.xml", "fe80::1", 1},
      {"http://[2001:db8::5]/d.xml", "2001:db8::5", 1},
      {"http://[fe80::1]:8080/d.xml", "fe80::2", 0},
      {"http://[fe80::1]:8080/d.xml", "10.0.0.5", 0},
      {"http://fe80::1/d.xml", "fe80::1", 0},                       /* no brackets */
      {"http://[fe80::1%25eth0]/d.xml", "fe80::1", 0},              /* zone */
      {"http://[fe80::1/d.xml", "fe80::1", 0},
      {"http://[fe80::1]x/d.xml", "fe80::1", 0},
      {"http://[10.0.0.5]/d.xml", "10.0.0.5", 0},                   /* v4 in brackets */
      {"http://[::ffff:10.0.0.5]:80/d.xml", "10.0.0.5", 1},         /* IPv4-mapped */
      {"http://10.0.0.5:80/d.xml", "::ffff:10.0.0.5", 1},
      {"http://[::ffff:10.0.0.5]/d.xml", "::FFFF:10.0.0.5", 1},
      {"http://[::ffff:10.0.0.6]/d.xml", "10.0.0.5", 0},
      {"http://127.0.0.1:8080/d.xml", "10.0.0.5", 0},               /* loopback */
      {"http://127.0.0.1:8080/d.xml", "127.0.0.1", 1},
      {"http://127.0.0.2:8080/d.xml", "127.0.0.1", 0},
      {"http://[::1]:8080/d.xml", "::1", 1},
      {"http://[::1]:8080/d.xml", "10.0.0.5", 0},
      {"http://[::ffff:127.0.0.1]/d.xml", "10.0.0.5", 0},
      {"http://[::ffff:127.0.0.1]/d.xml", "127.0.0.1", 1},
      {"http://127.0.0.1/d.xml", "::ffff:127.0.0.1", 1},
      {"http://0x0a.0.0.5/d.xml", "10.0.0.5", 0},                   /* other IPv4 forms */
      {"http://167772165/d.xml", "10.0.0.5", 0},
      {"http://10.0.5/d.xml", "10.0.0.5", 0},
      {"http://10.0.0.5./d.xml", "10.0.0.5", 0},
      {"http://0.0.0.0/d.xml", "0.0.0.0", 0},                       /* non-unicast */
      {"http://[::]/d.xml", "::", 0},
      {"http://239.255.255.250/d.xml", "239.255.255.250", 0},
      {"http://255.255.255.255/d.xml", "255.255.255.255", 0},
      {"http://[ff02::c]/d.xml", "ff02::c", 0},
      {"http://10.0.0.5:0/d.xml", "10.0.0.5", 0},                   /* ports */
      {"http://10.0.0.5:65535/d.xml", "10.0.0.5", 1},
      {"http://10.0.0.5:65536/d.xml", "10.0.0.5", 0},
      {"http://10.0.0.5:/d.xml", "10.0.0.5", 0},
      {"http://10.0.0.5:80a/d.xml", "10.0.0.5", 0},
      {"http://10.0.0.5:-80/d.xml", "10.0.0.5", 0},
      {"http://10.0.0.5:80:81/d.xml", "10.0.0.5", 0},
      {"http://10.0.0.5", "10.0.0.5", 0},                           /* no path */
      {"http://10.0.0.5:80", "10.0.0.5", 0},
      {"http://10.0.0.5?x=/", "10.0.0.5", 0},
      {"http:///d.xml", "10.0.0.5", 0},
      {"http://10.0.0.5/a b", "10.0.0.5", 0},                       /* space, control */
      {"http://10.0.0.5/a\tb", "10.0.0.5", 0},
      {"http://10.0.0.5/a\x7f", "10.0.0.5", 0},
      {"http://10.0.0.5/d.xml", "not-an-ip", 0},                    /* bad source */
      {"http://10.0.0.5/d.xml", "", 0},
      {"http://10.0.0.5/d.xml", "10.0.0.5:1900", 0},
      {"", "10.0.0.5", 0},
  };
  for (size_t i = 0; i < COUNT(c); i++) {
    const char *why = "unset";
    int got = ucp__ssdp_location_ok(S(c[i].loc), c[i].src, &why);
    if (got != c[i].want)
      fail_msg("LOCATION \"%s\" from %s: got %d (%s), want %d", c[i].loc, c[i].src, got,
               why ? why : "-", c[i].want);
    if (got) assert_null(why);
    else assert_true(why && *why);
  }
  const char *why;
  assert_false(ucp__ssdp_location_ok(S("http://10.0.0.5/d.xml"), NULL, &why));
  ucp__slice absent = {NULL, 0};
  assert_false(ucp__ssdp_location_ok(absent, "10.0.0.5", NULL));
  assert_true(ucp__ssdp_location_ok(S("http://10.0.0.5/d.xml"), "10.0.0.5", NULL));
  /* over-long: 2048 bytes are fine, 2049 are not */
  static char url[2100];
  int n = sprintf(url, "http://10.0.0.5/");
  memset(url + n, 'a', sizeof url - (size_t)n);
  ucp__slice s = {url, 2048};
  assert_true(ucp__ssdp_location_ok(s, "10.0.0.5", &why));
  s.n = 2049;
  assert_false(ucp__ssdp_location_ok(s, "10.0.0.5", &why));
  assert_string_equal(why, "LOCATION longer than 2048 bytes");
  /* a slice is not a C string: bytes past n are never read */
  s.n = 20; /* "http://10.0.0.5/aaaa" */
  assert_true(ucp__ssdp_location_ok(s, "10.0.0.5", &why));
  ucp__slice cut = {"http://10.0.0.5/x", 15}; /* "http://10.0.0.5": no path */
  assert_false(ucp__ssdp_location_ok(cut, "10.0.0.5", &why));
}

/* ---------------------------------------------------- mutation loop */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t rnd_below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

enum { WORK_CAP = UCP__SSDP_MAX_DATAGRAM + 512 };

static void insert_bytes(char *w, size_t *len, size_t at, const char *src, size_t n) {
  if (*len + n > WORK_CAP) n = WORK_CAP - *len;
  memmove(w + at + n, w + at, *len - at);
  memcpy(w + at, src, n);
  *len += n;
}

static void mutate_once(char *w, size_t *len) {
  static const char special[] = "\r\n\0 \t:,=\"[]%@/-9";
  static const char *const tokens[] = {
      "\r\n",          "\r\n\r\n",          "\r\n ",           "99999999999999999999",
      "max-age=",      "LOCATION: ",        "USN: ",           "NTS: ssdp:byebye\r\n",
      "::",            "BOOTID.UPNP.ORG: ", "HTTP/1.1 200 OK", "\r\nST: ssdp:all"};
  size_t at = rnd_below(*len + 1);
  char c;
  switch (rnd_below(10)) {
  case 0: if (*len) w[rnd_below(*len)] ^= (char)(1u << rnd_below(8)); break;
  case 1: if (*len) w[rnd_below(*len)] = (char)rnd(); break;
  case 2: if (*len) w[rnd_below(*len)] = special[rnd_below(sizeof special - 1)]; break;
  case 3:
    c = special[rnd_below(sizeof special - 1)];
    insert_bytes(w, len, at, &c, 1);
    break;
  case 4: *len = at; break;
  case 5: { /* delete a range */
    size_t n = rnd_below(*len - at + 1);
    if (n > 64) n = 64;
    memmove(w + at, w + at + n, *len - at - n);
    *len -= n;
    break;
  }
  case 6: { /* copy a range elsewhere (duplicates headers) */
    size_t from = rnd_below(*len + 1), n = rnd_below(*len - from + 1);
    char tmp[128];
    if (n > sizeof tmp) n = sizeof tmp;
    memcpy(tmp, w + from, n);
    insert_bytes(w, len, at, tmp, n);
    break;
  }
  case 7: {
    const char *t = tokens[rnd_below(COUNT(tokens))];
    insert_bytes(w, len, at, t, strlen(t));
    break;
  }
  case 8: /* many short headers */
    for (size_t n = 50 + rnd_below(30); n > 0; n--) insert_bytes(w, len, at, "X: y\r\n", 6);
    break;
  default: { /* one long line, or (1 in 4) grow to about the size cap */
    static char pad[1200];
    size_t target = rnd_below(4) ? *len + 1 : 8000 + rnd_below(400);
    memset(pad, 'a', sizeof pad);
    memcpy(pad, "X-Pad: ", 7);
    while (*len < target && *len < WORK_CAP) {
      size_t k = 9 + rnd_below(sizeof pad - 9);
      memcpy(pad + k - 2, "\r\n", 2);
      insert_bytes(w, len, at, pad, k);
      memset(pad + k - 2, 'a', 2);
    }
    break;
  }
  }
}

static char *mut_copy; /* freed by the teardown if an assertion fails */

static int mutation_teardown(void **state) {
  (void)state;
  free(mut_copy);
  mut_copy = NULL;
  return 0;
}

static void mutation_loop(void **state) {
  (void)state;
  enum { ITERATIONS = 200000 };
  const blob *seeds[2 * MAX_FILES];
  size_t nseeds = 0, counts[UCP__SSDP_DROP__COUNT] = {0};
  for (size_t i = 0; i < ncorpus; i++) seeds[nseeds++] = &corpus[i];
  for (size_t i = 0; i < ndata; i++) seeds[nseeds++] = &data[i];
  assert_true(nseeds > 0);
  static char work[WORK_CAP];
  for (int it = 0; it < ITERATIONS; it++) {
    const blob *b = seeds[rnd_below(nseeds)];
    size_t len = b->n < WORK_CAP ? b->n : WORK_CAP;
    memcpy(work, b->p, len);
    for (size_t k = 1 + rnd_below(4); k > 0; k--) mutate_once(work, &len);
    ucp__ssdp_msg m;
    ucp__ssdp_drop d = parse_heap(work, len, &m, &mut_copy);
    assert_true(d >= UCP__SSDP_OK && d < UCP__SSDP_DROP__COUNT);
    counts[d]++;
    if (d == UCP__SSDP_OK) {
      check_ok_msg(&m, mut_copy, len);
      (void)ucp__ssdp_st_matches(m.st, m.nt);
      (void)ucp__ssdp_location_ok(m.location, "192.168.1.1", NULL);
    } else {
      assert_null(m.location.p);
    }
    free(mut_copy);
    mut_copy = NULL;
  }
  size_t reasons = 0;
  for (int i = 0; i < UCP__SSDP_DROP__COUNT; i++) {
    print_message("  %-18s %zu\n", ucp__ssdp_drop_name((ucp__ssdp_drop)i), counts[i]);
    reasons += counts[i] > 0;
  }
  assert_true(counts[UCP__SSDP_OK] > ITERATIONS / 100);
  assert_true(reasons >= 10); /* the loop reaches most drop paths */
}

/* ---------------------------------------------------- main */

static void free_blobs(void) {
  for (size_t i = 0; i < ncorpus; i++) free(corpus[i].p);
  for (size_t i = 0; i < ndata; i++) free(data[i].p);
}

int main(void) {
  DIR *probe = opendir(SSDP_CORPUS);
  if (!probe) {
    printf("corpus directory %s is missing: test skipped\n", SSDP_CORPUS);
    return 77;
  }
  closedir(probe);
  if (load_dir(SSDP_CORPUS, "", corpus, &ncorpus) != 0 ||
      load_dir(SSDP_DATA, ".txt", data, &ndata) != 0) {
    printf("cannot read %s or %s\n", SSDP_CORPUS, SSDP_DATA);
    free_blobs();
    return 1;
  }
  printf("ssdp corpus: %zu files in %s; %zu in %s\n", ncorpus, SSDP_CORPUS, ndata, SSDP_DATA);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(corpus_every_file),
      cmocka_unit_test(corpus_facts),
      cmocka_unit_test(corpus_quirks),
      cmocka_unit_test(drop_oversize),
      cmocka_unit_test(drop_start_line),
      cmocka_unit_test(drop_nul),
      cmocka_unit_test(drop_bare_cr),
      cmocka_unit_test(drop_obs_fold),
      cmocka_unit_test(drop_line_too_long),
      cmocka_unit_test(drop_too_many_headers),
      cmocka_unit_test(drop_bad_header),
      cmocka_unit_test(drop_duplicate),
      cmocka_unit_test(drop_missing),
      cmocka_unit_test(drop_bad_number),
      cmocka_unit_test(drop_too_long),
      cmocka_unit_test(drop_bad_nts),
      cmocka_unit_test(drop_texts),
      cmocka_unit_test(numbers_max_age),
      cmocka_unit_test(numbers_parser),
      cmocka_unit_test(notify_kinds),
      cmocka_unit_test(msearch_kinds),
      cmocka_unit_test(udn_extraction),
      cmocka_unit_test(st_matching),
      cmocka_unit_test(build_msearch),
      cmocka_unit_test(location_rule),
      cmocka_unit_test_teardown(mutation_loop, mutation_teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  free_blobs();
  return rc;
}
