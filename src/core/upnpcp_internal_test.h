/* upnpcp_internal_test.h - hooks exported only for the project's tests. */
#ifndef UCP_INTERNAL_TEST_H
#define UCP_INTERNAL_TEST_H

#ifdef UCP_BUILDING_LIBRARY
#define UCP_TEST_EXTERN __attribute__((visibility("default")))
#else
#define UCP_TEST_EXTERN
#endif

/* Let n more allocations succeed, then fail every one; n < 0 disables. */
UCP_TEST_EXTERN void ucp__test_mem_fail_after(long n);

#endif
