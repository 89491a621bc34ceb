/* mem.h - the library's allocation entry points.
 * Every allocation goes through these so that the out-of-memory test can
 * fail each one in turn (ucp__mem_fail_after) and prove that out of memory
 * returns an error and never aborts. */
#ifndef UCP_CORE_MEM_H
#define UCP_CORE_MEM_H

#include <stddef.h>

void *ucp__malloc(size_t n);
void *ucp__calloc(size_t n, size_t size);
void *ucp__realloc(void *p, size_t n);
void ucp__free(void *p);
char *ucp__strdup(const char *s);
char *ucp__strndup(const char *s, size_t n);
/* Append n bytes to a growable buffer (*buf, *len, *cap), doubling from
 * 4 KiB. 0, or -1 when out of memory (the buffer is unchanged). */
int ucp__bytes_append(char **buf, size_t *len, size_t *cap, const void *src,
                      size_t n);
/* printf into a fresh string; NULL when out of memory. */
char *ucp__aprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
