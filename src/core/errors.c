/* errors.c - names and texts generated from UCP_ERRNO_MAP, and the version. */
#include <stdarg.h>
#include <stdio.h>

#include "op.h"
#include "upnpcp.h"

static _Thread_local char tls_detail[512];

const char *ucp_last_error_detail(void) { return tls_detail; }

void ucp__detail_set(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tls_detail, sizeof tls_detail, fmt, ap);
  va_end(ap);
}

void ucp__detail_clear(void) { tls_detail[0] = '\0'; }

const char *ucp_strerror(int code) {
  switch (code) {
#define UCP__ERR_TEXT(name, c, text) \
  case c:                            \
    return text;
    UCP_ERRNO_MAP(UCP__ERR_TEXT)
#undef UCP__ERR_TEXT
  }
  return "unknown error";
}

const char *ucp_err_name(int code) {
  switch (code) {
#define UCP__ERR_NAME(name, c, text) \
  case c:                            \
    return "UCP_" #name;
    UCP_ERRNO_MAP(UCP__ERR_NAME)
#undef UCP__ERR_NAME
  }
  return "UCP_E_UNKNOWN";
}

static long version_number(const char *v) {
  int a = 0, b = 0, c = 0;
  if (sscanf(v, "%d.%d.%d", &a, &b, &c) < 1) return -1;
  return (long)a * 1000000L + (long)b * 1000L + c;
}

const char *ucp_version(const char *least) {
  if (least && version_number(least) > version_number(UCP_VERSION_STRING))
    return NULL;
  return UCP_VERSION_STRING;
}
