/* keyfile: the SRTP key files of --key FILE and --gen-key FILE, for the
 * sender and the receiver alike (common/wire/srtp parses and formats the text;
 * the file and the random source are I/O, so they live here, beside the
 * programs, not in common/). Main thread, before the stream starts.
 *
 * Both functions say what went wrong in one line on stderr,
 * "PROG: --key FILE: why", and return the program's exit status. */
#ifndef DL_KEYFILE_H
#define DL_KEYFILE_H

#include <stdint.h>

#include "wire/srtp.h"

/* --key FILE: reads the file (4 KiB at most) and parses the key in it
 * (dl_srtp_key_parse: base64, bare, inline:KEY or an a=crypto line).
 * Returns 0, 1 (the file cannot be read) or 2 (it holds no valid key). */
int keyfile_read(const char *prog, const char *path, uint8_t key[DL_SRTP_KEY_LEN]);

/* --gen-key FILE: a new key from getrandom(2), as base64 and a newline, in
 * a file that did not exist (O_EXCL: never overwrite a key) with mode 0600.
 * Returns 0 or 1 (no random bytes, or the file cannot be written: then it
 * is not left half-written). */
int keyfile_generate(const char *prog, const char *path);

#endif /* DL_KEYFILE_H */
