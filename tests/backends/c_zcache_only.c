/* A C program that uses only the C API and the zcache backend: built against
 * the backend set cleancache_backends_zcache (tests/backends/CMakeLists.txt),
 * it must run, and check_c_link.sh checks it links neither libfuse nor
 * libmemcached (nor libsodium). */
#include <stdio.h>

int cc_smoke_test_from_c(const char* spec);

int main(void) {
  int line = cc_smoke_test_from_c("zcache:capacity=8M");
  if (line == 0) line = cc_smoke_test_from_c(NULL);
  if (line != 0) fprintf(stderr, "c_api_smoke.c failed at line %d\n", line);
  return line == 0 ? 0 : 1;
}
