/* Internals shared by the sink implementations (receiver/sink_*.c). */
#ifndef DL_SINK_IMPL_H
#define DL_SINK_IMPL_H

#include <stdatomic.h>
#include <stdint.h>

#include "sink.h"

struct sink_ops {
  int (*wait)(struct sink *s, int64_t *play_ns);
  int (*write)(struct sink *s, const int16_t *pcm, int frames);
  int (*close)(struct sink *s);
};

struct sink {
  const struct sink_ops *ops;
  int channels;
  int period;                   /* frames per write */
  atomic_uint_least64_t underruns;
  atomic_uint_least64_t frames;
  char describe[384];
  char error[256];
};

#endif /* DL_SINK_IMPL_H */
