/* shell/linew (every program writes its lines through it): lines reach their files
 * whole and in order across streams, a full ring drops and counts without
 * blocking, linew_put_wait loses nothing, write errors come back from
 * linew_destroy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "shell/linew.h"

/* A temporary file opened for writing; its path in path (PATH_MAX). */
static FILE *temp_out(char *path)
{
  int fd;
  strcpy(path, "/tmp/test_linew.XXXXXX");
  fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  assert_non_null(f);
  return f;
}

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "r");
  char *buf;
  long n;
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  rewind(f);
  buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static void test_linew_put__thread__every_line_in_order(void **state)
{
  (void)state;
  char pa[64], pb[64], line[64], *a, *b;
  struct linew *w;
  size_t la, lb, oa = 0, ob = 0;
  int ia, ib;

  assert_int_equal(linew_create(&w, "test", 1 << 20), 0);
  ia = linew_add(w, temp_out(pa), "a");
  ib = linew_add(w, temp_out(pb), "b");
  assert_int_equal(ia, 0);
  assert_int_equal(ib, 1);
  assert_int_equal(linew_start(w), 0);
  for (int i = 0; i < 20000; i++) {
    int n = snprintf(line, sizeof line, "%d\t%d\n", i, i * 7);
    assert_int_equal(linew_put(w, i % 3 ? ia : ib, line, (size_t)n), 0);
  }
  assert_int_equal(linew_destroy(w), 0);
  a = slurp(pa, &la);
  b = slurp(pb, &lb);
  for (int i = 0; i < 20000; i++) {
    int n = snprintf(line, sizeof line, "%d\t%d\n", i, i * 7);
    if (i % 3) {
      assert_memory_equal(a + oa, line, (size_t)n);
      oa += (size_t)n;
    } else {
      assert_memory_equal(b + ob, line, (size_t)n);
      ob += (size_t)n;
    }
  }
  assert_int_equal(oa, la);
  assert_int_equal(ob, lb);
  free(a);
  free(b);
  unlink(pa);
  unlink(pb);
}

static void test_linew_put__full__dropped_and_counted(void **state)
{
  (void)state;
  char p[64], line[32], *text;
  struct linew *w;
  size_t len;
  int id, kept = 0, dropped = 0;

  /* No writer thread: nothing leaves the 4096-byte ring until destroy. */
  assert_int_equal(linew_create(&w, "test", 100), 0);
  id = linew_add(w, temp_out(p), "--trace x");
  for (int i = 0; i < 1000; i++) {
    int n = snprintf(line, sizeof line, "line %04d\n", i);   /* 10 bytes + 4 */
    int rc = linew_put(w, id, line, (size_t)n);
    if (rc == 0) {
      assert_int_equal(dropped, 0);   /* once full, full */
      kept++;
    } else {
      assert_int_equal(rc, -ENOBUFS);
      dropped++;
    }
  }
  assert_int_equal(kept, 4096 / 14);
  assert_int_equal(linew_dropped(w, id), (unsigned long long)dropped);
  assert_int_equal(linew_destroy(w), 0);
  text = slurp(p, &len);
  assert_int_equal(len, (size_t)kept * 10);
  assert_memory_equal(text + len - 10, "line 0291\n", 10);
  free(text);
  unlink(p);
}

static void test_linew_put_wait__small_ring__nothing_lost(void **state)
{
  (void)state;
  char p[64], line[64], *text;
  struct linew *w;
  size_t len, off = 0;
  int id;

  assert_int_equal(linew_create(&w, "test", 4096), 0);
  id = linew_add(w, temp_out(p), "s");
  assert_int_equal(linew_start(w), 0);
  for (int i = 0; i < 5000; i++) {
    int n = snprintf(line, sizeof line, "{\"n\":%d}\n", i);
    assert_int_equal(linew_put_wait(w, id, line, (size_t)n), 0);
  }
  assert_int_equal(linew_destroy(w), 0);
  text = slurp(p, &len);
  for (int i = 0; i < 5000; i++) {
    int n = snprintf(line, sizeof line, "{\"n\":%d}\n", i);
    assert_memory_equal(text + off, line, (size_t)n);
    off += (size_t)n;
  }
  assert_int_equal(off, len);
  free(text);
  unlink(p);
}

static void test_linew_destroy__write_error__returned(void **state)
{
  (void)state;
  struct linew *w;
  FILE *f = fopen("/dev/full", "w");
  int id;

  if (f == NULL)
    skip();
  assert_int_equal(linew_create(&w, "test", 4096), 0);
  id = linew_add(w, f, "--stats /dev/full");
  assert_int_equal(linew_start(w), 0);
  assert_int_equal(linew_printf(w, id, "%s\n", "x"), 0);
  assert_int_equal(linew_destroy(w), -ENOSPC);
}

/* A stats line goes out with its newline; a final one waits rather than
 * being dropped from a full ring; one too long for a line is refused. */
static void test_linew_put_line__newline_added__final_waits(void **state)
{
  (void)state;
  char p[64], *text, big[LINEW_MAX_LINE + 1];
  struct linew *w;
  size_t len;
  int id;

  assert_int_equal(linew_create(&w, "test", 100), 0);   /* a 4096-byte ring */
  id = linew_add(w, temp_out(p), "--stats x");
  assert_int_equal(linew_start(w), 0);
  for (int i = 0; i < 2000; i++)
    assert_int_equal(linew_put_line(w, id, "{\"t\":1}", 1), 0);
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(linew_put_line(w, id, big, 0), -EINVAL);
  assert_int_equal(linew_dropped(w, id), 0);
  assert_int_equal(linew_destroy(w), 0);
  text = slurp(p, &len);
  assert_int_equal(len, 2000 * 8);
  assert_memory_equal(text + len - 8, "{\"t\":1}\n", 8);
  free(text);
  unlink(p);
}

static void test_linew_put__bad_args__einval(void **state)
{
  (void)state;
  static char big[LINEW_MAX_LINE + 1];
  struct linew *w;

  assert_int_equal(linew_create(&w, "test", 4096), 0);
  assert_int_equal(linew_put(w, 0, "x\n", 2), -EINVAL);   /* no stream yet */
  assert_int_equal(linew_add(w, stderr, "stderr"), 0);
  assert_int_equal(linew_put(w, 0, big, sizeof big), -EINVAL);
  assert_int_equal(linew_destroy(w), 0);
  assert_int_equal(linew_destroy(NULL), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_linew_put__thread__every_line_in_order),
    cmocka_unit_test(test_linew_put__full__dropped_and_counted),
    cmocka_unit_test(test_linew_put_wait__small_ring__nothing_lost),
    cmocka_unit_test(test_linew_destroy__write_error__returned),
    cmocka_unit_test(test_linew_put_line__newline_added__final_waits),
    cmocka_unit_test(test_linew_put__bad_args__einval),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
