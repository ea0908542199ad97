#include "shell/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define EXIT_RUNTIME 1

int keyfile_read(const char *prog, const char *path, uint8_t key[DL_SRTP_KEY_LEN])
{
  char text[4097];   /* one byte more than a key file may hold */
  const char *why = NULL;
  size_t n;
  FILE *f = fopen(path, "r");

  if (f == NULL) {
    fprintf(stderr, "%s: --key %s: %s\n", prog, path, strerror(errno));
    return EXIT_RUNTIME;
  }
  n = fread(text, 1, sizeof text, f);
  if (ferror(f)) {
    fprintf(stderr, "%s: --key %s: %s\n", prog, path, strerror(errno));
    fclose(f);
    return EXIT_RUNTIME;
  }
  fclose(f);
  if (n == sizeof text) {
    fprintf(stderr, "%s: --key %s: not a key file (over 4 KiB)\n", prog, path);
    return EXIT_USAGE;
  }
  if (dl_srtp_key_parse(text, n, key, &why) < 0) {
    fprintf(stderr, "%s: --key %s: %s\n", prog, path, why != NULL ? why : "not a key");
    return EXIT_USAGE;
  }
  return 0;
}

int keyfile_generate(const char *prog, const char *path)
{
  uint8_t rnd[DL_SRTP_KEY_LEN], key[DL_SRTP_KEY_LEN];
  char text[DL_SRTP_KEY_B64_LEN + 2];
  size_t got = 0;
  int fd, rc = EXIT_RUNTIME;

  while (got < sizeof rnd) {
    ssize_t r = getrandom(rnd + got, sizeof rnd - got, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      fprintf(stderr, "%s: --gen-key: getrandom: %s\n", prog, strerror(errno));
      return EXIT_RUNTIME;
    }
    got += (size_t)r;
  }
  if (dl_srtp_key_generate(rnd, sizeof rnd, key) < 0) {
    fprintf(stderr, "%s: --gen-key: the random source gave constant bytes\n", prog);
    return EXIT_RUNTIME;
  }
  dl_srtp_key_format(key, text);
  strcat(text, "\n");
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    fprintf(stderr, "%s: --gen-key %s: %s\n", prog, path, strerror(errno));
  } else if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fsync(fd) < 0) {
    fprintf(stderr, "%s: --gen-key %s: %s\n", prog, path, strerror(errno));
    close(fd);
    unlink(path);
  } else if (close(fd) < 0) {
    fprintf(stderr, "%s: --gen-key %s: %s\n", prog, path, strerror(errno));
  } else {
    rc = 0;
  }
  /* Not memset: a store to memory that is about to go out of scope may be
   * dropped, and the key would stay on the stack. */
  explicit_bzero(rnd, sizeof rnd);
  explicit_bzero(key, sizeof key);
  explicit_bzero(text, sizeof text);
  return rc;
}
