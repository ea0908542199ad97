/* clock: the programs' one reading of time. Everything that schedules,
 * stamps an arrival or measures a latency reads CLOCK_MONOTONIC through
 * clock_mono_ns (DESIGN.md "Time": never the wall clock); the benchmarks
 * measure cost with the calling thread's CPU clock. common/ never reads a
 * clock: its functions take these values as arguments. Any thread. */
#ifndef DL_CLOCK_H
#define DL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in ns. */
static inline int64_t clock_mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The calling thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID). */
static inline int64_t clock_thread_cpu_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif /* DL_CLOCK_H */
