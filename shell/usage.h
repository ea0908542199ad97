/* usage: the usage errors of the programs (sender, receiver, impair): one
 * line on stderr, "PROG: MESSAGE[HINT]", then exit status 2. The numbers
 * are read by common/util/args, which does not print; the printing and the exit
 * are here, beside the programs. Main thread, while parsing the flags. */
#ifndef DL_USAGE_H
#define DL_USAGE_H

/* Set before the flags are parsed. usage_prog: the first word of
 * each line ("receiver"). usage_hint: the end of each line, "" (the
 * default) or " (see --help)". Both kept, not copied. */
extern const char *usage_prog;
extern const char *usage_hint;

/* Prints "PROG: " fmt... HINT and a newline on stderr, and exits 2. */
__attribute__((format(printf, 1, 2), noreturn))
void usage_error(const char *fmt, ...);

/* The whole number s, in [min, max] (args_long); else the usage error
 * FLAG: expected MIN..MAX[ UNIT], got "S"
 * unit: "" for none. */
long usage_long(const char *flag, const char *s, long min, long max, const char *unit);

/* The same for a decimal number (args_double); the range is printed with
 * %g (1e+07). */
double usage_double(const char *flag, const char *s, double min, double max, const char *unit);

#endif /* DL_USAGE_H */
