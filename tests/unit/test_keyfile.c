/* shell/keyfile: --gen-key writes a fresh key that --key reads back; it
 * never overwrites a file and leaves it private (0600); --key refuses what
 * is not a key with the exit status the programs return. Files go to a
 * private directory under $TMPDIR (or /tmp), removed at the end. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "shell/keyfile.h"
#include "wire/srtp.h"

struct dir {
  char path[256];
  char file[300];
};

static int setup(void **state)
{
  static struct dir d;
  const char *tmp = getenv("TMPDIR");

  snprintf(d.path, sizeof d.path, "%s/dl-keyfile.XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
  if (mkdtemp(d.path) == NULL)
    return -1;
  snprintf(d.file, sizeof d.file, "%s/k", d.path);
  *state = &d;
  return 0;
}

static int teardown(void **state)
{
  struct dir *d = *state;
  unlink(d->file);
  rmdir(d->path);
  return 0;
}

static void put(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_keyfile__generate_then_read__same_key_private_file(void **state)
{
  struct dir *d = *state;
  uint8_t a[DL_SRTP_KEY_LEN], b[DL_SRTP_KEY_LEN];
  char text[DL_SRTP_KEY_B64_LEN + 1], line[128] = "";
  struct stat st;
  FILE *f;

  unlink(d->file);
  assert_int_equal(keyfile_generate("t", d->file), 0);
  assert_int_equal(stat(d->file, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(st.st_size, DL_SRTP_KEY_B64_LEN + 1);   /* base64 and "\n" */
  assert_int_equal(keyfile_read("t", d->file, a), 0);
  /* The file holds exactly the key read from it, formatted. */
  dl_srtp_key_format(a, text);
  f = fopen(d->file, "r");
  assert_non_null(f);
  assert_non_null(fgets(line, sizeof line, f));
  fclose(f);
  assert_int_equal(strncmp(line, text, DL_SRTP_KEY_B64_LEN), 0);
  /* Never overwritten: a second --gen-key fails and the key stays. */
  assert_int_equal(keyfile_generate("t", d->file), 1);
  assert_int_equal(keyfile_read("t", d->file, b), 0);
  assert_memory_equal(a, b, sizeof a);
  /* Two new keys differ (getrandom, not a constant). */
  unlink(d->file);
  assert_int_equal(keyfile_generate("t", d->file), 0);
  assert_int_equal(keyfile_read("t", d->file, b), 0);
  assert_memory_not_equal(a, b, sizeof a);
}

static void test_keyfile__read__bad_files_give_the_exit_status(void **state)
{
  struct dir *d = *state;
  uint8_t k[DL_SRTP_KEY_LEN];
  char big[5000];

  unlink(d->file);
  assert_int_equal(keyfile_read("t", d->file, k), 1);          /* missing */
  assert_int_equal(keyfile_read("t", d->path, k), 1);          /* a directory */
  put(d->file, "");
  assert_int_equal(keyfile_read("t", d->file, k), 2);          /* empty */
  put(d->file, "not base64 at all!\n");
  assert_int_equal(keyfile_read("t", d->file, k), 2);
  put(d->file, "QUJDREVGR0g=\n");                              /* 8 bytes, not 30 */
  assert_int_equal(keyfile_read("t", d->file, k), 2);
  memset(big, 'A', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  put(d->file, big);                                           /* over 4 KiB */
  assert_int_equal(keyfile_read("t", d->file, k), 2);
  /* The SDP form reads too. */
  put(d->file, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"
               "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\n");
  assert_int_equal(keyfile_read("t", d->file, k), 0);
  unlink(d->file);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_keyfile__generate_then_read__same_key_private_file),
    cmocka_unit_test(test_keyfile__read__bad_files_give_the_exit_status),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
