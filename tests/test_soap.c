/* test_soap.c - the sans-I/O SOAP layer: UDA 2.0 §2.5 data types
 * (src/soap/types.c), the request builder and the streaming response and
 * fault parser (src/soap/soap_xml.c). No network. Fixtures are inline, in
 * tests/data/soap/ (see its README.md), and every file of the real-device
 * corpus's soap/ folder, listed at run time. Exits 77 (skipped) when the
 * corpus is missing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <float.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/upnpcp_internal_test.h"
#include "soap/soap.h"
#include "soap/types.h"
#include "upnpcp.h"

#define SOAP_CORPUS UCP_CORPUS_DIR "/soap"
#define DATA UCP_TEST_DATA_DIR "/soap"

/* ============================================================ helpers */

static char *read_path(const char *path, size_t *len) {
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

/* Whatever a test holds is released by the per-test teardown, so that a
 * failed assertion does not leak (LeakSanitizer runs at exit). */
static char *held_doc;
static ucp__soap_result *held_res[4];
static ucp__soap_parser *held_parser;

static int teardown(void **state) {
  (void)state;
  free(held_doc);
  held_doc = NULL;
  for (size_t i = 0; i < 4; i++) {
    ucp__soap_result_free(held_res[i]);
    held_res[i] = NULL;
  }
  ucp__soap_parser_free(held_parser);
  held_parser = NULL;
  ucp__test_mem_fail_after(-1);
  return 0;
}

static char *data_file(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", DATA, name);
  free(held_doc);
  held_doc = read_path(path, len);
  return held_doc;
}

/* Parse doc in pieces of `piece` bytes (0: whole). Returns the status;
 * *out the result (NULL on error); err gets the parser's error text. */
static int parse_doc(const char *doc, size_t len, size_t piece,
                     const char *action, size_t max_bytes, size_t max_value,
                     ucp__soap_result **out, char *err, size_t errcap) {
  *out = NULL;
  ucp__soap_parser *p = ucp__soap_parser_new(action, max_bytes, max_value);
  if (!p) {
    snprintf(err, errcap, "parser_new: out of memory");
    return UCP_E_NOMEM;
  }
  int rc = UCP_OK;
  if (piece == 0) piece = len ? len : 1;
  for (size_t i = 0; i < len && rc == UCP_OK; i += piece) {
    size_t n = len - i < piece ? len - i : piece;
    rc = ucp__soap_parser_feed(p, doc + i, n);
  }
  int frc = ucp__soap_parser_finish(p, out);
  /* feed's error, if any, is also finish's */
  if (rc != UCP_OK) assert_int_equal(frc, rc);
  snprintf(err, errcap, "%s", ucp__soap_parser_error(p));
  ucp__soap_parser_free(p);
  return frc;
}

static ucp__soap_result *parse_ok(const char *doc, size_t len, size_t piece,
                                  const char *action, int slot) {
  char err[600];
  ucp__soap_result *r = NULL;
  int rc = parse_doc(doc, len, piece, action, 0, 0, &r, err, sizeof err);
  if (rc != UCP_OK) fail_msg("parse failed: %s: %s", ucp_err_name(rc), err);
  assert_non_null(r);
  held_res[slot] = r;
  return r;
}

static int parse_err(const char *doc, size_t len, size_t piece,
                     const char *action, size_t max_bytes, size_t max_value,
                     char *err, size_t errcap) {
  ucp__soap_result *r = NULL;
  int rc = parse_doc(doc, len, piece, action, max_bytes, max_value, &r, err,
                     errcap);
  if (r) {
    ucp__soap_result_free(r);
    fail_msg("expected an error, got a result");
  }
  assert_int_not_equal(rc, UCP_OK);
  assert_true(strncmp(err, "line ", 5) == 0);
  return rc;
}

static const char *arg(const ucp__soap_result *r, const char *name) {
  for (size_t i = 0; i < r->nargs; i++)
    if (strcmp(r->names[i], name) == 0) return r->values[i];
  fail_msg("no out-argument <%s>", name);
  return NULL;
}

static void assert_same_result(const ucp__soap_result *a,
                               const ucp__soap_result *b) {
  assert_int_equal(a->is_fault, b->is_fault);
  assert_int_equal(a->upnp_error, b->upnp_error);
  assert_int_equal(a->nargs, b->nargs);
  if (a->is_fault) {
    assert_string_equal(a->fault_code, b->fault_code);
    assert_string_equal(a->fault_string, b->fault_string);
    assert_string_equal(a->upnp_description, b->upnp_description);
  }
  for (size_t i = 0; i < a->nargs; i++) {
    assert_string_equal(a->names[i], b->names[i]);
    assert_string_equal(a->values[i], b->values[i]);
  }
  if (a->warnings || b->warnings) {
    assert_non_null(a->warnings);
    assert_non_null(b->warnings);
    assert_string_equal(a->warnings, b->warnings);
  }
}

/* ============================================================ types */

static const char *tname(ucp_type t) {
  const char *n = ucp_type_name(t);
  return n ? n : "unknown";
}

static void ok_(int line, ucp_type t, const char *in, size_t n,
                const char *canon, ucp__value *vout) {
  char buf[600];
  ucp__value v;
  const char *why = "(unset)";
  int rc = ucp__value_parse(t, in, n, buf, sizeof buf, &v, &why);
  if (rc != UCP_OK)
    fail_msg("line %d: %s '%s' refused: %s", line, tname(t), in,
             why ? why : "(null)");
  assert_int_equal(v.type, t);
  assert_non_null(v.text);
  assert_int_equal(v.len, strlen(v.text));
  if (canon && strcmp(v.text, canon) != 0)
    fail_msg("line %d: %s '%s' gave '%s', expected '%s'", line,
             tname(t), in, v.text, canon);
  /* validation without a buffer agrees */
  ucp__value v2;
  assert_int_equal(ucp__value_parse(t, in, n, NULL, 0, &v2, &why), UCP_OK);
  assert_null(v2.text);
  assert_int_equal(v2.len, v.len);
  if (vout) *vout = v, vout->text = NULL;
}

static void bad_(int line, ucp_type t, const char *in, size_t n,
                 const char *why_part) {
  char buf[600];
  ucp__value v;
  const char *why = NULL;
  int rc = ucp__value_parse(t, in, n, buf, sizeof buf, &v, &why);
  if (rc != UCP_E_INVALIDARG)
    fail_msg("line %d: %s '%s' accepted (%s)", line, tname(t), in,
             rc == UCP_OK ? v.text : ucp_err_name(rc));
  if (!why) fail_msg("line %d: no why", line);
  if (why_part && !strstr(why, why_part))
    fail_msg("line %d: %s '%s': why '%s' lacks '%s'", line,
             tname(t), in, why, why_part);
}

#define OK(t, in, canon) ok_(__LINE__, UCP_TYPE_##t, in, strlen(in), canon, NULL)
#define OKV(t, in, canon, v) ok_(__LINE__, UCP_TYPE_##t, in, strlen(in), canon, v)
#define BAD(t, in, why) bad_(__LINE__, UCP_TYPE_##t, in, strlen(in), why)

static void test_type_names(void **state) {
  (void)state;
  static const struct {
    const char *name;
    ucp_type t;
  } cases[] = {
      {"ui1", UCP_TYPE_UI1},         {"ui2", UCP_TYPE_UI2},
      {"ui4", UCP_TYPE_UI4},         {"ui8", UCP_TYPE_UI8},
      {"i1", UCP_TYPE_I1},           {"i2", UCP_TYPE_I2},
      {"i4", UCP_TYPE_I4},           {"i8", UCP_TYPE_I8},
      {"int", UCP_TYPE_INT},         {"r4", UCP_TYPE_R4},
      {"r8", UCP_TYPE_R8},           {"number", UCP_TYPE_NUMBER},
      {"fixed.14.4", UCP_TYPE_FIXED_14_4}, {"float", UCP_TYPE_FLOAT},
      {"char", UCP_TYPE_CHAR},       {"string", UCP_TYPE_STRING},
      {"date", UCP_TYPE_DATE},       {"dateTime", UCP_TYPE_DATETIME},
      {"dateTime.tz", UCP_TYPE_DATETIME_TZ}, {"time", UCP_TYPE_TIME},
      {"time.tz", UCP_TYPE_TIME_TZ}, {"boolean", UCP_TYPE_BOOLEAN},
      {"bin.base64", UCP_TYPE_BIN_BASE64}, {"bin.hex", UCP_TYPE_BIN_HEX},
      {"uri", UCP_TYPE_URI},         {"uuid", UCP_TYPE_UUID},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *n = cases[i].name;
    assert_int_equal(ucp__type_from_name(n, strlen(n)), cases[i].t);
    assert_string_equal(ucp_type_name(cases[i].t), n);
  }
  /* case-insensitive (WeMo and the pupnp sample write String, Boolean) */
  assert_int_equal(ucp__type_from_name("String", 6), UCP_TYPE_STRING);
  assert_int_equal(ucp__type_from_name("BOOLEAN", 7), UCP_TYPE_BOOLEAN);
  assert_int_equal(ucp__type_from_name("DATETIME.TZ", 11),
                   UCP_TYPE_DATETIME_TZ);
  /* length-bounded, no NUL needed */
  assert_int_equal(ucp__type_from_name("ui4garbage", 3), UCP_TYPE_UI4);
  assert_int_equal(ucp__type_from_name("list", 4), UCP_TYPE_UNKNOWN);
  assert_int_equal(ucp__type_from_name("", 0), UCP_TYPE_UNKNOWN);
  assert_int_equal(ucp__type_from_name(" ui4", 4), UCP_TYPE_UNKNOWN);
  assert_int_equal(ucp__type_from_name("ui", 2), UCP_TYPE_UNKNOWN);
  assert_int_equal(ucp__type_from_name(NULL, 0), UCP_TYPE_UNKNOWN);
  assert_null(ucp_type_name(UCP_TYPE_UNKNOWN));
  assert_true(ucp__type_is_numeric(UCP_TYPE_FIXED_14_4));
  assert_true(ucp__type_is_numeric(UCP_TYPE_UI1));
  assert_false(ucp__type_is_numeric(UCP_TYPE_STRING));
  assert_false(ucp__type_is_numeric(UCP_TYPE_BOOLEAN));
}

static void test_unsigned(void **state) {
  (void)state;
  ucp__value v;
  OKV(UI1, "0", "0", &v);
  assert_int_equal(v.v.u, 0);
  OKV(UI1, "255", "255", &v);
  assert_int_equal(v.v.u, 255);
  BAD(UI1, "256", "ui1 takes 0..255");
  BAD(UI1, "-1", "ui1 takes 0..255");
  BAD(UI1, "-0", "ui1 takes 0..255");
  OK(UI1, " \t 255\r\n", "255");
  OK(UI1, "+7", "7");
  OK(UI1, "007", "7");
  OK(UI1, "0000000000000000000000000000000000001", "1");
  BAD(UI1, "", "not a decimal integer");
  BAD(UI1, "   ", "not a decimal integer");
  BAD(UI1, "+", "not a decimal integer");
  BAD(UI1, "1.0", "not a decimal integer");
  BAD(UI1, "0x10", "not a decimal integer");
  BAD(UI1, "1 2", "not a decimal integer");
  BAD(UI1, "12a", "not a decimal integer");
  BAD(UI1, "++1", "not a decimal integer");
  OK(UI2, "65535", "65535");
  BAD(UI2, "65536", "ui2 takes 0..65535");
  OKV(UI4, "4294967295", "4294967295", &v);
  assert_int_equal(v.v.u, 4294967295u);
  BAD(UI4, "4294967296", "ui4 takes 0..4294967295");
  /* the corpus's negative ui4 (async-upnp-client GetTotalBytesReceived) */
  BAD(UI4, "-531985522", "ui4 takes 0..4294967295");
  OKV(UI8, "18446744073709551615", "18446744073709551615", &v);
  assert_true(v.v.u == UINT64_MAX);
  BAD(UI8, "18446744073709551616", "ui8 takes 0..18446744073709551615");
  BAD(UI8, "99999999999999999999999999", "ui8 takes");
}

static void test_signed(void **state) {
  (void)state;
  ucp__value v;
  OKV(I1, "-128", "-128", &v);
  assert_int_equal(v.v.i, -128);
  OKV(I1, "127", "127", &v);
  assert_int_equal(v.v.i, 127);
  BAD(I1, "-129", "i1 takes -128..127");
  BAD(I1, "128", "i1 takes -128..127");
  OK(I1, "-0", "0");
  OK(I1, "+005", "5");
  OK(I1, "-007", "-7");
  BAD(I1, "--5", "not a decimal integer");
  BAD(I1, "-", "not a decimal integer");
  BAD(I1, "5-", "not a decimal integer");
  OK(I2, "-32768", "-32768");
  OK(I2, "32767", "32767");
  BAD(I2, "-32769", "i2 takes -32768..32767");
  BAD(I2, "32768", "i2 takes -32768..32767");
  OK(I4, "-2147483648", "-2147483648");
  OK(I4, "2147483647", "2147483647");
  BAD(I4, "-2147483649", "i4 takes -2147483648..2147483647");
  BAD(I4, "2147483648", "i4 takes -2147483648..2147483647");
  OK(INT, "-2147483648", "-2147483648");
  BAD(INT, "2147483648", "int takes -2147483648..2147483647");
  OKV(I8, "-9223372036854775808", "-9223372036854775808", &v);
  assert_true(v.v.i == INT64_MIN);
  OKV(I8, "9223372036854775807", "9223372036854775807", &v);
  assert_true(v.v.i == INT64_MAX);
  BAD(I8, "-9223372036854775809", "i8 takes");
  BAD(I8, "9223372036854775808", "i8 takes");
  BAD(I8, "-99999999999999999999999", "i8 takes");
}

static void test_reals(void **state) {
  (void)state;
  ucp__value v;
  /* r4: what rounds to a finite float; FLT_MAX prints as 3.4028235e+38 */
  OKV(R4, "3.4028235e38", "3.4028235e+38", &v);
  assert_true(v.v.r == (double)FLT_MAX);
  OK(R4, "-3.4028235e38", "-3.4028235e+38");
  /* FLT_MAX + half an ulp (2^103) ties to even, i.e. to infinity */
  OK(R4, "3.40282356e38", "3.4028235e+38");
  BAD(R4, "3.4028235677973366e38", "r4 takes finite");
  BAD(R4, "3.5e38", "r4 takes finite values");
  BAD(R4, "-3.5e38", "r4 takes finite values");
  BAD(R4, "1e39", "r4 takes finite values");
  OK(R4, "0.1", "0.1");
  OK(R4, "1.5", "1.5");
  OK(R4, " 2.50 ", "2.5");
  OK(R4, "1e-50", "0"); /* underflows to zero: finite */
  for (ucp_type t = UCP_TYPE_R4; t <= UCP_TYPE_FLOAT; t++) {
    if (t == UCP_TYPE_FIXED_14_4) continue;
    static const char *const nonfinite[] = {"NaN", "nan", "inf", "INF",
                                            "-Infinity", "+inf", "0x1p3",
                                            "1e", "e5", ".", "", "1.2.3",
                                            "1,5", "- 1", "1e+", "١"};
    for (size_t i = 0; i < sizeof nonfinite / sizeof nonfinite[0]; i++)
      bad_(__LINE__, t, nonfinite[i], strlen(nonfinite[i]),
           "must be a decimal number (no NaN or infinity)");
  }
  OKV(R8, "1.7976931348623157e308", "1.7976931348623157e+308", &v);
  assert_true(v.v.r == DBL_MAX);
  BAD(R8, "1.8e308", "r8 takes finite values");
  BAD(NUMBER, "-1e309", "finite values");
  BAD(FLOAT, "1e400", "finite values");
  OK(R8, "1e300", "1e+300");
  OK(R8, "0.1", "0.1");
  OK(R8, "+.5", "0.5");
  OK(R8, "5.", "5");
  OK(R8, "-0", "-0");
  OK(R8, "100", "100");
  OK(R8, "1e16", "10000000000000000");
  OK(R8, "1e17", "1e+17");
  OK(R8, "-2.5e3", "-2500");
  OK(R4, "16777217", "16777216"); /* 2^24 + 1 is no float */
  OK(R4, "1e10", "10000000000");
  OK(R8, "1e-5", "1e-05");
  OK(R8, "0.0001", "0.0001");
  OK(R8, "123456789012345678", "1.2345678901234568e+17");
  OK(NUMBER, "2.5E-3", "0.0025");
  OK(FLOAT, "3.14159", "3.14159");
  OKV(R8, "0.30000000000000004", "0.30000000000000004", &v);
  assert_true(v.v.r == 0.1 + 0.2);
}

static void test_fixed(void **state) {
  (void)state;
  ucp__value v;
  OK(FIXED_14_4, "12345678901234.1234", "12345678901234.1234");
  OK(FIXED_14_4, "-99999999999999.9999", "-99999999999999.9999");
  BAD(FIXED_14_4, "123456789012345",
      "fixed.14.4 takes at most 14 digits before and 4 after the point");
  BAD(FIXED_14_4, "1.12345", "at most 14 digits before and 4 after");
  BAD(FIXED_14_4, "123456789012345.1", "at most 14 digits");
  OKV(FIXED_14_4, "00012.3400", "12.34", &v);
  assert_true(v.v.r == 12.34);
  OK(FIXED_14_4, "1.23450", "1.2345");  /* trailing zeros do not count */
  OK(FIXED_14_4, "000000000000000001", "1"); /* nor leading ones */
  OK(FIXED_14_4, "-0.0", "0");
  OK(FIXED_14_4, "+5", "5");
  OK(FIXED_14_4, ".5", "0.5");
  OK(FIXED_14_4, "7.", "7");
  BAD(FIXED_14_4, "1e3", "fixed.14.4 must be a decimal number");
  BAD(FIXED_14_4, "-", "fixed.14.4 must be a decimal number");
  BAD(FIXED_14_4, ".", "fixed.14.4 must be a decimal number");
  BAD(FIXED_14_4, "NaN", "fixed.14.4 must be a decimal number");
  BAD(FIXED_14_4, "", "fixed.14.4 must be a decimal number");
}

static void test_char_string(void **state) {
  (void)state;
  ucp__value v;
  OKV(CHAR, "a", "a", &v);
  assert_int_equal(v.v.u, 'a');
  OKV(CHAR, "\xC3\xA9", "\xC3\xA9", &v); /* é, two bytes */
  assert_int_equal(v.v.u, 0xE9);
  OKV(CHAR, "\xE2\x82\xAC", "\xE2\x82\xAC", &v); /* €, three bytes */
  assert_int_equal(v.v.u, 0x20AC);
  OKV(CHAR, "\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80", &v); /* U+1F600 */
  assert_int_equal(v.v.u, 0x1F600);
  OK(CHAR, " ", " ");    /* a lone space is a char */
  OK(CHAR, " x\n", "x"); /* otherwise trimmed */
  BAD(CHAR, "ab", "char takes exactly one character");
  BAD(CHAR, "\xC3\xA9\xC3\xA9", "exactly one character");
  BAD(CHAR, "", "exactly one character");
  BAD(CHAR, "\xC3", "exactly one character");          /* truncated */
  BAD(CHAR, "\xC0\x80", "exactly one character");      /* overlong NUL */
  BAD(CHAR, "\xED\xA0\x80", "exactly one character");  /* a surrogate */
  BAD(CHAR, "\xF4\x90\x80\x80", "exactly one character"); /* > U+10FFFF */
  bad_(__LINE__, UCP_TYPE_CHAR, "\0", 1, "exactly one character");

  OK(STRING, "h\xC3\xA9llo w\xC3\xB6rld", "h\xC3\xA9llo w\xC3\xB6rld");
  OK(STRING, "", "");
  OK(STRING, "  kept as is\r\n", "  kept as is\r\n");
  OK(STRING, "<&>\"'", "<&>\"'");
  BAD(STRING, "\xFF", "string is not valid UTF-8");
  BAD(STRING, "abc\xC3", "string is not valid UTF-8");
  BAD(STRING, "\xE0\x80\xAF", "string is not valid UTF-8"); /* overlong */
  BAD(STRING, "\xED\xB0\x80", "string is not valid UTF-8"); /* surrogate */
  bad_(__LINE__, UCP_TYPE_STRING, "a\0b", 3, "string contains a NUL");
  /* a vendor type ("list") is validated as a string */
  OK(UNKNOWN, " anything ", " anything ");
  BAD(UNKNOWN, "\x80", "not valid UTF-8");
}

static void test_dates(void **state) {
  (void)state;
  OK(DATE, "2024-02-29", "2024-02-29");
  OK(DATE, "2000-02-29", "2000-02-29"); /* divisible by 400 */
  OK(DATE, " 2024-12-31\n", "2024-12-31");
  OK(DATE, "0001-01-01", NULL);
  BAD(DATE, "2023-02-29", "date YYYY-MM-DD names no real day");
  BAD(DATE, "1900-02-29", "names no real day"); /* divisible by 100 */
  BAD(DATE, "2023-13-01", "names no real day");
  BAD(DATE, "2023-00-10", "names no real day");
  BAD(DATE, "2023-04-31", "names no real day");
  BAD(DATE, "2023-01-00", "names no real day");
  BAD(DATE, "2023-1-01", "date must be YYYY-MM-DD");
  BAD(DATE, "20230101", "date must be YYYY-MM-DD");
  BAD(DATE, "2023/01/01", "date must be YYYY-MM-DD");
  BAD(DATE, "2023-01-01T00:00:00", "date must be YYYY-MM-DD");
  BAD(DATE, "+2023-01-01", "date must be YYYY-MM-DD");
  BAD(DATE, "", "date must be YYYY-MM-DD");

  OK(DATETIME, "2024-02-29T23:59:59", "2024-02-29T23:59:59");
  OK(DATETIME, "2024-02-29T00:00:00.123", "2024-02-29T00:00:00.123");
  OK(DATETIME, "2024-02-29", "2024-02-29"); /* UDA: the time is optional */
  OK(DATETIME, "2024-02-29T24:00:00", NULL);
  BAD(DATETIME, "2024-02-29T24:00:01", "time of day out of range");
  BAD(DATETIME, "2024-02-30T00:00:00", "names no real day");
  BAD(DATETIME, "2024-02-29T", "dateTime must be YYYY-MM-DD[Thh:mm:ss[.fff]]");
  BAD(DATETIME, "2024-02-29T12:00", "dateTime must be");
  BAD(DATETIME, "2024-02-29 12:00:00", "dateTime must be");
  BAD(DATETIME, "2024-02-29T12:00:00Z", "dateTime must be"); /* no zone */
  BAD(DATETIME, "2024-02-29T12:00:00.", "dateTime must be");

  OK(DATETIME_TZ, "2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z");
  OK(DATETIME_TZ, "2024-02-29T12:00:00+05:30", NULL);
  OK(DATETIME_TZ, "2024-02-29T12:00:00.5-14:00", NULL);
  OK(DATETIME_TZ, "2024-02-29T12:00:00", NULL); /* UDA: zone optional */
  OK(DATETIME_TZ, "2024-02-29", NULL);
  OK(DATETIME_TZ, "2024-02-29Z", NULL);
  BAD(DATETIME_TZ, "2024-02-29T12:00:00+14:01", "time zone offset out of range");
  BAD(DATETIME_TZ, "2024-02-29T12:00:00+15:00", "time zone offset");
  BAD(DATETIME_TZ, "2024-02-29T12:00:00+05:60", "time zone offset");
  BAD(DATETIME_TZ, "2024-02-29T12:00:00+0530",
      "dateTime.tz must be YYYY-MM-DD[Thh:mm:ss[.fff]][Z|+hh:mm|-hh:mm]");
  BAD(DATETIME_TZ, "2024-02-29T12:00:00z", "dateTime.tz must be");
  BAD(DATETIME_TZ, "2024-02-29T12:00:00 Z", "dateTime.tz must be");
}

static void test_times(void **state) {
  (void)state;
  OK(TIME, "23:59:59", "23:59:59");
  OK(TIME, "00:00:00", "00:00:00");
  OK(TIME, "24:00:00", "24:00:00"); /* ISO 8601 end of day */
  OK(TIME, "12:00:00.5", "12:00:00.5");
  OK(TIME, "\t12:34:56.789 ", "12:34:56.789");
  BAD(TIME, "24:00:01", "time of day out of range (00:00:00..23:59:59)");
  BAD(TIME, "24:00:00.1", "time of day out of range");
  BAD(TIME, "23:60:00", "time of day out of range");
  BAD(TIME, "23:59:60", "time of day out of range");
  BAD(TIME, "25:00:00", "time of day out of range");
  BAD(TIME, "12:00", "time must be hh:mm:ss[.fff]");
  BAD(TIME, "1:00:00", "time must be hh:mm:ss");
  BAD(TIME, "12:00:00.", "time must be hh:mm:ss");
  BAD(TIME, "12:00:00.1234567890", "time must be hh:mm:ss");
  BAD(TIME, "12:00:00Z", "time must be hh:mm:ss"); /* no zone */
  BAD(TIME, "0 Days, 01:00:00", "time must be hh:mm:ss"); /* corpus */

  OK(TIME_TZ, "12:00:00Z", "12:00:00Z");
  OK(TIME_TZ, "12:00:00+01:00", NULL);
  OK(TIME_TZ, "12:00:00.250-03:30", NULL);
  OK(TIME_TZ, "12:00:00", NULL);
  OK(TIME_TZ, "23:59:59+14:00", NULL);
  BAD(TIME_TZ, "12:00:00+1:00", "time.tz must be hh:mm:ss[.fff][Z|+hh:mm|-hh:mm]");
  BAD(TIME_TZ, "12:00:00+01", "time.tz must be");
  BAD(TIME_TZ, "12:00:00-14:30", "time zone offset out of range");
  BAD(TIME_TZ, "24:00:01Z", "time of day out of range");
}

static void test_boolean(void **state) {
  (void)state;
  static const struct {
    const char *in;
    int b;
  } good[] = {{"0", 0},    {"1", 1},     {"true", 1}, {"TRUE", 1},
              {"True", 1}, {"false", 0}, {"FaLsE", 0}, {"yes", 1},
              {"YES", 1},  {"no", 0},    {"No", 0},    {" yes\r\n", 1}};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    ucp__value v;
    OKV(BOOLEAN, good[i].in, good[i].b ? "1" : "0", &v);
    assert_int_equal(v.v.b, good[i].b);
  }
  static const char *const bad[] = {"2", "on", "off", "", "truee", "y",
                                    "t", "-1", "01", "Error"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    BAD(BOOLEAN, bad[i], "not a boolean (0, 1, true, false, yes, no)");
}

/* A plain encoder, to check the parser's re-encoding against. */
static size_t b64(const unsigned char *d, size_t n, char *out) {
  static const char a[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned long x = (unsigned long)d[i] << 16;
    if (i + 1 < n) x |= (unsigned long)d[i + 1] << 8;
    if (i + 2 < n) x |= d[i + 2];
    out[o++] = a[(x >> 18) & 63];
    out[o++] = a[(x >> 12) & 63];
    out[o++] = i + 1 < n ? a[(x >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? a[x & 63] : '=';
  }
  out[o] = '\0';
  return o;
}

static void test_base64(void **state) {
  (void)state;
  ucp__value v;
  OKV(BIN_BASE64, "", "", &v);
  assert_int_equal(v.v.u, 0);
  OKV(BIN_BASE64, "TWFu", "TWFu", &v);
  assert_int_equal(v.v.u, 3);
  OKV(BIN_BASE64, "TWE=", "TWE=", &v);
  assert_int_equal(v.v.u, 2);
  OKV(BIN_BASE64, "TQ==", "TQ==", &v);
  assert_int_equal(v.v.u, 1);
  /* whitespace inside is allowed, and dropped by the re-encoding */
  OKV(BIN_BASE64, " TW Fu\r\n\tTWE= ", "TWFuTWE=", &v);
  assert_int_equal(v.v.u, 5);
  OK(BIN_BASE64, "TR==", "TQ=="); /* stray bits after the last byte */
  OK(BIN_BASE64, "TWF=", "TWE=");
  const char *w = "bin.base64 must be RFC 4648 base64 with padding";
  BAD(BIN_BASE64, "TWF", w);      /* no padding */
  BAD(BIN_BASE64, "TQ", w);
  BAD(BIN_BASE64, "TQ=", w);
  BAD(BIN_BASE64, "T===", w);
  BAD(BIN_BASE64, "====", w);
  BAD(BIN_BASE64, "TQ==TWFu", w); /* data after the padding */
  BAD(BIN_BASE64, "TQ==\n=", w);
  BAD(BIN_BASE64, "TW=u", w);
  BAD(BIN_BASE64, "TW!u", w);
  BAD(BIN_BASE64, "TW-_", w);     /* base64url is another alphabet */
  BAD(BIN_BASE64, "=TWF", w);
  /* round trips: every length 0..64 of every byte value */
  unsigned char data[300];
  char enc[420];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 37 + 11);
  for (size_t n = 0; n <= sizeof data; n += (n < 64 ? 1 : 59)) {
    b64(data, n, enc);
    ok_(__LINE__, UCP_TYPE_BIN_BASE64, enc, strlen(enc), enc, &v);
    assert_int_equal(v.v.u, n);
  }
}

static void test_hex(void **state) {
  (void)state;
  ucp__value v;
  OKV(BIN_HEX, "", "", &v);
  assert_int_equal(v.v.u, 0);
  OKV(BIN_HEX, "00ff7A", "00FF7A", &v);
  assert_int_equal(v.v.u, 3);
  OK(BIN_HEX, " abcd\n", "ABCD");
  BAD(BIN_HEX, "ABC", "bin.hex needs an even number of hex digits");
  BAD(BIN_HEX, "0", "even number");
  BAD(BIN_HEX, "0g", "bin.hex takes only hex digits");
  BAD(BIN_HEX, "ab cd", "only hex digits");
  BAD(BIN_HEX, "0x00", "only hex digits");
}

static void test_uri_uuid(void **state) {
  (void)state;
  OK(URI, "http://192.168.1.1:80/ctl?a=1&b=%20x#frag",
     "http://192.168.1.1:80/ctl?a=1&b=%20x#frag");
  OK(URI, "/relative/path;p=1", NULL);
  OK(URI, "urn:schemas-upnp-org:service:WANIPConnection:1", NULL);
  OK(URI, "http://[fe80::1]:8080/a~b_c.d-e!$'()*+,=@", NULL);
  OK(URI, " http://x/ ", "http://x/");
  OK(URI, "", "");
  OK(URI, "a/b:c", NULL); /* a colon after the first '/' is no scheme */
  const char *w = "uri has a character not allowed by RFC 3986";
  BAD(URI, "http://a b/", w);
  BAD(URI, "http://a\tb/", w);
  BAD(URI, "http://a/\x7F", w);
  BAD(URI, "http://a/\xC3\xA9", w);
  BAD(URI, "http://a/<b>", w);
  BAD(URI, "http://a/{b}", w);
  BAD(URI, "http://a/\"", w);
  BAD(URI, "http://a/%zz", "uri has a '%' not followed by two hex digits");
  BAD(URI, "http://a/%2", "not followed by two hex digits");
  BAD(URI, "1http://x/", "uri scheme must be a letter");
  BAD(URI, ":x", "uri scheme must be a letter");
  BAD(URI, "ht_tp://x/", "uri scheme");

  OK(UUID, "5b6f1e8c-0e2f-4d6a-9a3b-123456789abc",
     "5b6f1e8c-0e2f-4d6a-9a3b-123456789abc");
  OK(UUID, "5B6F1E8C-0E2F-4D6A-9A3B-123456789ABC",
     "5b6f1e8c-0e2f-4d6a-9a3b-123456789abc");
  const char *u = "uuid must be 8-4-4-4-12 hex digits";
  BAD(UUID, "uuid:5b6f1e8c-0e2f-4d6a-9a3b-123456789abc", u);
  BAD(UUID, "5b6f1e8c0e2f4d6a9a3b123456789abc", u);
  BAD(UUID, "5b6f1e8c-0e2f-4d6a-9a3b-123456789abg", u);
  BAD(UUID, "5b6f1e8c-0e2f-4d6a-9a3b-123456789ab", u);
  BAD(UUID, "5b6f1e8c-0e2f-4d6a-9a3b-123456789abcd", u);
  BAD(UUID, "5b6f1e8c-0e2f4-d6a-9a3b-123456789abc", u);
  BAD(UUID, "90:21:55:CE:6F:4D", u); /* a MAC, as some UDNs are */
}

static void test_value_buffers(void **state) {
  (void)state;
  ucp__value v;
  const char *why = NULL;
  char small[4];
  /* too small for "12345" + NUL */
  assert_int_equal(ucp__value_parse(UCP_TYPE_UI4, "12345", 5, small,
                                    sizeof small, &v, &why),
                   UCP_E_INVALIDARG);
  assert_string_equal(why, "output buffer too small");
  /* exactly enough */
  char six[6];
  assert_int_equal(
      ucp__value_parse(UCP_TYPE_UI4, "12345", 5, six, sizeof six, &v, &why),
      UCP_OK);
  assert_string_equal(v.text, "12345");
  /* not NUL-terminated input: only n bytes are read */
  assert_int_equal(
      ucp__value_parse(UCP_TYPE_UI1, "25599", 3, six, sizeof six, &v, &why),
      UCP_OK);
  assert_string_equal(v.text, "255");
  /* validation only */
  assert_int_equal(ucp__value_parse(UCP_TYPE_BOOLEAN, "yes", 3, NULL, 0, &v,
                                    &why),
                   UCP_OK);
  assert_null(v.text);
  assert_int_equal(v.len, 1);
  assert_int_equal(v.v.b, 1);
  /* bad arguments */
  assert_int_equal(ucp__value_parse(UCP_TYPE_UI1, "1", 1, six, 6, NULL, &why),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp__value_parse(UCP_TYPE_UI1, NULL, 1, six, 6, &v, &why),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp__value_parse(UCP_TYPE_UI1, "1", 1, six, 0, &v, &why),
                   UCP_E_INVALIDARG);
  assert_int_equal(
      ucp__value_parse((ucp_type)999, "1", 1, six, 6, &v, &why),
      UCP_E_INVALIDARG);
  /* why may be NULL */
  assert_int_equal(ucp__value_parse(UCP_TYPE_UI1, "x", 1, six, 6, &v, NULL),
                   UCP_E_INVALIDARG);
  /* NULL text with length 0 is the empty string */
  assert_int_equal(ucp__value_parse(UCP_TYPE_STRING, NULL, 0, six, 6, &v, &why),
                   UCP_OK);
  assert_string_equal(v.text, "");
  /* the canonical form may be longer than the input: n + 32 suffices */
  char big[5 + 32];
  assert_int_equal(ucp__value_parse(UCP_TYPE_R8, "2e-308", 6, big, sizeof big,
                                    &v, &why),
                   UCP_OK);
  assert_string_equal(v.text, "2e-308");
  assert_int_equal(ucp__value_parse(UCP_TYPE_R8, "1e22", 4, big, sizeof big, &v,
                                    &why),
                   UCP_OK);
  assert_string_equal(v.text, "1e+22");
}

/* A program that sets LC_NUMERIC to a comma locale must not change how
 * reals are read or written. Only where such a locale is installed. */
static void test_value_locale(void **state) {
  (void)state;
  static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8",
                                      "fr_FR.UTF-8", "fr_FR.utf8"};
  locale_t loc = (locale_t)0;
  for (size_t i = 0; !loc && i < sizeof names / sizeof names[0]; i++)
    loc = newlocale(LC_NUMERIC_MASK, names[i], (locale_t)0);
  if (!loc) {
    print_message("  (no comma-decimal locale installed: skipped)\n");
    return;
  }
  locale_t old = uselocale(loc);
  char buf[64];
  ucp__value v;
  const char *why;
  int rc = ucp__value_parse(UCP_TYPE_R8, "1.5", 3, buf, sizeof buf, &v, &why);
  int rc2 = ucp__value_parse(UCP_TYPE_R8, "1,5", 3, buf + 32, 32, &v, &why);
  uselocale(old);
  freelocale(loc);
  assert_int_equal(rc, UCP_OK);
  assert_string_equal(buf, "1.5");
  assert_int_equal(rc2, UCP_E_INVALIDARG);
}

static ucp__value val(ucp_type t, const char *s, char *buf, size_t cap) {
  ucp__value v;
  const char *why;
  if (ucp__value_parse(t, s, strlen(s), buf, cap, &v, &why) != UCP_OK)
    fail_msg("'%s' refused: %s", s, why);
  return v;
}

static void range_is(int line, ucp_type t, const char *s, const char *min,
                     const char *max, const char *step, const char *why_part) {
  char buf[64];
  ucp__value v = val(t, s, buf, sizeof buf);
  const char *why = NULL;
  int rc = ucp__value_check_range(&v, min, max, step, &why);
  if (!why_part) {
    if (rc != UCP_OK) fail_msg("line %d: '%s' out of range: %s", line, s, why);
    return;
  }
  if (rc != UCP_E_INVALIDARG) fail_msg("line %d: '%s' in range", line, s);
  if (!why || !strstr(why, why_part))
    fail_msg("line %d: why '%s' lacks '%s'", line, why ? why : "(null)",
             why_part);
}

#define RANGE(t, s, min, max, step, why) \
  range_is(__LINE__, UCP_TYPE_##t, s, min, max, step, why)

static void test_range(void **state) {
  (void)state;
  const char *below = "value is below the allowedValueRange minimum";
  const char *above = "value is above the allowedValueRange maximum";
  const char *off = "value is not on the allowedValueRange step";
  RANGE(UI1, "10", "0", "100", "5", NULL);
  RANGE(UI1, "0", "0", "100", "5", NULL);
  RANGE(UI1, "100", "0", "100", "5", NULL);
  RANGE(UI1, "12", "0", "100", "5", off);
  RANGE(UI1, "200", "0", "100", NULL, above);
  RANGE(UI1, "3", "5", NULL, NULL, below);
  RANGE(UI1, "7", "2", "100", "5", NULL); /* the step counts from min */
  RANGE(UI1, "5", "2", "100", "5", off);
  RANGE(UI8, "18446744073709551615", "0", "18446744073709551615", "5", NULL);
  RANGE(I4, "-7", "-10", "10", "3", NULL);
  RANGE(I4, "-8", "-10", "10", "3", off);
  RANGE(I4, "-11", "-10", "10", "3", below);
  RANGE(I4, "11", "-10", "10", NULL, above);
  RANGE(I4, "-4", NULL, NULL, "2", NULL); /* without min, from 0 */
  RANGE(I4, "-3", NULL, NULL, "2", off);
  RANGE(I8, "9223372036854775807", "-9223372036854775808", NULL, "1", NULL);
  /* 2^64 - 1 from the minimum: odd, so off a step of 2 (no overflow) */
  RANGE(I8, "9223372036854775807", "-9223372036854775808", NULL, "2", off);
  RANGE(I8, "9223372036854775806", "-9223372036854775808", NULL, "2", NULL);
  RANGE(UI8, "18446744073709551615", "1", NULL, "2", NULL);
  RANGE(R8, "0.3", "0", "1", "0.1", NULL); /* 0.3/0.1 is 2.9999999999999996 */
  RANGE(R8, "0.35", "0", "1", "0.1", off);
  RANGE(R8, "1.0000001", "0", "1", NULL, above);
  RANGE(R8, "-0.5", "-1", "1", "0.25", NULL);
  RANGE(FIXED_14_4, "1.25", "0", "10", "0.25", NULL);
  RANGE(FIXED_14_4, "1.2501", "0", "10", "0.25", off);
  RANGE(R4, "3.4028235e38", "0", "3.4028235e38", NULL, NULL);
  /* r4: value, minimum and step are floats, so 0.3 / 0.1 misses 3 by
   * 4e-8 (far above the 1e-9 that suits r8); every tenth is on the step,
   * the maximum included, and off-step values are still refused */
  static const char *const tenths[] = {"0", "0.1", "0.2", "0.3", "0.4", "0.5",
                                       "0.6", "0.7", "0.8", "0.9", "1"};
  for (size_t i = 0; i < sizeof tenths / sizeof *tenths; i++)
    RANGE(R4, tenths[i], "0", "1", "0.1", NULL);
  RANGE(R4, "0.35", "0", "1", "0.1", off);
  RANGE(R4, "0.31", "0", "1", "0.1", off);
  RANGE(R4, "1000.1", "1000", "2000", "0.1", NULL); /* far from 0 */
  RANGE(R4, "1000.15", "1000", "2000", "0.1", off);
  RANGE(R8, "1000000.1", "1000000", NULL, "0.1", NULL);
  RANGE(R8, "1000000.15", "1000000", NULL, "0.1", off);
  RANGE(R8, "0.30000001", "0", "1", "0.1", off);
  /* large r4 values: float precision is coarse there, but half a step off
   * (exact in a float) is still off */
  RANGE(R4, "3000000.5", "0", NULL, "1", off);
  RANGE(R4, "3000000", "0", NULL, "1", NULL);
  RANGE(R4, "999999.4", "0", NULL, "1", off);
  RANGE(R4, "0.4", "-1000000", NULL, "1", off);
  RANGE(R4, "1", "-1000000", NULL, "1", NULL);
  /* absent bounds: NULL or "" */
  RANGE(UI2, "65535", "", "", "", NULL);
  RANGE(UI2, "65535", NULL, NULL, NULL, NULL);
  /* a broken range is reported as such */
  RANGE(UI1, "5", "abc", NULL, NULL,
        "allowedValueRange minimum is not a value of the type");
  RANGE(UI1, "5", NULL, "300", NULL,
        "allowedValueRange maximum is not a value of the type");
  RANGE(UI1, "5", NULL, NULL, "0", "allowedValueRange step is not a positive");
  RANGE(I4, "5", NULL, NULL, "-1", "step is not a positive");
  RANGE(R8, "5", NULL, NULL, "0", "step is not a positive");
  RANGE(R8, "5", NULL, NULL, "-0.5", "step is not a positive");
  /* non-numeric types: a range is not defined, nothing to check */
  RANGE(STRING, "zzz", "a", "b", "1", NULL);
  RANGE(BOOLEAN, "1", "5", "6", NULL, NULL);
  const char *why;
  assert_int_equal(ucp__value_check_range(NULL, "0", "1", NULL, &why),
                   UCP_E_INVALIDARG);
}

static void test_list(void **state) {
  (void)state;
  char buf[64];
  const char *why = NULL;
  const char *const modes[] = {"NORMAL", "SHUFFLE", NULL, "REPEAT_ALL"};
  ucp__value v = val(UCP_TYPE_STRING, "REPEAT_ALL", buf, sizeof buf);
  assert_int_equal(ucp__value_check_list(&v, modes, 4, &why), UCP_OK);
  v = val(UCP_TYPE_STRING, "repeat_all", buf, sizeof buf); /* case counts */
  assert_int_equal(ucp__value_check_list(&v, modes, 4, &why),
                   UCP_E_INVALIDARG);
  assert_string_equal(why, "value is not in the allowedValueList");
  v = val(UCP_TYPE_STRING, " NORMAL", buf, sizeof buf); /* strings are exact */
  assert_int_equal(ucp__value_check_list(&v, modes, 4, &why),
                   UCP_E_INVALIDARG);
  /* no list: anything goes */
  assert_int_equal(ucp__value_check_list(&v, NULL, 0, &why), UCP_OK);
  /* other types compare canonical forms */
  const char *const bools[] = {"1"};
  v = val(UCP_TYPE_BOOLEAN, "TRUE", buf, sizeof buf);
  assert_int_equal(ucp__value_check_list(&v, bools, 1, &why), UCP_OK);
  v = val(UCP_TYPE_BOOLEAN, "no", buf, sizeof buf);
  assert_int_equal(ucp__value_check_list(&v, bools, 1, &why),
                   UCP_E_INVALIDARG);
  const char *const nums[] = {"10", "007", "x"};
  v = val(UCP_TYPE_UI1, "7", buf, sizeof buf);
  assert_int_equal(ucp__value_check_list(&v, nums, 3, &why), UCP_OK);
  v = val(UCP_TYPE_UI1, "8", buf, sizeof buf);
  assert_int_equal(ucp__value_check_list(&v, nums, 3, &why),
                   UCP_E_INVALIDARG);
  /* a value validated without a buffer has no text to compare */
  ucp__value nt;
  assert_int_equal(ucp__value_parse(UCP_TYPE_UI1, "7", 1, NULL, 0, &nt, &why),
                   UCP_OK);
  assert_int_equal(ucp__value_check_list(&nt, nums, 3, &why),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp__value_check_list(&nt, NULL, 3, &why),
                   UCP_E_INVALIDARG);
}

/* ============================================================ builder */

static const char WANIP[] = "urn:schemas-upnp-org:service:WANIPConnection:1";

static void test_build_exact(void **state) {
  (void)state;
  size_t elen;
  char *expected = data_file("request-AddPortMapping.xml", &elen);
  const char *const names[] = {"NewRemoteHost",     "NewExternalPort",
                               "NewProtocol",       "NewInternalPort",
                               "NewInternalClient", "NewEnabled",
                               "NewPortMappingDescription",
                               "NewLeaseDuration"};
  const char *const values[] = {NULL, "8080", "TCP", "8080", "192.168.1.10",
                                "1", "upnpcp & <test> \"a\" 'b'", "0"};
  char *out = NULL;
  size_t len = 0;
  char sa[128];
  const char *why = NULL;
  int rc = ucp__soap_build_request(WANIP, "AddPortMapping", names, values, 8,
                                   &out, &len, sa, sizeof sa, &why);
  assert_int_equal(rc, UCP_OK);
  assert_null(why);
  assert_int_equal(len, elen);
  assert_int_equal(strlen(out), len);
  assert_string_equal(out, expected);
  assert_string_equal(sa, "\"urn:schemas-upnp-org:service:WANIPConnection:"
                          "1#AddPortMapping\"");
  /* and it reads back through the parser as XML: same names and values */
  ucp__soap_parser *p = ucp__soap_parser_new(NULL, 0, 0);
  assert_non_null(p);
  held_parser = p;
  int frc = ucp__soap_parser_feed(p, out, len);
  ucp__free(out);
  ucp__soap_result *r;
  /* a request is not a response: the parser says so (well-formed XML,
   * the wrong element in the Body) */
  assert_int_equal(frc, UCP_E_PROTOCOL);
  assert_int_equal(ucp__soap_parser_finish(p, &r), UCP_E_PROTOCOL);
  assert_non_null(strstr(ucp__soap_parser_error(p), "<AddPortMapping>"));

  /* no arguments */
  rc = ucp__soap_build_request(WANIP, "GetExternalIPAddress", NULL, NULL, 0,
                               &out, &len, NULL, 0, &why);
  assert_int_equal(rc, UCP_OK);
  assert_string_equal(
      out,
      "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope "
      "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
      "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
      "<s:Body><u:GetExternalIPAddress xmlns:u=\"urn:schemas-upnp-org:"
      "service:WANIPConnection:1\"></u:GetExternalIPAddress></s:Body>"
      "</s:Envelope>");
  ucp__free(out);
}

/* Build a one-argument request and return the argument's element text. */
static int build_one(const char *name, const char *value, char *elem,
                     size_t cap, const char **why) {
  const char *const n[] = {name};
  const char *const v[] = {value};
  char *out = NULL;
  size_t len;
  int rc = ucp__soap_build_request(WANIP, "SetX", n, v, 1, &out, &len, NULL,
                                   0, why);
  if (rc != UCP_OK) {
    assert_null(out);
    return rc;
  }
  const char *b = strstr(strstr(out, "xmlns:u="), "\">") + 2;
  const char *e = strstr(b, "</u:SetX>");
  snprintf(elem, cap, "%.*s", (int)(e - b), b);
  ucp__free(out);
  return rc;
}

static void test_build_escaping(void **state) {
  (void)state;
  char e[512];
  const char *why;
  assert_int_equal(build_one("A", "a&b<c>d\"e'f", e, sizeof e, &why), UCP_OK);
  assert_string_equal(e, "<A>a&amp;b&lt;c&gt;d&quot;e&apos;f</A>");
  assert_int_equal(build_one("A", "&amp;", e, sizeof e, &why), UCP_OK);
  assert_string_equal(e, "<A>&amp;amp;</A>"); /* escaped once more */
  assert_int_equal(build_one("A", "t\tl\nc\r.", e, sizeof e, &why), UCP_OK);
  assert_string_equal(e, "<A>t\tl\nc&#13;.</A>");
  assert_int_equal(build_one("A", "h\xC3\xA9 \xF0\x9F\x98\x80", e, sizeof e,
                             &why),
                   UCP_OK);
  assert_string_equal(e, "<A>h\xC3\xA9 \xF0\x9F\x98\x80</A>");
  assert_int_equal(build_one("A", "", e, sizeof e, &why), UCP_OK);
  assert_string_equal(e, "<A></A>");
  assert_int_equal(build_one("A", "]]>", e, sizeof e, &why), UCP_OK);
  assert_string_equal(e, "<A>]]&gt;</A>");

  /* control characters other than tab, CR, LF are refused */
  for (int c = 1; c < 0x20; c++) {
    if (c == '\t' || c == '\n' || c == '\r') continue;
    char v[4] = {'a', (char)c, 'b', 0};
    why = NULL;
    assert_int_equal(build_one("A", v, e, sizeof e, &why), UCP_E_INVALIDARG);
    assert_non_null(strstr(why, "control character"));
  }
  assert_int_equal(build_one("A", "\x7F", e, sizeof e, &why), UCP_OK);
  assert_int_equal(build_one("A", "bad \xFF utf-8", e, sizeof e, &why),
                   UCP_E_INVALIDARG);
  assert_string_equal(why, "value is not valid UTF-8");
  assert_int_equal(build_one("A", "\xEF\xBF\xBE", e, sizeof e, &why),
                   UCP_E_INVALIDARG);
  assert_non_null(strstr(why, "U+FFFE"));
}

static void test_build_names(void **state) {
  (void)state;
  char e[600];
  const char *why;
  static const char *const good[] = {"A", "_x", "New-Port.2", "X_Vendor",
                                     "a1", "\0"};
  for (size_t i = 0; good[i][0]; i++)
    assert_int_equal(build_one(good[i], "v", e, sizeof e, &why), UCP_OK);
  char n255[256], n256[257];
  memset(n255, 'a', 255), n255[255] = 0;
  memset(n256, 'a', 256), n256[256] = 0;
  assert_int_equal(build_one(n255, "v", e, sizeof e, &why), UCP_OK);
  static const char *const bad[] = {"",     "1abc", "-a",  ".a",  "a b",
                                    "a<b",  "a&b",  "a:b", "a/b", "a\"",
                                    "\xC3\xA9", "a\tb", "a>"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    why = NULL;
    assert_int_equal(build_one(bad[i], "v", e, sizeof e, &why),
                     UCP_E_INVALIDARG);
    assert_non_null(strstr(why, "argument name must be"));
  }
  assert_int_equal(build_one(n256, "v", e, sizeof e, &why), UCP_E_INVALIDARG);
  assert_true(ucp__soap_name_ok(n255));
  assert_false(ucp__soap_name_ok(n256));
  assert_false(ucp__soap_name_ok(NULL));

  char *out = (char *)"untouched";
  size_t len = 7;
  const char *const n[] = {"A"};
  const char *const v[] = {"1"};
  /* action names */
  static const char *const bad_actions[] = {"", "9Lives", "Set X", "Set<X>",
                                            "Set#X", "Set\"X"};
  for (size_t i = 0; i < sizeof bad_actions / sizeof bad_actions[0]; i++) {
    assert_int_equal(ucp__soap_build_request(WANIP, bad_actions[i], n, v, 1,
                                             &out, &len, NULL, 0, &why),
                     UCP_E_INVALIDARG);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_non_null(strstr(why, "action name must be"));
  }
  assert_int_equal(ucp__soap_build_request(WANIP, NULL, n, v, 1, &out, &len,
                                           NULL, 0, &why),
                   UCP_E_INVALIDARG);
  /* service types: they go into an attribute and the SOAPACTION header */
  static const char *const bad_types[] = {
      "", "urn:a b", "urn:a\"b", "urn:a#b", "urn:a<b", "urn:a&b",
      "urn:a'b", "urn:a\\b", "urn:a\r\nX-Injected: 1", "urn:\xC3\xA9"};
  for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
    assert_int_equal(ucp__soap_build_request(bad_types[i], "SetX", n, v, 1,
                                             &out, &len, NULL, 0, &why),
                     UCP_E_INVALIDARG);
    assert_non_null(strstr(why, "service type"));
  }
  assert_int_equal(ucp__soap_build_request(NULL, "SetX", n, v, 1, &out, &len,
                                           NULL, 0, &why),
                   UCP_E_INVALIDARG);
  /* vendor service types are fine */
  assert_int_equal(ucp__soap_build_request("urn:Belkin:service:basicevent:1",
                                           "SetBinaryState", n, v, 1, &out,
                                           &len, NULL, 0, &why),
                   UCP_OK);
  ucp__free(out);
  /* names NULL with n > 0; out NULL */
  assert_int_equal(ucp__soap_build_request(WANIP, "SetX", NULL, v, 1, &out,
                                           &len, NULL, 0, &why),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp__soap_build_request(WANIP, "SetX", n, v, 1, NULL,
                                           &len, NULL, 0, &why),
                   UCP_E_INVALIDARG);
  /* values NULL: every value is "" */
  assert_int_equal(ucp__soap_build_request(WANIP, "SetX", n, NULL, 1, &out,
                                           &len, NULL, 0, NULL),
                   UCP_OK);
  assert_non_null(strstr(out, "<A></A>"));
  ucp__free(out);
}

static void test_build_soapaction(void **state) {
  (void)state;
  const char *why;
  char *out;
  size_t len;
  const char *want = "\"urn:schemas-upnp-org:service:WANIPConnection:1"
                     "#GetStatusInfo\"";
  char sa[128];
  assert_int_equal(ucp__soap_build_request(WANIP, "GetStatusInfo", NULL,
                                           NULL, 0, &out, &len, sa,
                                           strlen(want) + 1, &why),
                   UCP_OK);
  assert_string_equal(sa, want);
  ucp__free(out);
  memset(sa, 'x', sizeof sa);
  assert_int_equal(ucp__soap_build_request(WANIP, "GetStatusInfo", NULL,
                                           NULL, 0, &out, &len, sa,
                                           strlen(want), &why),
                   UCP_E_INVALIDARG);
  assert_string_equal(why, "SOAPACTION buffer too small");
  assert_null(out);
  assert_int_equal(sa[0], 'x'); /* untouched */
  assert_int_equal(ucp__soap_build_request(WANIP, "GetStatusInfo", NULL,
                                           NULL, 0, &out, &len, sa, 0, &why),
                   UCP_E_INVALIDARG);
}

static void test_build_oom(void **state) {
  (void)state;
  const char *const n[] = {"A", "B"};
  const char *const v[] = {"1 & 2", "x"};
  char sa[128];
  int ok = 0;
  for (long i = 0; i < 10 && !ok; i++) {
    char *out = NULL;
    size_t len;
    const char *why;
    ucp__test_mem_fail_after(i);
    int rc = ucp__soap_build_request(WANIP, "SetX", n, v, 2, &out, &len, sa,
                                     sizeof sa, &why);
    ucp__test_mem_fail_after(-1);
    if (rc == UCP_OK) {
      ok = 1;
      ucp__free(out);
    } else {
      assert_int_equal(rc, UCP_E_NOMEM);
      assert_null(out);
    }
  }
  assert_true(ok);
}

/* ======================================================= the corpus */

typedef struct expect_arg {
  const char *name, *value; /* value NULL: only present; "^x": prefix */
} expect_arg;

typedef struct corpus_case {
  const char *file;
  const char *action;
  int fault;
  size_t nargs;
  int upnp_error;
  const char *fault_code, *fault_string, *description;
  expect_arg args[6];
  int warns; /* warnings expected */
} corpus_case;

static const corpus_case corpus_cases[] = {
    {"async-upnp-client-dmr-GetPositionInfo-response.xml", "GetPositionInfo",
     0, 8, 0, NULL, NULL, NULL,
     {{"Track", "1"},
      {"TrackDuration", "00:03:14"},
      {"TrackMetaData", "^<DIDL-Lite xmlns=\"urn:schemas-upnp-org:metadata-1-0/"
                        "DIDL-Lite/\""},
      {"TrackURI", "uri://1.mp3"},
      {"RelCount", "2147483647"}},
     0},
    {"async-upnp-client-dmr-GetVolume-fault-402.xml", "GetVolume", 1, 0, 402,
     "s:Client", "UPnPError", "Invalid Args", {{0}}, 0},
    {"async-upnp-client-dms-minidlna-Browse-response.xml", "Browse", 0, 4, 0,
     NULL, NULL, NULL,
     {{"Result", "^<DIDL-Lite xmlns:dc=\"http://purl.org/dc/elements/1.1/\""},
      {"NumberReturned", "4"},
      {"TotalMatches", "4"},
      {"UpdateID", "2333"}},
     0},
    {"async-upnp-client-igd-GetStatusInfo-invalid-uptime-response.xml",
     "GetStatusInfo", 0, 3, 0, NULL, NULL, NULL,
     {{"NewConnectionStatus", "Connected"},
      {"NewLastConnectionError", "ERROR_NONE"},
      {"NewUptime", "0 Days, 01:00:00"}},
     0},
    {"async-upnp-client-igd-GetTotalBytesReceived-negative-ui4-response.xml",
     "GetTotalBytesReceived", 0, 1, 0, NULL, NULL, NULL,
     {{"NewTotalBytesReceived", "-531985522"}}, 0},
    {"belkin-wemo-crockpot-GetCrockpotState-response.xml", "GetCrockpotState",
     0, 4, 0, NULL, NULL, NULL,
     {{"mode", "0"}, {"time", "0"}, {"cookedTime", "0"},
      {"timeStamp", "1660423034"}},
     0},
    {"belkin-wemo-dimmer-v2-rtos-GetBinaryState-response.xml",
     "GetBinaryState", 0, 2, 0, NULL, NULL, NULL,
     {{"BinaryState", "1"}, {"brightness", "60"}}, 0},
    {"belkin-wemo-humidifier-GetAttributes-response.xml", "GetAttributes", 0,
     1, 0, NULL, NULL, NULL,
     {{"attributeList",
       "^&lt;attribute&gt;&lt;name&gt;FanMode&lt;/name&gt;"}},
     0},
    {"belkin-wemo-insight-GetInsightParams-response.xml", "GetInsightParams",
     0, 1, 0, NULL, NULL, NULL,
     {{"InsightParams",
       "0|1611532924|231|300|183183|1209600|8|0|1164707|99830512.000000|8000"}},
     0},
    {"belkin-wemo-insight-SetBinaryState-response.xml", "SetBinaryState", 0,
     3, 0, NULL, NULL, NULL,
     {{"BinaryState", "8|1611530424|231|300|183183|1209600|8|1190|1164707|"
                      "99830512"},
      {"CountdownEndTime", "0"},
      {"deviceCurrentTime", "1611532922"}},
     0},
    {"belkin-wemo-lightswitch-SetBinaryState-response.xml", "SetBinaryState",
     0, 1, 0, NULL, NULL, NULL, {{"BinaryState", "Error"}}, 0},
    {"belkin-wemo-link-GetEndDevicesWithStatus-response.xml",
     "GetEndDevicesWithStatus", 0, 1, 0, NULL, NULL, NULL,
     {{"DeviceLists", "^<?xml version=\"1.0\" encoding=\"utf-8\"?>"
                      "<DeviceLists><DeviceList>"}},
     0},
    {"gmediaserver-0.12-GetProtocolInfo-response-uppercase-args.xml",
     "GetProtocolInfo", 0, 2, 0, NULL, NULL, NULL,
     {{"SOURCE", "http-get:*:*:*"}, {"SINK", ""}}, 0},
    {"miniupnpc-testreplyparse-GetExternalIPAddress-response.xml",
     "GetExternalIPAddress", 0, 1, 0, NULL, NULL, NULL,
     {{"NewExternalIPAddress", "1.2.3.4"}}, 0},
    {"miniupnpc-testreplyparse-GetSpecificPortMappingEntry-response.xml",
     "GetSpecificPortMappingEntry", 0, 5, 0, NULL, NULL, NULL,
     {{"NewInternalPort", "12345"},
      {"NewInternalClient", "192.168.10.110"},
      {"NewEnabled", "1"},
      {"NewPortMappingDescription", "libminiupnpc"},
      {"NewLeaseDuration", "0"}},
     0},
    /* Recovered: see test_corpus_naim. */
    {"naim-uniti-GetPositionInfo-response-unrecoverable.xml",
     "GetPositionInfo", 0, 8, 0, NULL, NULL, NULL,
     {{"Track", "1"},
      {"TrackDuration", "0:03:12"},
      {"TrackMetaData", "^<DIDL-Lite xmlns:upnp="},
      {"TrackURI", "http://192.168.5.11:8200/MediaItems/83.mp3"},
      {"RelTime", "0:00:03"},
      {"AbsCount", "3000"}},
     1},
    {"tailscale-fixture-AddPortMapping-fault-402-SOAP-prefix.xml",
     "AddPortMapping", 1, 0, 402, "SOAP:Client", "UPnPError", "Invalid Args",
     {{0}}, 0},
    {"tailscale-fixture-AddPortMapping-fault-725.xml", "AddPortMapping", 1, 0,
     725, "s:Client", "UPnPError", "OnlyPermanentLeasesSupported", {{0}}, 0},
};

static const corpus_case *find_case(const char *file) {
  for (size_t i = 0; i < sizeof corpus_cases / sizeof corpus_cases[0]; i++)
    if (strcmp(corpus_cases[i].file, file) == 0) return &corpus_cases[i];
  return NULL;
}

static void check_case(const corpus_case *c, const ucp__soap_result *r) {
  assert_int_equal(r->is_fault, c->fault);
  assert_int_equal(r->nargs, c->nargs);
  assert_int_equal(r->upnp_error, c->upnp_error);
  if (c->fault) {
    assert_string_equal(r->fault_code, c->fault_code);
    assert_string_equal(r->fault_string, c->fault_string);
    assert_string_equal(r->upnp_description, c->description);
    assert_null(r->names);
    assert_null(r->values);
  } else {
    assert_null(r->fault_code);
    assert_null(r->fault_string);
    assert_null(r->upnp_description);
  }
  for (size_t i = 0; i < 6 && c->args[i].name; i++) {
    const char *v = arg(r, c->args[i].name);
    const char *want = c->args[i].value;
    if (!want) continue;
    if (want[0] == '^') {
      if (strncmp(v, want + 1, strlen(want + 1)) != 0)
        fail_msg("%s: <%s> = '%.80s...', expected prefix '%s'", c->file,
                 c->args[i].name, v, want + 1);
    } else if (strcmp(v, want) != 0) {
      fail_msg("%s: <%s> = '%s', expected '%s'", c->file, c->args[i].name, v,
               want);
    }
  }
  if (c->warns) assert_non_null(r->warnings);
  else if (r->warnings) fail_msg("%s: warnings: %s", c->file, r->warnings);
}

/* Every file of corpus/real/soap parses, whole and in 1-byte pieces, with
 * the same result; files this test knows are checked in detail, with and
 * without the expected action name. */
static void test_corpus_all(void **state) {
  (void)state;
  DIR *d = opendir(SOAP_CORPUS);
  assert_non_null(d);
  struct dirent *e;
  size_t nfiles = 0, known = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    size_t nl = strlen(e->d_name);
    if (nl < 4 || strcmp(e->d_name + nl - 4, ".xml") != 0) continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", SOAP_CORPUS, e->d_name);
    size_t len;
    free(held_doc);
    held_doc = read_path(path, &len);
    const corpus_case *c = find_case(e->d_name);
    print_message("  %s\n", e->d_name);
    ucp__soap_result *whole = parse_ok(held_doc, len, 0, NULL, 0);
    ucp__soap_result *bytes = parse_ok(held_doc, len, 1, NULL, 1);
    ucp__soap_result *odd = parse_ok(held_doc, len, 7, NULL, 2);
    assert_same_result(whole, bytes);
    assert_same_result(whole, odd);
    if (c) {
      check_case(c, whole);
      ucp__soap_result *named = parse_ok(held_doc, len, 0, c->action, 3);
      assert_same_result(whole, named);
      known++;
    }
    for (int i = 0; i < 4; i++) {
      ucp__soap_result_free(held_res[i]);
      held_res[i] = NULL;
    }
    nfiles++;
  }
  closedir(d);
  print_message("  %zu files, %zu checked in detail\n", nfiles, known);
  assert_true(nfiles >= 18);
  assert_int_equal(known, sizeof corpus_cases / sizeof corpus_cases[0]);
}

static char *corpus_file(const char *name, size_t *len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", SOAP_CORPUS, name);
  free(held_doc);
  held_doc = read_path(path, len);
  return held_doc;
}

/* Naim Uniti: <TrackMetaData><?xml version='1.0' ...?><DIDL-Lite ...>,
 * raw and unescaped, then trailing bytes of an older, escaped copy. expat
 * stops at the declaration (XML_ERROR_MISPLACED_XML_PI: "XML or text
 * declaration not at start of entity"); the parser removes it, parses the
 * body again and gives TrackMetaData the raw DIDL markup as sent (the
 * device's own garbage after </DIDL-Lite> included), with two warnings. */
static void test_corpus_naim(void **state) {
  (void)state;
  size_t len;
  char *doc =
      corpus_file("naim-uniti-GetPositionInfo-response-unrecoverable.xml", &len);
  ucp__soap_result *r = parse_ok(doc, len, 0, "GetPositionInfo", 0);
  const char *md = arg(r, "TrackMetaData");
  assert_non_null(strstr(md, "<dc:title>My Gun Go Off (Produced By Adam "
                             "Deitch &amp; Eric Krasno)</dc:title>"));
  assert_non_null(strstr(md, "</DIDL-Lite>lt;/ownerUdn&gt;"));
  assert_null(strstr(md, "<?xml"));
  /* the device's trailing garbage, escaped, is kept as sent */
  const char *tail = "&lt;/item&gt;&lt;/DIDL-Lite&gt;";
  assert_string_equal(md + strlen(md) - strlen(tail), tail);
  assert_non_null(r->warnings);
  assert_non_null(strstr(r->warnings, "line 16: XML declaration inside a "
                                      "value removed"));
  assert_non_null(strstr(r->warnings, "<TrackMetaData> holds unescaped "
                                      "markup"));
  /* the same in pieces */
  ucp__soap_result *b = parse_ok(doc, len, 1, "GetPositionInfo", 1);
  assert_same_result(r, b);
  /* The repair is only for a declaration inside an argument: elsewhere it
   * stays an XML error, with its line. */
  static const char outside[] =
      "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">\n"
      "<s:Body><?xml version=\"1.0\"?>\n"
      "<u:XResponse xmlns:u=\"urn:x\"></u:XResponse></s:Body></s:Envelope>";
  char err[600];
  assert_int_equal(parse_err(outside, sizeof outside - 1, 0, NULL, 0, 0, err,
                             sizeof err),
                   UCP_E_XML);
  assert_non_null(strstr(err, "line 2:"));
  assert_non_null(strstr(err, "XML or text declaration not at start"));
  /* repaired, then still broken: the later error, with a note */
  static const char twice_bad[] =
      "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
      "<s:Body><u:XResponse xmlns:u=\"urn:x\"><A><?xml version=\"1.0\"?>"
      "<b></A></u:XResponse></s:Body></s:Envelope>";
  assert_int_equal(parse_err(twice_bad, sizeof twice_bad - 1, 1, NULL, 0, 0,
                             err, sizeof err),
                   UCP_E_XML);
  assert_non_null(strstr(err, "mismatched tag"));
  assert_non_null(strstr(err, "after removing 1 misplaced XML declaration"));
  /* two declarations in two arguments: both removed */
  static const char two[] =
      "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
      "<s:Body><u:XResponse xmlns:u=\"urn:x\">"
      "<A><?xml version=\"1.0\"?><a>1</a></A>"
      "<B>x<?xml version='1.0' encoding='UTF-8' ?><b/></B>"
      "</u:XResponse></s:Body></s:Envelope>";
  ucp__soap_result *t = parse_ok(two, sizeof two - 1, 3, "X", 2);
  assert_int_equal(t->nargs, 2);
  assert_string_equal(arg(t, "A"), "<a>1</a>");
  assert_string_equal(arg(t, "B"), "x<b/>");
}

static void test_fault_variants(void **state) {
  (void)state;
  size_t len;
  char *doc = data_file("fault-no-detail.xml", &len);
  ucp__soap_result *r = parse_ok(doc, len, 0, "AddPortMapping", 0);
  assert_true(r->is_fault);
  assert_int_equal(r->upnp_error, 0);
  assert_string_equal(r->fault_code, "s:Server");
  assert_string_equal(r->fault_string, "Internal Server Error"); /* trimmed */
  assert_string_equal(r->upnp_description, "");
  assert_int_equal(r->nargs, 0);

  /* errorCode that is not a number: still a fault, code 0, a warning */
  static const char nan_code[] =
      "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
      "<s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError"
      "</faultstring><detail><UPnPError><errorCode>4o2</errorCode>"
      "<errorDescription>Oops</errorDescription></UPnPError></detail>"
      "</s:Fault></s:Body></s:Envelope>";
  r = parse_ok(nan_code, sizeof nan_code - 1, 0, NULL, 1);
  assert_true(r->is_fault);
  assert_int_equal(r->upnp_error, 0);
  assert_string_equal(r->upnp_description, "Oops");
  assert_non_null(strstr(r->warnings, "errorCode '4o2' is not an integer"));

  /* case-insensitive field names; errorCode directly in <detail>; spaces */
  static const char odd[] =
      "<Envelope><BODY><FAULT><FAULTCODE>Client</FAULTCODE>"
      "<FaultString>x</FaultString><Detail><ErrorCode> 501 </ErrorCode>"
      "<ERRORDESCRIPTION>Action Failed</ERRORDESCRIPTION></Detail></FAULT>"
      "</BODY></Envelope>";
  r = parse_ok(odd, sizeof odd - 1, 0, "Play", 2);
  assert_true(r->is_fault);
  assert_int_equal(r->upnp_error, 501);
  assert_string_equal(r->fault_code, "Client");
  assert_string_equal(r->upnp_description, "Action Failed");

  /* two errorCodes (one bare in <detail>, one in <UPnPError>): code and
   * description both from the first */
  static const char twice[] =
      "<Envelope><Body><Fault><faultcode>Client</faultcode><faultstring>x"
      "</faultstring><detail><errorCode>718</errorCode><errorDescription>"
      "ConflictInMappingEntry</errorDescription><UPnPError><errorCode>501"
      "</errorCode><errorDescription>Action Failed</errorDescription>"
      "</UPnPError></detail></Fault></Body></Envelope>";
  r = parse_ok(twice, sizeof twice - 1, 0, NULL, 3);
  assert_int_equal(r->upnp_error, 718);
  assert_string_equal(r->upnp_description, "ConflictInMappingEntry");
  /* ... also when the first code is no number: 0, the warning, and the
   * first description, not the second element's code */
  static const char nan_first[] =
      "<Envelope><Body><Fault><faultcode>Client</faultcode><faultstring>x"
      "</faultstring><detail><UPnPError><errorCode>abc</errorCode>"
      "<errorDescription>First</errorDescription></UPnPError><UPnPError>"
      "<errorCode>501</errorCode><errorDescription>Second</errorDescription>"
      "</UPnPError></detail></Fault></Body></Envelope>";
  ucp__soap_result_free(held_res[3]);
  r = parse_ok(nan_first, sizeof nan_first - 1, 0, NULL, 3);
  assert_int_equal(r->upnp_error, 0);
  assert_string_equal(r->upnp_description, "First");
  assert_non_null(strstr(r->warnings, "errorCode 'abc' is not an integer"));
}

static void test_response_variants(void **state) {
  (void)state;
  size_t len;
  char *doc = data_file("response-raw-markup.xml", &len);
  ucp__soap_result *r = parse_ok(doc, len, 0, "GetMediaInfo", 0);
  assert_int_equal(r->nargs, 3);
  assert_string_equal(arg(r, "NrTracks"), "1");
  assert_string_equal(
      arg(r, "CurrentURIMetaData"),
      "<DIDL-Lite xmlns=\"urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/\" "
      "xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><item id=\"1\">"
      "<dc:title>Rock &amp; Roll</dc:title></item></DIDL-Lite>");
  assert_string_equal(arg(r, "NextURI"), "");
  assert_non_null(strstr(r->warnings, "line 6: <CurrentURIMetaData> holds "
                                      "unescaped markup"));
  ucp__soap_result *b = parse_ok(doc, len, 1, "GetMediaInfo", 1);
  assert_same_result(r, b);

  doc = data_file("response-header-trailer.xml", &len);
  r = parse_ok(doc, len, 0, "GetVolume", 2);
  assert_int_equal(r->nargs, 2);
  assert_string_equal(arg(r, "CurrentVolume"), "\n  37\n"); /* untrimmed */
  assert_string_equal(arg(r, "Note"),
                      "tab\tand \rCR and \xF0\x9F\x98\x80");
  assert_null(r->warnings);
  b = parse_ok(doc, len, 1, "GetVolume", 3);
  assert_same_result(r, b);
}

/* ========================================================= refusals */

static const char ENV_OPEN[] =
    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
    "<s:Body><u:GetXResponse xmlns:u=\"urn:x\">";
static const char ENV_CLOSE[] = "</u:GetXResponse></s:Body></s:Envelope>";

typedef struct sbuf {
  char *s;
  size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *t = realloc(b->s, cap);
    assert_non_null(t);
    b->s = t;
    b->cap = cap;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* A built document, owned by held_doc. */
static char *built(sbuf *b, size_t *len) {
  free(held_doc);
  held_doc = b->s;
  *len = b->len;
  return b->s;
}

static void test_doctype(void **state) {
  (void)state;
  size_t len;
  char *doc = data_file("doctype-entities.xml", &len);
  char err[600];
  assert_int_equal(parse_err(doc, len, 0, NULL, 0, 0, err, sizeof err),
                   UCP_E_DOCTYPE);
  assert_non_null(strstr(err, "DOCTYPE refused"));
  assert_int_equal(parse_err(doc, len, 1, NULL, 0, 0, err, sizeof err),
                   UCP_E_DOCTYPE);
  static const char ext[] =
      "<!DOCTYPE s:Envelope SYSTEM \"file:///etc/passwd\">"
      "<s:Envelope><s:Body/></s:Envelope>";
  assert_int_equal(parse_err(ext, sizeof ext - 1, 0, NULL, 0, 0, err,
                             sizeof err),
                   UCP_E_DOCTYPE);
  /* an undefined entity is malformed XML */
  sbuf b = {0};
  sb_str(&b, ENV_OPEN);
  sb_str(&b, "<A>&nbsp;</A>");
  sb_str(&b, ENV_CLOSE);
  doc = built(&b, &len);
  assert_int_equal(parse_err(doc, len, 0, NULL, 0, 0, err, sizeof err),
                   UCP_E_XML);
}

static void test_caps(void **state) {
  (void)state;
  char err[600];
  size_t len;
  /* depth 32 */
  sbuf b = {0};
  sb_str(&b, ENV_OPEN);
  sb_str(&b, "<A>");
  for (int i = 0; i < 28; i++) sb_str(&b, "<d>"); /* depth 4 + 28 = 32 */
  for (int i = 0; i < 28; i++) sb_str(&b, "</d>");
  sb_str(&b, "</A>");
  sb_str(&b, ENV_CLOSE);
  char *doc = built(&b, &len);
  ucp__soap_result *r = parse_ok(doc, len, 0, "GetX", 0);
  assert_int_equal(r->nargs, 1);
  b = (sbuf){0};
  sb_str(&b, ENV_OPEN);
  sb_str(&b, "<A>");
  for (int i = 0; i < 29; i++) sb_str(&b, "<d>"); /* 33 */
  for (int i = 0; i < 29; i++) sb_str(&b, "</d>");
  sb_str(&b, "</A>");
  sb_str(&b, ENV_CLOSE);
  doc = built(&b, &len);
  assert_int_equal(parse_err(doc, len, 0, NULL, 0, 0, err, sizeof err),
                   UCP_E_TOO_LARGE);
  assert_non_null(strstr(err, "nested deeper than 32"));

  /* a value's text: max_value */
  b = (sbuf){0};
  sb_str(&b, ENV_OPEN);
  sb_str(&b, "<A>");
  for (int i = 0; i < 100; i++) sb_str(&b, "0123456789");
  sb_str(&b, "</A>");
  sb_str(&b, ENV_CLOSE);
  doc = built(&b, &len);
  assert_int_equal(parse_err(doc, len, 0, NULL, 0, 999, err, sizeof err),
                   UCP_E_TOO_LARGE);
  assert_non_null(strstr(err, "value of <A> longer than 999 bytes"));
  assert_int_equal(parse_err(doc, len, 1, NULL, 0, 999, err, sizeof err),
                   UCP_E_TOO_LARGE);
  ucp__soap_result *ok1000 = NULL;
  assert_int_equal(parse_doc(doc, len, 1, NULL, 0, 1000, &ok1000, err,
                             sizeof err),
                   UCP_OK);
  held_res[1] = ok1000;
  assert_int_equal(strlen(arg(ok1000, "A")), 1000);
  /* entity-expanded text counts after expansion */
  b = (sbuf){0};
  sb_str(&b, ENV_OPEN);
  sb_str(&b, "<A>");
  for (int i = 0; i < 300; i++) sb_str(&b, "&amp;");
  sb_str(&b, "</A>");
  sb_str(&b, ENV_CLOSE);
  doc = built(&b, &len);
  assert_int_equal(parse_err(doc, len, 0, NULL, 0, 299, err, sizeof err),
                   UCP_E_TOO_LARGE);
  /* raw markup in a value counts too */
  b = (sbuf){0};
  sb_str(&b, ENV_OPEN);
  sb_str(&b, "<A>");
  for (int i = 0; i < 100; i++) sb_str(&b, "<b>x</b>");
  sb_str(&b, "</A>");
  sb_str(&b, ENV_CLOSE);
  doc = built(&b, &len);
  assert_int_equal(parse_err(doc, len, 0, NULL, 0, 799, err, sizeof err),
                   UCP_E_TOO_LARGE);
  /* a fault field too */
  b = (sbuf){0};
  sb_str(&b, "<s:Envelope><s:Body><s:Fault><faultstring>");
  for (int i = 0; i < 100; i++) sb_str(&b, "0123456789");
  sb_str(&b, "</faultstring></s:Fault></s:Body></s:Envelope>");
  doc = built(&b, &len);
  assert_int_equal(parse_err(doc, len, 0, NULL, 0, 500, err, sizeof err),
                   UCP_E_TOO_LARGE);

  /* the whole body: max_bytes, counted over every piece */
  b = (sbuf){0};
  sb_str(&b, ENV_OPEN);
  sb_str(&b, "<A>1</A>");
  sb_str(&b, ENV_CLOSE);
  doc = built(&b, &len);
  assert_int_equal(parse_err(doc, len, 0, NULL, len - 1, 0, err, sizeof err),
                   UCP_E_TOO_LARGE);
  assert_non_null(strstr(err, "larger than"));
  assert_int_equal(parse_err(doc, len, 1, NULL, len - 1, 0, err, sizeof err),
                   UCP_E_TOO_LARGE);
  ucp__soap_result *exact = NULL;
  assert_int_equal(parse_doc(doc, len, 1, NULL, len, 0, &exact, err,
                             sizeof err),
                   UCP_OK);
  ucp__soap_result_free(exact);
  /* the default cap is 1 MiB */
  b = (sbuf){0};
  sb_str(&b, ENV_OPEN);
  sb_str(&b, "<A>1</A>");
  static char pad[4096];
  memset(pad, ' ', sizeof pad);
  while (b.len < (1u << 20)) sb_add(&b, pad, sizeof pad);
  sb_str(&b, ENV_CLOSE);
  doc = built(&b, &len);
  assert_int_equal(parse_err(doc, len, 4096, NULL, 0, 0, err, sizeof err),
                   UCP_E_TOO_LARGE);
  assert_non_null(strstr(err, "larger than 1048576 bytes"));

  /* 256 out-arguments, not 257 */
  for (int n = 256; n <= 257; n++) {
    b = (sbuf){0};
    sb_str(&b, ENV_OPEN);
    for (int i = 0; i < n; i++) {
      char a[40];
      snprintf(a, sizeof a, "<A%d>%d</A%d>", i, i, i);
      sb_str(&b, a);
    }
    sb_str(&b, ENV_CLOSE);
    doc = built(&b, &len);
    if (n == 256) {
      r = parse_ok(doc, len, 0, NULL, 2);
      assert_int_equal(r->nargs, 256);
      assert_string_equal(r->names[255], "A255");
      assert_string_equal(r->values[255], "255");
    } else {
      assert_int_equal(parse_err(doc, len, 0, NULL, 0, 0, err, sizeof err),
                       UCP_E_TOO_LARGE);
      assert_non_null(strstr(err, "more than 256 out-arguments"));
    }
  }

  /* 64 attributes on one element, not 65 */
  for (int n = 64; n <= 65; n++) {
    b = (sbuf){0};
    sb_str(&b, ENV_OPEN);
    sb_str(&b, "<A");
    for (int i = 0; i < n; i++) {
      char a[32];
      snprintf(a, sizeof a, " a%d=\"1\"", i);
      sb_str(&b, a);
    }
    sb_str(&b, ">v</A>");
    sb_str(&b, ENV_CLOSE);
    doc = built(&b, &len);
    if (n == 64) {
      r = parse_ok(doc, len, 0, NULL, 3);
      assert_string_equal(arg(r, "A"), "v");
    } else {
      assert_int_equal(parse_err(doc, len, 0, NULL, 0, 0, err, sizeof err),
                       UCP_E_TOO_LARGE);
      assert_non_null(strstr(err, "more than 64 attributes"));
    }
  }
}

/* Every strict prefix of a valid response is malformed (UCP_E_XML, with
 * a line number), whole or fed in pieces. */
static void test_truncated(void **state) {
  (void)state;
  size_t len;
  char *doc =
      corpus_file("async-upnp-client-dmr-GetPositionInfo-response.xml", &len);
  /* the document proper ends at the '>' of </s:Envelope> */
  const char *end = strstr(doc, "</s:Envelope>");
  assert_non_null(end);
  size_t full = (size_t)(end - doc) + strlen("</s:Envelope>");
  char err[600];
  for (size_t n = 0; n < full; n++) {
    int rc = parse_err(doc, n, 0, "GetPositionInfo", 0, 0, err, sizeof err);
    if (rc != UCP_E_XML) fail_msg("prefix %zu: %s: %s", n, ucp_err_name(rc), err);
    if (n % 97 == 0)
      assert_int_equal(parse_err(doc, n, 5, "GetPositionInfo", 0, 0, err,
                                 sizeof err),
                       UCP_E_XML);
  }
  assert_int_equal(parse_err(doc, full - 1, 0, NULL, 0, 0, err, sizeof err),
                   UCP_E_XML);
  assert_true(strncmp(err, "line 15: ", 9) == 0);
  assert_int_equal(parse_err(doc, 0, 0, NULL, 0, 0, err, sizeof err),
                   UCP_E_XML);
  assert_non_null(strstr(err, "line 1: "));
  /* the full document parses */
  parse_ok(doc, full, 0, "GetPositionInfo", 0);
}

static void test_protocol_errors(void **state) {
  (void)state;
  char err[600];
  size_t len;
  char *doc =
      corpus_file("miniupnpc-testreplyparse-GetExternalIPAddress-response.xml",
                  &len);
  /* the wrong action: both names in the error */
  assert_int_equal(parse_err(doc, len, 0, "GetStatusInfo", 0, 0, err,
                             sizeof err),
                   UCP_E_PROTOCOL);
  assert_non_null(strstr(err, "<GetExternalIPAddressResponse>"));
  assert_non_null(strstr(err, "<GetStatusInfoResponse>"));
  assert_true(strncmp(err, "line 1: ", 8) == 0);
  assert_int_equal(parse_err(doc, len, 1, "GetExternalIP", 0, 0, err,
                             sizeof err),
                   UCP_E_PROTOCOL);
  /* case-insensitive match is fine */
  parse_ok(doc, len, 0, "getexternalipaddress", 0);

  static const struct {
    const char *doc, *action, *msg;
  } cases[] = {
      {"<root><device/></root>", NULL,
       "document element is <root>, expected <Envelope>"},
      {"<s:Envelope xmlns:s=\"x\"><s:Header/></s:Envelope>", NULL,
       "no <Body> in the <Envelope>"},
      {"<s:Envelope xmlns:s=\"x\"><s:Body></s:Body></s:Envelope>", "Play",
       "empty <Body>: no <PlayResponse> or <Fault>"},
      {"<s:Envelope xmlns:s=\"x\"><s:Body> </s:Body></s:Envelope>", NULL,
       "empty <Body>"},
      {"<s:Envelope xmlns:s=\"x\"><s:Body><u:Play xmlns:u=\"y\"/></s:Body>"
       "</s:Envelope>",
       NULL, "<Body> holds <Play>, expected an action response or <Fault>"},
      {"<s:Envelope xmlns:s=\"x\"><s:Body><u:Response/></s:Body>"
       "</s:Envelope>",
       NULL, "expected an action response"},
      {"<s:Envelope xmlns:s=\"x\"><s:Body><u:PlayResponse/></s:Body>"
       "</s:Envelope>",
       "Pause", "response element is <PlayResponse>, expected "
                "<PauseResponse>"},
      {"<s:Envelope xmlns:s=\"x\"><s:Body><u:PlayResponse/></s:Body>"
       "</s:Envelope>",
       "Play2", "expected <Play2Response>"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = parse_err(cases[i].doc, strlen(cases[i].doc), 0, cases[i].action,
                       0, 0, err, sizeof err);
    if (rc != UCP_E_PROTOCOL || !strstr(err, cases[i].msg))
      fail_msg("case %zu: %s: '%s', expected '%s'", i, ucp_err_name(rc), err,
               cases[i].msg);
  }
  /* the empty response is fine: no out-arguments */
  static const char empty[] =
      "<s:Envelope xmlns:s=\"x\"><s:Body><u:PlayResponse xmlns:u=\"y\"/>"
      "</s:Body></s:Envelope>";
  ucp__soap_result *r = parse_ok(empty, sizeof empty - 1, 0, "Play", 1);
  assert_false(r->is_fault);
  assert_int_equal(r->nargs, 0);
  assert_null(r->names);
  /* a fault answers any action; a second payload is ignored, with a
   * warning; so is a second Body */
  static const char extra[] =
      "<s:Envelope xmlns:s=\"x\"><s:Body><u:PlayResponse xmlns:u=\"y\">"
      "<A>1</A></u:PlayResponse><u:Other/></s:Body><s:Body/></s:Envelope>";
  r = parse_ok(extra, sizeof extra - 1, 0, "Play", 2);
  assert_int_equal(r->nargs, 1);
  assert_non_null(strstr(r->warnings, "<Other> after the response ignored"));
  assert_non_null(strstr(r->warnings, "second <Body> ignored"));
  /* prefixed argument names keep their local name */
  static const char pfx[] =
      "<s:Envelope xmlns:s=\"x\"><s:Body><u:PlayResponse xmlns:u=\"y\">"
      "<u:A>1</u:A></u:PlayResponse></s:Body></s:Envelope>";
  r = parse_ok(pfx, sizeof pfx - 1, 0, "Play", 3);
  assert_string_equal(r->names[0], "A");
}

static void test_parser_api(void **state) {
  (void)state;
  ucp__soap_parser *p = ucp__soap_parser_new(NULL, 0, 0);
  assert_non_null(p);
  held_parser = p;
  assert_string_equal(ucp__soap_parser_error(p), "");
  static const char doc[] =
      "<s:Envelope xmlns:s=\"x\"><s:Body><u:PlayResponse xmlns:u=\"y\"/>"
      "</s:Body></s:Envelope>";
  assert_int_equal(ucp__soap_parser_feed(p, doc, 0), UCP_OK);
  assert_int_equal(ucp__soap_parser_feed(p, doc, sizeof doc - 1), UCP_OK);
  /* after </Envelope>, anything is ignored */
  assert_int_equal(ucp__soap_parser_feed(p, "\0\xff<<<&", 6), UCP_OK);
  ucp__soap_result *r;
  assert_int_equal(ucp__soap_parser_finish(p, &r), UCP_OK);
  held_res[0] = r;
  /* finish once */
  ucp__soap_result *r2 = (ucp__soap_result *)1;
  assert_int_equal(ucp__soap_parser_finish(p, &r2), UCP_E_INVALIDARG);
  assert_null(r2);
  assert_int_equal(ucp__soap_parser_feed(p, "x", 1), UCP_E_INVALIDARG);
  /* an error stays the answer of later feeds */
  ucp__soap_parser *q = ucp__soap_parser_new("Play", 0, 0);
  assert_non_null(q);
  assert_int_equal(ucp__soap_parser_feed(q, "<root>", 6), UCP_E_PROTOCOL);
  assert_int_equal(ucp__soap_parser_feed(q, "</root>", 7), UCP_E_PROTOCOL);
  assert_int_equal(ucp__soap_parser_finish(q, &r2), UCP_E_PROTOCOL);
  assert_null(r2);
  ucp__soap_parser_free(q);
  /* freeing unfinished parsers and NULL */
  q = ucp__soap_parser_new(NULL, 0, 0);
  assert_int_equal(ucp__soap_parser_feed(q, doc, 20), UCP_OK);
  ucp__soap_parser_free(q);
  ucp__soap_parser_free(NULL);
  ucp__soap_result_free(NULL);
  /* a UTF-16 body (expat converts it): values come out as UTF-8 */
  static const char u8[] =
      "<s:Envelope><s:Body><u:PlayResponse><A>\xC3\xA9</A></u:PlayResponse>"
      "</s:Body></s:Envelope>";
  char u16[2 * sizeof u8 + 2];
  size_t k = 0;
  u16[k++] = (char)0xFF, u16[k++] = (char)0xFE; /* BOM, little-endian */
  for (size_t i = 0; i < sizeof u8 - 1; i++) {
    if ((unsigned char)u8[i] == 0xC3) {
      u16[k++] = (char)0xE9, u16[k++] = 0;
      i++;
      continue;
    }
    u16[k++] = u8[i], u16[k++] = 0;
  }
  r = parse_ok(u16, k, 3, "Play", 1);
  assert_string_equal(arg(r, "A"), "\xC3\xA9");
}

/* ===================================================== out of memory */

/* Fail each allocation in turn: every outcome is UCP_OK with the same
 * result as without failures, or UCP_E_NOMEM; LeakSanitizer checks that
 * nothing is left behind. */
static void oom_sweep(const char *label, const char *doc, size_t len,
                      size_t piece, const char *action) {
  ucp__soap_result *ref = parse_ok(doc, len, piece, action, 3);
  long n;
  for (n = 0; n < 100000; n++) {
    ucp__soap_result *r = NULL;
    char err[600];
    ucp__test_mem_fail_after(n);
    int rc = parse_doc(doc, len, piece, action, 0, 0, &r, err, sizeof err);
    ucp__test_mem_fail_after(-1);
    if (rc == UCP_OK) {
      held_res[2] = r;
      assert_same_result(ref, r);
      break;
    }
    if (rc != UCP_E_NOMEM)
      fail_msg("%s: fail_after %ld: %s: %s", label, n, ucp_err_name(rc), err);
    assert_null(r);
  }
  print_message("  %s: %ld allocation failures, all UCP_E_NOMEM\n", label, n);
  assert_true(n > 0 && n < 100000);
  ucp__soap_result_free(held_res[2]);
  held_res[2] = NULL;
  ucp__soap_result_free(held_res[3]);
  held_res[3] = NULL;
}

static void test_oom(void **state) {
  (void)state;
  static const char *const files[] = {
      "async-upnp-client-dmr-GetPositionInfo-response.xml",
      "tailscale-fixture-AddPortMapping-fault-402-SOAP-prefix.xml",
      "naim-uniti-GetPositionInfo-response-unrecoverable.xml",
      "belkin-wemo-link-GetEndDevicesWithStatus-response.xml"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    size_t len;
    char *doc = corpus_file(files[i], &len);
    oom_sweep(files[i], doc, len, 0, NULL);
    oom_sweep(files[i], doc, len, 64, NULL);
  }
  size_t len;
  char *doc = data_file("response-raw-markup.xml", &len);
  oom_sweep("response-raw-markup.xml", doc, len, 1, "GetMediaInfo");
  /* many arguments: the arrays grow */
  sbuf b = {0};
  sb_str(&b, ENV_OPEN);
  for (int i = 0; i < 40; i++) sb_str(&b, "<Arg>value</Arg>");
  sb_str(&b, ENV_CLOSE);
  doc = built(&b, &len);
  oom_sweep("40 arguments", doc, len, 0, "GetX");
}

/* ============================================================= main */

int main(void) {
  DIR *probe = opendir(SOAP_CORPUS);
  if (!probe) {
    fprintf(stderr, "corpus not found at %s: skipped\n", SOAP_CORPUS);
    return 77;
  }
  closedir(probe);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_type_names, teardown),
      cmocka_unit_test_teardown(test_unsigned, teardown),
      cmocka_unit_test_teardown(test_signed, teardown),
      cmocka_unit_test_teardown(test_reals, teardown),
      cmocka_unit_test_teardown(test_fixed, teardown),
      cmocka_unit_test_teardown(test_char_string, teardown),
      cmocka_unit_test_teardown(test_dates, teardown),
      cmocka_unit_test_teardown(test_times, teardown),
      cmocka_unit_test_teardown(test_boolean, teardown),
      cmocka_unit_test_teardown(test_base64, teardown),
      cmocka_unit_test_teardown(test_hex, teardown),
      cmocka_unit_test_teardown(test_uri_uuid, teardown),
      cmocka_unit_test_teardown(test_value_buffers, teardown),
      cmocka_unit_test_teardown(test_value_locale, teardown),
      cmocka_unit_test_teardown(test_range, teardown),
      cmocka_unit_test_teardown(test_list, teardown),
      cmocka_unit_test_teardown(test_build_exact, teardown),
      cmocka_unit_test_teardown(test_build_escaping, teardown),
      cmocka_unit_test_teardown(test_build_names, teardown),
      cmocka_unit_test_teardown(test_build_soapaction, teardown),
      cmocka_unit_test_teardown(test_build_oom, teardown),
      cmocka_unit_test_teardown(test_corpus_all, teardown),
      cmocka_unit_test_teardown(test_corpus_naim, teardown),
      cmocka_unit_test_teardown(test_fault_variants, teardown),
      cmocka_unit_test_teardown(test_response_variants, teardown),
      cmocka_unit_test_teardown(test_doctype, teardown),
      cmocka_unit_test_teardown(test_caps, teardown),
      cmocka_unit_test_teardown(test_truncated, teardown),
      cmocka_unit_test_teardown(test_protocol_errors, teardown),
      cmocka_unit_test_teardown(test_parser_api, teardown),
      cmocka_unit_test_teardown(test_oom, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
