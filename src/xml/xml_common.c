/* xml_common.c - see xml_common.h. */
#include "xml_common.h"

#include <ctype.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../core/mem.h"

static const XML_Memory_Handling_Suite mem_suite = {ucp__malloc, ucp__realloc,
                                                    ucp__free};

/* expat 2.5 reads the kernel's entropy for every parser's hash salt; one
 * secret per process, stepped per parser, keeps hash flooding out at a
 * fraction of the cost. */
static unsigned long hash_salt(void) {
  static _Atomic unsigned long state;
  unsigned long s = atomic_load_explicit(&state, memory_order_relaxed);
  if (s == 0) {
    unsigned long seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
      seed = (unsigned long)time(NULL) ^ (unsigned long)&state;
    unsigned long zero = 0;
    atomic_compare_exchange_strong(&state, &zero, seed | 1);
  }
  s = atomic_fetch_add_explicit(&state, 0x9E3779B97F4A7C15ul,
                                memory_order_relaxed);
  s ^= s >> 31;
  s *= 0xBF58476D1CE4E5B9ul;
  return s ^ (s >> 29);
}

XML_Parser ucp__xml_parser(XML_Parser reuse) {
  if (reuse && !XML_ParserReset(reuse, NULL)) {
    XML_ParserFree(reuse);
    reuse = NULL;
  }
  XML_Parser xp = reuse ? reuse : XML_ParserCreate_MM(NULL, &mem_suite, NULL);
  if (xp) XML_SetHashSalt(xp, hash_salt());
  return xp;
}

/* Length of a predefined or numeric reference at s ("&amp;"), else 0. */
static size_t reference_len(const char *s, size_t n) {
  static const char *const names[] = {"amp;", "lt;", "gt;", "quot;", "apos;"};
  for (size_t i = 0; i < 5; i++) {
    size_t l = strlen(names[i]);
    if (n > l && memcmp(s + 1, names[i], l) == 0) return l + 1;
  }
  size_t i = 1;
  if (i < n && s[i] == '#') {
    i++;
    int hex = i < n && s[i] == 'x';
    if (hex) i++;
    size_t start = i;
    while (i < n && i < 12 &&
           (hex ? isxdigit((unsigned char)s[i]) : isdigit((unsigned char)s[i])))
      i++;
    if (i > start && i < n && s[i] == ';') return i + 1;
  }
  return 0;
}

char *ucp__xml_escape_bare_amps(const char *s, size_t n, size_t *out_len,
                                size_t *fixed) {
  *fixed = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '&' && reference_len(s + i, n - i) == 0) (*fixed)++;
  char *o = ucp__malloc(n + 4 * *fixed + 1);
  if (!o) return NULL;
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '&' && reference_len(s + i, n - i) == 0) {
      memcpy(o + j, "&amp;", 5);
      j += 5;
    } else {
      o[j++] = s[i];
    }
  }
  o[j] = '\0';
  *out_len = j;
  return o;
}
