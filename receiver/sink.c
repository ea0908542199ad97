/* The sink interface: dispatch to the ALSA or WAV implementation. */
#include "sink.h"

#include <time.h>

#include "shell/clock.h"
#include "sink_impl.h"

int sink_period(const struct sink *s)
{
  return s->period;
}

int sink_wait(struct sink *s, int64_t *play_ns)
{
  return s->ops->wait(s, play_ns);
}

int sink_write(struct sink *s, const int16_t *pcm, int frames)
{
  int r = s->ops->write(s, pcm, frames);
  if (r == 0)
    atomic_fetch_add_explicit(&s->frames, (uint64_t)frames, memory_order_relaxed);
  return r;
}

uint64_t sink_underruns(const struct sink *s)
{
  return atomic_load_explicit(&((struct sink *)s)->underruns, memory_order_relaxed);
}

uint64_t sink_frames(const struct sink *s)
{
  return atomic_load_explicit(&((struct sink *)s)->frames, memory_order_relaxed);
}

const char *sink_strerror(const struct sink *s)
{
  return s->error;
}

const char *sink_describe(const struct sink *s)
{
  return s->describe;
}

int sink_close(struct sink *s)
{
  if (s == NULL)
    return 0;
  return s->ops->close(s);
}
