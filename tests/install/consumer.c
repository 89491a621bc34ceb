/* A program built against the installed library only. */
#include <stdio.h>
#include <string.h>
#include <upnpcp.h>

int main(void) {
  if (!ucp_version(UCP_VERSION_STRING)) return 1;
  ucp_cp *cp;
  if (ucp_cp_new(NULL, &cp) != UCP_OK) return 1;
  uint64_t id;
  int rc = ucp_load_description(cp, "ftp://x/", NULL, NULL, NULL, &id);
  ucp_cp_free(cp);
  printf("upnpcp %s: %s\n", ucp_version(NULL), ucp_err_name(rc));
  return strcmp(ucp_err_name(rc), "UCP_E_INVALIDARG") == 0 ? 0 : 1;
}
