/* metrics: --metrics-file, the programs' stats lines in Prometheus' text
 * format (common/util/prom) written through the line writer as a file
 * replaced atomically at every stats line (linew_add_replace), for
 * node_exporter's textfile collector. Producer thread of the writer (the
 * loop thread). */
#ifndef DL_METRICS_H
#define DL_METRICS_H

struct linew;

/* The metrics file anew from one stats line's JSON text; final: wait for
 * the writer's room rather than drop (the last one). prog, stream,
 * counters: as prom_from_json. Returns 0 or a negative errno (the line
 * did not convert, or the writer's ring was full). */
int metrics_put(struct linew *w, int id, const char *json, const char *prog, const char *stream,
                const char *const *counters, int final);

#endif /* DL_METRICS_H */
