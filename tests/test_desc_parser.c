/* test_desc_parser.c - the device description parser and URL resolution,
 * with no network: the public ucp_description_parse() and the internal
 * streaming parser (ucp__desc_parser_*), fed whole and in small pieces.
 * Fixtures are inline or in tests/data/desc/. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/upnpcp_internal_test.h"
#include "device/device.h"
#include "upnpcp.h"
#include "xml/description.h"

#define LOC "http://192.168.1.20:49152/desc/root.xml"

/* ------------------------------------------------------------ helpers */

/* Every description a test obtains is tracked and released by the
 * per-test teardown, so a failed assertion does not leak it. */
enum { MAX_TRACKED = 64 };
static const ucp_description *tracked[MAX_TRACKED];
static size_t ntracked;

static const ucp_description *track(const ucp_description *d) {
  assert_true(ntracked < MAX_TRACKED);
  tracked[ntracked++] = d;
  return d;
}

static int release_all(void **state) {
  (void)state;
  for (size_t i = 0; i < ntracked; i++) ucp_description_unref(tracked[i]);
  ntracked = 0;
  ucp__test_mem_fail_after(-1);
  return 0;
}

/* A growing string. */
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

static void sb_free(sbuf *b) {
  free(b->s);
  b->s = NULL;
  b->len = b->cap = 0;
}

/* The same, but held in a static so a failing test does not leak it. */
static sbuf doc_buf;
static int free_doc(void **state) {
  sb_free(&doc_buf);
  return release_all(state);
}

static char *read_file(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/desc/%s", UCP_TEST_DATA_DIR, name);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  assert_true(n >= 0);
  rewind(f);
  char *b = malloc((size_t)n + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  b[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return b;
}

/* Fixture files are loaded once and kept for the whole run. */
typedef struct fixture {
  const char *name;
  char *data;
  size_t len;
} fixture;
static fixture fixtures[] = {{"full.xml", NULL, 0},
                             {"nested.xml", NULL, 0},
                             {"quirks.xml", NULL, 0}};
enum { NFIX = sizeof fixtures / sizeof fixtures[0] };

static const fixture *fix(const char *name) {
  for (size_t i = 0; i < NFIX; i++)
    if (!strcmp(fixtures[i].name, name)) {
      if (!fixtures[i].data)
        fixtures[i].data = read_file(name, &fixtures[i].len);
      return &fixtures[i];
    }
  fail_msg("no fixture %s", name);
  return NULL;
}

static int free_fixtures(void **state) {
  (void)state;
  for (size_t i = 0; i < NFIX; i++) {
    free(fixtures[i].data);
    fixtures[i].data = NULL;
  }
  return 0;
}

/* Parse with the public call; asserts success. */
static const ucp_description *parse_len(const char *xml, size_t len,
                                        const char *url) {
  char detail[512] = "x";
  const ucp_description *d = NULL;
  int rc = ucp_description_parse(xml, len, url, &d, detail, sizeof detail);
  if (rc != UCP_OK)
    print_message("unexpected failure: %s: %s\n", ucp_err_name(rc), detail);
  assert_int_equal(rc, UCP_OK);
  assert_non_null(d);
  track(d);
  assert_string_equal(detail, ""); /* empty on success */
  return d;
}
static const ucp_description *parse_ok(const char *xml, const char *url) {
  return parse_len(xml, strlen(xml), url);
}

/* Parse expecting failure: returns the code, the detail in `detail`. */
static int parse_fail_len(const char *xml, size_t len, char *detail,
                          size_t dlen) {
  const ucp_description *d = (const ucp_description *)&d; /* poison */
  int rc = ucp_description_parse(xml, len, LOC, &d, detail, dlen);
  if (rc == UCP_OK) track(d);
  assert_int_not_equal(rc, UCP_OK);
  assert_null(d);
  return rc;
}
static int parse_fail(const char *xml, char *detail, size_t dlen) {
  return parse_fail_len(xml, strlen(xml), detail, dlen);
}

/* Streaming: feed `len` bytes in pieces of `piece` bytes (0: one piece),
 * each piece in its own exact-size heap copy so that ASan catches a read
 * past its end; then finish and resolve against `url`. */
static int stream_parse(const char *xml, size_t len, size_t piece,
                        const char *url, const ucp_description **out,
                        char *err, size_t errlen) {
  *out = NULL;
  ucp__desc_parser *p = ucp__desc_parser_new(NULL);
  assert_non_null(p);
  if (piece == 0) piece = len ? len : 1;
  int rc = UCP_OK;
  for (size_t off = 0; off < len && rc == UCP_OK; off += piece) {
    size_t n = len - off < piece ? len - off : piece;
    char *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, xml + off, n);
    rc = ucp__desc_parser_feed(p, copy, n);
    free(copy);
  }
  ucp_description *d = NULL;
  if (rc == UCP_OK) rc = ucp__desc_parser_finish(p, &d);
  snprintf(err, errlen, "%s", ucp__desc_parser_error(p));
  ucp__desc_parser_free(p);
  if (rc == UCP_OK) {
    assert_non_null(d);
    track(d);
    rc = ucp__desc_resolve(d, url);
    *out = d;
  } else {
    assert_null(d);
  }
  return rc;
}

static const char *nz(const char *s) { return s ? s : "<NULL>"; }

static size_t device_index(const ucp_description *d, const ucp_device *dev) {
  for (size_t i = 0; i < ucp_description_device_count(d); i++)
    if (ucp_description_device(d, i) == dev) return i;
  return SIZE_MAX;
}

/* Everything a description holds, as text: two descriptions are the same
 * when their dumps are. */
static void dump(const ucp_description *d, sbuf *b) {
  int ma, mi;
  ucp_description_spec_version(d, &ma, &mi);
  sb_add(b, "url=%s\nbase=%s\nspec=%d.%d\nconfig=%lld\nwarnings=[%s]\n",
         nz(ucp_description_url(d)), nz(ucp_description_base_url(d)), ma, mi,
         (long long)ucp_description_config_id(d), ucp_description_warnings(d));
  size_t nd = ucp_description_device_count(d);
  sb_add(b, "devices=%zu root=%zu\n", nd,
         device_index(d, ucp_description_root(d)));
  for (size_t i = 0; i < nd; i++) {
    const ucp_device *dev = ucp_description_device(d, i);
    const ucp_device *par = ucp_device_parent(dev);
    sb_add(b, "device %zu parent=%zu\n", i,
           par ? device_index(d, par) : SIZE_MAX);
    for (int f = 0; f < UCP_DEVICE__FIELD_COUNT; f++)
      sb_add(b, " f%d=%s\n", f, nz(ucp_device_field_get(dev, f)));
    sb_add(b, " children=%zu:", ucp_device_child_count(dev));
    for (size_t c = 0; c < ucp_device_child_count(dev); c++)
      sb_add(b, " %zu", device_index(d, ucp_device_child(dev, c)));
    sb_add(b, "\n");
    for (size_t s = 0; s < ucp_device_service_count(dev); s++) {
      const ucp_service *sv = ucp_device_service(dev, s);
      sb_add(b, " service %zu dev=%zu\n", s,
             device_index(d, ucp_service_device(sv)));
      for (int f = 0; f < UCP_SERVICE__FIELD_COUNT; f++)
        sb_add(b, "  f%d=%s err=%s\n", f, nz(ucp_service_field_get(sv, f)),
               nz(ucp_service_url_error(sv, f)));
    }
    for (size_t k = 0; k < ucp_device_icon_count(dev); k++) {
      const ucp_icon *ic = ucp_device_icon(dev, k);
      sb_add(b, " icon %zu %s %dx%dx%d %s err=%s\n", k,
             nz(ucp_icon_mimetype(ic)), ucp_icon_width(ic),
             ucp_icon_height(ic), ucp_icon_depth(ic), nz(ucp_icon_url(ic)),
             nz(ucp_icon_url_error(ic)));
    }
  }
}

static const ucp_service *svc(const ucp_description *d, size_t dev,
                              size_t i) {
  const ucp_device *v = ucp_description_device(d, dev);
  assert_non_null(v);
  const ucp_service *s = ucp_device_service(v, i);
  assert_non_null(s);
  return s;
}

static const char *dfield(const ucp_description *d, size_t dev,
                          ucp_device_field f) {
  const ucp_device *v = ucp_description_device(d, dev);
  assert_non_null(v);
  return ucp_device_field_get(v, f);
}

static void assert_contains(const char *hay, const char *needle) {
  assert_non_null(hay);
  if (!strstr(hay, needle))
    fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

/* A one-device document with one service and one icon whose URLs are
 * given (NULL: element absent), and an optional URLBase before (where=0)
 * or after (where=1) the <device>. */
static const char *url_doc(const char *urlbase, int where, const char *scpd,
                           const char *ctrl, const char *evt,
                           const char *icon, const char *pres) {
  sbuf *b = &doc_buf;
  b->len = 0;
  sb_add(b, "<?xml version=\"1.0\"?>\n<root xmlns=\"urn:schemas-upnp-org:"
            "device-1-0\">\n<specVersion><major>1</major><minor>0</minor>"
            "</specVersion>\n");
  if (urlbase && where == 0) sb_add(b, "<URLBase>%s</URLBase>\n", urlbase);
  sb_add(b, "<device>\n<deviceType>urn:schemas-upnp-org:device:Basic:1"
            "</deviceType>\n<friendlyName>u</friendlyName>\n<UDN>uuid:u</UDN>"
            "\n");
  if (pres) sb_add(b, "<presentationURL>%s</presentationURL>\n", pres);
  if (icon)
    sb_add(b, "<iconList><icon><mimetype>image/png</mimetype><width>1"
              "</width><height>1</height><depth>1</depth><url>%s</url>"
              "</icon></iconList>\n", icon);
  sb_add(b, "<serviceList><service>\n<serviceType>urn:x:service:S:1"
            "</serviceType><serviceId>urn:x:serviceId:S</serviceId>\n");
  if (scpd) sb_add(b, "<SCPDURL>%s</SCPDURL>\n", scpd);
  if (ctrl) sb_add(b, "<controlURL>%s</controlURL>\n", ctrl);
  if (evt) sb_add(b, "<eventSubURL>%s</eventSubURL>\n", evt);
  sb_add(b, "</service></serviceList>\n</device>\n");
  if (urlbase && where == 1) sb_add(b, "<URLBase>%s</URLBase>\n", urlbase);
  sb_add(b, "</root>\n");
  return b->s;
}

static const char *minimal =
    "<?xml version=\"1.0\"?>\n"
    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">\n"
    "<device><deviceType>urn:x:device:D:1</deviceType>"
    "<friendlyName>min</friendlyName><UDN>uuid:min</UDN></device>\n"
    "</root>\n";

/* ------------------------------------------------------- whole documents */

static void test_full_device(void **state) {
  (void)state;
  const fixture *fx = fix("full.xml");
  const ucp_description *d = parse_len(fx->data, fx->len, LOC);
  assert_string_equal(ucp_description_url(d), LOC);
  assert_string_equal(ucp_description_base_url(d), LOC);
  int ma = -1, mi = -1;
  ucp_description_spec_version(d, &ma, &mi);
  assert_int_equal(ma, 1);
  assert_int_equal(mi, 1);
  assert_int_equal(ucp_description_config_id(d), 1234);
  assert_int_equal(ucp_description_device_count(d), 1);
  const ucp_device *root = ucp_description_root(d);
  assert_non_null(root);
  assert_ptr_equal(ucp_description_device(d, 0), root);
  assert_null(ucp_description_device(d, 1));
  assert_null(ucp_device_parent(root));
  assert_int_equal(ucp_device_child_count(root), 0);
  assert_null(ucp_device_child(root, 0));

  static const char *const want[UCP_DEVICE__FIELD_COUNT] = {
      [UCP_DEVICE_TYPE] = "urn:schemas-upnp-org:device:MediaRenderer:1",
      [UCP_DEVICE_FRIENDLY_NAME] = "Living Room Speaker",
      [UCP_DEVICE_MANUFACTURER] = "Example Audio Ltd.",
      [UCP_DEVICE_MANUFACTURER_URL] = "http://www.example.com/",
      [UCP_DEVICE_MODEL_DESCRIPTION] = "A speaker for the living room",
      [UCP_DEVICE_MODEL_NAME] = "Speaker One",
      [UCP_DEVICE_MODEL_NUMBER] = "S1-2024",
      [UCP_DEVICE_MODEL_URL] = "http://www.example.com/s1",
      [UCP_DEVICE_SERIAL_NUMBER] = "SN-000123",
      [UCP_DEVICE_UDN] = "uuid:11111111-2222-3333-4444-555555555555",
      [UCP_DEVICE_UPC] = "012345678905",
      [UCP_DEVICE_PRESENTATION_URL] = "http://192.168.1.20:49152/index.html",
  };
  for (int f = 0; f < UCP_DEVICE__FIELD_COUNT; f++)
    assert_string_equal(ucp_device_field_get(root, f), want[f]);
  assert_null(ucp_device_field_get(root, UCP_DEVICE__FIELD_COUNT));
  assert_null(ucp_device_field_get(root, (ucp_device_field)-1));

  /* services */
  assert_int_equal(ucp_device_service_count(root), 2);
  assert_null(ucp_device_service(root, 2));
  const ucp_service *s0 = ucp_device_service(root, 0);
  assert_ptr_equal(ucp_service_device(s0), root);
  assert_string_equal(ucp_service_field_get(s0, UCP_SERVICE_TYPE),
                      "urn:schemas-upnp-org:service:RenderingControl:1");
  assert_string_equal(ucp_service_field_get(s0, UCP_SERVICE_ID),
                      "urn:upnp-org:serviceId:RenderingControl");
  assert_string_equal(ucp_service_field_get(s0, UCP_SERVICE_SCPD_URL),
                      "http://192.168.1.20:49152/RenderingControl/desc.xml");
  assert_string_equal(ucp_service_field_get(s0, UCP_SERVICE_CONTROL_URL),
                      "http://192.168.1.20:49152/RenderingControl/ctrl");
  assert_string_equal(ucp_service_field_get(s0, UCP_SERVICE_EVENT_SUB_URL),
                      "http://192.168.1.20:49152/RenderingControl/evt");
  for (int f = UCP_SERVICE_SCPD_URL; f < UCP_SERVICE__FIELD_COUNT; f++)
    assert_null(ucp_service_url_error(s0, f));
  /* url_error is only defined for the URL fields */
  assert_null(ucp_service_url_error(s0, UCP_SERVICE_TYPE));
  assert_null(ucp_service_url_error(s0, UCP_SERVICE__FIELD_COUNT));
  assert_null(ucp_service_field_get(s0, UCP_SERVICE__FIELD_COUNT));

  const ucp_service *s1 = ucp_device_service(root, 1);
  assert_ptr_equal(ucp_service_device(s1), root);
  /* relative without a leading slash: against the LOCATION's directory */
  assert_string_equal(ucp_service_field_get(s1, UCP_SERVICE_SCPD_URL),
                      "http://192.168.1.20:49152/desc/AVTransport/desc.xml");
  /* absolute, same host: kept */
  assert_string_equal(ucp_service_field_get(s1, UCP_SERVICE_CONTROL_URL),
                      "http://192.168.1.20:49152/AVTransport/ctrl");
  assert_null(ucp_service_url_error(s1, UCP_SERVICE_CONTROL_URL));
  /* absolute, another host: unusable, and the reason names that host */
  assert_null(ucp_service_field_get(s1, UCP_SERVICE_EVENT_SUB_URL));
  const char *why = ucp_service_url_error(s1, UCP_SERVICE_EVENT_SUB_URL);
  assert_non_null(why);
  assert_contains(why, "10.0.0.66");

  /* icons */
  assert_int_equal(ucp_device_icon_count(root), 3);
  assert_null(ucp_device_icon(root, 3));
  const ucp_icon *i0 = ucp_device_icon(root, 0);
  assert_string_equal(ucp_icon_mimetype(i0), "image/png");
  assert_int_equal(ucp_icon_width(i0), 48);
  assert_int_equal(ucp_icon_height(i0), 32);
  assert_int_equal(ucp_icon_depth(i0), 24);
  assert_string_equal(ucp_icon_url(i0),
                      "http://192.168.1.20:49152/icons/small.png");
  assert_null(ucp_icon_url_error(i0));
  const ucp_icon *i1 = ucp_device_icon(root, 1);
  assert_string_equal(ucp_icon_mimetype(i1), "image/jpeg");
  assert_int_equal(ucp_icon_width(i1), -1);  /* "48px" */
  assert_int_equal(ucp_icon_height(i1), -1); /* "" */
  assert_int_equal(ucp_icon_depth(i1), -1);  /* "-8" */
  assert_string_equal(ucp_icon_url(i1),
                      "http://192.168.1.20:49152/desc/icons/large.jpg");
  const ucp_icon *i2 = ucp_device_icon(root, 2);
  assert_string_equal(ucp_icon_mimetype(i2), "image/gif");
  assert_int_equal(ucp_icon_width(i2), -1); /* absent */
  assert_int_equal(ucp_icon_height(i2), -1);
  assert_int_equal(ucp_icon_depth(i2), -1);
  assert_string_equal(ucp_icon_url(i2),
                      "http://192.168.1.20:49152/icons/ok.gif");

  /* the three non-numbers are reported, nothing else */
  const char *w = ucp_description_warnings(d);
  assert_contains(w, "icon <width> is not a number");
  assert_contains(w, "icon <height> is not a number");
  assert_contains(w, "icon <depth> is not a number");
  assert_int_equal(count_lines(w), 3);
}

static void test_icon_numbers(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int value;
  } cases[] = {{"0", 0},          {"1", 1},      {"  64\n", 64},
               {"4096", 4096},    {"-1", -1},    {"abc", -1},
               {"12abc", -1},     {"4.5", -1},   {"", -1},
               {"0x10", -1},      {"1 2", -1},
               {"99999999999999999999", -1}}; /* does not fit an int */
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sbuf *b = &doc_buf;
    b->len = 0;
    sb_add(b, "<root><device><UDN>uuid:i</UDN><iconList><icon>"
              "<width>%s</width><height>%s</height><depth>%s</depth>"
              "<url>/i.png</url></icon></iconList></device></root>",
           cases[i].text, cases[i].text, cases[i].text);
    const ucp_description *d = parse_ok(b->s, LOC);
    const ucp_icon *ic = ucp_device_icon(ucp_description_root(d), 0);
    assert_non_null(ic);
    if (ucp_icon_width(ic) != cases[i].value)
      fail_msg("width '%s' gave %d, expected %d", cases[i].text,
               ucp_icon_width(ic), cases[i].value);
    assert_int_equal(ucp_icon_height(ic), cases[i].value);
    assert_int_equal(ucp_icon_depth(ic), cases[i].value);
    assert_null(ucp_icon_mimetype(ic)); /* absent */
    if (cases[i].value < 0)
      assert_contains(ucp_description_warnings(d), "not a number");
    else
      assert_string_equal(ucp_description_warnings(d), "");
    release_all(NULL);
  }
}

static void test_nested_devices(void **state) {
  (void)state;
  const fixture *fx = fix("nested.xml");
  const ucp_description *d = parse_len(fx->data, fx->len, LOC);
  assert_int_equal(ucp_description_device_count(d), 5);
  /* depth first, root first */
  static const char *const udn[] = {"uuid:root", "uuid:wan", "uuid:wanconn",
                                    "uuid:probe", "uuid:lan"};
  static const size_t parent[] = {SIZE_MAX, 0, 1, 2, 0};
  static const size_t children[] = {2, 1, 1, 0, 0};
  static const size_t services[] = {1, 1, 2, 0, 1};
  for (size_t i = 0; i < 5; i++) {
    const ucp_device *dev = ucp_description_device(d, i);
    assert_non_null(dev);
    assert_string_equal(ucp_device_field_get(dev, UCP_DEVICE_UDN), udn[i]);
    const ucp_device *p = ucp_device_parent(dev);
    if (parent[i] == SIZE_MAX) {
      assert_null(p);
      assert_ptr_equal(dev, ucp_description_root(d));
    } else {
      assert_ptr_equal(p, ucp_description_device(d, parent[i]));
    }
    assert_int_equal(ucp_device_child_count(dev), children[i]);
    for (size_t c = 0; c < children[i]; c++)
      assert_ptr_equal(ucp_device_parent(ucp_device_child(dev, c)), dev);
    assert_int_equal(ucp_device_service_count(dev), services[i]);
    for (size_t s = 0; s < services[i]; s++)
      assert_ptr_equal(ucp_service_device(ucp_device_service(dev, s)), dev);
    assert_int_equal(ucp_device_icon_count(dev), 0);
  }
  const ucp_device *root = ucp_description_root(d);
  assert_ptr_equal(ucp_device_child(root, 0), ucp_description_device(d, 1));
  assert_ptr_equal(ucp_device_child(root, 1), ucp_description_device(d, 4));
  /* the great-grandchild: three levels below the root */
  const ucp_device *probe =
      ucp_device_child(ucp_device_child(ucp_device_child(root, 0), 0), 0);
  assert_string_equal(ucp_device_field_get(probe, UCP_DEVICE_UDN),
                      "uuid:probe");
  assert_ptr_equal(
      ucp_device_parent(ucp_device_parent(ucp_device_parent(probe))), root);
  assert_string_equal(
      ucp_service_field_get(svc(d, 2, 1), UCP_SERVICE_CONTROL_URL),
      "http://192.168.1.20:49152/ctl/wanppp");
  assert_string_equal(
      ucp_service_field_get(svc(d, 4, 0), UCP_SERVICE_ID),
      "urn:upnp-org:serviceId:LANHostCfg1");
  assert_string_equal(ucp_description_warnings(d), "");
}

/* A second <device> directly in <root> is not part of the tree. */
static void test_second_root_device(void **state) {
  (void)state;
  const ucp_description *d = parse_ok(
      "<root><device><UDN>uuid:first</UDN></device>"
      "<device><UDN>uuid:second</UDN><serviceList><service><SCPDURL>/s"
      "</SCPDURL></service></serviceList></device></root>",
      LOC);
  assert_int_equal(ucp_description_device_count(d), 1);
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "uuid:first");
  assert_int_equal(ucp_device_service_count(ucp_description_root(d)), 0);
  assert_contains(ucp_description_warnings(d), "second root <device>");
}

/* ------------------------------------------------------ URL resolution */

static void test_url_relative_and_absolute(void **state) {
  (void)state;
  const char *loc = "http://192.168.1.5:49152/dev/desc.xml";
  const ucp_description *d =
      parse_ok(url_doc(NULL, 0, "scpd.xml", "/ctl", "../up/evt", "i/x.png",
                       "http://192.168.1.5:49152/p.html"),
               loc);
  const ucp_service *s = svc(d, 0, 0);
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_SCPD_URL),
                      "http://192.168.1.5:49152/dev/scpd.xml");
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_CONTROL_URL),
                      "http://192.168.1.5:49152/ctl");
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_EVENT_SUB_URL),
                      "http://192.168.1.5:49152/up/evt");
  for (int f = UCP_SERVICE_SCPD_URL; f < UCP_SERVICE__FIELD_COUNT; f++)
    assert_null(ucp_service_url_error(s, f));
  const ucp_icon *ic = ucp_device_icon(ucp_description_root(d), 0);
  assert_string_equal(ucp_icon_url(ic), "http://192.168.1.5:49152/dev/i/x.png");
  assert_null(ucp_icon_url_error(ic));
  assert_string_equal(dfield(d, 0, UCP_DEVICE_PRESENTATION_URL),
                      "http://192.168.1.5:49152/p.html");
  assert_string_equal(ucp_description_warnings(d), "");
}

static void test_url_other_host(void **state) {
  (void)state;
  const char *loc = "http://192.168.1.5:49152/desc.xml";
  const ucp_description *d =
      parse_ok(url_doc(NULL, 0, "http://10.9.8.7/scpd.xml",
                       "//10.9.8.6:80/ctl", "http://192.168.1.5:8080/evt",
                       "http://evil.example.com/i.png",
                       "http://10.9.8.5/index.html"),
               loc);
  const ucp_service *s = svc(d, 0, 0);
  assert_null(ucp_service_field_get(s, UCP_SERVICE_SCPD_URL));
  assert_contains(ucp_service_url_error(s, UCP_SERVICE_SCPD_URL), "10.9.8.7");
  /* a scheme-relative reference names another host too */
  assert_null(ucp_service_field_get(s, UCP_SERVICE_CONTROL_URL));
  assert_contains(ucp_service_url_error(s, UCP_SERVICE_CONTROL_URL),
                  "10.9.8.6");
  /* same host, another port: the rule is about the host */
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_EVENT_SUB_URL),
                      "http://192.168.1.5:8080/evt");
  assert_null(ucp_service_url_error(s, UCP_SERVICE_EVENT_SUB_URL));
  const ucp_icon *ic = ucp_device_icon(ucp_description_root(d), 0);
  assert_null(ucp_icon_url(ic));
  assert_contains(ucp_icon_url_error(ic), "evil.example.com");
  assert_null(dfield(d, 0, UCP_DEVICE_PRESENTATION_URL));
  /* the type and id are unaffected */
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_TYPE),
                      "urn:x:service:S:1");
}

static void test_url_unusable_forms(void **state) {
  (void)state;
  const char *loc = "http://192.168.1.5:49152/desc.xml";
  const ucp_description *d =
      parse_ok(url_doc(NULL, 0, "", "(null)", NULL, "   ", "(null)"), loc);
  const ucp_service *s = svc(d, 0, 0);
  for (int f = UCP_SERVICE_SCPD_URL; f < UCP_SERVICE__FIELD_COUNT; f++) {
    assert_null(ucp_service_field_get(s, f));
    const char *why = ucp_service_url_error(s, f);
    assert_non_null(why);
    assert_true(strlen(why) > 0);
  }
  assert_contains(ucp_service_url_error(s, UCP_SERVICE_SCPD_URL), "empty");
  assert_contains(ucp_service_url_error(s, UCP_SERVICE_CONTROL_URL),
                  "(null)");
  assert_contains(ucp_service_url_error(s, UCP_SERVICE_EVENT_SUB_URL),
                  "absent");
  const ucp_icon *ic = ucp_device_icon(ucp_description_root(d), 0);
  assert_null(ucp_icon_url(ic)); /* whitespace only: empty after trim */
  assert_contains(ucp_icon_url_error(ic), "empty");
  assert_null(dfield(d, 0, UCP_DEVICE_PRESENTATION_URL));

  release_all(NULL);
  d = parse_ok(url_doc(NULL, 0, "https://192.168.1.5/s.xml",
                       "file:///etc/passwd", "http://user@192.168.1.5/e",
                       "ftp://192.168.1.5/i.png", NULL),
               loc);
  s = svc(d, 0, 0);
  for (int f = UCP_SERVICE_SCPD_URL; f < UCP_SERVICE__FIELD_COUNT; f++) {
    assert_null(ucp_service_field_get(s, f));
    assert_non_null(ucp_service_url_error(s, f));
  }
  assert_contains(ucp_service_url_error(s, UCP_SERVICE_SCPD_URL), "http");
  assert_null(ucp_icon_url(ucp_device_icon(ucp_description_root(d), 0)));
  assert_non_null(
      ucp_icon_url_error(ucp_device_icon(ucp_description_root(d), 0)));
  /* absent presentationURL: NULL */
  assert_null(dfield(d, 0, UCP_DEVICE_PRESENTATION_URL));
}

static void test_url_null_location(void **state) {
  (void)state;
  const ucp_description *d =
      parse_ok(url_doc("http://192.168.1.5/", 0, "/s.xml",
                       "http://192.168.1.5/c", "e", "/i.png", "/"),
               NULL);
  const ucp_service *s = svc(d, 0, 0);
  for (int f = UCP_SERVICE_SCPD_URL; f < UCP_SERVICE__FIELD_COUNT; f++) {
    assert_null(ucp_service_field_get(s, f));
    assert_contains(ucp_service_url_error(s, f), "LOCATION");
  }
  assert_null(ucp_icon_url(ucp_device_icon(ucp_description_root(d), 0)));
  assert_null(dfield(d, 0, UCP_DEVICE_PRESENTATION_URL));
  assert_non_null(ucp_description_url(d));
  assert_string_equal(ucp_description_url(d), "");
  /* the rest of the tree is intact */
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "uuid:u");
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_ID),
                      "urn:x:serviceId:S");

  /* a LOCATION that is not http:// is no better */
  release_all(NULL);
  d = parse_ok(url_doc(NULL, 0, "/s.xml", NULL, NULL, NULL, NULL),
               "https://192.168.1.5/d.xml");
  assert_null(ucp_service_field_get(svc(d, 0, 0), UCP_SERVICE_SCPD_URL));
  assert_non_null(ucp_service_url_error(svc(d, 0, 0), UCP_SERVICE_SCPD_URL));
}

static void test_url_ipv6_location(void **state) {
  (void)state;
  const ucp_description *d =
      parse_ok(url_doc(NULL, 0, "/s.xml", "http://[fe80::1]:49152/c",
                       "http://[fe80::2]:49152/e", NULL, NULL),
               "http://[fe80::1]:49152/d.xml");
  const ucp_service *s = svc(d, 0, 0);
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_SCPD_URL),
                      "http://[fe80::1]:49152/s.xml");
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_CONTROL_URL),
                      "http://[fe80::1]:49152/c");
  assert_null(ucp_service_field_get(s, UCP_SERVICE_EVENT_SUB_URL));
  assert_contains(ucp_service_url_error(s, UCP_SERVICE_EVENT_SUB_URL),
                  "fe80::2");
}

static void test_urlbase_same_host(void **state) {
  (void)state;
  const char *loc = "http://192.168.1.5:49152/desc.xml";
  /* with a trailing slash: a directory */
  const ucp_description *d =
      parse_ok(url_doc("http://192.168.1.5:5000/base/", 0, "scpd.xml", "/ctl",
                       "http://192.168.1.5:49152/evt", "i.png", "p.html"),
               loc);
  assert_string_equal(ucp_description_url(d), loc);
  assert_string_equal(ucp_description_base_url(d),
                      "http://192.168.1.5:5000/base/");
  const ucp_service *s = svc(d, 0, 0);
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_SCPD_URL),
                      "http://192.168.1.5:5000/base/scpd.xml");
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_CONTROL_URL),
                      "http://192.168.1.5:5000/ctl");
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_EVENT_SUB_URL),
                      "http://192.168.1.5:49152/evt");
  assert_string_equal(
      ucp_icon_url(ucp_device_icon(ucp_description_root(d), 0)),
      "http://192.168.1.5:5000/base/i.png");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_PRESENTATION_URL),
                      "http://192.168.1.5:5000/base/p.html");
  assert_string_equal(ucp_description_warnings(d), "");

  /* without a trailing slash, the last segment is replaced (RFC 3986) */
  release_all(NULL);
  d = parse_ok(url_doc("http://192.168.1.5:5000/base", 0, "scpd.xml", "/ctl",
                       NULL, NULL, NULL),
               loc);
  assert_string_equal(ucp_description_base_url(d),
                      "http://192.168.1.5:5000/base");
  assert_string_equal(ucp_service_field_get(svc(d, 0, 0),
                                            UCP_SERVICE_SCPD_URL),
                      "http://192.168.1.5:5000/scpd.xml");

  /* scheme and authority only */
  release_all(NULL);
  d = parse_ok(url_doc("http://192.168.1.5:5000", 0, "scpd.xml", NULL, NULL,
                       NULL, NULL),
               loc);
  assert_string_equal(ucp_service_field_get(svc(d, 0, 0),
                                            UCP_SERVICE_SCPD_URL),
                      "http://192.168.1.5:5000/scpd.xml");

  /* after the <device> (TPG), and wrapped in whitespace */
  release_all(NULL);
  d = parse_ok(url_doc("\n  http://192.168.1.5:1238  \n", 1, "/cds.xml",
                       NULL, NULL, NULL, NULL),
               loc);
  assert_string_equal(ucp_description_base_url(d), "http://192.168.1.5:1238");
  assert_string_equal(ucp_service_field_get(svc(d, 0, 0),
                                            UCP_SERVICE_SCPD_URL),
                      "http://192.168.1.5:1238/cds.xml");
  assert_string_equal(ucp_description_warnings(d), "");
}

static void test_urlbase_ignored(void **state) {
  (void)state;
  const char *loc = "http://192.168.1.5:49152/dev/desc.xml";
  /* another host: ignored with a warning naming it; LOCATION is the base */
  const ucp_description *d =
      parse_ok(url_doc("http://10.1.1.1:5000/", 0, "scpd.xml", "/ctl", NULL,
                       NULL, NULL),
               loc);
  assert_string_equal(ucp_description_base_url(d), loc);
  assert_string_equal(ucp_service_field_get(svc(d, 0, 0),
                                            UCP_SERVICE_SCPD_URL),
                      "http://192.168.1.5:49152/dev/scpd.xml");
  assert_string_equal(ucp_service_field_get(svc(d, 0, 0),
                                            UCP_SERVICE_CONTROL_URL),
                      "http://192.168.1.5:49152/ctl");
  const char *w = ucp_description_warnings(d);
  assert_contains(w, "URLBase");
  assert_contains(w, "10.1.1.1");
  assert_int_equal(count_lines(w), 1);

  /* placeholders (Pannaway), other schemes, garbage: ignored, warned */
  static const char *const bad[] = {"http://127.0.0.1:{port}",
                                    "https://192.168.1.5/", "not a url",
                                    "ftp://192.168.1.5/"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    release_all(NULL);
    d = parse_ok(url_doc(bad[i], i % 2, "scpd.xml", NULL, NULL, NULL, NULL),
                 loc);
    assert_string_equal(ucp_description_base_url(d), loc);
    assert_string_equal(ucp_service_field_get(svc(d, 0, 0),
                                              UCP_SERVICE_SCPD_URL),
                        "http://192.168.1.5:49152/dev/scpd.xml");
    assert_contains(ucp_description_warnings(d), "URLBase");
  }

  /* a second URLBase does not replace the first */
  release_all(NULL);
  d = parse_ok(
      "<root><URLBase>http://192.168.1.5:1/</URLBase><device><UDN>u</UDN>"
      "<serviceList><service><SCPDURL>s</SCPDURL></service></serviceList>"
      "</device><URLBase>http://192.168.1.5:2/</URLBase></root>",
      loc);
  assert_string_equal(ucp_description_base_url(d), "http://192.168.1.5:1/");
  assert_string_equal(ucp_service_field_get(svc(d, 0, 0),
                                            UCP_SERVICE_SCPD_URL),
                      "http://192.168.1.5:1/s");
  assert_contains(ucp_description_warnings(d), "duplicate <URLBase>");
}

/* ------------------------------------------------------------ refusals */

static void test_doctype_refused(void **state) {
  (void)state;
  static const char *const docs[] = {
      /* plain */
      "<?xml version=\"1.0\"?>\n<!DOCTYPE root>\n<root><device><UDN>u</UDN>"
      "</device></root>",
      /* billion laughs */
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE lolz [\n"
      " <!ENTITY lol \"lol\">\n"
      " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
      " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
      " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
      " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
      " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
      " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
      " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
      " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
      " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
      "]>\n"
      "<root><device><friendlyName>&lol9;</friendlyName></device></root>\n",
      /* external entity (XXE) */
      "<?xml version=\"1.0\"?>\n<!DOCTYPE root [<!ENTITY x SYSTEM "
      "\"file:///etc/passwd\">]>\n<root><device><friendlyName>&x;"
      "</friendlyName></device></root>",
      /* parameter entity */
      "<!DOCTYPE root [<!ENTITY % p SYSTEM \"http://10.0.0.1/x.dtd\"> %p;]>"
      "<root><device/></root>",
      /* DOCTYPE plus a bare '&': the repair pass must not bypass the
       * refusal */
      "<!DOCTYPE root><root><device><friendlyName>A&B</friendlyName>"
      "</device></root>",
      /* after a comment that holds a bare '&' */
      "<!-- R&N --><!DOCTYPE root SYSTEM \"http://10.0.0.1/x.dtd\">"
      "<root><device/></root>",
  };
  for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
    char detail[256];
    int rc = parse_fail(docs[i], detail, sizeof detail);
    if (rc != UCP_E_DOCTYPE)
      fail_msg("doc %zu: %s (%s)", i, ucp_err_name(rc), detail);
    assert_contains(detail, "line ");
    /* the same, streamed byte by byte */
    const ucp_description *d;
    char err[256];
    rc = stream_parse(docs[i], strlen(docs[i]), 1, LOC, &d, err, sizeof err);
    assert_int_equal(rc, UCP_E_DOCTYPE);
    assert_null(d);
  }
}

/* <root><device> then k nested vendor elements, one per line. */
static const char *deep_doc(size_t k) {
  sbuf *b = &doc_buf;
  b->len = 0;
  sb_add(b, "<root>\n<device>\n");
  for (size_t i = 0; i < k; i++) sb_add(b, "<x%zu>\n", i);
  for (size_t i = k; i-- > 0;) sb_add(b, "</x%zu>", i);
  sb_add(b, "<UDN>deep</UDN></device></root>");
  return b->s;
}

static void test_depth_cap(void **state) {
  (void)state;
  /* depth 32 (root, device, 30 more) is allowed */
  const ucp_description *d = parse_ok(deep_doc(30), LOC);
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "deep");
  /* 33 is not; the element that crosses the cap is on line 33 */
  char detail[256];
  assert_int_equal(parse_fail(deep_doc(31), detail, sizeof detail),
                   UCP_E_TOO_LARGE);
  assert_contains(detail, "line 33:");
  assert_contains(detail, "32");
  /* far deeper, with self-closing elements at the bottom */
  sbuf *b = &doc_buf;
  b->len = 0;
  sb_add(b, "<root><device>");
  for (int i = 0; i < 10000; i++) sb_add(b, "<a>");
  sb_add(b, "<b/><c/>");
  assert_int_equal(parse_fail(b->s, detail, sizeof detail), UCP_E_TOO_LARGE);
  assert_contains(detail, "line 1:");
}

static void test_text_cap(void **state) {
  (void)state;
  for (size_t n = 8190; n <= 8194; n++) {
    sbuf *b = &doc_buf;
    b->len = 0;
    sb_add(b, "<root>\n<device>\n<friendlyName>");
    for (size_t i = 0; i < n; i++) sb_add(b, "%c", 'a' + (int)(i % 26));
    sb_add(b, "</friendlyName></device></root>");
    if (n <= 8192) {
      const ucp_description *d = parse_ok(b->s, LOC);
      assert_int_equal(strlen(dfield(d, 0, UCP_DEVICE_FRIENDLY_NAME)), n);
      release_all(NULL);
    } else {
      char detail[256];
      assert_int_equal(parse_fail(b->s, detail, sizeof detail),
                       UCP_E_TOO_LARGE);
      assert_contains(detail, "line 3:");
      /* accumulated across character-data callbacks */
      const ucp_description *d;
      char err[256];
      assert_int_equal(stream_parse(b->s, b->len, 1, LOC, &d, err,
                                    sizeof err),
                       UCP_E_TOO_LARGE);
      assert_int_equal(stream_parse(b->s, b->len, 100, LOC, &d, err,
                                    sizeof err),
                       UCP_E_TOO_LARGE);
    }
  }
  /* entity references count after expansion, whitespace before trimming */
  sbuf *b = &doc_buf;
  b->len = 0;
  sb_add(b, "<root><device><UDN>");
  for (int i = 0; i < 2000; i++) sb_add(b, "&amp;"); /* 2000 bytes of text */
  sb_add(b, "</UDN><modelName>");
  for (int i = 0; i < 8193; i++) sb_add(b, " ");
  sb_add(b, "</modelName></device></root>");
  char detail[256];
  assert_int_equal(parse_fail(b->s, detail, sizeof detail), UCP_E_TOO_LARGE);
}

/* root + n embedded devices (in one deviceList), each with s services */
static const char *many_devices_doc(size_t n, size_t s) {
  sbuf *b = &doc_buf;
  b->len = 0;
  sb_add(b, "<root><device><UDN>uuid:r</UDN><deviceList>\n");
  for (size_t i = 0; i < n; i++) {
    sb_add(b, "<device><UDN>uuid:%zu</UDN><serviceList>", i);
    for (size_t k = 0; k < s; k++)
      sb_add(b, "<service><serviceId>s%zu</serviceId><SCPDURL>/s%zu.xml"
                "</SCPDURL></service>", k, k);
    sb_add(b, "</serviceList></device>\n");
  }
  sb_add(b, "</deviceList></device></root>");
  return b->s;
}

static void test_too_many_devices_and_services(void **state) {
  (void)state;
  const ucp_description *d = parse_ok(many_devices_doc(255, 0), LOC);
  assert_int_equal(ucp_description_device_count(d), 256);
  assert_int_equal(ucp_device_child_count(ucp_description_root(d)), 255);
  assert_string_equal(dfield(d, 255, UCP_DEVICE_UDN), "uuid:254");
  char detail[256];
  assert_int_equal(parse_fail(many_devices_doc(256, 0), detail, sizeof detail),
                   UCP_E_TOO_LARGE);
  assert_contains(detail, "256 devices");
  assert_contains(detail, "line 257:");
  /* services: 1024 in total allowed, 1025 not */
  release_all(NULL);
  d = parse_ok(many_devices_doc(128, 8), LOC);
  size_t total = 0;
  for (size_t i = 0; i < ucp_description_device_count(d); i++)
    total += ucp_device_service_count(ucp_description_device(d, i));
  assert_int_equal(total, 1024);
  sbuf *b = &doc_buf;
  many_devices_doc(128, 8);
  /* one more service in the root device */
  char *at = strstr(b->s, "<deviceList>");
  assert_non_null(at);
  const char *extra = "<serviceList><service><SCPDURL>/x</SCPDURL></service>"
                      "</serviceList>";
  size_t off = (size_t)(at - b->s);
  char *doc = malloc(b->len + strlen(extra) + 1);
  assert_non_null(doc);
  memcpy(doc, b->s, off);
  strcpy(doc + off, extra);
  strcat(doc, b->s + off);
  int rc = ucp_description_parse(doc, strlen(doc), LOC, &d, detail,
                                 sizeof detail);
  free(doc);
  if (rc == UCP_OK) track(d);
  assert_int_equal(rc, UCP_E_TOO_LARGE);
  assert_contains(detail, "1024 services");
}

/* Icons are capped per device (64): a parent's icons listed after its
 * embedded devices are counted for the parent alone. */
static void test_icons_per_device(void **state) {
  (void)state;
  sbuf *b = &doc_buf;
  b->len = 0;
  sb_add(b, "<root><device><UDN>p</UDN><deviceList><device><UDN>c</UDN>"
            "<iconList>");
  for (int i = 0; i < 40; i++) sb_add(b, "<icon><url>/c%d.png</url></icon>", i);
  sb_add(b, "</iconList></device></deviceList><iconList>");
  for (int i = 0; i < 40; i++) sb_add(b, "<icon><url>/p%d.png</url></icon>", i);
  sb_add(b, "</iconList></device></root>");
  char detail[256] = "";
  const ucp_description *d = NULL;
  int rc = ucp_description_parse(b->s, b->len, LOC, &d, detail, sizeof detail);
  if (rc == UCP_OK) track(d);
  if (rc != UCP_OK)
    fail_msg("40 + 40 icons in two devices refused: %s: %s", ucp_err_name(rc),
             detail);
  assert_int_equal(ucp_device_icon_count(ucp_description_device(d, 0)), 40);
  assert_int_equal(ucp_device_icon_count(ucp_description_device(d, 1)), 40);
}

static void test_icon_cap(void **state) {
  (void)state;
  for (int n = 64; n <= 65; n++) {
    sbuf *b = &doc_buf;
    b->len = 0;
    sb_add(b, "<root><device><UDN>p</UDN><iconList>");
    for (int i = 0; i < n; i++) sb_add(b, "<icon><url>/%d.png</url></icon>", i);
    sb_add(b, "</iconList></device></root>");
    if (n == 64) {
      const ucp_description *d = parse_ok(b->s, LOC);
      assert_int_equal(ucp_device_icon_count(ucp_description_root(d)), 64);
    } else {
      char detail[256];
      assert_int_equal(parse_fail(b->s, detail, sizeof detail),
                       UCP_E_TOO_LARGE);
      assert_contains(detail, "icons");
    }
  }
}

static void test_too_many_attributes(void **state) {
  (void)state;
  for (int n = 63; n <= 66; n++) {
    sbuf *b = &doc_buf;
    b->len = 0;
    sb_add(b, "<root><device ");
    for (int i = 0; i < n; i++) sb_add(b, " a%d=\"%d\"", i, i);
    sb_add(b, "><UDN>a</UDN></device></root>");
    if (n <= 64) {
      const ucp_description *d = parse_ok(b->s, LOC);
      assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "a");
      release_all(NULL);
    } else {
      char detail[256];
      assert_int_equal(parse_fail(b->s, detail, sizeof detail),
                       UCP_E_TOO_LARGE);
      assert_contains(detail, "attributes");
    }
  }
  /* also on an ignored vendor element */
  sbuf *b = &doc_buf;
  b->len = 0;
  sb_add(b, "<root><device><UDN>a</UDN><v:x ");
  for (int i = 0; i < 100; i++) sb_add(b, " v:a%d='%d'", i, i);
  sb_add(b, "/></device></root>");
  char detail[256];
  assert_int_equal(parse_fail(b->s, detail, sizeof detail), UCP_E_TOO_LARGE);
}

static void test_document_size_cap(void **state) {
  (void)state;
  /* 1 MiB is the cap for the whole body, trailing bytes included */
  sbuf *b = &doc_buf;
  b->len = 0;
  sb_add(b, "%s", minimal);
  while (b->len < 1024 * 1024 + 10) sb_add(b, "<!-- padding padding -->\n");
  char detail[256];
  /* the document ends before the cap, the padding is after </root> */
  assert_int_equal(parse_fail_len(b->s, b->len, detail, sizeof detail),
                   UCP_E_TOO_LARGE);
  assert_contains(detail, "larger than");
  /* exactly at the cap: fine */
  const ucp_description *d = parse_len(b->s, 1024 * 1024, LOC);
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "uuid:min");
  /* streamed: the same verdict */
  assert_int_equal(stream_parse(b->s, b->len, 65536, LOC, &d, detail,
                                sizeof detail),
                   UCP_E_TOO_LARGE);
}

/* An oversized document with a repairable '&' early on: the size cap must
 * still win, streamed as well as whole. */
static void test_document_size_cap_with_bare_amp(void **state) {
  (void)state;
  sbuf *b = &doc_buf;
  b->len = 0;
  sb_add(b, "<root><device><friendlyName>R&N</friendlyName><UDN>u</UDN>\n");
  while (b->len < 1024 * 1024 + 100) sb_add(b, "<v:x>vendor</v:x>\n");
  sb_add(b, "</device></root>\n");
  char detail[256];
  assert_int_equal(parse_fail_len(b->s, b->len, detail, sizeof detail),
                   UCP_E_TOO_LARGE);
  const ucp_description *d;
  int rc = stream_parse(b->s, b->len, 4096, LOC, &d, detail, sizeof detail);
  if (rc != UCP_E_TOO_LARGE)
    fail_msg("streamed: %s (%s), expected UCP_E_TOO_LARGE", ucp_err_name(rc),
             detail);
  assert_contains(detail, "larger than");
}

static void test_protocol_errors(void **state) {
  (void)state;
  char detail[256];
  /* document element is not <root> */
  assert_int_equal(parse_fail("<?xml version=\"1.0\"?>\n<scpd><device/></scpd>",
                              detail, sizeof detail),
                   UCP_E_PROTOCOL);
  assert_contains(detail, "scpd");
  assert_contains(detail, "line 2:");
  assert_int_equal(parse_fail("<s:Envelope xmlns:s=\"x\"/>", detail,
                              sizeof detail),
                   UCP_E_PROTOCOL);
  /* no <device> */
  assert_int_equal(parse_fail("<root><specVersion><major>1</major>"
                              "</specVersion></root>",
                              detail, sizeof detail),
                   UCP_E_PROTOCOL);
  assert_contains(detail, "device");
  assert_int_equal(parse_fail("<root/>", detail, sizeof detail),
                   UCP_E_PROTOCOL);
  /* a <device> that is not a child of <root> does not count */
  assert_int_equal(parse_fail("<root><foo><device><UDN>x</UDN></device></foo>"
                              "</root>",
                              detail, sizeof detail),
                   UCP_E_PROTOCOL);
}

static void test_malformed(void **state) {
  (void)state;
  const fixture *fx = fix("full.xml");
  char detail[256];
  /* truncated anywhere: E_XML, and the detail names a line */
  size_t cuts[] = {1, 10, 100, fx->len / 2, fx->len - 9, fx->len - 8,
                   fx->len - 2};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    int rc = parse_fail_len(fx->data, cuts[i], detail, sizeof detail);
    if (rc != UCP_E_XML)
      fail_msg("cut at %zu: %s (%s)", cuts[i], ucp_err_name(rc), detail);
    assert_contains(detail, "line");
  }
  /* mismatched tags, garbage, nothing at all */
  static const char *const bad[] = {
      "<root><device><UDN>x</udn></device></root>",
      "<root><device></root>",
      "hello",
      "<root><device><UDN>x</UDN></device></root",
      "<root><device><friendlyName>a < b</friendlyName></device></root>",
      "<root><device><UDN>x</UDN></device>\0</root>",
      "<root a='1' a='2'><device/></root>",
      "",
      "   \n  ",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = parse_fail(bad[i], detail, sizeof detail);
    if (rc != UCP_E_XML)
      fail_msg("bad[%zu]: %s (%s)", i, ucp_err_name(rc), detail);
    assert_contains(detail, "line");
  }
  /* a NUL byte inside the document */
  static const char nul[] = "<root><device><UDN>a\0b</UDN></device></root>";
  assert_int_equal(parse_fail_len(nul, sizeof nul - 1, detail, sizeof detail),
                   UCP_E_XML);
  /* invalid UTF-8 */
  assert_int_equal(parse_fail("<root><device><UDN>\xff\xfe</UDN></device>"
                              "</root>",
                              detail, sizeof detail),
                   UCP_E_XML);
  /* a bare '&' does not rescue an otherwise broken document */
  assert_int_equal(parse_fail("<root><device><friendlyName>R&N</friendlyName>"
                              "<UDN>x</udn></device></root>",
                              detail, sizeof detail),
                   UCP_E_XML);
  assert_contains(detail, "line");
}

static void test_bad_arguments(void **state) {
  (void)state;
  const ucp_description *d = NULL;
  char detail[64] = "unchanged";
  assert_int_equal(ucp_description_parse(minimal, strlen(minimal), LOC, NULL,
                                         detail, sizeof detail),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp_description_parse(NULL, 10, LOC, &d, detail,
                                         sizeof detail),
                   UCP_E_INVALIDARG);
  assert_null(d);
  /* NULL with length 0 is an empty document */
  d = (const ucp_description *)&d;
  assert_int_equal(ucp_description_parse(NULL, 0, LOC, &d, detail,
                                         sizeof detail),
                   UCP_E_XML);
  assert_null(d);
  /* NULL detail is fine; a short detail buffer is NUL-terminated */
  assert_int_equal(ucp_description_parse("<x/>", 4, LOC, &d, NULL, 0),
                   UCP_E_PROTOCOL);
  char tiny[8];
  memset(tiny, 'z', sizeof tiny);
  assert_int_equal(ucp_description_parse("<x/>", 4, LOC, &d, tiny,
                                         sizeof tiny),
                   UCP_E_PROTOCOL);
  assert_int_equal(strlen(tiny), sizeof tiny - 1);
  char one[1] = {'z'};
  assert_int_equal(ucp_description_parse("<x/>", 4, LOC, &d, one, 1),
                   UCP_E_PROTOCOL);
  assert_int_equal(one[0], '\0');
  /* the length is honoured: bytes past it are not read */
  d = parse_len(minimal, strlen(minimal) - 1, LOC);
  assert_non_null(d);
}

/* ----------------------------------------------------- tolerated quirks */

static void test_trailing_garbage(void **state) {
  (void)state;
  static const char tail[] = "\n\xef\xbf\xbd\xef\xbf\xbd`(\x00\xff\xfe<<&&]]>"
                             "</root><root><device/>";
  sbuf *b = &doc_buf;
  b->len = 0;
  sb_add(b, "%s", minimal);
  /* byte by byte: "%c" also appends the NUL byte in the middle */
  for (size_t i = 0; i < sizeof tail - 1; i++) sb_add(b, "%c", tail[i]);
  assert_int_equal(b->len, strlen(minimal) + sizeof tail - 1);
  const ucp_description *d = parse_len(b->s, b->len, LOC);
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "uuid:min");
  for (size_t piece = 1; piece <= 13; piece += 6) {
    char err[256];
    assert_int_equal(stream_parse(b->s, b->len, piece, LOC, &d, err,
                                  sizeof err),
                     UCP_OK);
    assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "uuid:min");
  }
}

static void test_bare_ampersand_repaired(void **state) {
  (void)state;
  const char *doc =
      "<?xml version=\"1.0\"?>\n"
      "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">\n"
      "<device>\n"
      "<deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>\n"
      "<friendlyName>R&N:DGND3700</friendlyName>\n"
      "<manufacturer>R&amp;D &lt;Labs&gt; & Co &#38; &#x26;</manufacturer>\n"
      "<modelName>A &amp;&& B</modelName>\n"
      "<UDN>uuid:n</UDN>\n"
      "</device>\n"
      "</root>\n";
  const ucp_description *d = parse_ok(doc, LOC);
  assert_string_equal(dfield(d, 0, UCP_DEVICE_FRIENDLY_NAME), "R&N:DGND3700");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_MANUFACTURER),
                      "R&D <Labs> & Co & &");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_MODEL_NAME), "A &&& B");
  const char *w = ucp_description_warnings(d);
  assert_contains(w, "repaired");
  assert_contains(w, "'&'");
  assert_contains(w, "line 5"); /* where the first one was */
  /* streamed in small pieces: the same result */
  for (size_t piece = 1; piece <= 64; piece *= 4) {
    char err[256];
    const ucp_description *s;
    assert_int_equal(stream_parse(doc, strlen(doc), piece, LOC, &s, err,
                                  sizeof err),
                     UCP_OK);
    assert_string_equal(dfield(s, 0, UCP_DEVICE_FRIENDLY_NAME),
                        "R&N:DGND3700");
    assert_string_equal(ucp_description_warnings(s), w);
  }
}

/* The repair pass enforces every cap, and reports a cap it hits as such:
 * a repaired document is not an excuse to call a too-deep, too-long or
 * too-big document "malformed XML". */
static void test_repair_keeps_other_errors(void **state) {
  (void)state;
  sbuf *b = &doc_buf;
  char detail[256];
  int wrong = 0, rc;
  /* too deep after the '&' */
  b->len = 0;
  sb_add(b, "<root><device><friendlyName>R&N</friendlyName>\n");
  for (int i = 0; i < 40; i++) sb_add(b, "<x>");
  for (int i = 0; i < 40; i++) sb_add(b, "</x>");
  sb_add(b, "</device></root>");
  rc = parse_fail(b->s, detail, sizeof detail);
  if (rc != UCP_E_TOO_LARGE || !strstr(detail, "line 2:")) {
    print_message("too deep with a bare '&': %s (%s)\n", ucp_err_name(rc),
                  detail);
    wrong++;
  }
  /* a text field over the cap after the '&' */
  b->len = 0;
  sb_add(b, "<root><device><friendlyName>R&N</friendlyName><UDN>");
  for (int i = 0; i < 9000; i++) sb_add(b, "u");
  sb_add(b, "</UDN></device></root>");
  rc = parse_fail(b->s, detail, sizeof detail);
  if (rc != UCP_E_TOO_LARGE) {
    print_message("long text with a bare '&': %s (%s)\n", ucp_err_name(rc),
                  detail);
    wrong++;
  }
  /* too many devices after the '&' */
  many_devices_doc(300, 0);
  char *at = strstr(b->s, "<UDN>uuid:r</UDN>");
  assert_non_null(at);
  memcpy(at, "<UDN>u&id:r</UDN>", 17);
  rc = parse_fail(b->s, detail, sizeof detail);
  if (rc != UCP_E_TOO_LARGE) {
    print_message("300 devices with a bare '&': %s (%s)\n", ucp_err_name(rc),
                  detail);
    wrong++;
  }
  /* but no device at all after the repair is still a protocol error */
  rc = parse_fail("<root><specVersion><major>1&</major></specVersion></root>",
                  detail, sizeof detail);
  assert_int_equal(rc, UCP_E_PROTOCOL);
  assert_int_equal(wrong, 0);
}

static void test_undefined_entity_repaired(void **state) {
  (void)state;
  const char *doc =
      "<root><device><friendlyName>Living&nbsp;Room &copy; 2024"
      "</friendlyName><UDN>uuid:e</UDN></device></root>";
  const ucp_description *d = parse_ok(doc, LOC);
  /* the unknown references are kept as written */
  assert_string_equal(dfield(d, 0, UCP_DEVICE_FRIENDLY_NAME),
                      "Living&nbsp;Room &copy; 2024");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "uuid:e");
  assert_contains(ucp_description_warnings(d), "repaired");
  assert_contains(ucp_description_warnings(d), "2 unescaped");
}

static void test_bom_no_decl_crlf(void **state) {
  (void)state;
  /* BOM, no XML declaration, CRLF line ends */
  const char *doc =
      "\xef\xbb\xbf<root xmlns=\"urn:schemas-upnp-org:device-1-0\">\r\n"
      "<device>\r\n<friendlyName>\r\n  two\r\n  lines  \r\n</friendlyName>"
      "\r\n<UDN>uuid:b</UDN>\r\n</device>\r\n</root>\r\n";
  const ucp_description *d = parse_ok(doc, LOC);
  assert_string_equal(dfield(d, 0, UCP_DEVICE_FRIENDLY_NAME), "two\n  lines");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "uuid:b");
  char err[256];
  const ucp_description *s;
  assert_int_equal(stream_parse(doc, strlen(doc), 1, LOC, &s, err, sizeof err),
                   UCP_OK);
  assert_string_equal(dfield(s, 0, UCP_DEVICE_FRIENDLY_NAME), "two\n  lines");
  /* odd declaration forms */
  release_all(NULL);
  d = parse_ok("<?xml version='1.0' encoding='UTF-8' ?>\n<root><device>"
               "<UDN>q</UDN></device></root>",
               LOC);
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "q");
  /* a declared Latin-1 document is converted to UTF-8 */
  d = parse_ok("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<root><device>"
               "<friendlyName>Caf\xe9</friendlyName></device></root>",
               LOC);
  assert_string_equal(dfield(d, 0, UCP_DEVICE_FRIENDLY_NAME), "Caf\xc3\xa9");
}

static void test_quirks_fixture(void **state) {
  (void)state;
  const fixture *fx = fix("quirks.xml");
  const char *loc = "http://192.168.7.7:8000/quirks.xml";
  const ucp_description *d = parse_len(fx->data, fx->len, loc);
  /* namespace prefixes, declared or not, and case: matched by local name */
  assert_int_equal(ucp_description_device_count(d), 1);
  assert_string_equal(dfield(d, 0, UCP_DEVICE_TYPE),
                      "urn:schemas-upnp-org:device:MediaServer:1");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_FRIENDLY_NAME),
                      "Quirky   Server");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "uuid:quirky");
  assert_null(dfield(d, 0, UCP_DEVICE_MANUFACTURER));
  /* specVersion after the device, minor before major */
  int ma, mi;
  ucp_description_spec_version(d, &ma, &mi);
  assert_int_equal(ma, 1);
  assert_int_equal(mi, 1);
  assert_int_equal(ucp_description_config_id(d), -1);
  /* URLBase after the device, same host, trailing slash */
  assert_string_equal(ucp_description_base_url(d),
                      "http://192.168.7.7:9000/base/");
  /* service fields in reverse order */
  const ucp_service *s = svc(d, 0, 0);
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_TYPE),
                      "urn:schemas-upnp-org:service:ContentDirectory:1");
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_ID),
                      "urn:upnp-org:serviceId:ContentDirectory");
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_SCPD_URL),
                      "http://192.168.7.7:9000/cds.xml");
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_CONTROL_URL),
                      "http://192.168.7.7:9000/ctl/cds");
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_EVENT_SUB_URL),
                      "http://192.168.7.7:9000/evt/cds");
  /* <mimeType>, <Width> with spaces, <URL> */
  const ucp_icon *ic = ucp_device_icon(ucp_description_root(d), 0);
  assert_non_null(ic);
  assert_string_equal(ucp_icon_mimetype(ic), "image/png");
  assert_int_equal(ucp_icon_width(ic), 120);
  assert_int_equal(ucp_icon_height(ic), 120);
  assert_int_equal(ucp_icon_depth(ic), 24);
  assert_string_equal(ucp_icon_url(ic), "http://192.168.7.7:9000/q.png");
  /* the duplicated deviceType: first kept, one warning, nothing else */
  const char *w = ucp_description_warnings(d);
  assert_contains(w, "duplicate <deviceType>");
  assert_int_equal(count_lines(w), 1);
}

static void test_duplicates(void **state) {
  (void)state;
  const ucp_description *d = parse_ok(
      "<root><device><deviceType>first</deviceType><UDN>u1</UDN>"
      "<deviceType>second</deviceType><UDN>u2</UDN>"
      "<serviceList><service><serviceType>t1</serviceType>"
      "<serviceType>t2</serviceType><SCPDURL>/a</SCPDURL><SCPDURL>/b"
      "</SCPDURL></service></serviceList>"
      "<iconList><icon><mimetype>image/png</mimetype><mimetype>image/gif"
      "</mimetype><url>/1</url><url>/2</url></icon></iconList>"
      "<presentationURL>/p1</presentationURL><presentationURL>/p2"
      "</presentationURL></device></root>",
      LOC);
  assert_string_equal(dfield(d, 0, UCP_DEVICE_TYPE), "first");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "u1");
  assert_string_equal(ucp_service_field_get(svc(d, 0, 0), UCP_SERVICE_TYPE),
                      "t1");
  assert_string_equal(
      ucp_service_field_get(svc(d, 0, 0), UCP_SERVICE_SCPD_URL),
      "http://192.168.1.20:49152/a");
  const ucp_icon *ic = ucp_device_icon(ucp_description_root(d), 0);
  assert_string_equal(ucp_icon_mimetype(ic), "image/png");
  assert_string_equal(ucp_icon_url(ic), "http://192.168.1.20:49152/1");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_PRESENTATION_URL),
                      "http://192.168.1.20:49152/p1");
  const char *w = ucp_description_warnings(d);
  assert_contains(w, "duplicate <deviceType>");
  assert_contains(w, "duplicate <UDN>");
  assert_contains(w, "duplicate <serviceType>");
  assert_contains(w, "duplicate <SCPDURL>");
  assert_contains(w, "duplicate <mimetype>");
  assert_contains(w, "duplicate <url>");
  assert_contains(w, "duplicate <presentationURL>");
  assert_int_equal(count_lines(w), 7);
}

/* Thousands of warnings: bounded, still one per line. */
static void test_many_warnings(void **state) {
  (void)state;
  sbuf *b = &doc_buf;
  b->len = 0;
  sb_add(b, "<root><device><UDN>u</UDN>\n");
  for (int i = 0; i < 3000; i++) sb_add(b, "<UDN>dup %d</UDN>\n", i);
  sb_add(b, "<friendlyName>R&N</friendlyName></device></root>");
  const ucp_description *d = parse_ok(b->s, LOC);
  const char *w = ucp_description_warnings(d);
  size_t n = strlen(w);
  assert_true(n > 100);
  assert_true(n <= 4096);
  assert_int_equal(w[n - 1], '\n');
  assert_contains(w, "duplicate <UDN>");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "u");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_FRIENDLY_NAME), "R&N");
}

static void test_config_id_and_spec_version(void **state) {
  (void)state;
  static const struct {
    const char *attr;
    long long want;
    int warns;
  } cases[] = {{"", -1, 0},
               {" configId=\"0\"", 0, 0},
               {" configId=\"42\"", 42, 0},
               {" configId=\"16777215\"", 16777215, 0},
               {" configId=\"16777216\"", -1, 1},
               {" configId=\"-1\"", -1, 1},
               {" configId=\"abc\"", -1, 1},
               {" configId=\"\"", -1, 1},
               {" configId=\"12x\"", -1, 1},
               {" xmlns:u=\"urn:x\" u:configId=\"9\"", 9, 0}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sbuf *b = &doc_buf;
    b->len = 0;
    sb_add(b, "<root%s><device><UDN>u</UDN></device></root>", cases[i].attr);
    const ucp_description *d = parse_ok(b->s, LOC);
    if (ucp_description_config_id(d) != cases[i].want)
      fail_msg("'%s': configId %lld, expected %lld", cases[i].attr,
               (long long)ucp_description_config_id(d), cases[i].want);
    if (cases[i].warns)
      assert_contains(ucp_description_warnings(d), "configId");
    else
      assert_string_equal(ucp_description_warnings(d), "");
    release_all(NULL);
  }
  static const struct {
    const char *spec;
    int ma, mi;
  } specs[] = {{"", 0, 0},
               {"<specVersion><major>1</major><minor>0</minor></specVersion>",
                1, 0},
               {"<specVersion><major> 2 </major><minor>\n0\n</minor>"
                "</specVersion>", 2, 0},
               {"<specVersion><major>1</major></specVersion>", 1, 0},
               {"<specVersion><major>x</major><minor>1</minor></specVersion>",
                0, 1}};
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
    sbuf *b = &doc_buf;
    b->len = 0;
    sb_add(b, "<root>%s<device><UDN>u</UDN></device></root>", specs[i].spec);
    const ucp_description *d = parse_ok(b->s, LOC);
    int ma = -5, mi = -5;
    ucp_description_spec_version(d, &ma, &mi);
    assert_int_equal(ma, specs[i].ma);
    assert_int_equal(mi, specs[i].mi);
    ucp_description_spec_version(d, NULL, NULL); /* allowed */
    release_all(NULL);
  }
}

static void test_whitespace_and_empty(void **state) {
  (void)state;
  const ucp_description *d = parse_ok(
      "<root>\n  <device>\n"
      "    <friendlyName>\n\t  Kitchen  Radio \t\n  </friendlyName>\n"
      "    <UDN>  uuid:iPod Dock  </UDN>\n"
      "    <UPC/>\n"
      "    <serialNumber></serialNumber>\n"
      "    <modelNumber> - avm</modelNumber>\n"
      "    <modelName><![CDATA[ <CDATA> & stuff ]]></modelName>\n"
      "    <deviceType>\n</deviceType>\n"
      "    <serviceList>\n      <service>\n"
      "        <serviceId>\n urn:upnp-org:serviceId:X \n</serviceId>\n"
      "        <SCPDURL>\n   /x.xml   \n</SCPDURL>\n"
      "      </service>\n    </serviceList>\n"
      "  </device>\n</root>\n",
      LOC);
  assert_string_equal(dfield(d, 0, UCP_DEVICE_FRIENDLY_NAME), "Kitchen  Radio");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "uuid:iPod Dock");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UPC), "");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_SERIAL_NUMBER), "");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_MODEL_NUMBER), "- avm");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_MODEL_NAME), "<CDATA> & stuff");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_TYPE), "");
  assert_null(dfield(d, 0, UCP_DEVICE_MANUFACTURER)); /* absent */
  assert_null(dfield(d, 0, UCP_DEVICE_MODEL_URL));
  assert_null(dfield(d, 0, UCP_DEVICE_PRESENTATION_URL));
  const ucp_service *s = svc(d, 0, 0);
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_ID),
                      "urn:upnp-org:serviceId:X");
  assert_null(ucp_service_field_get(s, UCP_SERVICE_TYPE));
  assert_string_equal(ucp_service_field_get(s, UCP_SERVICE_SCPD_URL),
                      "http://192.168.1.20:49152/x.xml");
  assert_string_equal(ucp_description_warnings(d), "");
}

/* Elements in unexpected places are ignored, not misfiled. */
static void test_misplaced_elements(void **state) {
  (void)state;
  const ucp_description *d = parse_ok(
      "<root><friendlyName>not a device field</friendlyName>"
      "<device><UDN>u</UDN>"
      "<service><SCPDURL>/outside-list</SCPDURL></service>"
      "<device><UDN>not embedded without deviceList</UDN></device>"
      "<vendor><friendlyName>vendor's</friendlyName><device><UDN>x</UDN>"
      "</device></vendor>"
      "<iconList><url>/no-icon</url></iconList>"
      "<serviceList><SCPDURL>/no-service</SCPDURL></serviceList>"
      "</device></root>",
      LOC);
  assert_int_equal(ucp_description_device_count(d), 1);
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "u");
  assert_null(dfield(d, 0, UCP_DEVICE_FRIENDLY_NAME));
  assert_int_equal(ucp_device_service_count(ucp_description_root(d)), 0);
  assert_int_equal(ucp_device_icon_count(ucp_description_root(d)), 0);
  assert_int_equal(ucp_device_child_count(ucp_description_root(d)), 0);
}

/* ------------------------------------------- streaming and large input */

static void test_streaming_equivalence(void **state) {
  (void)state;
  const fixture *docs[] = {fix("full.xml"), fix("nested.xml"),
                           fix("quirks.xml")};
  const char *inline_docs[] = {
      minimal,
      "<root><device><friendlyName>R&N:DGND3700</friendlyName>"
      "<manufacturer>&nbsp;x</manufacturer></device></root>\n\xef\xbf\xbd`(",
      "\xef\xbb\xbf<root>\r\n<device><UDN>b</UDN></device></root>\r\n",
  };
  size_t ndocs = sizeof docs / sizeof docs[0];
  size_t total = ndocs + sizeof inline_docs / sizeof inline_docs[0];
  static const size_t pieces[] = {1, 2, 3, 7, 64, 0};
  for (size_t i = 0; i < total; i++) {
    const char *xml = i < ndocs ? docs[i]->data : inline_docs[i - ndocs];
    size_t len = i < ndocs ? docs[i]->len : strlen(xml);
    const ucp_description *whole = parse_len(xml, len, LOC);
    sbuf ref = {0};
    dump(whole, &ref);
    for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
      const ucp_description *d;
      char err[256];
      int rc = stream_parse(xml, len, pieces[k], LOC, &d, err, sizeof err);
      if (rc != UCP_OK) {
        sb_free(&ref);
        fail_msg("doc %zu piece %zu: %s %s", i, pieces[k], ucp_err_name(rc),
                 err);
      }
      sbuf got = {0};
      dump(d, &got);
      int same = !strcmp(ref.s, got.s);
      if (!same)
        print_message("doc %zu piece %zu differs:\n--- whole\n%s--- streamed"
                      "\n%s",
                      i, pieces[k], ref.s, got.s);
      sb_free(&got);
      if (!same) sb_free(&ref);
      assert_true(same);
    }
    sb_free(&ref);
    release_all(NULL);
  }
  /* failures are the same whatever the piece size, with the same detail */
  const char *bad[] = {
      "<root><device><UDN>x</UDN>\n</Device></root>",
      "<!DOCTYPE root><root/>",
      "<scpd/>",
      "<root>\n<specVersion/></root>",
      "<root><device><UDN>x</UDN></device>",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char ref[256], err[256];
    const ucp_description *d;
    int want = stream_parse(bad[i], strlen(bad[i]), 0, LOC, &d, ref,
                            sizeof ref);
    assert_int_not_equal(want, UCP_OK);
    assert_true(strlen(ref) > 0);
    for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
      int rc = stream_parse(bad[i], strlen(bad[i]), pieces[k], LOC, &d, err,
                            sizeof err);
      assert_int_equal(rc, want);
      assert_string_equal(err, ref);
    }
  }
}

/* After an error, every further feed and the finish return it again. */
static void test_streaming_sticky_error(void **state) {
  (void)state;
  ucp__desc_parser *p = ucp__desc_parser_new(NULL);
  assert_non_null(p);
  assert_string_equal(ucp__desc_parser_error(p), "");
  const char *a = "<!DOCTYPE root>";
  assert_int_equal(ucp__desc_parser_feed(p, a, strlen(a)), UCP_E_DOCTYPE);
  assert_int_equal(ucp__desc_parser_feed(p, minimal, strlen(minimal)),
                   UCP_E_DOCTYPE);
  ucp_description *d = (ucp_description *)&d;
  assert_int_equal(ucp__desc_parser_finish(p, &d), UCP_E_DOCTYPE);
  assert_null(d);
  assert_contains(ucp__desc_parser_error(p), "DOCTYPE");
  ucp__desc_parser_free(p);
  ucp__desc_parser_free(NULL);

  /* custom limits apply */
  ucp__desc_limits lim;
  ucp__desc_limits_default(&lim);
  assert_int_equal(lim.max_depth, 32);
  assert_int_equal(lim.max_text, 8192);
  assert_int_equal(lim.max_devices, 256);
  assert_int_equal(lim.max_services, 1024);
  assert_int_equal(lim.max_bytes, 1024 * 1024);
  lim.max_text = 3;
  p = ucp__desc_parser_new(&lim);
  assert_non_null(p);
  const char *t = "<root><device><UDN>abcd</UDN></device></root>";
  assert_int_equal(ucp__desc_parser_feed(p, t, strlen(t)), UCP_E_TOO_LARGE);
  assert_int_equal(ucp__desc_parser_finish(p, &d), UCP_E_TOO_LARGE);
  ucp__desc_parser_free(p);
  lim.max_text = 8192;
  lim.max_devices = 1;
  p = ucp__desc_parser_new(&lim);
  assert_non_null(p);
  t = "<root><device><deviceList><device/></deviceList></device></root>";
  assert_int_equal(ucp__desc_parser_feed(p, t, strlen(t)), UCP_E_TOO_LARGE);
  ucp__desc_parser_free(p);
  lim.max_devices = 256;
  lim.max_bytes = 10;
  p = ucp__desc_parser_new(&lim);
  assert_non_null(p);
  assert_int_equal(ucp__desc_parser_feed(p, "<root>", 6), UCP_OK);
  assert_int_equal(ucp__desc_parser_feed(p, "<device>", 8), UCP_E_TOO_LARGE);
  assert_int_equal(ucp__desc_parser_finish(p, &d), UCP_E_TOO_LARGE);
  assert_contains(ucp__desc_parser_error(p), "larger than 10");
  ucp__desc_parser_free(p);
  /* a parser freed half way through leaks nothing */
  p = ucp__desc_parser_new(NULL);
  assert_non_null(p);
  assert_int_equal(ucp__desc_parser_feed(p, minimal, 60), UCP_OK);
  ucp__desc_parser_free(p);
}

static void test_large_vendor_document(void **state) {
  (void)state;
  sbuf *b = &doc_buf;
  b->len = 0;
  sb_add(b, "<?xml version=\"1.0\"?>\n<root xmlns=\"urn:schemas-upnp-org:"
            "device-1-0\" xmlns:v=\"urn:vendor\">\n<device>\n"
            "<deviceType>urn:x:device:Big:1</deviceType>\n");
  int i = 0;
  for (; b->len < 100 * 1024; i++) {
    sb_add(b, "<v:X_prop%d v:attr=\"a%d\">value %d with &amp; entity</v:X_prop%d>"
              "\n",
           i, i, i, i);
    if (i % 100 == 0)
      sb_add(b, "<v:group><v:item><v:deep><friendlyName>not mine"
                "</friendlyName></v:deep></v:item></v:group>\n");
  }
  sb_add(b, "<friendlyName>Big One</friendlyName>\n<serviceList>\n");
  for (int k = 0; k < 50; k++)
    sb_add(b, "<service><serviceType>urn:x:service:S%d:1</serviceType>"
              "<SCPDURL>/s%d.xml</SCPDURL><v:extra>%d</v:extra></service>\n",
           k, k, k);
  sb_add(b, "</serviceList>\n<UDN>uuid:big</UDN>\n</device>\n</root>\n");
  assert_true(b->len > 100 * 1024);
  assert_true(i > 1000);
  const ucp_description *d = parse_len(b->s, b->len, LOC);
  assert_string_equal(dfield(d, 0, UCP_DEVICE_FRIENDLY_NAME), "Big One");
  assert_string_equal(dfield(d, 0, UCP_DEVICE_UDN), "uuid:big");
  assert_int_equal(ucp_device_service_count(ucp_description_root(d)), 50);
  assert_string_equal(
      ucp_service_field_get(svc(d, 0, 49), UCP_SERVICE_SCPD_URL),
      "http://192.168.1.20:49152/s49.xml");
  assert_string_equal(ucp_description_warnings(d), "");
  sbuf ref = {0};
  dump(d, &ref);
  char err[256];
  const ucp_description *s;
  int rc = stream_parse(b->s, b->len, 4096, LOC, &s, err, sizeof err);
  sbuf got = {0};
  if (rc == UCP_OK) dump(s, &got);
  int same = rc == UCP_OK && !strcmp(ref.s, got.s);
  sb_free(&ref);
  sb_free(&got);
  assert_int_equal(rc, UCP_OK);
  assert_true(same);
}

/* ------------------------------------------------------------ refcount */

static void *ref_worker(void *arg) {
  const ucp_description *d = arg;
  for (int i = 0; i < 20000; i++) {
    const ucp_description *r = ucp_description_ref(d);
    if (r != d) return (void *)1;
    if (!ucp_description_root(r)) return (void *)1;
    ucp_description_unref(r);
  }
  return NULL;
}

static void test_refcount(void **state) {
  (void)state;
  const fixture *fx = fix("nested.xml");
  const ucp_description *d = NULL;
  char detail[128];
  assert_int_equal(ucp_description_parse(fx->data, fx->len, LOC, &d, detail,
                                         sizeof detail),
                   UCP_OK);
  /* not tracked: this test owns the references */
  const ucp_device *probe = ucp_description_device(d, 3);
  const char *name = ucp_device_field_get(probe, UCP_DEVICE_FRIENDLY_NAME);
  assert_ptr_equal(ucp_description_ref(d), d);
  assert_ptr_equal(ucp_description_ref(d), d);
  ucp_description_unref(d);
  ucp_description_unref(d);
  /* still one reference: everything reachable is intact (ASan would
   * report a use after free here) */
  assert_string_equal(name, "Probe");
  assert_string_equal(ucp_device_field_get(ucp_device_parent(probe),
                                           UCP_DEVICE_UDN),
                      "uuid:wanconn");
  assert_int_equal(ucp_description_device_count(d), 5);
  /* concurrent ref/unref from several threads */
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&t[i], NULL, ref_worker, (void *)d), 0);
  int bad = 0;
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    bad |= r != NULL;
  }
  assert_false(bad);
  assert_string_equal(ucp_device_field_get(probe, UCP_DEVICE_UDN),
                      "uuid:probe");
  /* the last unref frees everything (LeakSanitizer checks the rest) */
  ucp_description_unref(d);
}

/* ------------------------------------------------------ out of memory */

/* Fail each allocation in turn while parsing: every outcome is UCP_OK or
 * UCP_E_NOMEM, never a crash. Run in a child process so that a crash is
 * reported as a failure of this test instead of ending the run; the child
 * reports how far it got through a pipe. */
static void oom_sweep_child(const char *xml, size_t len, int fd) {
  for (long n = 0; n < 100000; n++) {
    (void)!write(fd, &n, sizeof n);
    const ucp_description *d = NULL;
    char detail[256];
    ucp__test_mem_fail_after(n);
    int rc = ucp_description_parse(xml, len, LOC, &d, detail, sizeof detail);
    ucp__test_mem_fail_after(-1);
    if (rc == UCP_OK) {
      ucp_description_unref(d);
      _exit(0);
    }
    if (rc != UCP_E_NOMEM || d != NULL) {
      fprintf(stderr, "fail_after %ld: %s (%s)\n", n, ucp_err_name(rc),
              detail);
      _exit(3);
    }
  }
  _exit(4);
}

static int oom_sweep(const char *label, const char *xml, size_t len) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    oom_sweep_child(xml, len, fds[1]);
  }
  close(fds[1]);
  long last = -1, n;
  while (read(fds[0], &n, sizeof n) == (ssize_t)sizeof n) last = n;
  close(fds[0]);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    print_message("%s: out-of-memory sweep died at fail_after(%ld): %s %d\n",
                  label, last, WIFSIGNALED(st) ? "signal" : "exit status",
                  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return 0;
  }
  print_message("%s: %ld allocation failures survived\n", label, last);
  return 1;
}

static void test_out_of_memory(void **state) {
  (void)state;
  /* every sweep runs, then the verdict */
  int ok = 1;
  static const char empty_device[] = "<root><device/></root>";
  ok &= oom_sweep("<device/>", empty_device, sizeof empty_device - 1);
  ok &= oom_sweep("minimal", minimal, strlen(minimal));
  static const char amp[] =
      "<root><device><friendlyName>R&N</friendlyName><deviceList><device/>"
      "</deviceList></device></root>";
  ok &= oom_sweep("repair", amp, sizeof amp - 1);
  const fixture *fx = fix("nested.xml");
  ok &= oom_sweep("nested.xml", fx->data, fx->len);
  fx = fix("full.xml");
  ok &= oom_sweep("full.xml", fx->data, fx->len);
  assert_true(ok);
}

#define T(f) cmocka_unit_test_teardown(f, free_doc)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_full_device),
      T(test_icon_numbers),
      T(test_nested_devices),
      T(test_second_root_device),
      T(test_url_relative_and_absolute),
      T(test_url_other_host),
      T(test_url_unusable_forms),
      T(test_url_null_location),
      T(test_url_ipv6_location),
      T(test_urlbase_same_host),
      T(test_urlbase_ignored),
      T(test_doctype_refused),
      T(test_depth_cap),
      T(test_text_cap),
      T(test_too_many_devices_and_services),
      T(test_icons_per_device),
      T(test_icon_cap),
      T(test_too_many_attributes),
      T(test_document_size_cap),
      T(test_document_size_cap_with_bare_amp),
      T(test_protocol_errors),
      T(test_malformed),
      T(test_bad_arguments),
      T(test_trailing_garbage),
      T(test_bare_ampersand_repaired),
      T(test_repair_keeps_other_errors),
      T(test_undefined_entity_repaired),
      T(test_bom_no_decl_crlf),
      T(test_quirks_fixture),
      T(test_duplicates),
      T(test_many_warnings),
      T(test_config_id_and_spec_version),
      T(test_whitespace_and_empty),
      T(test_misplaced_elements),
      T(test_streaming_equivalence),
      T(test_streaming_sticky_error),
      T(test_large_vendor_document),
      T(test_refcount),
      T(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, free_fixtures);
}
