/* clock: the programs' one reading of time. Everything that schedules,
 * stamps an arrival or measures a latency reads CLOCK_MONOTONIC through
 * clock_mono_ns (DESIGN.md "Time": never the wall clock); the one use of
 * the wall clock is RTCP's NTP timestamps (clock_real_ns); the benchmarks
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

/* CLOCK_REALTIME in ns since 1970: only for the NTP timestamps of RTCP. */
static inline int64_t clock_real_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
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
