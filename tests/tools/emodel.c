/* emodel: the E-model of common/rx/emodel from the command line, for scripts
 * (the practicality matrix).
 *
 *   emodel --delay MS [--loss PCT] [--burst-r X] [--runs FILE|-]
 *
 * --runs reads one 0 (played) or 1 (lost: concealed, not recovered) per
 * frame in play order, whitespace-separated, and gives the loss and BurstR
 * from them; --loss and --burst-r override what the runs say. Prints one
 * JSON object: delay_ms, loss_pct, burst_r, mean_burst, id, ie_eff,
 * r_factor, mos. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rx/emodel.h"
#include "util/args.h"
#include "util/json.h"

int main(int argc, char **argv)
{
  static const struct option o[] = {
    {"delay", required_argument, NULL, 'd'}, {"loss", required_argument, NULL, 'l'},
    {"burst-r", required_argument, NULL, 'b'}, {"runs", required_argument, NULL, 'r'},
    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  double delay = -1, loss = -1, burst_r = -1;
  const char *runs_name = NULL;
  struct emodel_runs runs;
  int c;

  emodel_runs_init(&runs);
  while ((c = getopt_long(argc, argv, "h", o, NULL)) != -1) {
    switch (c) {
    case 'd': if (args_double(optarg, 0, 100000, &delay) < 0) goto usage; break;
    case 'l': if (args_double(optarg, 0, 100, &loss) < 0) goto usage; break;
    case 'b': if (args_double(optarg, 0.01, 1e6, &burst_r) < 0) goto usage; break;
    case 'r': runs_name = optarg; break;
    case 'h':
      printf("usage: emodel --delay MS [--loss PCT] [--burst-r X] [--runs FILE|-]\n"
             "ITU-T G.107 R and MOS with Ie 0, Bpl 25.1 and Cole-Rosenbluth Id\n"
             "(common/rx/emodel.h). --runs: 0/1 per frame (1 = lost after FEC).\n");
      return 0;
    default: goto usage;
    }
  }
  if (delay < 0 || optind != argc)
    goto usage;
  if (runs_name) {
    FILE *f = strcmp(runs_name, "-") == 0 ? stdin : fopen(runs_name, "r");
    int v;
    if (f == NULL) {
      perror(runs_name);
      return 1;
    }
    while (fscanf(f, "%d", &v) == 1)
      emodel_runs_add(&runs, v);
    if (f != stdin)
      fclose(f);
  }
  if (loss < 0)
    loss = emodel_runs_loss_pct(&runs);
  if (burst_r < 0)
    burst_r = emodel_runs_burst_r(&runs);

  char line[512];
  struct json j;
  double r = emodel_r(delay, loss, burst_r);
  json_begin(&j, line, sizeof line);
  json_num(&j, "delay_ms", delay, 2);
  json_num(&j, "loss_pct", loss, 3);
  json_num(&j, "burst_r", burst_r, 3);
  json_num(&j, "mean_burst", emodel_runs_mean_burst(&runs), 3);
  json_u64(&j, "frames", runs.frames);
  json_num(&j, "id", emodel_id(delay), 2);
  json_num(&j, "ie_eff", emodel_ie_eff(loss, burst_r), 2);
  json_num(&j, "r_factor", r, 2);
  json_num(&j, "mos", emodel_mos(r), 3);
  printf("%s\n", json_end(&j));
  return 0;

usage:
  fprintf(stderr, "emodel: usage: emodel --delay MS [--loss PCT] [--burst-r X] [--runs FILE|-]\n");
  return 2;
}
