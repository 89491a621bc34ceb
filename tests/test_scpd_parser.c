/* test_scpd_parser.c - the service description (SCPD) parser: every file of
 * the real-device corpus (shared/corpus/real/scpd/, listed at run time),
 * then unit tests on inline documents and tests/data/scpd/. No network.
 * The unit tests always run; when the corpus directory is missing and they
 * all passed, the program exits 77 (skipped) as test_corpus does. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/upnpcp_internal_test.h"
#include "upnpcp.h"
#include "xml/scpd.h"

#define SCPD_CORPUS UCP_CORPUS_DIR "/scpd"

/* ------------------------------------------------------------ helpers */

/* Models and buffers a test obtains are released by the per-test teardown,
 * so a failed assertion does not leak them. */
enum { MAX_TRACKED = 256 };
static const ucp__scpd *tracked[MAX_TRACKED];
static size_t ntracked;
static void *owned[MAX_TRACKED];
static size_t nowned;

static const ucp__scpd *track(const ucp__scpd *s) {
  assert_true(ntracked < MAX_TRACKED);
  tracked[ntracked++] = s;
  return s;
}

static void *own(void *m) {
  assert_non_null(m);
  assert_true(nowned < MAX_TRACKED);
  owned[nowned++] = m;
  return m;
}

static int release_all(void **state) {
  (void)state;
  for (size_t i = 0; i < ntracked; i++) ucp__scpd_unref(tracked[i]);
  ntracked = 0;
  for (size_t i = 0; i < nowned; i++) free(owned[i]);
  nowned = 0;
  ucp__test_mem_fail_after(-1);
  return 0;
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
    size_t cap = b->cap ? b->cap : 256;
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

/* Documents built by a test: freed by the teardown. */
static sbuf doc_buf, dump_a, dump_b;
static int teardown(void **state) {
  sbuf *all[] = {&doc_buf, &dump_a, &dump_b};
  for (size_t i = 0; i < 3; i++) {
    free(all[i]->s);
    *all[i] = (sbuf){NULL, 0, 0};
  }
  return release_all(state);
}

static char *read_path(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  assert_true(n >= 0);
  rewind(f);
  char *b = own(malloc((size_t)n + 1));
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  b[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return b;
}

static char *read_data(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/scpd/%s", UCP_TEST_DATA_DIR, name);
  return read_path(path, len);
}

static char *read_corpus(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", SCPD_CORPUS, name);
  return read_path(path, len);
}

/* Whole-document parse; asserts success and an empty detail. */
static const ucp__scpd *parse_len(const char *xml, size_t len) {
  char detail[512] = "x";
  ucp__scpd *s = NULL;
  int rc = ucp__scpd_parse(xml, len, &s, detail, sizeof detail);
  if (rc != UCP_OK)
    print_message("unexpected failure: %s: %s\n", ucp_err_name(rc), detail);
  assert_int_equal(rc, UCP_OK);
  assert_non_null(s);
  track(s);
  assert_string_equal(detail, "");
  assert_non_null(s->warnings);
  return s;
}
static const ucp__scpd *parse_ok(const char *xml) {
  return parse_len(xml, strlen(xml));
}

/* Whole-document parse expected to fail: the code, the detail. */
static int parse_fail_len(const char *xml, size_t len, char *detail,
                          size_t dlen) {
  ucp__scpd *s = (ucp__scpd *)&s; /* poison */
  int rc = ucp__scpd_parse(xml, len, &s, detail, dlen);
  if (rc == UCP_OK) track(s);
  assert_int_not_equal(rc, UCP_OK);
  assert_null(s);
  return rc;
}
static int parse_fail(const char *xml, char *detail, size_t dlen) {
  return parse_fail_len(xml, strlen(xml), detail, dlen);
}

/* Streaming: pieces of `piece` bytes (0: one piece), each in its own
 * exact-size heap copy so that ASan catches a read past its end. */
static int stream_parse(const char *xml, size_t len, size_t piece,
                        const ucp__scpd_limits *lim, const ucp__scpd **out,
                        char *err, size_t errlen) {
  *out = NULL;
  ucp__scpd_parser *p = ucp__scpd_parser_new(lim);
  assert_non_null(p);
  if (piece == 0) piece = len ? len : 1;
  int rc = UCP_OK;
  for (size_t off = 0; off < len && rc == UCP_OK; off += piece) {
    size_t n = len - off < piece ? len - off : piece;
    char *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, xml + off, n);
    rc = ucp__scpd_parser_feed(p, copy, n);
    free(copy);
  }
  ucp__scpd *s = NULL;
  if (rc == UCP_OK) rc = ucp__scpd_parser_finish(p, &s);
  snprintf(err, errlen, "%s", ucp__scpd_parser_error(p));
  ucp__scpd_parser_free(p);
  if (rc == UCP_OK) {
    assert_non_null(s);
    track(s);
    *out = s;
  } else {
    assert_null(s);
  }
  return rc;
}

/* Every field of a model, in order: two parses agree iff their dumps do. */
static void dump(const ucp__scpd *s, sbuf *b) {
  sb_add(b, "spec %d.%d config %lld\n", s->spec_major, s->spec_minor,
         (long long)s->config_id);
  for (size_t i = 0; i < s->nactions; i++) {
    const ucp__action *a = &s->actions[i];
    sb_add(b, "action %s %zu/%zu/%zu\n", a->name, a->nargs, a->nin, a->nout);
    for (size_t j = 0; j < a->nargs; j++) {
      const ucp__arg *g = &a->args[j];
      sb_add(b, " arg %s %d %d %s -> %s\n", g->name, (int)g->dir, g->retval,
             g->related ? g->related : "(none)",
             g->var ? g->var->name : "(null)");
    }
  }
  for (size_t i = 0; i < s->nvars; i++) {
    const ucp__statevar *v = &s->vars[i];
    sb_add(b, "var %s %d %s def=%s ev=%d mc=%d range=%d %s %s %s\n", v->name,
           (int)v->type, v->type_name ? v->type_name : "(none)",
           v->default_value ? v->default_value : "(none)", v->send_events,
           v->multicast, v->has_range, v->min ? v->min : "-",
           v->max ? v->max : "-", v->step ? v->step : "-");
    for (size_t j = 0; j < v->nallowed; j++)
      sb_add(b, " allowed '%s'\n", v->allowed[j]);
  }
  sb_add(b, "warnings:\n%s", s->warnings);
}

static const ucp__arg *arg_of(const ucp__action *a, const char *name) {
  for (size_t i = 0; i < a->nargs; i++)
    if (!strcmp(a->args[i].name, name)) return &a->args[i];
  return NULL;
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

static void assert_has(const char *hay, const char *needle) {
  if (!strstr(hay, needle))
    fail_msg("'%s' not found in:\n%s", needle, hay);
}

/* "line N: ..." with N as expected. */
static void assert_line(const char *err, unsigned long line) {
  unsigned long got = 0;
  if (sscanf(err, "line %lu:", &got) != 1) fail_msg("no line in '%s'", err);
  if (got != line) fail_msg("line %lu expected in '%s'", line, err);
}

/* ---------------------------------------------------------- the corpus */

/* Files EXPECTED to fail, with their code and a substring of the reason.
 * Today every SCPD of the corpus parses; a new file that fails must be
 * listed here with its documented reason, or fixed in the parser. */
typedef struct expected_failure {
  const char *file;
  int code;
  const char *reason;
} expected_failure;
static const expected_failure expected_failures[] = {
    {NULL, 0, NULL} /* end */
};

/* Counts taken independently of this parser (a Python ElementTree walk):
 * actions, variables, in and out arguments, arguments with <retval/>, and
 * arguments whose variable does not resolve (undeclared or absent). */
typedef struct corpus_expect {
  const char *file;
  size_t actions, vars, nin, nout, retvals, unresolved;
} corpus_expect;
static const corpus_expect corpus_table[] = {
    {"async-upnp-client-dmr-AVTransport_1.xml", 19, 39, 31, 31, 0, 0},
    {"async-upnp-client-dmr-RenderingControl_1.xml", 4, 7, 10, 2, 0, 0},
    {"async-upnp-client-dms-ContentDirectory_1.xml", 6, 15, 15, 11, 0, 0},
    {"async-upnp-client-igd-WANIPConnection.xml", 11, 17, 16, 21, 0, 0},
    {"avm-fritzbox-igdconnSCPD.xml", 18, 30, 16, 37, 0, 0},
    {"belkin-wemo-crockpot-jardenservice.xml", 4, 3, 4, 6, 10, 6},
    {"belkin-wemo-insight-insightservice.xml", 14, 12, 5, 12, 12, 0},
    {"belkin-wemo-link-bridgeservice.xml", 25, 31, 32, 21, 0, 2},
    /* SetMultiState lists its in argument "state" three times: the first
     * is kept (ElementTree counts 29 in, 39 retval) */
    {"belkin-wemo-socket-fw2.00.2769-basicevent-eventservice.xml", 29, 23, 27,
     10, 37, 12},
    {"belkin-wemo-socket-fw2.00.2769-deviceinfoservice.xml", 1, 1, 0, 1, 1, 0},
    {"belkin-wemo-switch-v4-rtos-basicevent-eventservice.xml", 14, 17, 12, 12,
     11, 2},
    {"belkin-wemo-switch-v4-rtos-manufacture.xml", 1, 1, 0, 1, 1, 0},
    {"panasonic-viera-p00NetworkControl1-scanned.xml", 11, 16, 12, 9, 0, 0},
    {"pannaway-rg210-LANHostConfigManagement.xml", 20, 10, 38, 10, 0, 0},
    {"pannaway-rg210-Layer3Forwarding.xml", 3, 5, 2, 4, 0, 0},
    {"pannaway-rg210-WANCommonInterfaceConfig.xml", 2, 9, 0, 10, 0, 0},
    {"pupnp-sample-tvdevice-tvcontrolSCPD.xml", 8, 3, 2, 8, 8, 0},
    {"pupnp-sample-tvdevice-tvpictureSCPD.xml", 12, 4, 4, 12, 12, 0},
    {"sonos-play1-AVTransport1.xml", 42, 81, 133, 53, 0, 0},
    {"sonos-play1-ContentDirectory1.xml", 16, 29, 18, 18, 0, 0},
    {"sonos-play1-DeviceProperties1.xml", 25, 54, 27, 22, 0, 0},
    {"sonos-play1-GroupRenderingControl1.xml", 6, 5, 9, 3, 0, 0},
    {"sonos-play1-QPlay1.xml", 1, 4, 1, 3, 0, 0},
    {"sonos-play1-RenderingControl1.xml", 28, 43, 61, 21, 0, 0},
    {"sonos-play1-ZoneGroupTopology1.xml", 8, 26, 13, 7, 0, 0},
    {"sony-audio-Group1-scanned.xml", 21, 29, 33, 47, 0, 0},
};
enum { NCORPUS = sizeof corpus_table / sizeof corpus_table[0] };

static int corpus_present(void) {
  DIR *d = opendir(SCPD_CORPUS);
  if (!d) return 0;
  closedir(d);
  return 1;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The .xml files of the corpus directory, sorted; owned by the test. */
static size_t list_corpus(char ***names) {
  DIR *d = opendir(SCPD_CORPUS);
  if (!d) {
    skip();
  }
  char **v = own(calloc(MAX_TRACKED, sizeof *v));
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t l = strlen(e->d_name);
    if (l < 5 || strcmp(e->d_name + l - 4, ".xml") != 0) continue;
    assert_true(n < MAX_TRACKED / 2);
    v[n++] = own(strdup(e->d_name));
  }
  closedir(d);
  qsort(v, n, sizeof *v, cmp_str);
  *names = v;
  return n;
}

static const ucp__scpd *corpus_model(const char *file) {
  size_t len;
  char *xml = read_corpus(file, &len);
  return parse_len(xml, len);
}

/* Every file parses (or fails as its table entry says), agrees with the
 * independent counts, and parses identically in 1-byte pieces. */
static void test_corpus_every_file(void **state) {
  (void)state;
  char **names;
  size_t n = list_corpus(&names);
  assert_true(n > 0);
  sbuf summary = {NULL, 0, 0};
  size_t seen = 0, ok_files = 0;
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len;
    char *xml = read_corpus(names[i], &len);
    const expected_failure *xf = NULL;
    for (const expected_failure *e = expected_failures; e->file; e++)
      if (!strcmp(e->file, names[i])) xf = e;
    char detail[512];
    ucp__scpd *s = NULL;
    int rc = ucp__scpd_parse(xml, len, &s, detail, sizeof detail);
    if (s) track(s);
    if (xf) {
      if (rc != xf->code || !strstr(detail, xf->reason)) {
        print_message("%s: expected %s (%s), got %s: %s\n", names[i],
                      ucp_err_name(xf->code), xf->reason, ucp_err_name(rc),
                      detail);
        bad = 1;
      }
      sb_add(&summary, "scpd %-58s FAILS as documented: %s: %s\n", names[i],
             ucp_err_name(rc), detail);
      continue;
    }
    if (rc != UCP_OK) {
      print_message("%s: %s: %s\n", names[i], ucp_err_name(rc), detail);
      bad = 1;
      sb_add(&summary, "scpd %-58s FAILED %s: %s\n", names[i],
             ucp_err_name(rc), detail);
      continue;
    }
    ok_files++;
    size_t nin = 0, nout = 0, retvals = 0, unresolved = 0, related = 0;
    for (size_t a = 0; a < s->nactions; a++) {
      const ucp__action *act = &s->actions[a];
      assert_int_equal(act->nin + act->nout, act->nargs);
      assert_true(ucp__scpd_action(s, act->name) == act);
      nin += act->nin;
      nout += act->nout;
      for (size_t g = 0; g < act->nargs; g++) {
        const ucp__arg *arg = &act->args[g];
        retvals += arg->retval != 0;
        unresolved += arg->var == NULL;
        if (arg->var) {
          related++;
          /* resolution: the variable is one of this model's */
          assert_true(arg->var >= s->vars && arg->var < s->vars + s->nvars);
          assert_int_equal(strcasecmp(arg->var->name, arg->related), 0);
        }
      }
    }
    for (size_t v = 0; v < s->nvars; v++)
      assert_true(ucp__scpd_var(s, s->vars[v].name) == &s->vars[v]);
    const corpus_expect *ex = NULL;
    for (size_t k = 0; k < NCORPUS; k++)
      if (!strcmp(corpus_table[k].file, names[i])) ex = &corpus_table[k];
    if (ex) {
      seen++;
      if (s->nactions != ex->actions || s->nvars != ex->vars ||
          nin != ex->nin || nout != ex->nout || retvals != ex->retvals ||
          unresolved != ex->unresolved) {
        print_message("%s: got %zu actions %zu vars %zu in %zu out %zu "
                      "retval %zu unresolved\n", names[i], s->nactions,
                      s->nvars, nin, nout, retvals, unresolved);
        bad = 1;
      }
    }
    /* the same in 1-byte pieces */
    dump_a.len = dump_b.len = 0;
    dump(s, &dump_a);
    const ucp__scpd *t;
    char err[512];
    assert_int_equal(stream_parse(xml, len, 1, NULL, &t, err, sizeof err),
                     UCP_OK);
    dump(t, &dump_b);
    if (strcmp(dump_a.s, dump_b.s) != 0) {
      print_message("%s: streaming differs\n", names[i]);
      bad = 1;
    }
    sb_add(&summary,
           "scpd %-58s OK  %3zu actions %3zu vars  args %3zu in %3zu out  "
           "%2zu unresolved  %2zu warnings\n",
           names[i], s->nactions, s->nvars, nin, nout, unresolved,
           count_lines(s->warnings));
  }
  /* line by line: print_message has a bounded buffer */
  for (char *l = summary.s; l && *l;) {
    char *nl = strchr(l, '\n');
    *nl = '\0';
    print_message("%s\n", l);
    l = nl + 1;
  }
  print_message("scpd corpus: %zu files, %zu parsed, %zu expected failures\n",
                n, ok_files, sizeof expected_failures / sizeof *expected_failures - 1);
  free(summary.s);
  if (seen != NCORPUS) print_message("only %zu of %d table files seen\n", seen,
                                     (int)NCORPUS);
  assert_int_equal(seen, NCORPUS);
  assert_false(bad);
}

/* An in argument listed after an out one (Sonos, Sony). */
static int in_after_out(const ucp__action *a) {
  assert_non_null(a);
  int out = 0;
  for (size_t i = 0; i < a->nargs; i++) {
    if (a->args[i].dir == UCP__DIR_OUT) out = 1;
    else if (out) return 1;
  }
  return 0;
}

static void test_corpus_sonos(void **state) {
  (void)state;
  if (!corpus_present()) skip();
  /* AVTransport: many actions, every argument resolved */
  const ucp__scpd *s = corpus_model("sonos-play1-AVTransport1.xml");
  assert_true(s->nactions >= 30);
  assert_int_equal(s->spec_major, 1);
  assert_int_equal(s->spec_minor, 0);
  const ucp__action *play = ucp__scpd_action(s, "Play");
  assert_non_null(play);
  assert_int_equal(play->nin, 2);
  assert_int_equal(play->nout, 0);
  const ucp__arg *id = arg_of(play, "InstanceID");
  assert_non_null(id);
  assert_int_equal(id->dir, UCP__DIR_IN);
  assert_string_equal(id->related, "A_ARG_TYPE_InstanceID");
  assert_non_null(id->var);
  assert_string_equal(id->var->name, "A_ARG_TYPE_InstanceID");
  assert_int_equal(id->var->type, UCP_TYPE_UI4);
  assert_int_equal(id->var->send_events, 0);
  assert_true(ucp__scpd_action(s, "play") == play); /* any case */
  assert_null(ucp__scpd_action(s, "Pla"));
  /* an event-carrying variable */
  const ucp__statevar *lc = ucp__scpd_var(s, "LastChange");
  assert_non_null(lc);
  assert_int_equal(lc->send_events, 1);
  assert_int_equal(lc->type, UCP_TYPE_STRING);

  /* out before in: GetAutoplayVolume lists CurrentVolume (out) first */
  s = corpus_model("sonos-play1-DeviceProperties1.xml");
  const ucp__action *a = ucp__scpd_action(s, "GetAutoplayVolume");
  assert_non_null(a);
  assert_int_equal(a->nargs, 2);
  assert_string_equal(a->args[0].name, "CurrentVolume");
  assert_int_equal(a->args[0].dir, UCP__DIR_OUT);
  assert_string_equal(a->args[1].name, "Source");
  assert_int_equal(a->args[1].dir, UCP__DIR_IN);
  assert_int_equal(a->nin, 1);
  assert_int_equal(a->nout, 1);
  assert_true(in_after_out(a));
  assert_non_null(a->args[0].var);
  assert_string_equal(a->args[0].var->name, "AutoplayVolume");

  s = corpus_model("sonos-play1-ZoneGroupTopology1.xml");
  a = ucp__scpd_action(s, "SubmitDiagnostics");
  assert_non_null(a);
  assert_true(a->nin >= 1 && a->nout >= 1);
  assert_true(in_after_out(a));

  s = corpus_model("sony-audio-Group1-scanned.xml"); /* no declaration */
  a = ucp__scpd_action(s, "X_Start");
  assert_non_null(a);
  assert_int_equal(a->nargs, 6); /* in in in out in in */
  assert_int_equal(a->nin, 5);
  assert_int_equal(a->nout, 1);
  assert_string_equal(a->args[3].name, "MasterSessionID");
  assert_int_equal(a->args[3].dir, UCP__DIR_OUT);
  assert_int_equal(a->args[4].dir, UCP__DIR_IN);
  assert_true(in_after_out(a));
  assert_false(in_after_out(ucp__scpd_action(s, "X_Abort")));
}

static void test_corpus_wemo(void **state) {
  (void)state;
  if (!corpus_present()) skip();
  /* BOM, undeclared related variables, "String", "list", sendEvents="No" */
  const ucp__scpd *s =
      corpus_model("belkin-wemo-socket-fw2.00.2769-basicevent-eventservice.xml");
  const ucp__action *a = ucp__scpd_action(s, "SetLogLevelOption");
  assert_non_null(a);
  const ucp__arg *g = arg_of(a, "Level");
  assert_non_null(g);
  /* declared as "level": resolved ignoring case, with a warning */
  assert_non_null(g->var);
  assert_string_equal(g->var->name, "level");
  assert_has(s->warnings, "'Level' of SetLogLevelOption/Level matches 'level'");
  size_t undeclared = 0;
  const ucp__arg *logurl = NULL;
  for (size_t i = 0; i < s->nactions; i++)
    for (size_t j = 0; j < s->actions[i].nargs; j++) {
      const ucp__arg *x = &s->actions[i].args[j];
      if (!x->var) undeclared++;
      if (x->related && !strcmp(x->related, "LOGURL")) logurl = x;
    }
  assert_int_equal(undeclared, 12);
  /* the same in argument three times: the first kept */
  a = ucp__scpd_action(s, "SetMultiState");
  assert_non_null(a);
  assert_int_equal(a->nargs, 1);
  assert_string_equal(a->args[0].name, "state");
  assert_has(s->warnings, "line 262: argument 'state' of action "
                          "'SetMultiState' appears twice; the second is "
                          "ignored");
  assert_non_null(logurl);
  assert_null(logurl->var);
  assert_null(ucp__scpd_var(s, "LOGURL"));
  assert_has(s->warnings, "relatedStateVariable 'LOGURL' of ");
  assert_has(s->warnings, "is not declared");
  const ucp__statevar *sl = ucp__scpd_var(s, "StateList");
  assert_non_null(sl);
  assert_int_equal(sl->type, UCP_TYPE_UNKNOWN);
  assert_string_equal(sl->type_name, "list");
  assert_int_equal(sl->send_events, 0); /* sendEvents="No" */
  assert_has(s->warnings, "unknown dataType 'list'");

  /* undeclared: DeviceList (bridge), timeVariable (Crock-Pot) */
  s = corpus_model("belkin-wemo-link-bridgeservice.xml");
  assert_null(ucp__scpd_var(s, "DeviceList"));
  assert_has(s->warnings, "relatedStateVariable 'DeviceList'");
  s = corpus_model("belkin-wemo-crockpot-jardenservice.xml");
  assert_has(s->warnings, "relatedStateVariable 'timeVariable'");

  /* no relatedStateVariable at all (RTOS HKSetupKey) */
  s = corpus_model("belkin-wemo-switch-v4-rtos-basicevent-eventservice.xml");
  int found = 0;
  for (size_t i = 0; i < s->nactions; i++) {
    const ucp__arg *k = arg_of(&s->actions[i], "HKSetupKey");
    if (!k) continue;
    found = 1;
    assert_null(k->related);
    assert_null(k->var);
    assert_int_equal(k->dir, UCP__DIR_OUT);
    assert_true(k->retval);
  }
  assert_true(found);
  assert_has(s->warnings, "argument 'HKSetupKey' of action");

  /* BOM files; retval; the smallest documents */
  s = corpus_model("belkin-wemo-socket-fw2.00.2769-deviceinfoservice.xml");
  a = ucp__scpd_action(s, "GetDeviceInformation");
  assert_non_null(a);
  assert_int_equal(a->nargs, 1);
  assert_true(a->args[0].retval);
  assert_int_equal(a->args[0].dir, UCP__DIR_OUT);
  assert_non_null(a->args[0].var);
  assert_string_equal(a->args[0].var->default_value, "0");
  assert_string_equal(s->warnings, "");
  s = corpus_model("belkin-wemo-insight-insightservice.xml"); /* BOM */
  assert_int_equal(s->nactions, 14);
  size_t strings = 0;
  for (size_t i = 0; i < s->nvars; i++)
    if (!strcmp(s->vars[i].type_name, "String")) {
      assert_int_equal(s->vars[i].type, UCP_TYPE_STRING);
      strings++;
    }
  assert_int_equal(strings, 9);
  assert_string_equal(s->warnings, "");
  s = corpus_model("belkin-wemo-switch-v4-rtos-manufacture.xml");
  assert_int_equal(s->actions[0].args[0].retval, 1);
  assert_int_equal(s->vars[0].send_events, 0);
}

static void test_corpus_others(void **state) {
  (void)state;
  if (!corpus_present()) skip();
  /* pupnp sample: "Boolean", ranges with step and defaults */
  const ucp__scpd *s = corpus_model("pupnp-sample-tvdevice-tvcontrolSCPD.xml");
  const ucp__statevar *v = ucp__scpd_var(s, "Power");
  assert_non_null(v);
  assert_int_equal(v->type, UCP_TYPE_BOOLEAN);
  assert_string_equal(v->type_name, "Boolean");
  assert_string_equal(v->default_value, "0");
  v = ucp__scpd_var(s, "Channel");
  assert_true(v->has_range);
  assert_string_equal(v->min, "1");
  assert_string_equal(v->max, "100");
  assert_string_equal(v->step, "1");
  assert_string_equal(v->default_value, "1");

  /* Pannaway: no declaration, CRLF; an action of another service */
  s = corpus_model("pannaway-rg210-Layer3Forwarding.xml");
  assert_non_null(ucp__scpd_action(s, "GetGenericPortMappingEntry"));
  /* one name for an in and an out argument: both kept, with a warning */
  s = corpus_model("pannaway-rg210-LANHostConfigManagement.xml");
  const ucp__action *a = ucp__scpd_action(s, "SetDomainName");
  assert_int_equal(a->nargs, 2);
  assert_int_equal(a->nin, 1);
  assert_int_equal(a->nout, 1);
  assert_string_equal(a->args[1].name, "NewDomainName");
  assert_has(s->warnings, "argument 'NewDomainName' of action 'SetDomainName'"
                          " appears twice\n");
  s = corpus_model("pannaway-rg210-WANCommonInterfaceConfig.xml");
  v = ucp__scpd_var(s, "WANAccessType");
  assert_non_null(v);
  assert_true(v->nallowed > 0);

  /* async_upnp_client: sendEventsAttribute (old style), no sendEvents */
  s = corpus_model("async-upnp-client-dmr-RenderingControl_1.xml");
  v = ucp__scpd_var(s, "Volume");
  assert_int_equal(v->send_events, 1); /* UDA default */
  assert_true(v->has_range);
  v = ucp__scpd_var(s, "A_ARG_TYPE_InstanceID");
  assert_int_equal(v->send_events, 0);

  /* a vendor <serviceType> directly under <scpd> is ignored */
  s = corpus_model("panasonic-viera-p00NetworkControl1-scanned.xml");
  assert_int_equal(s->nactions, 11);
}

/* ----------------------------------------------------------- data types */

static void test_dtype_names(void **state) {
  (void)state;
  static const struct {
    const char *name;
    ucp_type t;
  } uda[] = {
      {"ui1", UCP_TYPE_UI1}, {"ui2", UCP_TYPE_UI2}, {"ui4", UCP_TYPE_UI4},
      {"ui8", UCP_TYPE_UI8}, {"i1", UCP_TYPE_I1}, {"i2", UCP_TYPE_I2},
      {"i4", UCP_TYPE_I4}, {"i8", UCP_TYPE_I8}, {"int", UCP_TYPE_INT},
      {"r4", UCP_TYPE_R4}, {"r8", UCP_TYPE_R8}, {"number", UCP_TYPE_NUMBER},
      {"fixed.14.4", UCP_TYPE_FIXED_14_4}, {"float", UCP_TYPE_FLOAT},
      {"char", UCP_TYPE_CHAR}, {"string", UCP_TYPE_STRING},
      {"date", UCP_TYPE_DATE}, {"dateTime", UCP_TYPE_DATETIME},
      {"dateTime.tz", UCP_TYPE_DATETIME_TZ}, {"time", UCP_TYPE_TIME},
      {"time.tz", UCP_TYPE_TIME_TZ}, {"boolean", UCP_TYPE_BOOLEAN},
      {"bin.base64", UCP_TYPE_BIN_BASE64}, {"bin.hex", UCP_TYPE_BIN_HEX},
      {"uri", UCP_TYPE_URI}, {"uuid", UCP_TYPE_UUID},
  };
  size_t n = sizeof uda / sizeof uda[0];
  assert_int_equal(n, UCP_TYPE__COUNT - 1); /* every enum value has a name */
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(ucp__type_from_name(uda[i].name, strlen(uda[i].name)),
                     uda[i].t);
    assert_string_equal(ucp_type_name(uda[i].t), uda[i].name);
    /* any case */
    char up[32];
    size_t l = strlen(uda[i].name);
    for (size_t k = 0; k <= l; k++)
      up[k] = (char)(uda[i].name[k] >= 'a' && uda[i].name[k] <= 'z'
                         ? uda[i].name[k] - 32 : uda[i].name[k]);
    assert_int_equal(ucp__type_from_name(up, l), uda[i].t);
  }
  assert_int_equal(ucp__type_from_name("String", 6), UCP_TYPE_STRING);
  assert_int_equal(ucp__type_from_name("Boolean", 7), UCP_TYPE_BOOLEAN);
  assert_int_equal(ucp__type_from_name("DATETIME.TZ", 11),
                   UCP_TYPE_DATETIME_TZ);
  /* not NUL-terminated: only `len` bytes count */
  assert_int_equal(ucp__type_from_name("ui4xyz", 3), UCP_TYPE_UI4);
  assert_int_equal(ucp__type_from_name("ui", 2), UCP_TYPE_UNKNOWN);
  assert_int_equal(ucp__type_from_name("i", 1), UCP_TYPE_UNKNOWN);
  assert_int_equal(ucp__type_from_name("list", 4), UCP_TYPE_UNKNOWN);
  assert_int_equal(ucp__type_from_name("", 0), UCP_TYPE_UNKNOWN);
  assert_int_equal(ucp__type_from_name("string ", 7), UCP_TYPE_UNKNOWN);
  assert_int_equal(ucp__type_from_name("bin.base6", 9), UCP_TYPE_UNKNOWN);
  assert_int_equal(ucp__type_from_name(NULL, 0), UCP_TYPE_UNKNOWN);
  assert_null(ucp_type_name(UCP_TYPE_UNKNOWN));
  assert_null(ucp_type_name((ucp_type)UCP_TYPE__COUNT));
  assert_null(ucp_type_name((ucp_type)-1));
}

static void test_types_fixture(void **state) {
  (void)state;
  size_t len;
  char *xml = read_data("types.xml", &len);
  const ucp__scpd *s = parse_len(xml, len);
  assert_int_equal(s->spec_major, 2);
  assert_int_equal(s->spec_minor, 0);
  assert_int_equal(s->config_id, 1234);
  assert_int_equal(s->nactions, 0);
  assert_int_equal(s->nvars, UCP_TYPE__COUNT - 1 + 4);
  for (int t = 1; t < UCP_TYPE__COUNT; t++) {
    const ucp__statevar *v = &s->vars[t - 1];
    assert_int_equal(v->type, t);
    assert_string_equal(v->type_name, ucp_type_name((ucp_type)t));
    assert_int_equal(v->send_events, 0);
    assert_int_equal(v->multicast, 0);
    assert_null(v->default_value);
    assert_int_equal(v->nallowed, 0);
    assert_false(v->has_range);
  }
  const ucp__statevar *m = ucp__scpd_var(s, "Mode");
  assert_non_null(m);
  assert_int_equal(m->send_events, 1);
  assert_int_equal(m->multicast, 1);
  assert_string_equal(m->default_value, "NORMAL"); /* trimmed */
  assert_int_equal(m->nallowed, 4);
  assert_string_equal(m->allowed[0], "NORMAL");
  assert_string_equal(m->allowed[1], "REPEAT_ALL");
  assert_string_equal(m->allowed[2], "SHUFFLE");
  assert_string_equal(m->allowed[3], "");
  assert_false(m->has_range);
  const ucp__statevar *vol = ucp__scpd_var(s, "Volume");
  assert_int_equal(vol->send_events, 1); /* absent: UDA's default */
  assert_true(vol->has_range);
  assert_string_equal(vol->min, "0");
  assert_string_equal(vol->max, "100");
  assert_string_equal(vol->step, "5");
  assert_string_equal(vol->default_value, "20");
  const ucp__statevar *bal = ucp__scpd_var(s, "Balance");
  assert_int_equal(bal->type, UCP_TYPE_I2);
  assert_int_equal(bal->send_events, 0); /* "NO" */
  assert_int_equal(bal->multicast, 0);
  assert_string_equal(bal->min, "-10");
  assert_string_equal(bal->max, "10");
  assert_null(bal->step);
  const ucp__statevar *leg = ucp__scpd_var(s, "Legacy");
  assert_int_equal(leg->send_events, 0); /* <sendEventsAttribute> */
  assert_string_equal(s->warnings, "");
}

static void test_allowed_values_and_range(void **state) {
  (void)state;
  const ucp__scpd *s = parse_ok(
      "<scpd><serviceStateTable>"
      "<stateVariable><name>A</name><dataType>string</dataType>"
      "<allowedValueList><allowedValue>x</allowedValue></allowedValueList>"
      "<allowedValueList><allowedValue>y</allowedValue></allowedValueList>"
      "</stateVariable>"
      "<stateVariable><name>B</name><dataType>ui4</dataType>"
      "<allowedValueRange><minimum>1</minimum></allowedValueRange>"
      "<defaultValue>1</defaultValue><defaultValue>2</defaultValue>"
      "</stateVariable>"
      "<stateVariable><name>C</name><dataType>ui4</dataType>"
      "<allowedValueRange><minimum>1</minimum><maximum>9</maximum>"
      "<minimum>2</minimum></allowedValueRange>"
      "<allowedValue>stray</allowedValue>"
      "</stateVariable>"
      "</serviceStateTable></scpd>");
  const ucp__statevar *a = ucp__scpd_var(s, "A");
  assert_int_equal(a->nallowed, 2); /* two lists: appended */
  assert_string_equal(a->allowed[1], "y");
  const ucp__statevar *b = ucp__scpd_var(s, "B");
  assert_true(b->has_range);
  assert_string_equal(b->min, "1");
  assert_null(b->max);
  assert_string_equal(b->default_value, "1"); /* the first one */
  assert_has(s->warnings, "allowedValueRange without minimum or maximum");
  assert_has(s->warnings, "duplicate <defaultValue> ignored");
  const ucp__statevar *c = ucp__scpd_var(s, "C");
  assert_string_equal(c->min, "1");
  assert_int_equal(c->nallowed, 0); /* outside <allowedValueList> */
  assert_has(s->warnings, "duplicate <minimum> ignored");
}

/* --------------------------------------------------------- the fixtures */

static void test_switchpower(void **state) {
  (void)state;
  size_t len;
  char *xml = read_data("SwitchPower1.xml", &len);
  const ucp__scpd *s = parse_len(xml, len);
  assert_int_equal(s->spec_major, 1);
  assert_int_equal(s->config_id, -1);
  assert_int_equal(s->nactions, 3);
  assert_int_equal(s->nvars, 2);
  assert_string_equal(s->actions[0].name, "SetTarget");
  assert_string_equal(s->actions[1].name, "GetTarget");
  assert_string_equal(s->actions[2].name, "GetStatus");
  const ucp__action *set = ucp__scpd_action(s, "SetTarget");
  assert_true(set == &s->actions[0]);
  assert_int_equal(set->nargs, 1);
  assert_int_equal(set->nin, 1);
  assert_int_equal(set->nout, 0);
  assert_string_equal(set->args[0].name, "newTargetValue");
  assert_int_equal(set->args[0].dir, UCP__DIR_IN);
  assert_false(set->args[0].retval);
  assert_true(set->args[0].var == ucp__scpd_var(s, "Target"));
  const ucp__action *st = ucp__scpd_action(s, "GETSTATUS");
  assert_true(st == &s->actions[2]);
  assert_int_equal(st->nout, 1);
  assert_true(st->args[0].var == &s->vars[1]);
  assert_int_equal(s->vars[0].type, UCP_TYPE_BOOLEAN);
  assert_int_equal(s->vars[0].send_events, 0);
  assert_int_equal(s->vars[1].send_events, 1);
  assert_string_equal(s->vars[1].default_value, "0");
  assert_null(ucp__scpd_action(s, "SetTargetX"));
  assert_null(ucp__scpd_action(s, ""));
  assert_null(ucp__scpd_action(s, NULL));
  assert_null(ucp__scpd_action(NULL, "SetTarget"));
  assert_null(ucp__scpd_var(s, "Nothing"));
  assert_null(ucp__scpd_var(NULL, "Target"));
  assert_string_equal(s->warnings, "");
}

static void test_quirks_fixture(void **state) {
  (void)state;
  size_t len;
  char *xml = read_data("quirks.xml", &len);
  const ucp__scpd *s = parse_len(xml, len);
  const char *w = s->warnings;
  assert_int_equal(s->spec_major, 1); /* <specVersion> last, prefixed */
  assert_int_equal(s->spec_minor, 1);
  /* variables: the second Status and two nameless ones dropped */
  assert_int_equal(s->nvars, 3);
  assert_string_equal(s->vars[0].name, "Status");
  assert_int_equal(s->vars[0].type, UCP_TYPE_BOOLEAN);
  assert_string_equal(s->vars[0].type_name, "Boolean");
  assert_int_equal(s->vars[0].send_events, 0);
  assert_string_equal(s->vars[1].name, "Text"); /* not the vendor's name */
  assert_int_equal(s->vars[1].type, UCP_TYPE_STRING);
  assert_string_equal(s->vars[2].name, "StateList");
  assert_int_equal(s->vars[2].type, UCP_TYPE_UNKNOWN);
  assert_int_equal(s->vars[2].send_events, 1); /* "maybe": the default */
  assert_has(w, "sendEvents='maybe' is not yes/no");
  assert_has(w, "unknown dataType 'list'");
  assert_has(w, "duplicate stateVariable 'Status' ignored (first at line 6)");
  assert_has(w, "line 23: <stateVariable> without a name ignored");
  assert_has(w, "line 26: <stateVariable> without a name ignored");
  assert_null(ucp__scpd_var(s, "Misplaced"));
  assert_null(ucp__scpd_var(s, "NotAName"));
  /* actions: GetThing once, the nameless one dropped, the odd name kept */
  assert_int_equal(s->nactions, 2);
  const ucp__action *a = &s->actions[0];
  assert_string_equal(a->name, "GetThing");
  assert_has(w, "duplicate <name> ignored");
  assert_has(w, "duplicate action 'GetThing' ignored (first at line 32)");
  assert_has(w, "<action> without a name ignored");
  assert_int_equal(a->nargs, 2);
  assert_string_equal(a->args[0].name, "Result");
  assert_int_equal(a->args[0].dir, UCP__DIR_OUT);
  assert_true(a->args[0].retval);
  assert_string_equal(a->args[0].related, "status");
  assert_true(a->args[0].var == &s->vars[0]); /* ignoring case */
  assert_has(w, "'status' of GetThing/Result matches 'Status' only ignoring "
                "case");
  assert_string_equal(a->args[1].name, "Mode");
  assert_int_equal(a->args[1].dir, UCP__DIR_IN); /* "IN" */
  assert_true(a->args[1].var == &s->vars[1]);
  assert_int_equal(a->nin, 1);
  assert_int_equal(a->nout, 1);
  const ucp__action *odd = &s->actions[1];
  assert_string_equal(odd->name, "Odd Name!"); /* CDATA, trimmed */
  assert_true(ucp__scpd_action(s, "odd name!") == odd);
  assert_has(w, "action name 'Odd Name!' is not a UPnP name");
  assert_int_equal(odd->nargs, 3);
  assert_string_equal(odd->args[0].name, "LogUrl");
  assert_int_equal(odd->args[0].dir, UCP__DIR_IN);
  assert_string_equal(odd->args[0].related, "LOGURL");
  assert_null(odd->args[0].var); /* undeclared */
  assert_has(w, "relatedStateVariable 'LOGURL' of Odd Name!/LogUrl is not "
                "declared");
  assert_string_equal(odd->args[1].name, "NoRelated");
  assert_null(odd->args[1].related);
  assert_null(odd->args[1].var);
  assert_has(w, "argument 'NoRelated' of action 'Odd Name!' has no "
                "relatedStateVariable");
  assert_string_equal(odd->args[2].name, "LogUrl");
  assert_int_equal(odd->args[2].dir, UCP__DIR_OUT);
  assert_int_equal(odd->nin, 1);
  assert_int_equal(odd->nout, 2);
  assert_has(w, "<argument> without a name ignored");
  assert_has(w, "argument 'Both': direction 'both' is neither in nor out; "
                "ignored");
  assert_has(w, "argument 'Nowhere' has no <direction>; ignored");
  assert_has(w, "argument 'LogUrl' of action 'Odd Name!' appears twice; the "
                "second is ignored");
  assert_has(w, "argument 'LogUrl' of action 'Odd Name!' appears twice\n");
  /* every warning is one "line N: ..." line */
  for (const char *l = w; *l; l = strchr(l, '\n') + 1)
    assert_int_equal(strncmp(l, "line ", 5), 0);
}

static void test_names(void **state) {
  (void)state;
  assert_true(ucp__scpd_name_valid("GetStatus"));
  assert_true(ucp__scpd_name_valid("_x"));
  assert_true(ucp__scpd_name_valid("X_Vendor-Name.v2"));
  assert_true(ucp__scpd_name_valid(
      "AVeryLongActionNameThatIsLongerThanThirtyTwoCharacters"));
  assert_false(ucp__scpd_name_valid(""));
  assert_false(ucp__scpd_name_valid(NULL));
  assert_false(ucp__scpd_name_valid("1st"));
  assert_false(ucp__scpd_name_valid("-x"));
  assert_false(ucp__scpd_name_valid(".x"));
  assert_false(ucp__scpd_name_valid("a b"));
  assert_false(ucp__scpd_name_valid("a:b"));
  assert_false(ucp__scpd_name_valid("a<b"));
  assert_false(ucp__scpd_name_valid("caf\xc3\xa9"));
  const ucp__scpd *s = parse_ok(
      "<scpd><actionList><action><name>9Lives</name><argumentList>"
      "<argument><name>a&amp;b</name><direction>in</direction>"
      "<relatedStateVariable>x y</relatedStateVariable></argument>"
      "</argumentList></action></actionList><serviceStateTable>"
      "<stateVariable><name>x y</name><dataType>ui4</dataType>"
      "</stateVariable></serviceStateTable></scpd>");
  /* kept, with warnings: the SOAP layer decides */
  assert_non_null(ucp__scpd_action(s, "9Lives"));
  assert_non_null(ucp__scpd_action(s, "9Lives")->args[0].var);
  assert_has(s->warnings, "line 1: action name '9Lives' is not a UPnP name");
  assert_has(s->warnings, "argument name 'a&b' is not a UPnP name");
  assert_has(s->warnings, "stateVariable name 'x y' is not a UPnP name");
}

static void test_minimal_documents(void **state) {
  (void)state;
  const ucp__scpd *s = parse_ok("<scpd/>");
  assert_int_equal(s->nactions, 0);
  assert_int_equal(s->nvars, 0);
  assert_non_null(s->actions);
  assert_non_null(s->vars);
  assert_int_equal(s->spec_major, 0);
  assert_int_equal(s->config_id, -1);
  assert_null(ucp__scpd_action(s, "x"));
  assert_null(ucp__scpd_var(s, "x"));
  s = parse_ok("\xEF\xBB\xBF<SCPD xmlns='x' configId='16777215'>\r\n"
               "<actionList/>\r\n</SCPD>");
  assert_int_equal(s->config_id, 16777215);
  s = parse_ok("<x:scpd xmlns:x='u' configId='16777216'><x:specVersion>"
               "<x:major>one</x:major></x:specVersion></x:scpd>");
  assert_int_equal(s->config_id, -1);
  assert_has(s->warnings, "configId '16777216' is not in 0..16777215");
  assert_has(s->warnings, "bad specVersion major");
  /* an action with no argumentList */
  s = parse_ok("<scpd><actionList><action><name>Ping</name></action>"
               "</actionList></scpd>");
  assert_int_equal(s->actions[0].nargs, 0);
  assert_non_null(s->actions[0].args);
  /* ISO-8859-1 is converted to UTF-8 by expat */
  s = parse_ok("<?xml version='1.0' encoding='ISO-8859-1'?><scpd>"
               "<serviceStateTable><stateVariable><name>V</name>"
               "<dataType>string</dataType><defaultValue>caf\xe9"
               "</defaultValue></stateVariable></serviceStateTable></scpd>");
  assert_string_equal(s->vars[0].default_value, "caf\xc3\xa9");
}

/* ------------------------------------------------------------- refusals */

static void test_doctype_refused(void **state) {
  (void)state;
  char d[512];
  assert_int_equal(parse_fail("<!DOCTYPE scpd><scpd/>", d, sizeof d),
                   UCP_E_DOCTYPE);
  assert_has(d, "DOCTYPE refused");
  assert_line(d, 1);
  static const char laughs[] =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE scpd [\n"
      " <!ENTITY a \"aaaaaaaaaa\">\n"
      " <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
      "]>\n"
      "<scpd><serviceStateTable><stateVariable><name>&b;</name>"
      "</stateVariable></serviceStateTable></scpd>";
  assert_int_equal(parse_fail(laughs, d, sizeof d), UCP_E_DOCTYPE);
  assert_line(d, 2);
  static const char xxe[] =
      "<!DOCTYPE scpd SYSTEM \"file:///etc/passwd\"><scpd/>";
  assert_int_equal(parse_fail(xxe, d, sizeof d), UCP_E_DOCTYPE);
  /* streaming, in 1-byte pieces */
  const ucp__scpd *s;
  assert_int_equal(
      stream_parse(laughs, strlen(laughs), 1, NULL, &s, d, sizeof d),
      UCP_E_DOCTYPE);
}

static void test_not_scpd_root(void **state) {
  (void)state;
  char d[512];
  assert_int_equal(parse_fail("<root><device/></root>", d, sizeof d),
                   UCP_E_PROTOCOL);
  assert_string_equal(d, "line 1: document element is <root>, expected <scpd>");
  assert_int_equal(parse_fail("\n\n<s:Envelope xmlns:s='x'/>", d, sizeof d),
                   UCP_E_PROTOCOL);
  assert_string_equal(d,
                      "line 3: document element is <Envelope>, expected <scpd>");
  /* <scpd> deeper than the document element does not count */
  assert_int_equal(parse_fail("<x><scpd/></x>", d, sizeof d), UCP_E_PROTOCOL);
  /* empty and whitespace-only documents are malformed XML */
  assert_int_equal(parse_fail_len("", 0, d, sizeof d), UCP_E_XML);
  assert_int_equal(parse_fail("  \n ", d, sizeof d), UCP_E_XML);
  /* NULL arguments */
  ucp__scpd *s = NULL;
  assert_int_equal(ucp__scpd_parse(NULL, 3, &s, d, sizeof d),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp__scpd_parse("<scpd/>", 7, NULL, NULL, 0),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp__scpd_parse("<bad", 4, &s, NULL, 0), UCP_E_XML);
  assert_null(s);
}

static void test_truncated(void **state) {
  (void)state;
  size_t len;
  char *xml = read_data("SwitchPower1.xml", &len);
  /* cut after every '>': each prefix is malformed, at its last line */
  size_t cuts = 0;
  for (size_t i = 0; i + 1 < len; i++) {
    if (xml[i] != '>') continue;
    size_t n = i + 1;
    if (strncmp(xml + n - 7, "</scpd>", 7) == 0) break;
    unsigned long lines = 1;
    for (size_t k = 0; k < n; k++) lines += xml[k] == '\n';
    char d[512];
    assert_int_equal(parse_fail_len(xml, n, d, sizeof d), UCP_E_XML);
    assert_line(d, lines);
    const ucp__scpd *s;
    char e[512];
    assert_int_equal(stream_parse(xml, n, 5, NULL, &s, e, sizeof e),
                     UCP_E_XML);
    assert_string_equal(d, e);
    cuts++;
  }
  assert_true(cuts > 40);
  char d[512];
  assert_int_equal(parse_fail("<scpd><actionList>\n<action>\n<name>x</nam",
                              d, sizeof d), UCP_E_XML);
  assert_line(d, 3);
  assert_int_equal(parse_fail("<scpd>\n<a></b>\n</scpd>", d, sizeof d),
                   UCP_E_XML);
  assert_line(d, 2);
  assert_has(d, "mismatched tag");
}

static void test_trailing_garbage(void **state) {
  (void)state;
  static const char doc[] =
      "<scpd><actionList><action><name>A</name></action></actionList></scpd>"
      "\x00\xff<not xml & never parsed";
  const ucp__scpd *s = parse_len(doc, sizeof doc - 1);
  assert_int_equal(s->nactions, 1);
  const ucp__scpd *t;
  char e[256];
  assert_int_equal(stream_parse(doc, sizeof doc - 1, 3, NULL, &t, e, sizeof e),
                   UCP_OK);
  assert_int_equal(t->nactions, 1);
}

static void test_bare_ampersand(void **state) {
  (void)state;
  const ucp__scpd *s = parse_ok(
      "<scpd>\n<serviceStateTable><stateVariable><name>Genre</name>"
      "<dataType>string</dataType><allowedValueList>"
      "<allowedValue>R&B</allowedValue><allowedValue>&amp;&#38;&#x26;"
      "</allowedValue><allowedValue>&nbsp;</allowedValue>"
      "</allowedValueList></stateVariable></serviceStateTable></scpd>");
  const ucp__statevar *v = ucp__scpd_var(s, "Genre");
  assert_int_equal(v->nallowed, 3);
  assert_string_equal(v->allowed[0], "R&B");
  assert_string_equal(v->allowed[1], "&&&");
  assert_string_equal(v->allowed[2], "&nbsp;");
  assert_has(s->warnings, "2 unescaped '&' repaired (first: line 2:");
  /* streaming: the same */
  const char *doc = "<scpd><actionList><action><name>A&B</name></action>"
                    "</actionList></scpd>";
  const ucp__scpd *t;
  char e[256];
  assert_int_equal(stream_parse(doc, strlen(doc), 1, NULL, &t, e, sizeof e),
                   UCP_OK);
  assert_string_equal(t->actions[0].name, "A&B");
  /* another error beside the '&': the device's first error is kept */
  char d[512];
  assert_int_equal(parse_fail("<scpd>\n<a>R&B</b></scpd>", d, sizeof d),
                   UCP_E_XML);
  assert_line(d, 2);
  /* the repaired document keeps its caps */
  ucp__scpd_limits lim;
  ucp__scpd_limits_default(&lim);
  lim.max_actions = 1;
  doc = "<scpd><actionList><action><name>A&B</name></action>"
        "<action><name>C</name></action></actionList></scpd>";
  assert_int_equal(stream_parse(doc, strlen(doc), 0, &lim, &t, e, sizeof e),
                   UCP_E_TOO_LARGE);
  assert_has(e, "more than 1 actions");
}

/* ------------------------------------------------------------------ caps */

static void build_nested(sbuf *b, size_t depth) {
  b->len = 0;
  sb_add(b, "<scpd>");
  for (size_t i = 1; i < depth; i++) sb_add(b, "<x>");
  for (size_t i = 1; i < depth; i++) sb_add(b, "</x>");
  sb_add(b, "</scpd>");
}

static void test_depth_cap(void **state) {
  (void)state;
  char d[512];
  build_nested(&doc_buf, 32);
  parse_len(doc_buf.s, doc_buf.len);
  build_nested(&doc_buf, 33);
  assert_int_equal(parse_fail_len(doc_buf.s, doc_buf.len, d, sizeof d),
                   UCP_E_TOO_LARGE);
  assert_string_equal(d, "line 1: elements nested deeper than 32");
  /* a smaller cap, streaming */
  ucp__scpd_limits lim;
  ucp__scpd_limits_default(&lim);
  lim.max_depth = 4;
  static const char doc[] =
      "<scpd>\n<actionList>\n<action>\n<argumentList>\n<argument>"
      "</argument></argumentList></action></actionList></scpd>";
  const ucp__scpd *s;
  assert_int_equal(stream_parse(doc, sizeof doc - 1, 1, &lim, &s, d, sizeof d),
                   UCP_E_TOO_LARGE);
  assert_string_equal(d, "line 5: elements nested deeper than 4");
  lim.max_depth = 5;
  assert_int_equal(stream_parse(doc, sizeof doc - 1, 1, &lim, &s, d, sizeof d),
                   UCP_OK);
}

static void test_text_cap(void **state) {
  (void)state;
  char d[512];
  for (int over = 0; over <= 1; over++) {
    doc_buf.len = 0;
    sb_add(&doc_buf, "<scpd><serviceStateTable>\n<stateVariable><name>V</name>"
                     "<defaultValue>");
    for (size_t i = 0; i < 8192 + (size_t)over; i++)
      sb_add(&doc_buf, "%c", 'a' + (int)(i % 26));
    sb_add(&doc_buf, "</defaultValue></stateVariable></serviceStateTable>"
                     "</scpd>");
    if (!over) {
      const ucp__scpd *s = parse_len(doc_buf.s, doc_buf.len);
      assert_int_equal(strlen(s->vars[0].default_value), 8192);
      continue;
    }
    assert_int_equal(parse_fail_len(doc_buf.s, doc_buf.len, d, sizeof d),
                     UCP_E_TOO_LARGE);
    assert_has(d, "element text longer than 8192 bytes");
    assert_line(d, 2);
    /* accumulated across 1-byte callbacks as well */
    const ucp__scpd *s;
    char e[512];
    assert_int_equal(
        stream_parse(doc_buf.s, doc_buf.len, 1, NULL, &s, e, sizeof e),
        UCP_E_TOO_LARGE);
    assert_has(e, "element text longer than 8192 bytes");
  }
  /* text of ignored elements is not collected, so not capped */
  doc_buf.len = 0;
  sb_add(&doc_buf, "<scpd><X_Vendor>");
  for (size_t i = 0; i < 20000; i++) sb_add(&doc_buf, "z");
  sb_add(&doc_buf, "</X_Vendor></scpd>");
  parse_len(doc_buf.s, doc_buf.len);
}

static void build_actions(sbuf *b, size_t nact, size_t nargs) {
  b->len = 0;
  sb_add(b, "<scpd><actionList>\n");
  for (size_t i = 0; i < nact; i++) {
    sb_add(b, "<action><name>A%zu</name><argumentList>", i);
    for (size_t j = 0; j < nargs; j++)
      sb_add(b, "<argument><name>a%zu</name><direction>in</direction>"
                "<relatedStateVariable>V</relatedStateVariable></argument>",
             j);
    sb_add(b, "</argumentList></action>\n");
  }
  sb_add(b, "</actionList><serviceStateTable><stateVariable><name>V</name>"
            "<dataType>ui4</dataType></stateVariable></serviceStateTable>"
            "</scpd>");
}

static void test_count_caps(void **state) {
  (void)state;
  char d[512];
  /* actions: 1024 fine, 1025 refused at the line of the 1025th */
  build_actions(&doc_buf, 1024, 1);
  const ucp__scpd *s = parse_len(doc_buf.s, doc_buf.len);
  assert_int_equal(s->nactions, 1024);
  assert_true(ucp__scpd_action(s, "A1000") == &s->actions[1000]);
  assert_true(s->actions[1023].args[0].var == &s->vars[0]);
  build_actions(&doc_buf, 1025, 0);
  assert_int_equal(parse_fail_len(doc_buf.s, doc_buf.len, d, sizeof d),
                   UCP_E_TOO_LARGE);
  assert_string_equal(d, "line 1026: more than 1024 actions");
  /* arguments per action: 64 fine, 65 refused */
  build_actions(&doc_buf, 2, 64);
  s = parse_len(doc_buf.s, doc_buf.len);
  assert_int_equal(s->actions[1].nargs, 64);
  assert_int_equal(s->actions[1].nin, 64);
  build_actions(&doc_buf, 2, 65);
  assert_int_equal(parse_fail_len(doc_buf.s, doc_buf.len, d, sizeof d),
                   UCP_E_TOO_LARGE);
  assert_string_equal(d, "line 2: more than 64 arguments in one action");
  /* variables */
  for (size_t n = 4096; n <= 4097; n++) {
    doc_buf.len = 0;
    sb_add(&doc_buf, "<scpd><serviceStateTable>");
    for (size_t i = 0; i < n; i++)
      sb_add(&doc_buf, "<stateVariable><name>V%zu</name></stateVariable>", i);
    sb_add(&doc_buf, "</serviceStateTable></scpd>");
    if (n == 4096) {
      s = parse_len(doc_buf.s, doc_buf.len);
      assert_int_equal(s->nvars, 4096);
      assert_true(ucp__scpd_var(s, "V4095") == &s->vars[4095]);
    } else {
      assert_int_equal(parse_fail_len(doc_buf.s, doc_buf.len, d, sizeof d),
                       UCP_E_TOO_LARGE);
      assert_string_equal(d, "line 1: more than 4096 state variables");
    }
  }
  /* allowed values per variable */
  for (size_t n = 1024; n <= 1025; n++) {
    doc_buf.len = 0;
    sb_add(&doc_buf, "<scpd><serviceStateTable><stateVariable><name>V</name>"
                     "<allowedValueList>");
    for (size_t i = 0; i < n; i++)
      sb_add(&doc_buf, "<allowedValue>v%zu</allowedValue>", i);
    sb_add(&doc_buf, "</allowedValueList></stateVariable></serviceStateTable>"
                     "</scpd>");
    if (n == 1024) {
      s = parse_len(doc_buf.s, doc_buf.len);
      assert_int_equal(s->vars[0].nallowed, 1024);
      assert_string_equal(s->vars[0].allowed[1023], "v1023");
    } else {
      assert_int_equal(parse_fail_len(doc_buf.s, doc_buf.len, d, sizeof d),
                       UCP_E_TOO_LARGE);
      assert_has(d, "more than 1024 allowed values in one state variable");
    }
  }
  /* attributes per element */
  doc_buf.len = 0;
  sb_add(&doc_buf, "<scpd><serviceStateTable><stateVariable");
  for (int i = 0; i < 65; i++) sb_add(&doc_buf, " a%d='1'", i);
  sb_add(&doc_buf, "/></serviceStateTable></scpd>");
  assert_int_equal(parse_fail_len(doc_buf.s, doc_buf.len, d, sizeof d),
                   UCP_E_TOO_LARGE);
  assert_has(d, "has more than 64 attributes");
  /* smaller caps through the limits, streaming */
  ucp__scpd_limits lim;
  ucp__scpd_limits_default(&lim);
  lim.max_vars = 2;
  static const char three[] =
      "<scpd><serviceStateTable><stateVariable><name>a</name></stateVariable>"
      "<stateVariable><name>b</name></stateVariable>\n"
      "<stateVariable><name>c</name></stateVariable></serviceStateTable>"
      "</scpd>";
  assert_int_equal(stream_parse(three, sizeof three - 1, 7, &lim, &s, d,
                                sizeof d), UCP_E_TOO_LARGE);
  assert_string_equal(d, "line 2: more than 2 state variables");
  /* nameless items count too: the cap bounds the work, not the model */
  lim.max_vars = 4096;
  lim.max_allowed = 1;
  static const char two[] =
      "<scpd><serviceStateTable><stateVariable><allowedValueList>"
      "<allowedValue/><allowedValue/></allowedValueList></stateVariable>"
      "</serviceStateTable></scpd>";
  assert_int_equal(stream_parse(two, sizeof two - 1, 0, &lim, &s, d,
                                sizeof d), UCP_E_TOO_LARGE);
}

static void test_document_size_cap(void **state) {
  (void)state;
  char d[512];
  /* 1 MiB: a long comment keeps the model small */
  doc_buf.len = 0;
  sb_add(&doc_buf, "<scpd>\n<!--");
  while (doc_buf.len < 1024 * 1024 - 10) sb_add(&doc_buf, "xxxxxxxxxx");
  doc_buf.len = 1024 * 1024 - 10;
  doc_buf.s[doc_buf.len] = '\0';
  sb_add(&doc_buf, "--></scpd>");
  assert_int_equal(doc_buf.len, 1024 * 1024);
  parse_len(doc_buf.s, doc_buf.len);
  sb_add(&doc_buf, " ");
  assert_int_equal(parse_fail_len(doc_buf.s, doc_buf.len, d, sizeof d),
                   UCP_E_TOO_LARGE);
  assert_has(d, "document larger than 1048576 bytes");
  /* streaming: refused as soon as the count passes the cap, even after
   * </scpd> and even when the XML is already broken */
  ucp__scpd_limits lim;
  ucp__scpd_limits_default(&lim);
  lim.max_bytes = 100;
  ucp__scpd_parser *p = ucp__scpd_parser_new(&lim);
  assert_non_null(p);
  assert_int_equal(ucp__scpd_parser_feed(p, "<scpd/>", 7), UCP_OK);
  char junk[100];
  memset(junk, 'j', sizeof junk);
  assert_int_equal(ucp__scpd_parser_feed(p, junk, 93), UCP_OK);
  assert_int_equal(ucp__scpd_parser_feed(p, junk, 1), UCP_E_TOO_LARGE);
  assert_has(ucp__scpd_parser_error(p), "document larger than 100 bytes");
  ucp__scpd *s = (ucp__scpd *)&s;
  assert_int_equal(ucp__scpd_parser_finish(p, &s), UCP_E_TOO_LARGE);
  assert_null(s);
  ucp__scpd_parser_free(p);
  p = ucp__scpd_parser_new(&lim);
  assert_non_null(p);
  assert_int_equal(ucp__scpd_parser_feed(p, "<scpd></x>", 10), UCP_OK);
  assert_int_equal(ucp__scpd_parser_feed(p, junk, 100), UCP_E_TOO_LARGE);
  ucp__scpd_parser_free(p);
}

/* --------------------------------------------------------- streaming */

static void test_streaming_equivalence(void **state) {
  (void)state;
  const char *files[] = {"SwitchPower1.xml", "types.xml", "quirks.xml"};
  static const size_t pieces[] = {1, 2, 3, 7, 64, 4096};
  for (size_t f = 0; f < 3; f++) {
    size_t len;
    char *xml = read_data(files[f], &len);
    dump_a.len = 0;
    dump(parse_len(xml, len), &dump_a);
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
      const ucp__scpd *s;
      char e[256];
      assert_int_equal(stream_parse(xml, len, pieces[i], NULL, &s, e,
                                    sizeof e), UCP_OK);
      assert_string_equal(e, "");
      dump_b.len = 0;
      dump(s, &dump_b);
      if (strcmp(dump_a.s, dump_b.s) != 0)
        fail_msg("%s in %zu-byte pieces:\n%s\n--- whole:\n%s", files[f],
                 pieces[i], dump_b.s, dump_a.s);
    }
  }
  /* failures agree too: code and text */
  static const char *bad[] = {
      "<scpd>\n<actionList>\n<action></actionList></scpd>",
      "<scpd>\n<!DOCTYPE x>",
      "<root/>",
      "<scpd>\n<actionList><action><name>\xff\xfe</name></action>",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char d[512];
    int rc = parse_fail(bad[i], d, sizeof d);
    for (size_t k = 1; k <= 3; k++) {
      const ucp__scpd *s;
      char e[512];
      assert_int_equal(stream_parse(bad[i], strlen(bad[i]), k, NULL, &s, e,
                                    sizeof e), rc);
      assert_string_equal(e, d);
    }
  }
}

static void test_sticky_error_and_reuse(void **state) {
  (void)state;
  ucp__scpd_parser *p = ucp__scpd_parser_new(NULL);
  assert_non_null(p);
  assert_string_equal(ucp__scpd_parser_error(p), "");
  assert_int_equal(ucp__scpd_parser_feed(p, "<!DOCTYPE x><scpd/>", 19),
                   UCP_E_DOCTYPE);
  assert_int_equal(ucp__scpd_parser_feed(p, "<scpd/>", 7), UCP_E_DOCTYPE);
  ucp__scpd *s = NULL;
  assert_int_equal(ucp__scpd_parser_finish(p, &s), UCP_E_DOCTYPE);
  assert_null(s);
  assert_has(ucp__scpd_parser_error(p), "DOCTYPE");
  ucp__scpd_parser_free(p);
  /* malformed XML is reported at finish (a '&' repair may still save it) */
  p = ucp__scpd_parser_new(NULL);
  assert_int_equal(ucp__scpd_parser_feed(p, "<scpd><a></b>", 13), UCP_OK);
  assert_int_equal(ucp__scpd_parser_feed(p, "</scpd>", 7), UCP_OK);
  assert_int_equal(ucp__scpd_parser_finish(p, &s), UCP_E_XML);
  assert_int_equal(ucp__scpd_parser_finish(p, &s), UCP_E_XML);
  ucp__scpd_parser_free(p);
  /* success: feeds after </scpd> are ignored; a second finish is refused */
  p = ucp__scpd_parser_new(NULL);
  assert_int_equal(ucp__scpd_parser_feed(p, "<scpd/>", 7), UCP_OK);
  assert_int_equal(ucp__scpd_parser_feed(p, "<more", 5), UCP_OK);
  assert_int_equal(ucp__scpd_parser_finish(p, &s), UCP_OK);
  track(s);
  assert_string_equal(ucp__scpd_parser_error(p), "");
  assert_int_equal(ucp__scpd_parser_feed(p, "<x/>", 4), UCP_OK);
  ucp__scpd *s2 = (ucp__scpd *)&s2;
  assert_int_equal(ucp__scpd_parser_finish(p, &s2), UCP_E_INVALIDARG);
  assert_null(s2);
  ucp__scpd_parser_free(p);
  ucp__scpd_parser_free(NULL);
}

/* ------------------------------------------------------------ refcount */

static void *ref_worker(void *arg) {
  const ucp__scpd *s = arg;
  for (int i = 0; i < 10000; i++) {
    const ucp__scpd *r = ucp__scpd_ref(s);
    if (!ucp__scpd_action(r, "GetStatus")) return (void *)1;
    ucp__scpd_unref(r);
  }
  return NULL;
}

static void test_refcount(void **state) {
  (void)state;
  size_t len;
  char *xml = read_data("SwitchPower1.xml", &len);
  ucp__scpd *s = NULL;
  assert_int_equal(ucp__scpd_parse(xml, len, &s, NULL, 0), UCP_OK);
  assert_int_equal(atomic_load(&s->refs), 1);
  assert_true(ucp__scpd_ref(s) == s);
  ucp__scpd_unref(s);
  assert_null(ucp__scpd_ref(NULL));
  ucp__scpd_unref(NULL);
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&t[i], NULL, ref_worker, s), 0);
  int bad = 0;
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    bad |= r != NULL;
  }
  assert_false(bad);
  assert_int_equal(atomic_load(&s->refs), 1);
  ucp__scpd_unref(s); /* the last: frees (LeakSanitizer checks) */
}

/* ------------------------------------------------------ out of memory */

/* Fail each allocation in turn: every outcome is UCP_E_NOMEM until the
 * budget suffices, then UCP_OK; never a crash. In a child process, so that
 * a crash fails this test instead of ending the run; the child ends with
 * exit() so that LeakSanitizer (ASan builds) checks it for leaks. */
static int oom_run(const char *xml, size_t len, int streaming, char *detail,
                   size_t dlen) {
  ucp__scpd *s = NULL;
  int rc;
  if (!streaming) {
    rc = ucp__scpd_parse(xml, len, &s, detail, dlen);
  } else {
    ucp__scpd_parser *p = ucp__scpd_parser_new(NULL);
    if (!p) return UCP_E_NOMEM;
    rc = UCP_OK;
    size_t half = len / 2;
    if (rc == UCP_OK) rc = ucp__scpd_parser_feed(p, xml, half);
    if (rc == UCP_OK) rc = ucp__scpd_parser_feed(p, xml + half, len - half);
    if (rc == UCP_OK) rc = ucp__scpd_parser_finish(p, &s);
    snprintf(detail, dlen, "%s", ucp__scpd_parser_error(p));
    ucp__scpd_parser_free(p);
  }
  if ((rc == UCP_OK) != (s != NULL)) return UCP_E_INTERNAL;
  if (s) ucp__scpd_unref(s);
  return rc;
}

static void oom_child(const char *xml, size_t len, int streaming, int fd) {
  for (long n = 0; n < 200000; n++) {
    (void)!write(fd, &n, sizeof n);
    char detail[512] = "";
    ucp__test_mem_fail_after(n);
    int rc = oom_run(xml, len, streaming, detail, sizeof detail);
    ucp__test_mem_fail_after(-1);
    if (rc == UCP_OK) exit(0);
    if (rc != UCP_E_NOMEM || (!streaming && !detail[0])) {
      fprintf(stderr, "fail_after %ld: %s (%s)\n", n, ucp_err_name(rc),
              detail);
      exit(3);
    }
  }
  exit(4);
}

static int oom_sweep(const char *label, const char *xml, size_t len,
                     int streaming) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    oom_child(xml, len, streaming, fds[1]);
  }
  close(fds[1]);
  long last = -1, n;
  while (read(fds[0], &n, sizeof n) == (ssize_t)sizeof n) last = n;
  close(fds[0]);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    print_message("%s%s: out-of-memory sweep died at fail_after(%ld): %s %d\n",
                  label, streaming ? " (streaming)" : "", last,
                  WIFSIGNALED(st) ? "signal" : "exit status",
                  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return 0;
  }
  print_message("%s%s: %ld allocation failures survived\n", label,
                streaming ? " (streaming)" : "", last);
  return last > 0;
}

static void test_out_of_memory(void **state) {
  (void)state;
  int ok = 1;
  static const char empty[] = "<scpd/>";
  ok &= oom_sweep("<scpd/>", empty, sizeof empty - 1, 0);
  static const char amp[] =
      "<scpd><actionList><action><name>A&B</name></action><action><name>A&amp;"
      "B</name></action></actionList></scpd>";
  ok &= oom_sweep("repair", amp, sizeof amp - 1, 0);
  ok &= oom_sweep("repair", amp, sizeof amp - 1, 1);
  const char *files[] = {"SwitchPower1.xml", "quirks.xml", "types.xml"};
  for (size_t i = 0; i < 3; i++) {
    size_t len;
    char *xml = read_data(files[i], &len);
    ok &= oom_sweep(files[i], xml, len, 0);
    ok &= oom_sweep(files[i], xml, len, 1);
  }
  if (corpus_present()) {
    size_t len;
    char *xml = read_corpus("sonos-play1-QPlay1.xml", &len);
    ok &= oom_sweep("sonos-play1-QPlay1.xml", xml, len, 1);
  }
  assert_true(ok);
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_corpus_every_file),
      T(test_corpus_sonos),
      T(test_corpus_wemo),
      T(test_corpus_others),
      T(test_dtype_names),
      T(test_types_fixture),
      T(test_allowed_values_and_range),
      T(test_switchpower),
      T(test_quirks_fixture),
      T(test_names),
      T(test_minimal_documents),
      T(test_doctype_refused),
      T(test_not_scpd_root),
      T(test_truncated),
      T(test_trailing_garbage),
      T(test_bare_ampersand),
      T(test_depth_cap),
      T(test_text_cap),
      T(test_count_caps),
      T(test_document_size_cap),
      T(test_streaming_equivalence),
      T(test_sticky_error_and_reuse),
      T(test_refcount),
      T(test_out_of_memory),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  if (failed) return failed;
  if (!corpus_present()) {
    fprintf(stderr, "%s missing: corpus tests skipped\n", SCPD_CORPUS);
    return 77;
  }
  return 0;
}
