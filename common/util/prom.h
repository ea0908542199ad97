/* prom: a stats line (one JSON object as common/util/json writes it) in
 * Prometheus' text exposition format, for node_exporter's textfile
 * collector (--metrics-file). Pure: any thread.
 *
 * Mapping: every key whose value is a number or a boolean becomes one
 * metric named driftless_<prog>_<key>, a nested object's keys joined to
 * its own with "_" (latency_ms.p99 -> driftless_receiver_latency_ms_p99);
 * a boolean is 0 or 1; null is left out (no sample, as for a value not
 * known yet); an array (the sender's per-destination "dests") is left out
 * whole. Keys listed in `counters` (monotone counts since start) are
 * counters, with "_total" appended; all others are gauges. Each metric has
 * one label, stream="<stream>", and a # TYPE line. The "final" key is not
 * a metric. */
#ifndef DL_PROM_H
#define DL_PROM_H

#include <stddef.h>

/* json: the object's text; counters: NULL-terminated key names (of the top
 * level). Writes the exposition text into out (NUL-terminated). Returns
 * its length, -EINVAL for text it cannot read (not our JSON), or -ENOBUFS
 * when cap is too small. */
int prom_from_json(const char *json, const char *prog, const char *stream,
                   const char *const *counters, char *out, size_t cap);

#endif /* DL_PROM_H */
