/* errors.c - names and texts generated from UCP_ERRNO_MAP, and the version. */
#include <stdio.h>

#include "upnpcp.h"

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
