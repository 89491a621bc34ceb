/* test_gena_parse.c - the sans-I/O GENA parsers (src/gena/gena_parse.c):
 * NOTIFY bodies (<e:propertyset>, UDA 2.0 §4.3) and AV LastChange
 * documents. Every file of the real-device corpus's notify/ folder
 * (listed at run time: a file missing from the table below fails), then
 * hand-written cases, caps, truncation at every byte, and out of memory.
 * No network. Exits 77 (skipped) when the corpus is missing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/upnpcp_internal_test.h"
#include "gena/gena.h"
#include "upnpcp.h"

#define NOTIFY_CORPUS UCP_CORPUS_DIR "/notify"

/* ============================================================ helpers */

/* Whatever a test holds is released by the per-test teardown, so that a
 * failed assertion does not leak (LeakSanitizer runs at exit). */
enum { SLOTS = 8 };
static char *held_buf[SLOTS];
static ucp__propset *held_ps[SLOTS];
static ucp__lastchange *held_lc[SLOTS];

static int teardown(void **state) {
  (void)state;
  for (size_t i = 0; i < SLOTS; i++) {
    free(held_buf[i]);
    held_buf[i] = NULL;
    ucp__propset_free(held_ps[i]);
    held_ps[i] = NULL;
    ucp__lastchange_free(held_lc[i]);
    held_lc[i] = NULL;
  }
  ucp__test_mem_fail_after(-1);
  return 0;
}

static char *hold_buf(int slot, char *b) {
  assert_non_null(b);
  free(held_buf[slot]);
  held_buf[slot] = b;
  return b;
}

static char *read_path(const char *path, size_t *len, int slot) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  assert_true(n >= 0);
  rewind(f);
  char *b = hold_buf(slot, malloc((size_t)n + 1));
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  b[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return b;
}

static char *corpus_file(const char *name, size_t *len, int slot) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", NOTIFY_CORPUS, name);
  return read_path(path, len, slot);
}

static const ucp__propset *ps_ok_lim(const char *doc, size_t len,
                                     const ucp__gena_limits *lim, int slot) {
  char err[600];
  ucp__propset *p = NULL;
  int rc = ucp__propset_parse(doc, len, lim, &p, err, sizeof err);
  if (rc != UCP_OK)
    fail_msg("propset: %s: %s\n%.300s", ucp_err_name(rc), err, doc);
  assert_non_null(p);
  assert_string_equal(err, "");
  ucp__propset_free(held_ps[slot]);
  held_ps[slot] = p;
  return p;
}

static const ucp__propset *ps_ok(const char *doc, int slot) {
  return ps_ok_lim(doc, strlen(doc), NULL, slot);
}

static int ps_err_lim(const char *doc, size_t len, const ucp__gena_limits *lim,
                      char *err, size_t cap) {
  ucp__propset *p = (ucp__propset *)1;
  int rc = ucp__propset_parse(doc, len, lim, &p, err, cap);
  assert_null(p);
  assert_int_not_equal(rc, UCP_OK);
  assert_true(strncmp(err, "line ", 5) == 0 || rc == UCP_E_NOMEM);
  return rc;
}

static int ps_err(const char *doc, char *err, size_t cap) {
  return ps_err_lim(doc, strlen(doc), NULL, err, cap);
}

static const ucp__lastchange *lc_ok_lim(const char *doc, size_t len,
                                        const ucp__gena_limits *lim,
                                        int slot) {
  char err[600];
  ucp__lastchange *l = NULL;
  int rc = ucp__lastchange_parse_limits(doc, len, lim, &l, err, sizeof err);
  if (rc != UCP_OK)
    fail_msg("lastchange: %s: %s\n%.300s", ucp_err_name(rc), err, doc);
  assert_non_null(l);
  assert_string_equal(err, "");
  ucp__lastchange_free(held_lc[slot]);
  held_lc[slot] = l;
  return l;
}

static const ucp__lastchange *lc_ok(const char *doc, int slot) {
  return lc_ok_lim(doc, strlen(doc), NULL, slot);
}

static int lc_err_lim(const char *doc, size_t len, const ucp__gena_limits *lim,
                      char *err, size_t cap) {
  ucp__lastchange *l = (ucp__lastchange *)1;
  int rc = ucp__lastchange_parse_limits(doc, len, lim, &l, err, cap);
  assert_null(l);
  assert_int_not_equal(rc, UCP_OK);
  assert_true(strncmp(err, "line ", 5) == 0 || rc == UCP_E_NOMEM);
  return rc;
}

static int lc_err(const char *doc, char *err, size_t cap) {
  return lc_err_lim(doc, strlen(doc), NULL, err, cap);
}

static void assert_contains(const char *s, const char *sub) {
  assert_non_null(s);
  if (!strstr(s, sub)) fail_msg("\"%.400s\" does not contain \"%s\"", s, sub);
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; s && *s; s++) n += *s == '\n';
  return n;
}

/* The first change of `variable`, or a failure. */
static const ucp__lc_change *change(const ucp__lastchange *l,
                                    const char *variable) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->changes[i].variable, variable) == 0) return &l->changes[i];
  fail_msg("no change of %s", variable);
  return NULL;
}

static void assert_change(const ucp__lc_change *c, const char *instance,
                          const char *variable, const char *value,
                          const char *channel) {
  assert_string_equal(c->instance, instance);
  assert_string_equal(c->variable, variable);
  if (value)
    assert_string_equal(c->value, value);
  else
    assert_null(c->value);
  if (channel)
    assert_string_equal(c->channel, channel);
  else
    assert_null(c->channel);
}

#define PS_OPEN "<e:propertyset xmlns:e=\"urn:schemas-upnp-org:event-1-0\">"
#define PS_CLOSE "</e:propertyset>"
#define PROP(x) "<e:property>" x "</e:property>"
#define EV_OPEN "<Event xmlns=\"urn:schemas-upnp-org:metadata-1-0/AVT/\">"

/* ============================================================ corpus */

/* What each capture gives (docs/gena_corpus.md has the same table). */
typedef struct check {
  const char *variable;
  char op; /* '=' exact, '^' prefix, '$' suffix, '~' contains, 0 NULL */
  const char *text;
} check;

typedef struct corpus_case {
  const char *file;
  int bare; /* a bare <Event> (no propertyset) */
  const char *ps_warn[2]; /* substrings of the propset warnings; none: "" */
  size_t changes;
  int partial;
  const char *lc_warn[2]; /* substrings of the LastChange warnings */
  check checks[4];
} corpus_case;

static const corpus_case corpus[] = {
    {"denon-avr4306-avt-lastchange-unrecoverable.xml", 0, {NULL}, 7, 0,
     {"line 11: 827 bytes after the end of <Event> ignored"},
     {{"TransportState", '=', "PLAYING"},
      {"CurrentTrackURI", '$', "/O0$1$8I3277578.mp3"},
      {"CurrentTrack", '=', "1"},
      {"AVTransportURIMetaData", '=', ""}}},
    {"marantz-m-cr603-avt-lastchange-unrecoverable.xml", 0,
     {"3 unescaped '&' escaped"}, 22, 0, {"2 unescaped '&' escaped"},
     {{"TransportState", '=', "STOPPED"},
      {"CurrentTrackURI", '$', "6B71610F3B6B6E&id=36894"},
      {"AVTransportURI", '$', "&id=36894"},
      {"CurrentTransportActions", '=',
       "Play,Next,Previous,Seek,X_DLNA_SeekTime"}}},
    {"orange-liveradio-avt-lastchange.xml", 0,
     {"line 11: XML declaration after comments",
      "line 14: <LastChange> holds unescaped markup"},
     1, 0, {NULL},
     {{"TransportState", '=', "STOPPED"}}},
    {"philips-sla5220-avt-lastchange-unrecoverable.xml", 0, {NULL}, 7, 0,
     {"line 9: 1 val attribute held a literal '<'"},
     {{"TransportState", '=', "PLAYING"},
      {"CurrentTrackMetaData", '^', "<DIDL-Lite xmlns=\"urn:schemas-upnp-org"},
      {"CurrentTrackMetaData", '$', "</item></DIDL-Lite>"},
      {"CurrentTransportActions", '=', "Pause,Stop,Next,Previous"}}},
    {"philips-streamium-np2900-avt-lastchange-unrecoverable.xml", 0,
     {"11 unescaped '&' escaped",
      "line 12: <LastChange> holds markup that is not well-formed"},
     3, 1, {"1 val attribute held", "document ends before </Event>"},
     {{"TransportState", '=', "PLAYING"},
      {"CurrentTrackURI", '$', "Thunderball%2520-%2520Solar.mp3"},
      {"CurrentTrackMetaData", '~', "<font size=tel Costes4 , Quatre &"},
      {"CurrentTrackMetaData", '$', "</item></DIDL-Lite>"}}},
    {"sonos-avt-lastchange-linein.xml", 0, {NULL}, 36, 0, {NULL},
     {{"TransportState", '=', "PLAYING"},
      {"CurrentTrackMetaData", '~', "<dc:title>Audio Component</dc:title>"},
      {"SleepTimerGeneration", '=', "0"},
      {"CurrentTransportActions", '=', "Set, Stop, Play"}}},
    {"sony-sa-ns300-avt-lastchange-truncated.xml", 0,
     {"line 32: body cut inside the end tag of <e:propertyset>"}, 6, 0,
     {NULL},
     {{"TransportState", '=', "PLAYING"},
      {"AVTransportURIMetaData", '~', "<dc:title>Beggin</dc:title>"},
      /* attribute values: a line break is read as a space (XML 1.0 §3.3.3) */
      {"AVTransportURIMetaData", '$', "</item> </DIDL-Lite>"},
      {"CurrentMediaDuration", '=', "0:03:35"}}},
    {"teac-wap4500-avt-lastchange-unrecoverable.xml", 1, {NULL}, 2, 1,
     {"line 14: 1 val attribute held",
      "line 14: document ends before </Event>, inside "
      "<AVTransportURIMetaData>"},
     {{"CurrentTrackURI", '$', "/O0$1$8I332043.mp3"},
      {"AVTransportURI", '^', "http://192.168.0.3:9000/disk/"}}},
    {"technisat-digit-hd8plus-avt-lastchange-unrecoverable.xml", 1, {NULL},
     6, 0, {"line 12: 2 val attributes held"},
     {{"TransportState", '=', "PLAYING"},
      {"CurrentTrackMetaData", '~', "<dc:title>img_0113</dc:title>"},
      {"AVTransportURIMetaData", '$', "</item>\n</DIDL-Lite>"},
      {"TransportStatus", '=', "OK"}}},
    {"terratec-noxon2-avt-lastchange-unrecoverable.xml", 0,
     {"line 10: <LastChange> holds markup that is not well-formed"}, 5, 0,
     {"line 9: 723 bytes after the end of <Event> ignored"},
     {{"TransportState", '=', "STOPPED"},
      {"CurrentTrackURI", '=', "http://192.168.1.102:50002/m/NDLNA/11504.mp3"},
      {"AVTransportURIMetaData", '=', ""}}},
};
enum { NCORPUS = sizeof corpus / sizeof corpus[0] };

static void check_text(const char *file, const check *c, const char *v) {
  size_t vl = v ? strlen(v) : 0, tl = c->text ? strlen(c->text) : 0;
  int ok = 0;
  switch (c->op) {
    case 0: ok = v == NULL; break;
    case '=': ok = v && strcmp(v, c->text) == 0; break;
    case '^': ok = v && strncmp(v, c->text, tl) == 0; break;
    case '$': ok = v && vl >= tl && strcmp(v + vl - tl, c->text) == 0; break;
    case '~': ok = v && strstr(v, c->text) != NULL; break;
  }
  if (!ok)
    fail_msg("%s: %s is \"%.300s\", expected %c\"%s\"", file, c->variable,
             v ? v : "(null)", c->op, c->text ? c->text : "");
}

static void check_warnings(const char *file, const char *w,
                           const char *const want[2]) {
  if (!want[0]) {
    if (w[0]) fail_msg("%s: unexpected warnings:\n%s", file, w);
    return;
  }
  for (size_t i = 0; i < 2 && want[i]; i++) assert_contains(w, want[i]);
}

/* The LastChange document of a capture: the LastChange value of its
 * propertyset, or the whole file for a bare <Event>. */
static const char *lastchange_doc(const corpus_case *c, const char *doc,
                                  size_t *len) {
  if (c->bare) return doc;
  const ucp__propset *p = ps_ok_lim(doc, *len, NULL, 0);
  assert_int_equal(p->n, 1);
  check_warnings(c->file, p->warnings, c->ps_warn);
  const ucp__prop *v = ucp__propset_find(p, "LastChange");
  assert_non_null(v);
  assert_ptr_equal(v, &p->props[0]);
  assert_int_equal(strlen(v->value), v->value_len);
  *len = v->value_len;
  return v->value;
}

static void run_corpus_case(const corpus_case *c, const char *doc, size_t len) {
  const char *lcdoc = lastchange_doc(c, doc, &len);
  const ucp__lastchange *l = lc_ok_lim(lcdoc, len, NULL, 1);
  if (l->n != c->changes || l->partial != c->partial)
    fail_msg("%s: %zu changes (partial %d), expected %zu (partial %d)",
             c->file, l->n, l->partial, c->changes, c->partial);
  check_warnings(c->file, l->warnings, c->lc_warn);
  for (size_t i = 0; i < l->n; i++) {
    assert_string_equal(l->changes[i].instance, "0");
    assert_true(l->changes[i].variable[0] != '\0');
    assert_null(l->changes[i].channel);
  }
  for (size_t i = 0; i < 4 && c->checks[i].variable; i++)
    check_text(c->file, &c->checks[i],
               change(l, c->checks[i].variable)->value);
  print_message("  %-58s %2zu changes%s, %zu+%zu warnings\n", c->file, l->n,
                l->partial ? " (partial)" : "",
                c->bare ? 0 : count_lines(held_ps[0]->warnings),
                count_lines(l->warnings));
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every file of notify/: each must be in the table. */
static void test_corpus_every_file(void **state) {
  (void)state;
  DIR *d = opendir(NOTIFY_CORPUS);
  if (!d) skip();
  char *names[64];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    assert_true(n < 64);
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  size_t seen = 0;
  for (size_t i = 0; i < n; i++) {
    const corpus_case *c = NULL;
    for (size_t k = 0; k < NCORPUS; k++)
      if (strcmp(corpus[k].file, names[i]) == 0) c = &corpus[k];
    if (!c) {
      print_message("notify/%s is not in the table\n", names[i]);
      for (size_t k = i; k < n; k++) free(names[k]);
      fail();
    }
    free(names[i]);
    size_t len;
    char *doc = corpus_file(c->file, &len, 2);
    run_corpus_case(c, doc, len);
    seen++;
  }
  assert_int_equal(seen, NCORPUS);
}

/* Orange without jupnp's comments (the device's own bytes): no repair. */
static void test_corpus_orange_original(void **state) {
  (void)state;
  size_t len;
  char *doc = corpus_file("orange-liveradio-avt-lastchange.xml", &len, 2);
  char *decl = strstr(doc, "<?xml");
  assert_non_null(decl);
  len -= (size_t)(decl - doc);
  const ucp__propset *p = ps_ok_lim(decl, len, NULL, 0);
  assert_int_equal(count_lines(p->warnings), 1);
  assert_contains(p->warnings, "line 4: <LastChange> holds unescaped markup");
  assert_string_equal(p->props[0].value,
                      "\n\t\t\t<Event xmlns=\"urn:schemas-upnp-org:metadata-1-"
                      "0/AVT/\"><InstanceID val=\"0\"><TransportState val=\""
                      "STOPPED\"/></InstanceID></Event>\n\t\t");
  const ucp__lastchange *l =
      lc_ok_lim(p->props[0].value, p->props[0].value_len, NULL, 1);
  assert_int_equal(l->n, 1);
  assert_change(&l->changes[0], "0", "TransportState", "STOPPED", NULL);
  assert_string_equal(l->warnings, "");
}

/* Sonos: vendor r: elements, DIDL escaped twice, in document order. */
static void test_corpus_sonos_details(void **state) {
  (void)state;
  size_t len;
  char *doc = corpus_file("sonos-avt-lastchange-linein.xml", &len, 2);
  const ucp__propset *p = ps_ok_lim(doc, len, NULL, 0);
  assert_string_equal(p->props[0].name, "LastChange");
  const ucp__lastchange *l =
      lc_ok_lim(p->props[0].value, p->props[0].value_len, NULL, 1);
  assert_change(&l->changes[0], "0", "TransportState", "PLAYING", NULL);
  assert_change(&l->changes[9], "0", "NextTrackURI", "", NULL);
  assert_change(&l->changes[35], "0", "PossibleRecordQualityModes",
                "NOT_IMPLEMENTED", NULL);
  const char *meta = change(l, "CurrentTrackMetaData")->value;
  assert_string_equal(meta,
      "<DIDL-Lite xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
      "xmlns:upnp=\"urn:schemas-upnp-org:metadata-1-0/upnp/\" "
      "xmlns:r=\"urn:schemas-rinconnetworks-com:metadata-1-0/\" "
      "xmlns=\"urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/\">"
      "<item id=\"-1\" parentID=\"-1\" restricted=\"true\">"
      "<res protocolInfo=\"x-rincon-stream:*:*:*\">x-rincon-"
      "stream:RINCON_949F3E5352EC01400</res><r:audioInputIcon>"
      "AudioComponent</r:audioInputIcon><dc:title>Audio "
      "Component</dc:title><upnp:class>object.item</upnp:"
      "class><r:episodeNumber>0</r:episodeNumber></item>"
      "</DIDL-Lite>");
}

/* ======================================================= propertyset */

static void test_ps_multiple(void **state) {
  (void)state;
  const ucp__propset *p = ps_ok(
      "<?xml version=\"1.0\"?>\n" PS_OPEN PROP("<A>1</A>")
          PROP("<B>two</B><C>3</C>") PROP("<A>again</A>") PS_CLOSE,
      0);
  assert_int_equal(p->n, 4);
  const char *names[] = {"A", "B", "C", "A"};
  const char *values[] = {"1", "two", "3", "again"};
  for (size_t i = 0; i < 4; i++) {
    assert_string_equal(p->props[i].name, names[i]);
    assert_string_equal(p->props[i].value, values[i]);
    assert_int_equal(p->props[i].value_len, strlen(values[i]));
  }
  assert_string_equal(p->warnings, "");
  assert_ptr_equal(ucp__propset_find(p, "A"), &p->props[0]);
  assert_ptr_equal(ucp__propset_find(p, "c"), &p->props[2]);
  assert_null(ucp__propset_find(p, "D"));
  assert_null(ucp__propset_find(NULL, "A"));
}

static void test_ps_values(void **state) {
  (void)state;
  const ucp__propset *p = ps_ok(
      PS_OPEN PROP("<Empty></Empty>") PROP("<Self/>")
          PROP("<Ws>  x \t y\n </Ws>") PROP("<Esc>&lt;b&gt; &amp; &#233;"
                                              "&#x41;&quot;&apos;</Esc>")
              PROP("<Cdata><![CDATA[<raw> & ]]></Cdata>") PS_CLOSE,
      0);
  assert_int_equal(p->n, 5);
  assert_string_equal(p->props[0].value, "");
  assert_int_equal(p->props[0].value_len, 0);
  assert_string_equal(p->props[1].value, "");
  assert_string_equal(p->props[2].value, "  x \t y\n ");
  assert_string_equal(p->props[3].value, "<b> & \xC3\xA9" "A\"'");
  assert_string_equal(p->props[4].value, "<raw> & ");
  assert_string_equal(p->warnings, "");
}

/* Prefixes, a missing or wrong namespace: local names decide. */
static void test_ps_namespaces(void **state) {
  (void)state;
  const ucp__propset *p = ps_ok(
      "<propertyset><property><x:Status xmlns:x=\"urn:v\">1</x:Status>"
      "</property></propertyset>", 0);
  assert_string_equal(p->props[0].name, "Status");
  p = ps_ok("<e:propertyset xmlns:e=\"urn:wrong\"><e:property><S>2</S>"
            "</e:property></e:propertyset>", 1);
  assert_string_equal(p->props[0].value, "2");
}

static void test_ps_crlf(void **state) {
  (void)state;
  const ucp__propset *p = ps_ok(
      "<?xml version=\"1.0\"?>\r\n" PS_OPEN "\r\n<e:property>\r\n"
      "<A>line1\r\nline2</A>\r\n</e:property>\r\n" PS_CLOSE "\r\n", 0);
  assert_int_equal(p->n, 1);
  assert_string_equal(p->props[0].value, "line1\nline2"); /* XML's rule */
  /* raw markup is kept byte for byte, CR included */
  p = ps_ok(PS_OPEN PROP("<A>\r\n<Event>x</Event>\r\n</A>") PS_CLOSE, 1);
  assert_string_equal(p->props[0].value, "\r\n<Event>x</Event>\r\n");
  assert_contains(p->warnings, "line 1: <A> holds unescaped markup");
}

static void test_ps_comments_before_declaration(void **state) {
  (void)state;
  const char *doc = "<!-- jupnp: device exception -->\n<!-- Model -->\n\n"
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" PS_OPEN
                    "\n" PROP("<A>&lt;x&gt;</A>") "\n" PS_CLOSE;
  const ucp__propset *p = ps_ok(doc, 0);
  assert_string_equal(p->props[0].value, "<x>");
  assert_string_equal(p->warnings,
                      "line 4: XML declaration after comments or white space "
                      "(49 bytes) moved to the front; they are ignored\n");
  /* the declaration's encoding still applies */
  p = ps_ok("<!-- c -->\n<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
            PS_OPEN PROP("<A>\xE9</A>") PS_CLOSE, 1);
  assert_string_equal(p->props[0].value, "\xC3\xA9");
  /* a byte order mark stays first */
  p = ps_ok("\xEF\xBB\xBF<!-- c --><?xml version=\"1.0\"?>" PS_OPEN
            PROP("<A>1</A>") PS_CLOSE, 1);
  assert_contains(p->warnings, "(10 bytes) moved to the front");
  /* with something other than comments before it: not repaired */
  char err[600];
  assert_int_equal(ps_err("<!-- c --><?xml-stylesheet href=\"a\"?>"
                          "<?xml version=\"1.0\"?>" PS_OPEN PS_CLOSE, err,
                          sizeof err), UCP_E_XML);
}

static void test_ps_bare_amp(void **state) {
  (void)state;
  const ucp__propset *p =
      ps_ok(PS_OPEN PROP("<URI>http://h/a?x=1&y=2&amp;z</URI>") PS_CLOSE, 0);
  assert_string_equal(p->props[0].value, "http://h/a?x=1&y=2&z");
  assert_contains(p->warnings, "line 1: 1 unescaped '&' escaped");
}

/* HTML inside a value (Philips NP2900): taken as text. */
static void test_ps_bad_markup_in_value(void **state) {
  (void)state;
  const ucp__propset *p = ps_ok(
      PS_OPEN "\n" PROP("\n<A>x <font size=3>y</B> z</A>") "\n"
      PROP("<B>ok</B>") PS_CLOSE, 0);
  assert_int_equal(p->n, 2);
  assert_string_equal(p->props[0].value, "x <font size=3>y</B> z");
  assert_string_equal(p->props[1].value, "ok");
  assert_contains(p->warnings, "line 3: <A> holds markup that is not "
                  "well-formed (not well-formed (invalid token)): 4 '<' and '>' "
                  "escaped, its value is that content as text");
  /* no end tag to stop at: not repaired */
  char err[600];
  assert_int_equal(ps_err(PS_OPEN PROP("<A>x <font size=3>y") PS_CLOSE, err,
                          sizeof err), UCP_E_XML);
  assert_contains(err, "line 1: column ");
}

static void test_ps_tolerated(void **state) {
  (void)state;
  const ucp__propset *p = ps_ok(
      PS_OPEN "<vendor><A>no</A></vendor>" PROP("") PROP("<A>1</A>") PS_CLOSE
      "\n<garbage>\x01", 0);
  assert_int_equal(p->n, 1);
  assert_string_equal(p->props[0].value, "1");
  assert_contains(p->warnings, "<vendor> in <propertyset> ignored");
  assert_contains(p->warnings, "bytes after the end of <propertyset> ignored");
  p = ps_ok(PS_OPEN PS_CLOSE, 1);
  assert_int_equal(p->n, 0);
  assert_null(p->props);
  assert_string_equal(p->warnings, "line 1: no variable in the propertyset\n");
}

static void test_ps_doctype(void **state) {
  (void)state;
  char err[600];
  assert_int_equal(ps_err("<!DOCTYPE p [<!ENTITY a \"aaaa\">]>" PS_OPEN
                          PROP("<A>&a;</A>") PS_CLOSE, err, sizeof err),
                   UCP_E_DOCTYPE);
  assert_contains(err, "DOCTYPE refused");
  /* after a repair too */
  assert_int_equal(ps_err("<!-- c --><?xml version=\"1.0\"?><!DOCTYPE p>"
                          PS_OPEN PS_CLOSE, err, sizeof err), UCP_E_DOCTYPE);
  assert_int_equal(lc_err("<!DOCTYPE Event SYSTEM \"http://x/\"><Event/>", err,
                          sizeof err), UCP_E_DOCTYPE);
}

static void test_ps_wrong_root(void **state) {
  (void)state;
  char err[600];
  assert_int_equal(ps_err("<s:Envelope xmlns:s=\"x\"><s:Body/></s:Envelope>",
                          err, sizeof err), UCP_E_PROTOCOL);
  assert_string_equal(err, "line 1: document element is <s:Envelope>, "
                      "expected <propertyset>");
  assert_int_equal(lc_err(PS_OPEN PS_CLOSE, err, sizeof err), UCP_E_PROTOCOL);
  assert_contains(err, "expected <Event>");
}

static void test_ps_truncated(void **state) {
  (void)state;
  char err[600];
  /* inside a value */
  assert_int_equal(ps_err(PS_OPEN "\n<e:property>\n<A>abc", err, sizeof err),
                   UCP_E_XML);
  assert_contains(err, "line 3: column 6: no element found");
  /* inside a start tag */
  assert_int_equal(ps_err(PS_OPEN PROP("<A>1</A>") "<e:prop", err, sizeof err),
                   UCP_E_XML);
  assert_contains(err, "unclosed token");
  /* the end tag missing altogether: whether a property was lost is unknown */
  assert_int_equal(ps_err(PS_OPEN PROP("<A>1</A>") "\n", err, sizeof err),
                   UCP_E_XML);
  /* cut inside the root's end tag (Sony): accepted */
  const char *cuts[] = {"</", "</e", "</e:propertyset", "</e:propertyset\n"};
  for (size_t i = 0; i < 4; i++) {
    char doc[300];
    snprintf(doc, sizeof doc, "%s%s\n%s", PS_OPEN, PROP("<A>1</A>"), cuts[i]);
    const ucp__propset *p = ps_ok(doc, 0);
    assert_int_equal(p->n, 1);
    assert_contains(p->warnings, "line 2: body cut inside the end tag of "
                    "<e:propertyset>");
  }
  /* ... but not a cut inside another end tag, nor a wrong one */
  assert_int_equal(ps_err(PS_OPEN "<e:property><A>1</A></e:prop", err,
                          sizeof err), UCP_E_XML);
  assert_int_equal(ps_err(PS_OPEN PROP("<A>1</A>") "</x", err, sizeof err),
                   UCP_E_XML);
  assert_int_equal(ps_err(PS_OPEN PROP("<A>1</A>") "<", err, sizeof err),
                   UCP_E_XML);
  assert_int_equal(ps_err("", err, sizeof err), UCP_E_XML);
  assert_contains(err, "no element found");
}

static void test_ps_non_utf8_markup(void **state) {
  (void)state;
  char err[600];
  assert_int_equal(ps_err("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
                          PS_OPEN PROP("<A><b>\xE9</b></A>") PS_CLOSE, err,
                          sizeof err), UCP_E_PROTOCOL);
  assert_contains(err, "the unescaped markup inside <A> is not UTF-8");
}

static void test_ps_args(void **state) {
  (void)state;
  ucp__propset *p = NULL;
  char err[100];
  assert_int_equal(ucp__propset_parse(NULL, 3, NULL, &p, err, sizeof err),
                   UCP_E_INVALIDARG);
  assert_string_equal(err, "invalid argument");
  assert_int_equal(ucp__propset_parse("<a/>", 4, NULL, NULL, NULL, 0),
                   UCP_E_INVALIDARG);
  ucp__lastchange *l = NULL;
  assert_int_equal(ucp__lastchange_parse(NULL, 1, &l, NULL, 0),
                   UCP_E_INVALIDARG);
  /* detail may be NULL */
  assert_int_equal(ucp__propset_parse("<x/>", 4, NULL, &p, NULL, 0),
                   UCP_E_PROTOCOL);
  const char *doc = PS_OPEN PROP("<A>1</A>") PS_CLOSE;
  assert_int_equal(ucp__propset_parse(doc, strlen(doc), NULL, &p, NULL, 0),
                   UCP_OK);
  held_ps[0] = p;
  ucp__propset_free(NULL);
  ucp__lastchange_free(NULL);
  ucp__gena_limits lim;
  ucp__gena_limits_default(&lim);
  assert_int_equal(lim.max_bytes, 256 * 1024);
  assert_int_equal(lim.max_depth, 32);
  assert_int_equal(lim.max_value, 64 * 1024);
  assert_int_equal(lim.max_props, 1024);
}

/* ================================================================ caps */

/* A growable string for generated documents. */
typedef struct sbuf {
  char *s;
  size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s) {
  size_t n = strlen(s);
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->s = realloc(b->s, b->cap);
    assert_non_null(b->s);
  }
  memcpy(b->s + b->len, s, n + 1);
  b->len += n;
}

static void sb_rep(sbuf *b, const char *s, size_t times) {
  for (size_t i = 0; i < times; i++) sb_add(b, s);
}

static void test_cap_depth(void **state) {
  (void)state;
  char err[600];
  sbuf b = {0};
  /* root, property, A = 3 levels; 29 more make 32: allowed */
  sb_add(&b, PS_OPEN "<e:property><A>");
  sb_rep(&b, "<d>", 29);
  sb_rep(&b, "</d>", 29);
  sb_add(&b, "</A></e:property>" PS_CLOSE);
  hold_buf(3, b.s);
  const ucp__propset *p = ps_ok(b.s, 0);
  assert_int_equal(p->n, 1);
  b = (sbuf){0};
  sb_add(&b, PS_OPEN "<e:property><A>");
  sb_rep(&b, "<d>", 30);
  sb_rep(&b, "</d>", 30);
  sb_add(&b, "</A></e:property>" PS_CLOSE);
  hold_buf(3, b.s);
  assert_int_equal(ps_err(b.s, err, sizeof err), UCP_E_TOO_LARGE);
  assert_contains(err, "elements nested deeper than 32");
  /* a smaller cap, and in a LastChange */
  ucp__gena_limits lim = {0, 3, 0, 0};
  assert_int_equal(ps_err_lim(PS_OPEN PROP("<A><b/></A>") PS_CLOSE,
                              strlen(PS_OPEN PROP("<A><b/></A>") PS_CLOSE),
                              &lim, err, sizeof err), UCP_E_TOO_LARGE);
  const char *ev = EV_OPEN "<InstanceID val=\"0\"><A val=\"1\"><x/></A>"
                   "</InstanceID></Event>";
  assert_int_equal(lc_err_lim(ev, strlen(ev), &lim, err, sizeof err),
                   UCP_E_TOO_LARGE);
  lim.max_depth = 4;
  const ucp__lastchange *l = lc_ok_lim(ev, strlen(ev), &lim, 0);
  assert_contains(l->warnings, "<x> inside a change ignored");
}

static void test_cap_value(void **state) {
  (void)state;
  char err[600];
  ucp__gena_limits lim = {0, 0, 8, 0};
  const char *ok = PS_OPEN PROP("<A>12345678</A>") PS_CLOSE;
  assert_int_equal(ps_ok_lim(ok, strlen(ok), &lim, 0)->props[0].value_len, 8);
  const char *big = PS_OPEN PROP("<A>123456789</A>") PS_CLOSE;
  assert_int_equal(ps_err_lim(big, strlen(big), &lim, err, sizeof err),
                   UCP_E_TOO_LARGE);
  assert_contains(err, "value of <A> longer than 8 bytes");
  /* entities count as what they stand for */
  const char *ent = PS_OPEN PROP("<A>&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;</A>")
      PS_CLOSE;
  assert_string_equal(ps_ok_lim(ent, strlen(ent), &lim, 0)->props[0].value,
                      "<<<<<<<<");
  /* raw markup */
  const char *mk = PS_OPEN PROP("<A><b>1234</b></A>") PS_CLOSE;
  assert_int_equal(ps_err_lim(mk, strlen(mk), &lim, err, sizeof err),
                   UCP_E_TOO_LARGE);
  /* attributes of a LastChange */
  const char *ev = EV_OPEN "<InstanceID val=\"0\"><A val=\"123456789\"/>"
                   "</InstanceID></Event>";
  assert_int_equal(lc_err_lim(ev, strlen(ev), &lim, err, sizeof err),
                   UCP_E_TOO_LARGE);
  assert_contains(err, "val attribute longer than 8 bytes");
  /* the default: 64 KiB */
  sbuf b = {0};
  sb_add(&b, PS_OPEN "<e:property><A>");
  sb_rep(&b, "0123456789abcdef", 4096);
  sb_add(&b, "</A></e:property>" PS_CLOSE);
  hold_buf(3, b.s);
  assert_int_equal(ps_ok(b.s, 0)->props[0].value_len, 65536);
  b = (sbuf){0};
  sb_add(&b, PS_OPEN "<e:property><A>x");
  sb_rep(&b, "0123456789abcdef", 4096);
  sb_add(&b, "</A></e:property>" PS_CLOSE);
  hold_buf(3, b.s);
  assert_int_equal(ps_err(b.s, err, sizeof err), UCP_E_TOO_LARGE);
}

static void test_cap_bytes(void **state) {
  (void)state;
  char err[600];
  const char *doc = PS_OPEN PROP("<A>1</A>") PS_CLOSE;
  size_t n = strlen(doc);
  ucp__gena_limits lim = {n, 0, 0, 0};
  ps_ok_lim(doc, n, &lim, 0);
  lim.max_bytes = n - 1;
  assert_int_equal(ps_err_lim(doc, n, &lim, err, sizeof err), UCP_E_TOO_LARGE);
  assert_contains(err, "more than");
  /* the default: 256 KiB */
  sbuf b = {0};
  sb_add(&b, PS_OPEN);
  while (b.len < 256 * 1024) sb_add(&b, PROP("<A>0123456789</A>") "\n");
  sb_add(&b, PS_CLOSE);
  hold_buf(3, b.s);
  assert_int_equal(ps_err(b.s, err, sizeof err), UCP_E_TOO_LARGE);
  assert_int_equal(lc_err(b.s, err, sizeof err), UCP_E_TOO_LARGE);
}

static void test_cap_props(void **state) {
  (void)state;
  char err[600];
  sbuf b = {0};
  sb_add(&b, PS_OPEN);
  sb_rep(&b, PROP("<A>1</A>"), 1024);
  sb_add(&b, PS_CLOSE);
  hold_buf(3, b.s);
  assert_int_equal(ps_ok(b.s, 0)->n, 1024);
  b = (sbuf){0};
  sb_add(&b, PS_OPEN "<e:property>");
  sb_rep(&b, "<A>1</A>", 1025); /* several variables in one property */
  sb_add(&b, "</e:property>" PS_CLOSE);
  hold_buf(3, b.s);
  assert_int_equal(ps_err(b.s, err, sizeof err), UCP_E_TOO_LARGE);
  assert_contains(err, "more than 1024 variables");
  ucp__gena_limits lim = {0, 0, 0, 2};
  const char *ev = EV_OPEN "<InstanceID val=\"0\"><A val=\"1\"/><B val=\"2\"/>"
                   "<C val=\"3\"/></InstanceID></Event>";
  assert_int_equal(lc_err_lim(ev, strlen(ev), &lim, err, sizeof err),
                   UCP_E_TOO_LARGE);
  assert_contains(err, "more than 2 changes");
  lim.max_props = 3;
  assert_int_equal(lc_ok_lim(ev, strlen(ev), &lim, 0)->n, 3);
  /* attributes per element */
  b = (sbuf){0};
  sb_add(&b, EV_OPEN "<InstanceID val=\"0\"><A");
  for (int i = 0; i < 65; i++) {
    char a[32];
    snprintf(a, sizeof a, " a%d=\"\"", i);
    sb_add(&b, a);
  }
  sb_add(&b, "/></InstanceID></Event>");
  hold_buf(3, b.s);
  assert_int_equal(lc_err(b.s, err, sizeof err), UCP_E_TOO_LARGE);
  assert_contains(err, "more than 64 attributes");
}

/* ========================================================== LastChange */

static void test_lc_rendering_control(void **state) {
  (void)state;
  const ucp__lastchange *l = lc_ok(
      "<Event xmlns=\"urn:schemas-upnp-org:metadata-1-0/RCS/\">\n"
      "<InstanceID val=\"0\">\n"
      "  <Volume channel=\"Master\" val=\"20\"/>\n"
      "  <Volume channel=\"LF\" val=\"100\"/>\n"
      "  <Mute val=\"0\" channel=\"Master\"/>\n"
      "  <PresetNameList val=\"FactoryDefaults, InstallationDefaults\"/>\n"
      "</InstanceID>\n"
      "<InstanceID val=\"1\"><Volume val=\"5\" channel=\"Master\"></Volume>"
      "<Loudness channel=\"Master\"/></InstanceID>\n"
      "</Event>\n", 0);
  assert_int_equal(l->n, 6);
  assert_change(&l->changes[0], "0", "Volume", "20", "Master");
  assert_change(&l->changes[1], "0", "Volume", "100", "LF");
  assert_change(&l->changes[2], "0", "Mute", "0", "Master");
  assert_change(&l->changes[3], "0", "PresetNameList",
                "FactoryDefaults, InstallationDefaults", NULL);
  assert_change(&l->changes[4], "1", "Volume", "5", "Master");
  assert_change(&l->changes[5], "1", "Loudness", NULL, "Master"); /* no val */
  assert_false(l->partial);
  assert_string_equal(l->warnings, "");
}

static void test_lc_values(void **state) {
  (void)state;
  const ucp__lastchange *l = lc_ok(
      "  \n" EV_OPEN "<InstanceID val=\"7\"><r:Vendor xmlns:r=\"urn:r\" "
      "val=\"a&amp;b &lt;c&gt; &quot;d&quot; &#10;e\"/><Empty val=\"\"/>"
      "<NoVal/><Single val='x\"y'/></InstanceID></Event>\n\n", 0);
  assert_int_equal(l->n, 4);
  assert_change(&l->changes[0], "7", "Vendor", "a&b <c> \"d\" \ne", NULL);
  assert_change(&l->changes[1], "7", "Empty", "", NULL);
  assert_change(&l->changes[2], "7", "NoVal", NULL, NULL);
  assert_change(&l->changes[3], "7", "Single", "x\"y", NULL);
  assert_string_equal(l->warnings, "");
  /* an Event with no change, an InstanceID with none */
  l = lc_ok("<Event/>", 1);
  assert_int_equal(l->n, 0);
  assert_null(l->changes);
  l = lc_ok(EV_OPEN "<InstanceID val=\"0\"></InstanceID></Event>", 1);
  assert_int_equal(l->n, 0);
}

static void test_lc_tolerated(void **state) {
  (void)state;
  const ucp__lastchange *l = lc_ok(
      "<Event xmlms=\"urn:schemas-upnp-org:metadata-1-0/AVTransport/\">"
      "<TransportState val=\"LOST\"/>\n"
      "<InstanceID><A val=\"1\"><child val=\"no\"/></A></InstanceID>"
      "</Event>junk<", 0);
  assert_int_equal(l->n, 1);
  assert_change(&l->changes[0], "", "A", "1", NULL);
  assert_contains(l->warnings, "line 1: <TransportState> in <Event> ignored");
  assert_contains(l->warnings, "line 2: <InstanceID> without val");
  assert_contains(l->warnings, "line 2: <child> inside a change ignored");
  assert_contains(l->warnings, "line 2: 5 bytes after the end of <Event> "
                  "ignored");
}

/* Nested DIDL escaped once: the closing quote is found by what follows. */
static void test_lc_val_repair(void **state) {
  (void)state;
  const ucp__lastchange *l = lc_ok(
      EV_OPEN "\n<InstanceID val=\"0\">\n"
      "<Meta val=\"<DIDL-Lite xmlns=\"urn:d\"><item id=\"1\"><dc:title>"
      "A \"quoted\" title</dc:title><res size=\"3\"/></item></DIDL-Lite>\"/>\n"
      "<Volume val=\"<b>\" channel=\"Master\"/>"
      "<Esc val=\"&lt;x a=\"1\"&gt;\"/>"
      "<TransportState val=\"PLAYING\"/></InstanceID>\n</Event>", 0);
  assert_int_equal(l->n, 4);
  assert_change(&l->changes[0], "0", "Meta",
                "<DIDL-Lite xmlns=\"urn:d\"><item id=\"1\"><dc:title>A "
                "\"quoted\" title</dc:title><res size=\"3\"/></item>"
                "</DIDL-Lite>", NULL);
  assert_change(&l->changes[1], "0", "Volume", "<b>", "Master");
  assert_change(&l->changes[2], "0", "Esc", "<x a=\"1\">", NULL);
  assert_change(&l->changes[3], "0", "TransportState", "PLAYING", NULL);
  assert_false(l->partial);
  assert_string_equal(l->warnings,
                      "line 3: 3 val attributes held a literal '<', '>' or "
                      "quote (a nested document escaped once, not twice; not "
                      "well-formed (invalid token)): escaped\n");
}

static void test_lc_truncated(void **state) {
  (void)state;
  char err[600];
  const ucp__lastchange *l = lc_ok(
      EV_OPEN "<InstanceID val=\"0\"><A val=\"1\"/>\n<B val=\"2\"/><C val=\"th",
      0);
  assert_int_equal(l->n, 2);
  assert_true(l->partial);
  assert_change(&l->changes[1], "0", "B", "2", NULL);
  assert_contains(l->warnings, "line 2: document ends before </Event>, inside "
                  "<C> (truncated or mangled by the device; line 2: column "
                  "12: unclosed token): the 2 changes before that are kept");
  /* nothing complete: an error */
  assert_int_equal(lc_err(EV_OPEN "<InstanceID val=\"0\"><A val=\"1", err,
                          sizeof err), UCP_E_XML);
  assert_contains(err, "unclosed token (truncated before any complete change)");
  assert_int_equal(lc_err("<Event", err, sizeof err), UCP_E_XML);
  assert_int_equal(lc_err("", err, sizeof err), UCP_E_XML);
  /* truncation is not a licence for other errors */
  assert_int_equal(lc_err(EV_OPEN "<InstanceID val=\"0\"><A val=\"1\"/></B>",
                          err, sizeof err), UCP_E_XML);
  assert_contains(err, "mismatched tag");
}

static void test_lc_bare_amp(void **state) {
  (void)state;
  const ucp__lastchange *l = lc_ok(
      EV_OPEN "<InstanceID val=\"0\"><U val=\"http://h/?a=1&b=2\"/>"
      "</InstanceID></Event>", 0);
  assert_change(&l->changes[0], "0", "U", "http://h/?a=1&b=2", NULL);
  assert_contains(l->warnings, "1 unescaped '&' escaped");
}

/* A well-formed document is never repaired, whatever it holds. */
static void test_lc_strict_first(void **state) {
  (void)state;
  const ucp__lastchange *l = lc_ok(
      EV_OPEN "<InstanceID val=\"0\"><A val=\"x&gt;y\" other=\"no>\"/>"
      "</InstanceID></Event>", 0);
  assert_string_equal(l->warnings, "");
  assert_change(&l->changes[0], "0", "A", "x>y", NULL);
}

/* ================================================ truncation at every byte */

/* Every prefix of every capture: a result or a clean error, never a crash
 * (ASan) and never an unexpected code. */
static void test_every_prefix(void **state) {
  (void)state;
  size_t results = 0, errors = 0;
  for (size_t k = 0; k < NCORPUS; k++) {
    size_t len;
    char *doc = corpus_file(corpus[k].file, &len, 2);
    for (size_t n = 0; n <= len; n++) {
      char *cut = hold_buf(3, malloc(n ? n : 1));
      memcpy(cut, doc, n);
      char err[600];
      ucp__propset *p = NULL;
      int rc = ucp__propset_parse(cut, n, NULL, &p, err, sizeof err);
      held_ps[4] = p;
      assert_true(rc == UCP_OK || rc == UCP_E_XML || rc == UCP_E_PROTOCOL);
      ucp__lastchange *l = NULL;
      const char *lcdoc = cut;
      size_t lclen = n;
      if (p && p->n) lcdoc = p->props[0].value, lclen = p->props[0].value_len;
      int lrc = ucp__lastchange_parse(lcdoc, lclen, &l, err, sizeof err);
      held_lc[4] = l;
      assert_true(lrc == UCP_OK || lrc == UCP_E_XML || lrc == UCP_E_PROTOCOL);
      results += (rc == UCP_OK) + (lrc == UCP_OK);
      errors += (rc != UCP_OK) + (lrc != UCP_OK);
      ucp__propset_free(p);
      ucp__lastchange_free(l);
      held_ps[4] = NULL;
      held_lc[4] = NULL;
      held_buf[3] = NULL;
      free(cut);
    }
  }
  print_message("  prefixes: %zu results, %zu clean errors\n", results, errors);
}

/* Deterministic mutations of every capture (the characters the repairs
 * look at, and random bytes): a result or a clean error, never a crash. */
static void test_mutations(void **state) {
  (void)state;
  static const char alphabet[] = "<>\"'&/=? \n:!-[]";
  uint32_t seed = 12345;
  size_t results = 0, total = 0;
  for (size_t k = 0; k < NCORPUS; k++) {
    size_t len;
    char *doc = corpus_file(corpus[k].file, &len, 2);
    for (int m = 0; m < 400; m++) {
      char *mut = hold_buf(3, malloc(len + 1));
      memcpy(mut, doc, len + 1);
      for (int e = 0; e < 1 + m % 4; e++) {
        seed = seed * 1103515245u + 12345u;
        size_t at = (seed >> 8) % len;
        seed = seed * 1103515245u + 12345u;
        mut[at] = (seed >> 16) % 3 ? alphabet[(seed >> 8) % 16]
                                   : (char)(seed >> 8);
      }
      char err[600];
      ucp__propset *p = NULL;
      int rc = ucp__propset_parse(mut, len, NULL, &p, err, sizeof err);
      held_ps[4] = p;
      assert_true(rc == UCP_OK || rc == UCP_E_XML || rc == UCP_E_PROTOCOL ||
                  rc == UCP_E_DOCTYPE);
      const char *lcdoc = p && p->n ? p->props[0].value : mut;
      size_t lclen = p && p->n ? p->props[0].value_len : len;
      ucp__lastchange *l = NULL;
      int lrc = ucp__lastchange_parse(lcdoc, lclen, &l, err, sizeof err);
      held_lc[4] = l;
      assert_true(lrc == UCP_OK || lrc == UCP_E_XML || lrc == UCP_E_PROTOCOL ||
                  lrc == UCP_E_DOCTYPE);
      if (l) {
        for (size_t i = 0; i < l->n; i++) {
          assert_non_null(l->changes[i].instance);
          assert_non_null(l->changes[i].variable);
        }
      }
      results += (rc == UCP_OK) + (lrc == UCP_OK);
      total += 2;
      ucp__propset_free(p);
      ucp__lastchange_free(l);
      held_ps[4] = NULL;
      held_lc[4] = NULL;
    }
  }
  print_message("  mutations: %zu of %zu parses gave a result\n", results,
                total);
}

/* ===================================================== out of memory */

typedef int (*parse_fn)(const char *doc, size_t len, void **out);

static int ps_parse(const char *doc, size_t len, void **out) {
  ucp__propset *p = NULL;
  char err[600];
  int rc = ucp__propset_parse(doc, len, NULL, &p, err, sizeof err);
  if (rc == UCP_E_NOMEM) assert_string_equal(err, "out of memory");
  *out = p;
  return rc;
}

static int lc_parse(const char *doc, size_t len, void **out) {
  ucp__lastchange *l = NULL;
  char err[600];
  int rc = ucp__lastchange_parse(doc, len, &l, err, sizeof err);
  if (rc == UCP_E_NOMEM) assert_string_equal(err, "out of memory");
  *out = l;
  return rc;
}

/* Fail each allocation in turn: every outcome is UCP_E_NOMEM until one is
 * UCP_OK with the full result; LeakSanitizer checks nothing is left. */
static void oom_sweep(const char *label, const char *doc, size_t len,
                      parse_fn parse, size_t want_n) {
  long n;
  for (n = 0; n < 100000; n++) {
    void *r = NULL;
    ucp__test_mem_fail_after(n);
    int rc = parse(doc, len, &r);
    ucp__test_mem_fail_after(-1);
    if (rc == UCP_OK) {
      size_t got = parse == ps_parse ? ((ucp__propset *)r)->n
                                     : ((ucp__lastchange *)r)->n;
      if (parse == ps_parse)
        ucp__propset_free(r);
      else
        ucp__lastchange_free(r);
      assert_int_equal(got, want_n);
      break;
    }
    if (rc != UCP_E_NOMEM)
      fail_msg("%s: fail_after %ld: %s", label, n, ucp_err_name(rc));
    assert_null(r);
  }
  print_message("  %-58s %5ld allocation failures, all UCP_E_NOMEM\n", label,
                n);
  assert_true(n > 2 && n < 100000);
}

static void test_oom(void **state) {
  (void)state;
  /* repaired ones: every repair path allocates */
  static const char *const files[] = {
      "sonos-avt-lastchange-linein.xml",
      "orange-liveradio-avt-lastchange.xml",
      "philips-streamium-np2900-avt-lastchange-unrecoverable.xml",
      "marantz-m-cr603-avt-lastchange-unrecoverable.xml",
      "sony-sa-ns300-avt-lastchange-truncated.xml",
      "teac-wap4500-avt-lastchange-unrecoverable.xml",
      "technisat-digit-hd8plus-avt-lastchange-unrecoverable.xml"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    const corpus_case *c = NULL;
    for (size_t k = 0; k < NCORPUS; k++)
      if (strcmp(corpus[k].file, files[i]) == 0) c = &corpus[k];
    assert_non_null(c);
    size_t len;
    char *doc = corpus_file(c->file, &len, 2);
    if (!c->bare) {
      oom_sweep(c->file, doc, len, ps_parse, 1);
      const ucp__propset *p = ps_ok_lim(doc, len, NULL, 0);
      doc = hold_buf(2, strdup(p->props[0].value));
      len = p->props[0].value_len;
    }
    oom_sweep(c->file, doc, len, lc_parse, c->changes);
  }
  /* arrays that grow */
  sbuf b = {0};
  sb_add(&b, PS_OPEN);
  sb_rep(&b, PROP("<A>1</A>"), 100);
  sb_add(&b, PS_CLOSE);
  hold_buf(3, b.s);
  oom_sweep("100 properties", b.s, b.len, ps_parse, 100);
}

/* ============================================================= main */

int main(void) {
  DIR *probe = opendir(NOTIFY_CORPUS);
  if (!probe) {
    fprintf(stderr, "corpus not found at %s: skipped\n", NOTIFY_CORPUS);
    return 77;
  }
  closedir(probe);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_corpus_every_file, teardown),
      cmocka_unit_test_teardown(test_corpus_orange_original, teardown),
      cmocka_unit_test_teardown(test_corpus_sonos_details, teardown),
      cmocka_unit_test_teardown(test_ps_multiple, teardown),
      cmocka_unit_test_teardown(test_ps_values, teardown),
      cmocka_unit_test_teardown(test_ps_namespaces, teardown),
      cmocka_unit_test_teardown(test_ps_crlf, teardown),
      cmocka_unit_test_teardown(test_ps_comments_before_declaration, teardown),
      cmocka_unit_test_teardown(test_ps_bare_amp, teardown),
      cmocka_unit_test_teardown(test_ps_bad_markup_in_value, teardown),
      cmocka_unit_test_teardown(test_ps_tolerated, teardown),
      cmocka_unit_test_teardown(test_ps_doctype, teardown),
      cmocka_unit_test_teardown(test_ps_wrong_root, teardown),
      cmocka_unit_test_teardown(test_ps_truncated, teardown),
      cmocka_unit_test_teardown(test_ps_non_utf8_markup, teardown),
      cmocka_unit_test_teardown(test_ps_args, teardown),
      cmocka_unit_test_teardown(test_cap_depth, teardown),
      cmocka_unit_test_teardown(test_cap_value, teardown),
      cmocka_unit_test_teardown(test_cap_bytes, teardown),
      cmocka_unit_test_teardown(test_cap_props, teardown),
      cmocka_unit_test_teardown(test_lc_rendering_control, teardown),
      cmocka_unit_test_teardown(test_lc_values, teardown),
      cmocka_unit_test_teardown(test_lc_tolerated, teardown),
      cmocka_unit_test_teardown(test_lc_val_repair, teardown),
      cmocka_unit_test_teardown(test_lc_truncated, teardown),
      cmocka_unit_test_teardown(test_lc_bare_amp, teardown),
      cmocka_unit_test_teardown(test_lc_strict_first, teardown),
      cmocka_unit_test_teardown(test_every_prefix, teardown),
      cmocka_unit_test_teardown(test_mutations, teardown),
      cmocka_unit_test_teardown(test_oom, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
