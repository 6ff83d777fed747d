/*===- ditc_checksum.h - the weight-file checksum, shared by both sides ---===*
 *
 * `ditc compile` writes the checksum of the safetensors data section into
 * the model descriptor; the runtime recomputes it when it maps the file and
 * refuses a mismatch. A 64-bit multiply-xorshift hash over 8-byte words,
 * fast enough (several GB/s) to check multi-gigabyte shards at load.
 * Streaming: feed the bytes in any chunking whose sizes are multiples of 8,
 * the last chunk excepted.
 *===----------------------------------------------------------------------===*/

#ifndef DITC_RUNTIME_DITC_CHECKSUM_H
#define DITC_RUNTIME_DITC_CHECKSUM_H

#include <stdint.h>
#include <string.h>

#define DITC_CHECKSUM_SEED 0x9E3779B97F4A7C15ull

static inline uint64_t ditc_checksum_update(uint64_t h, const void *data,
                                            uint64_t n) {
  const unsigned char *p = (const unsigned char *)data;
  uint64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h ^= w;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  if (i < n) {
    uint64_t w = 0;
    memcpy(&w, p + i, (size_t)(n - i));
    h ^= w ^ ((n - i) << 56);
    h *= 0x94D049BB133111EBull;
    h ^= h >> 29;
  }
  return h;
}

#endif /* DITC_RUNTIME_DITC_CHECKSUM_H */
