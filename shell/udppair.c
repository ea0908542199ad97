/* UDP port pairs (see udppair.h). */
#include "shell/udppair.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/addr.h"

int udppair_bind(int family, int fds[2], int n)
{
  for (int attempt = 0; attempt < 100; attempt++) {
    struct sockaddr_storage a;
    struct sockaddr *sa = (struct sockaddr *)&a;
    socklen_t len = sizeof a;
    int ok = 1;

    fds[0] = fds[1] = -1;
    memset(&a, 0, sizeof a);
    a.ss_family = (sa_family_t)family;
    fds[0] = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fds[0] < 0)
      return -errno;
    if (bind(fds[0], sa, addr_len(sa)) < 0 || getsockname(fds[0], sa, &len) < 0) {
      int e = -errno;
      close(fds[0]);
      return e;
    }
    if (n == 1)
      return 0;
    if (addr_port(sa) % 2 == 0 && addr_port(sa) < 65535) {
      addr_set_port(sa, addr_port(sa) + 1);
      fds[1] = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fds[1] < 0 || bind(fds[1], sa, addr_len(sa)) < 0)
        ok = 0;
    } else {
      ok = 0;
    }
    if (ok)
      return 0;
    close(fds[0]);
    if (fds[1] >= 0)
      close(fds[1]);
  }
  return -EADDRINUSE;
}
