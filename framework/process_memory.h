// What the process uses outside the arena: peak resident set size and bytes held by malloc.
// These cannot be exact per tensor (oneDNN's JIT code, the primitive cache, thread stacks and
// the program's own heap live here), so reports show them apart from the arena's exact numbers.
#pragma once

#include <cstdint>

namespace cnnmem {

int64_t rss_peak_bytes();     // getrusage(RUSAGE_SELF).ru_maxrss
int64_t heap_in_use_bytes();  // mallinfo2: bytes in use from the heap and from mmap'd blocks

struct OutsideArena {
  int64_t rss_peak_bytes = 0;
  int64_t heap_growth_bytes = 0;  // heap in use after one step (after warm-up) minus before it
  int64_t heap_setup_bytes = 0;   // heap growth while binding (primitives, JIT code, tables)
  int64_t dataset_bytes = 0;      // training: the data set's images and labels in memory (exact)
};

}  // namespace cnnmem
