/* types.c - UDA 2.0 §2.5 data types: validation and canonical text.
 * No allocation, no global state but a "C" locale object (so that a
 * program's LC_NUMERIC never changes how reals are read or written). */
#include "types.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h> /* macros only (isfinite, HUGE_VAL): no libm */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "upnpcp.h"

/* ------------------------------------------------------------ names */

static const char *const type_names[] = {
    [UCP_TYPE_UI1] = "ui1",
    [UCP_TYPE_UI2] = "ui2",
    [UCP_TYPE_UI4] = "ui4",
    [UCP_TYPE_UI8] = "ui8",
    [UCP_TYPE_I1] = "i1",
    [UCP_TYPE_I2] = "i2",
    [UCP_TYPE_I4] = "i4",
    [UCP_TYPE_I8] = "i8",
    [UCP_TYPE_INT] = "int",
    [UCP_TYPE_R4] = "r4",
    [UCP_TYPE_R8] = "r8",
    [UCP_TYPE_NUMBER] = "number",
    [UCP_TYPE_FIXED_14_4] = "fixed.14.4",
    [UCP_TYPE_FLOAT] = "float",
    [UCP_TYPE_CHAR] = "char",
    [UCP_TYPE_STRING] = "string",
    [UCP_TYPE_DATE] = "date",
    [UCP_TYPE_DATETIME] = "dateTime",
    [UCP_TYPE_DATETIME_TZ] = "dateTime.tz",
    [UCP_TYPE_TIME] = "time",
    [UCP_TYPE_TIME_TZ] = "time.tz",
    [UCP_TYPE_BOOLEAN] = "boolean",
    [UCP_TYPE_BIN_BASE64] = "bin.base64",
    [UCP_TYPE_BIN_HEX] = "bin.hex",
    [UCP_TYPE_URI] = "uri",
    [UCP_TYPE_UUID] = "uuid",
};

ucp_type ucp__type_from_name(const char *name, size_t len) {
  if (!name) return UCP_TYPE_UNKNOWN;
  for (int t = UCP_TYPE_UI1; t <= UCP_TYPE_UUID; t++) {
    const char *n = type_names[t];
    if (strlen(n) == len && strncasecmp(n, name, len) == 0)
      return (ucp_type)t;
  }
  return UCP_TYPE_UNKNOWN;
}

const char *ucp_type_name(ucp_type t) {
  return (int)t > 0 && (int)t < UCP_TYPE__COUNT ? type_names[t] : NULL;
}

int ucp__type_is_numeric(ucp_type t) {
  return t >= UCP_TYPE_UI1 && t <= UCP_TYPE_FLOAT;
}

static int is_unsigned(ucp_type t) {
  return t >= UCP_TYPE_UI1 && t <= UCP_TYPE_UI8;
}
static int is_signed(ucp_type t) {
  return t >= UCP_TYPE_I1 && t <= UCP_TYPE_INT;
}
static int is_real(ucp_type t) { return t >= UCP_TYPE_R4 && t <= UCP_TYPE_FLOAT; }

/* ------------------------------------------------------------ output */

typedef struct out {
  char *buf;
  size_t cap, len;
  int over;
} out;

static void emit(out *o, const char *s, size_t n) {
  if (o->buf) {
    if (o->len + n < o->cap) memcpy(o->buf + o->len, s, n);
    else o->over = 1;
  }
  o->len += n;
}

static void emit_c(out *o, char c) { emit(o, &c, 1); }

static int is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* ------------------------------------------------------------- UTF-8 */

size_t ucp__utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  if (n == 0) return 0;
  unsigned c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t v, min;
  if (c >= 0xC2 && c <= 0xDF) len = 2, v = c & 0x1F, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, v = c & 0x0F, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, v = c & 0x07, min = 0x10000;
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

/* --------------------------------------------------------- integers */

enum { NUM_OK = 0, NUM_SYNTAX = -1, NUM_RANGE = -2 };

/* Decimal digits (at least one) into *v, overflow-checked. */
static int digits_u64(const char *s, size_t n, uint64_t *v) {
  if (n == 0) return NUM_SYNTAX;
  uint64_t x = 0;
  int over = 0;
  for (size_t i = 0; i < n; i++) {
    if (!is_digit(s[i])) return NUM_SYNTAX;
    unsigned d = (unsigned)(s[i] - '0');
    if (x > (UINT64_MAX - d) / 10) over = 1;
    else x = x * 10 + d;
  }
  *v = x;
  return over ? NUM_RANGE : NUM_OK;
}

static const struct {
  uint64_t max;
  const char *why;
} urange[] = {
    [UCP_TYPE_UI1] = {255u, "ui1 takes 0..255"},
    [UCP_TYPE_UI2] = {65535u, "ui2 takes 0..65535"},
    [UCP_TYPE_UI4] = {4294967295u, "ui4 takes 0..4294967295"},
    [UCP_TYPE_UI8] = {UINT64_MAX, "ui8 takes 0..18446744073709551615"},
};

static const struct {
  int64_t min, max;
  const char *why;
} srange[] = {
    [UCP_TYPE_I1 - UCP_TYPE_I1] = {-128, 127, "i1 takes -128..127"},
    [UCP_TYPE_I2 - UCP_TYPE_I1] = {-32768, 32767, "i2 takes -32768..32767"},
    [UCP_TYPE_I4 - UCP_TYPE_I1] = {INT32_MIN, INT32_MAX,
                               "i4 takes -2147483648..2147483647"},
    [UCP_TYPE_I8 - UCP_TYPE_I1] = {INT64_MIN, INT64_MAX,
                               "i8 takes -9223372036854775808..9223372036854775807"},
    [UCP_TYPE_INT - UCP_TYPE_I1] = {INT32_MIN, INT32_MAX,
                                "int takes -2147483648..2147483647"},
};

static const char WHY_INT[] = "not a decimal integer";

static int parse_unsigned(ucp_type t, const char *s, size_t n, out *o,
                          ucp__value *v, const char **why) {
  int neg = 0;
  if (n && (*s == '+' || *s == '-')) {
    neg = *s == '-';
    s++, n--;
  }
  uint64_t x;
  int rc = digits_u64(s, n, &x);
  if (rc == NUM_SYNTAX) {
    *why = WHY_INT;
    return UCP_E_INVALIDARG;
  }
  if (rc == NUM_RANGE || neg || x > urange[t].max) {
    *why = urange[t].why;
    return UCP_E_INVALIDARG;
  }
  v->v.u = x;
  char tmp[24];
  int k = snprintf(tmp, sizeof tmp, "%" PRIu64, x);
  emit(o, tmp, (size_t)k);
  return UCP_OK;
}

static int parse_signed(ucp_type t, const char *s, size_t n, out *o,
                        ucp__value *v, const char **why) {
  int neg = 0;
  if (n && (*s == '+' || *s == '-')) {
    neg = *s == '-';
    s++, n--;
  }
  uint64_t mag;
  int rc = digits_u64(s, n, &mag);
  const char *range_why = srange[t - UCP_TYPE_I1].why;
  if (rc == NUM_SYNTAX) {
    *why = WHY_INT;
    return UCP_E_INVALIDARG;
  }
  int64_t x;
  if (rc == NUM_RANGE) {
    *why = range_why;
    return UCP_E_INVALIDARG;
  }
  if (neg) {
    if (mag > (uint64_t)INT64_MAX + 1u) {
      *why = range_why;
      return UCP_E_INVALIDARG;
    }
    x = mag == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)mag;
  } else {
    if (mag > (uint64_t)INT64_MAX) {
      *why = range_why;
      return UCP_E_INVALIDARG;
    }
    x = (int64_t)mag;
  }
  if (x < srange[t - UCP_TYPE_I1].min || x > srange[t - UCP_TYPE_I1].max) {
    *why = range_why;
    return UCP_E_INVALIDARG;
  }
  v->v.i = x;
  char tmp[24];
  int k = snprintf(tmp, sizeof tmp, "%" PRId64, x);
  emit(o, tmp, (size_t)k);
  return UCP_OK;
}

/* ------------------------------------------------------------- reals */

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale_obj;

static void c_locale_init(void) {
  /* glibc returns its static "C" object here: nothing is allocated. */
  c_locale_obj = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Run strtod/snprintf under the "C" locale on this thread only. */
static locale_t enter_c_locale(void) {
  pthread_once(&c_locale_once, c_locale_init);
  return c_locale_obj ? uselocale(c_locale_obj) : (locale_t)0;
}

static void leave_c_locale(locale_t old) {
  if (old) uselocale(old);
}

/* XML Schema's lexical form: [+-]? (d+ ('.' d*)? | '.' d+) ([eE][+-]?d+)?
 * No "inf", "nan", hex floats or spaces (strtod would take those). */
static int real_syntax(const char *s, size_t n) {
  size_t i = 0, d = 0;
  if (i < n && (s[i] == '+' || s[i] == '-')) i++;
  while (i < n && is_digit(s[i])) i++, d++;
  if (i < n && s[i] == '.') {
    i++;
    while (i < n && is_digit(s[i])) i++, d++;
  }
  if (d == 0) return 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t e = 0;
    while (i < n && is_digit(s[i])) i++, e++;
    if (e == 0) return 0;
  }
  return i == n;
}

enum { REAL_MAX_TEXT = 400 };

/* Shortest %.*g text that reads back to the same double (r8) or float
 * (r4). Called under the "C" locale. */
static void shortest_real(double r, int single, char *tmp, size_t cap) {
  int maxp = single ? 9 : 17, p;
  for (p = 1; p < maxp; p++) {
    snprintf(tmp, cap, "%.*g", p, r);
    double back = strtod(tmp, NULL);
    if (single ? (float)back == (float)r : back == r) break;
  }
  snprintf(tmp, cap, "%.*g", p, r);
  /* Whole numbers below 1e17 are written out: "100", not "1e+02". */
  const char *e = strchr(tmp, 'e');
  if (e) {
    long x = strtol(e + 1, NULL, 10);
    if (x >= 0 && x < 17) snprintf(tmp, cap, "%.*g", (int)x + 1, r);
  }
}

static int parse_real(ucp_type t, const char *s, size_t n, out *o,
                      ucp__value *v, const char **why) {
  static const char *const syntax_why[] = {
      "r4 must be a decimal number (no NaN or infinity)",
      "r8 must be a decimal number (no NaN or infinity)",
      "number must be a decimal number (no NaN or infinity)",
      "", /* fixed.14.4 has its own parser */
      "float must be a decimal number (no NaN or infinity)",
  };
  const char *sw = syntax_why[t - UCP_TYPE_R4];
  if (!real_syntax(s, n)) {
    *why = sw;
    return UCP_E_INVALIDARG;
  }
  if (n > REAL_MAX_TEXT) {
    *why = "number longer than 400 characters";
    return UCP_E_INVALIDARG;
  }
  char num[REAL_MAX_TEXT + 1];
  memcpy(num, s, n);
  num[n] = '\0';
  locale_t old = enter_c_locale();
  errno = 0;
  double r = strtod(num, NULL);
  int range_err = errno == ERANGE && (r == HUGE_VAL || r == -HUGE_VAL);
  int single = t == UCP_TYPE_R4;
  /* FLT_MAX plus half an ulp (2^103): below it, a double rounds to a
   * finite float (exactly representable: (2^25 - 1) * 2^103). */
  const double flt_limit = (double)FLT_MAX + 0x1p103;
  if (range_err || !isfinite(r) || (single && (r >= flt_limit || r <= -flt_limit))) {
    leave_c_locale(old);
    *why = single ? "r4 takes finite values within ±3.40282347e38"
                  : "r8 takes finite values within ±1.7976931348623157e308";
    return UCP_E_INVALIDARG;
  }
  if (single) r = (double)(float)r;
  char tmp[40];
  shortest_real(r, single, tmp, sizeof tmp);
  leave_c_locale(old);
  v->v.r = r;
  emit(o, tmp, strlen(tmp));
  return UCP_OK;
}

static int parse_fixed(const char *s, size_t n, out *o, ucp__value *v,
                       const char **why) {
  static const char w[] =
      "fixed.14.4 takes at most 14 digits before and 4 after the point";
  size_t i = 0;
  int neg = 0;
  if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  size_t ib = i;
  while (i < n && is_digit(s[i])) i++;
  size_t ie = i, fb = i, fe = i;
  if (i < n && s[i] == '.') {
    fb = ++i;
    while (i < n && is_digit(s[i])) i++;
    fe = i;
  }
  if (i != n || (ie == ib && fe == fb)) {
    *why = "fixed.14.4 must be a decimal number like -123.4567";
    return UCP_E_INVALIDARG;
  }
  while (ib < ie && s[ib] == '0') ib++;
  while (fe > fb && s[fe - 1] == '0') fe--;
  if (ie - ib > 14 || fe - fb > 4) {
    *why = w;
    return UCP_E_INVALIDARG;
  }
  char tmp[24];
  size_t k = 0;
  if (neg && (ie > ib || fe > fb)) tmp[k++] = '-';
  if (ie == ib) tmp[k++] = '0';
  memcpy(tmp + k, s + ib, ie - ib);
  k += ie - ib;
  if (fe > fb) {
    tmp[k++] = '.';
    memcpy(tmp + k, s + fb, fe - fb);
    k += fe - fb;
  }
  tmp[k] = '\0';
  locale_t old = enter_c_locale();
  v->v.r = strtod(tmp, NULL);
  leave_c_locale(old);
  emit(o, tmp, k);
  return UCP_OK;
}

/* ------------------------------------------------------- dates, times */

/* k digits at s, or -1. */
static int dnum(const char *s, int k) {
  int v = 0;
  for (int i = 0; i < k; i++) {
    if (!is_digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

static int days_in_month(int y, int m) {
  static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return d[m - 1];
}

enum { DT_OK = 0, DT_SYNTAX = 1, DT_RANGE = 2 };

/* YYYY-MM-DD at s[0..10). */
static int scan_date(const char *s, size_t n) {
  if (n < 10 || s[4] != '-' || s[7] != '-') return DT_SYNTAX;
  int y = dnum(s, 4), m = dnum(s + 5, 2), d = dnum(s + 8, 2);
  if (y < 0 || m < 0 || d < 0) return DT_SYNTAX;
  if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return DT_RANGE;
  return DT_OK;
}

/* hh:mm:ss[.f+] at s; *used gets its length. */
static int scan_time(const char *s, size_t n, size_t *used) {
  if (n < 8 || s[2] != ':' || s[5] != ':') return DT_SYNTAX;
  int h = dnum(s, 2), m = dnum(s + 3, 2), sec = dnum(s + 6, 2);
  if (h < 0 || m < 0 || sec < 0) return DT_SYNTAX;
  size_t i = 8;
  int frac_nonzero = 0;
  if (i < n && s[i] == '.') {
    size_t b = ++i;
    while (i < n && is_digit(s[i])) frac_nonzero |= s[i++] != '0';
    if (i == b || i - b > 9) return DT_SYNTAX;
  }
  *used = i;
  if (h == 24 && m == 0 && sec == 0 && !frac_nonzero) return DT_OK;
  if (h > 23 || m > 59 || sec > 59) return DT_RANGE;
  return DT_OK;
}

/* Z or ±hh:mm, the whole of s[0..n). */
static int scan_zone(const char *s, size_t n) {
  if (n == 1 && s[0] == 'Z') return DT_OK;
  if (n != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') return DT_SYNTAX;
  int h = dnum(s + 1, 2), m = dnum(s + 4, 2);
  if (h < 0 || m < 0) return DT_SYNTAX;
  if (h > 14 || m > 59 || (h == 14 && m != 0)) return DT_RANGE;
  return DT_OK;
}

static const char WHY_DAY[] = "date YYYY-MM-DD names no real day";
static const char WHY_TOD[] = "time of day out of range (00:00:00..23:59:59)";
static const char WHY_ZONE[] =
    "time zone offset out of range (-14:00..+14:00)";

static int parse_datetime(ucp_type t, const char *s, size_t n, out *o,
                          const char **why) {
  static const char *const syntax[] = {
      [UCP_TYPE_DATE - UCP_TYPE_DATE] = "date must be YYYY-MM-DD",
      [UCP_TYPE_DATETIME - UCP_TYPE_DATE] =
          "dateTime must be YYYY-MM-DD[Thh:mm:ss[.fff]]",
      [UCP_TYPE_DATETIME_TZ - UCP_TYPE_DATE] =
          "dateTime.tz must be YYYY-MM-DD[Thh:mm:ss[.fff]][Z|+hh:mm|-hh:mm]",
      [UCP_TYPE_TIME - UCP_TYPE_DATE] = "time must be hh:mm:ss[.fff]",
      [UCP_TYPE_TIME_TZ - UCP_TYPE_DATE] =
          "time.tz must be hh:mm:ss[.fff][Z|+hh:mm|-hh:mm]",
  };
  int has_date = t == UCP_TYPE_DATE || t == UCP_TYPE_DATETIME ||
                 t == UCP_TYPE_DATETIME_TZ;
  int has_time = t != UCP_TYPE_DATE;
  int zone_ok = t == UCP_TYPE_DATETIME_TZ || t == UCP_TYPE_TIME_TZ;
  size_t i = 0;
  int r;
  const char *range_why = NULL;
  if (has_date) {
    r = scan_date(s, n);
    if (r == DT_SYNTAX) goto syntax;
    if (r == DT_RANGE) range_why = WHY_DAY;
    i = 10;
    if (t == UCP_TYPE_DATE) {
      if (i != n) goto syntax;
    } else if (i < n && s[i] == 'T') {
      i++; /* a time must follow */
    } else {
      has_time = 0; /* UDA: the time of dateTime(.tz) is optional */
    }
  }
  if (has_time) {
    size_t used;
    r = scan_time(s + i, n - i, &used);
    if (r == DT_SYNTAX) goto syntax;
    if (r == DT_RANGE && !range_why) range_why = WHY_TOD;
    i += used;
  }
  if (i < n) {
    if (!zone_ok) goto syntax;
    r = scan_zone(s + i, n - i);
    if (r == DT_SYNTAX) goto syntax;
    if (r == DT_RANGE && !range_why) range_why = WHY_ZONE;
  }
  if (range_why) {
    *why = range_why;
    return UCP_E_INVALIDARG;
  }
  emit(o, s, n);
  return UCP_OK;
syntax:
  *why = syntax[t - UCP_TYPE_DATE];
  return UCP_E_INVALIDARG;
}

/* ------------------------------------------------------ other types */

static int parse_boolean(const char *s, size_t n, out *o, ucp__value *v,
                         const char **why) {
  static const struct {
    const char *t;
    int b;
  } words[] = {{"0", 0},     {"1", 1},   {"true", 1},
               {"false", 0}, {"yes", 1}, {"no", 0}};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    if (strlen(words[i].t) == n && strncasecmp(words[i].t, s, n) == 0) {
      v->v.b = words[i].b;
      emit_c(o, words[i].b ? '1' : '0');
      return UCP_OK;
    }
  }
  *why = "not a boolean (0, 1, true, false, yes, no)";
  return UCP_E_INVALIDARG;
}

static int parse_string(const char *s, size_t n, out *o, const char **why) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t l = ucp__utf8_decode(u + i, n - i, &cp);
    if (l == 0) {
      *why = "string is not valid UTF-8";
      return UCP_E_INVALIDARG;
    }
    if (cp == 0) {
      *why = "string contains a NUL character";
      return UCP_E_INVALIDARG;
    }
    i += l;
  }
  emit(o, s, n);
  return UCP_OK;
}

static int one_char(const char *s, size_t n, uint32_t *cp) {
  size_t l = ucp__utf8_decode((const unsigned char *)s, n, cp);
  return l != 0 && l == n && *cp != 0;
}

static int parse_char(const char *raw, size_t rawn, const char *s, size_t n,
                      out *o, ucp__value *v, const char **why) {
  uint32_t cp;
  if (one_char(raw, rawn, &cp)) {
    s = raw, n = rawn; /* a lone space or tab is a char */
  } else if (!one_char(s, n, &cp)) {
    *why = "char takes exactly one character (valid UTF-8, not NUL)";
    return UCP_E_INVALIDARG;
  }
  v->v.u = cp;
  emit(o, s, n);
  return UCP_OK;
}

static int b64val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 §4 with padding; whitespace between characters is skipped.
 * The text is decoded and encoded again (so stray bits after the last
 * byte are cleared). */
static int parse_base64(const char *s, size_t n, out *o, ucp__value *v,
                        const char **why) {
  static const char w[] = "bin.base64 must be RFC 4648 base64 with padding";
  int q[4] = {0, 0, 0, 0};
  size_t k = 0, bytes = 0;
  int ended = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (is_ws(c)) continue;
    if (ended) goto bad; /* data after the padded group */
    int d = c == '=' ? -2 : b64val(c);
    if (d == -1) goto bad;
    if (d == -2 && k < 2) goto bad;          /* "=" in place 1 or 2 */
    if (d >= 0 && k == 3 && q[2] == -2) goto bad; /* "x=x" */
    q[k++] = d;
    if (k < 4) continue;
    k = 0;
    unsigned long bits = ((unsigned long)q[0] << 18) |
                         ((unsigned long)q[1] << 12) |
                         ((unsigned long)(q[2] < 0 ? 0 : q[2]) << 6) |
                         (unsigned long)(q[3] < 0 ? 0 : q[3]);
    int nb = q[2] < 0 ? 1 : q[3] < 0 ? 2 : 3;
    bits &= nb == 1 ? 0xFF0000ul : nb == 2 ? 0xFFFF00ul : 0xFFFFFFul;
    char enc[4];
    enc[0] = b64chars[(bits >> 18) & 63];
    enc[1] = b64chars[(bits >> 12) & 63];
    enc[2] = nb >= 2 ? b64chars[(bits >> 6) & 63] : '=';
    enc[3] = nb == 3 ? b64chars[bits & 63] : '=';
    emit(o, enc, 4);
    bytes += (size_t)nb;
    if (nb < 3) ended = 1;
  }
  if (k != 0) goto bad;
  v->v.u = bytes;
  return UCP_OK;
bad:
  *why = w;
  return UCP_E_INVALIDARG;
}

static int parse_hex(const char *s, size_t n, out *o, ucp__value *v,
                     const char **why) {
  static const char up[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    if (hexval(s[i]) < 0) {
      *why = "bin.hex takes only hex digits";
      return UCP_E_INVALIDARG;
    }
  }
  if (n % 2) {
    *why = "bin.hex needs an even number of hex digits";
    return UCP_E_INVALIDARG;
  }
  for (size_t i = 0; i < n; i++) emit_c(o, up[hexval(s[i])]);
  v->v.u = n / 2;
  return UCP_OK;
}

/* RFC 3986 URI-reference: only its characters, percent-escapes with two
 * hex digits, and a scheme (if the first segment has a ':') that starts
 * with a letter and holds only letters, digits, '+', '-', '.'. */
static int parse_uri(const char *s, size_t n, out *o, const char **why) {
  static const char allowed[] = "-._~:/?#[]@!$&'()*+,;=";
  size_t colon = n;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%') {
      if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
        *why = "uri has a '%' not followed by two hex digits";
        return UCP_E_INVALIDARG;
      }
      i += 2;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || (c && strchr(allowed, c)))) {
      *why = "uri has a character not allowed by RFC 3986 (space, control, "
             "non-ASCII, or one of \"<>\\^`{|})";
      return UCP_E_INVALIDARG;
    }
    if (c == ':' && colon == n) colon = i;
    if ((c == '/' || c == '?' || c == '#') && colon == n) colon = n + 1;
  }
  if (colon < n) { /* s[0..colon) is a scheme */
    int ok = colon > 0 && ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z');
    for (size_t i = 1; ok && i < colon; i++) {
      char c = s[i];
      ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
           c == '+' || c == '-' || c == '.';
    }
    if (!ok) {
      *why = "uri scheme must be a letter followed by letters, digits, "
             "'+', '-' or '.'";
      return UCP_E_INVALIDARG;
    }
  }
  emit(o, s, n);
  return UCP_OK;
}

static int parse_uuid(const char *s, size_t n, out *o, const char **why) {
  static const char lo[] = "0123456789abcdef";
  int ok = n == 36;
  for (size_t i = 0; ok && i < n; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) ok = s[i] == '-';
    else ok = hexval(s[i]) >= 0;
  }
  if (!ok) {
    *why = "uuid must be 8-4-4-4-12 hex digits";
    return UCP_E_INVALIDARG;
  }
  for (size_t i = 0; i < n; i++)
    emit_c(o, s[i] == '-' ? '-' : lo[hexval(s[i])]);
  return UCP_OK;
}

/* ------------------------------------------------------------ parse */

int ucp__value_parse(ucp_type type, const char *s, size_t n, char *buf,
                     size_t cap, ucp__value *out_v, const char **why) {
  const char *dummy;
  if (!why) why = &dummy;
  *why = NULL;
  if (!out_v || (!s && n) || (!buf && cap) || (buf && !cap) ||
      (unsigned)type > UCP_TYPE_UUID) {
    *why = "invalid argument";
    return UCP_E_INVALIDARG;
  }
  if (!s) s = "";
  memset(out_v, 0, sizeof *out_v);
  out_v->type = type;
  out o = {buf, cap, 0, 0};
  const char *t = s;
  size_t tn = n;
  while (tn && is_ws(*t)) t++, tn--;
  while (tn && is_ws(t[tn - 1])) tn--;
  int rc;
  if (is_unsigned(type)) rc = parse_unsigned(type, t, tn, &o, out_v, why);
  else if (is_signed(type)) rc = parse_signed(type, t, tn, &o, out_v, why);
  else if (type == UCP_TYPE_FIXED_14_4) rc = parse_fixed(t, tn, &o, out_v, why);
  else if (is_real(type)) rc = parse_real(type, t, tn, &o, out_v, why);
  else {
    switch (type) {
      case UCP_TYPE_CHAR: rc = parse_char(s, n, t, tn, &o, out_v, why); break;
      case UCP_TYPE_STRING:
      case UCP_TYPE_UNKNOWN: rc = parse_string(s, n, &o, why); break;
      case UCP_TYPE_DATE:
      case UCP_TYPE_DATETIME:
      case UCP_TYPE_DATETIME_TZ:
      case UCP_TYPE_TIME:
      case UCP_TYPE_TIME_TZ: rc = parse_datetime(type, t, tn, &o, why); break;
      case UCP_TYPE_BOOLEAN: rc = parse_boolean(t, tn, &o, out_v, why); break;
      case UCP_TYPE_BIN_BASE64: rc = parse_base64(t, tn, &o, out_v, why); break;
      case UCP_TYPE_BIN_HEX: rc = parse_hex(t, tn, &o, out_v, why); break;
      case UCP_TYPE_URI: rc = parse_uri(t, tn, &o, why); break;
      case UCP_TYPE_UUID: rc = parse_uuid(t, tn, &o, why); break;
      default: *why = "invalid argument"; rc = UCP_E_INVALIDARG; break;
    }
  }
  if (rc != UCP_OK) return rc;
  if (o.over) {
    *why = "output buffer too small";
    return UCP_E_INVALIDARG;
  }
  if (buf) {
    buf[o.len] = '\0';
    out_v->text = buf;
  }
  out_v->len = o.len;
  return UCP_OK;
}

/* ------------------------------------------------------- range, list */

static int bound(const ucp__value *v, const char *text, ucp__value *b) {
  const char *w;
  return ucp__value_parse(v->type, text, strlen(text), NULL, 0, b, &w);
}

static int present(const char *s) { return s && *s; }

static double absd(double d) { return d < 0 ? -d : d; }

/* Whether real x is base plus a whole number of steps. x, base and step
 * were each rounded to the type (r4: to a float, a relative error of at
 * most 2^-24 each), so the quotient may miss a whole number by that error
 * times (|x| + |base|) / step, plus its own: allow one and a half times
 * that, never less than 1e-9 of the quotient (decimal steps like 0.1 are
 * not exact in binary at all), and never a quarter step or more: where
 * the type cannot tell that finely, a value a quarter step off or more is
 * still off. */
static int on_step(double x, double base, double step, int single) {
  double q = (x - base) / step;
  if (!isfinite(q)) return 0;
  double aq = absd(q);
  if (aq >= 0x1p53) return 1; /* beyond, every double is a whole number */
  double nearest = (double)(int64_t)(aq + 0.5);
  double eps = 1.5 * (single ? 0x1p-24 : 0x1p-53);
  double tol = eps * ((absd(x) + absd(base)) / step + aq + 1.0);
  double floor = 1e-9 * (aq > 1.0 ? aq : 1.0);
  if (tol < floor) tol = floor;
  if (tol > 0.24) tol = 0.24;
  return absd(aq - nearest) <= tol;
}

int ucp__value_check_range(const ucp__value *v, const char *min,
                           const char *max, const char *step,
                           const char **why) {
  const char *dummy;
  if (!why) why = &dummy;
  *why = NULL;
  if (!v) {
    *why = "invalid argument";
    return UCP_E_INVALIDARG;
  }
  if (!ucp__type_is_numeric(v->type)) return UCP_OK;
  ucp__value lo, hi, st;
  int has_lo = present(min), has_hi = present(max), has_st = present(step);
  if (has_lo && bound(v, min, &lo) != UCP_OK) {
    *why = "allowedValueRange minimum is not a value of the type";
    return UCP_E_INVALIDARG;
  }
  if (has_hi && bound(v, max, &hi) != UCP_OK) {
    *why = "allowedValueRange maximum is not a value of the type";
    return UCP_E_INVALIDARG;
  }
  if (has_st) {
    int bad = bound(v, step, &st) != UCP_OK;
    if (!bad) {
      if (is_unsigned(v->type)) bad = st.v.u == 0;
      else if (is_signed(v->type)) bad = st.v.i <= 0;
      else bad = !(st.v.r > 0);
    }
    if (bad) {
      *why = "allowedValueRange step is not a positive number";
      return UCP_E_INVALIDARG;
    }
  }
  static const char below[] = "value is below the allowedValueRange minimum";
  static const char above[] = "value is above the allowedValueRange maximum";
  static const char off[] = "value is not on the allowedValueRange step";
  if (is_unsigned(v->type)) {
    uint64_t x = v->v.u;
    if (has_lo && x < lo.v.u) return *why = below, UCP_E_INVALIDARG;
    if (has_hi && x > hi.v.u) return *why = above, UCP_E_INVALIDARG;
    uint64_t base = has_lo ? lo.v.u : 0;
    if (has_st && (x - base) % st.v.u != 0)
      return *why = off, UCP_E_INVALIDARG;
  } else if (is_signed(v->type)) {
    int64_t x = v->v.i;
    if (has_lo && x < lo.v.i) return *why = below, UCP_E_INVALIDARG;
    if (has_hi && x > hi.v.i) return *why = above, UCP_E_INVALIDARG;
    int64_t base = has_lo ? lo.v.i : 0;
    /* |x - base| without overflow, in unsigned arithmetic */
    uint64_t d = x >= base ? (uint64_t)x - (uint64_t)base
                           : (uint64_t)base - (uint64_t)x;
    if (has_st && d % (uint64_t)st.v.i != 0)
      return *why = off, UCP_E_INVALIDARG;
  } else {
    double x = v->v.r;
    if (has_lo && x < lo.v.r) return *why = below, UCP_E_INVALIDARG;
    if (has_hi && x > hi.v.r) return *why = above, UCP_E_INVALIDARG;
    if (has_st && !on_step(x, has_lo ? lo.v.r : 0.0, st.v.r,
                           v->type == UCP_TYPE_R4))
      return *why = off, UCP_E_INVALIDARG;
  }
  return UCP_OK;
}

int ucp__value_check_list(const ucp__value *v, const char *const *allowed,
                          size_t n, const char **why) {
  const char *dummy;
  if (!why) why = &dummy;
  *why = NULL;
  if (!v || (n && !allowed)) {
    *why = "invalid argument";
    return UCP_E_INVALIDARG;
  }
  if (n == 0) return UCP_OK;
  if (!v->text) {
    *why = "value has no canonical text to compare";
    return UCP_E_INVALIDARG;
  }
  int exact = v->type == UCP_TYPE_STRING || v->type == UCP_TYPE_UNKNOWN;
  for (size_t i = 0; i < n; i++) {
    const char *a = allowed[i];
    if (!a) continue;
    size_t al = strlen(a);
    if (al == v->len && memcmp(a, v->text, al) == 0) return UCP_OK;
    if (exact) continue;
    char tmp[256];
    ucp__value av;
    const char *w;
    if (al + 32 <= sizeof tmp &&
        ucp__value_parse(v->type, a, al, tmp, sizeof tmp, &av, &w) == UCP_OK &&
        av.len == v->len && memcmp(av.text, v->text, av.len) == 0)
      return UCP_OK;
  }
  *why = "value is not in the allowedValueList";
  return UCP_E_INVALIDARG;
}
