/* fuzz_desc.c - fuzz target for the device description parser and URL
 * resolution (libFuzzer entry point). Built with clang -fsanitize=fuzzer
 * when UCP_FUZZ=ON; replay.c runs the same function over stored inputs as
 * an ordinary test (c-ares test/CMakeLists.txt style). */
#include <stddef.h>
#include <stdint.h>

#include "upnpcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const ucp_description *d = NULL;
  char detail[256];
  if (ucp_description_parse((const char *)data, size,
                            "http://192.168.1.10:49152/desc.xml", &d, detail,
                            sizeof detail) == UCP_OK) {
    /* Walk everything the public API exposes. */
    for (size_t i = 0; i < ucp_description_device_count(d); i++) {
      const ucp_device *dev = ucp_description_device(d, i);
      for (int f = 0; f < UCP_DEVICE__FIELD_COUNT; f++)
        (void)ucp_device_field_get(dev, f);
      for (size_t s = 0; s < ucp_device_service_count(dev); s++)
        for (int f = 0; f < UCP_SERVICE__FIELD_COUNT; f++)
          (void)ucp_service_url_error(ucp_device_service(dev, s), f);
    }
    ucp_description_unref(d);
  }
  return 0;
}
