/* libFuzzer target: SAP (RFC 2974) and the SDP inside it, as receiver
 * --sap meets them from anyone on the LAN. Each input is tried as a SAP
 * datagram (sap_parse, sap_match) and as a bare SDP text (sdp_parse).
 * Besides memory errors (ASan/UBSan), it checks what must hold:
 *   - a refusal is a named error and leaves the outputs zeroed;
 *   - an accepted packet's payload lies within the input, after the
 *     header, its origin and its authentication data, and is not empty;
 *     building it again (where sap_build can) and parsing that gives the
 *     same fields and payload;
 *   - an accepted SDP has a terminated, non-empty name, a numeric
 *     address of its family, a port 1..65535 and a payload type 0..127;
 *   - SAP_MATCH only for the name asked for, byte for byte. */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/sap.h"
#include "wire/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
  if (!ok)
    abort();
}

static int zero(const void *p, size_t n)
{
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0)
      return 0;
  return 1;
}

static void check_sdp(int rc, const struct sdp_info *s)
{
  unsigned char bin[16];

  if (rc != SDP_OK) {
    check(rc < 0 && rc >= SDP_ERR_FORMAT && strcmp(sdp_strerror(rc), "unknown error") != 0);
    check(zero(s, sizeof *s));
    return;
  }
  check(memchr(s->name, '\0', sizeof s->name) != NULL && s->name[0] != '\0');
  check(memchr(s->addr, '\0', sizeof s->addr) != NULL);
  check(inet_pton(s->ipv6 ? AF_INET6 : AF_INET, s->addr, bin) == 1);
  check(s->port >= 1 && s->port <= 65535 && s->pt >= 0 && s->pt <= 127);
  check(s->channels >= 1 && s->ttl >= 0 && s->ttl <= 255);
}

static void repack(const uint8_t *data, size_t size, const struct sap_msg *m)
{
  static uint8_t buf[SAP_MAX_BUILD];
  struct sap_msg b = *m, again;
  int n;

  check(m->payload > data && m->payload + m->payload_len == data + size && m->payload_len > 0);
  check((size_t)(m->payload - data) >= SAP_HEADER_LEN + (m->ipv6 ? 16u : 4u) + m->auth_len);
  if (m->auth_len != 0 || m->hash == 0)
    return;
  n = sap_build(&b, buf, sizeof buf);
  if (n == -EMSGSIZE)
    return;
  check(n > 0);
  check(sap_parse(buf, (size_t)n, &again) == SAP_OK);
  check(again.deletion == m->deletion && again.ipv6 == m->ipv6 && again.hash == m->hash &&
        memcmp(again.origin, m->origin, sizeof m->origin) == 0 && again.had_type == 1 &&
        again.payload_len == m->payload_len && memcmp(again.payload, m->payload, m->payload_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct sap_msg m;
  static struct sdp_info s;
  int rc;

  rc = sap_parse(data, size, &m);
  if (rc != SAP_OK) {
    check(rc < 0 && rc >= SAP_ERR_EMPTY && strcmp(sap_strerror(rc), "unknown error") != 0);
    check(zero(&m, sizeof m));
  } else {
    repack(data, size, &m);
  }

  rc = sap_match(data, size, "driftless", &m, &s);
  check(rc == SAP_MATCH || rc == SAP_OTHER || rc == SAP_DELETION || (rc < 0 && rc >= SAP_ERR_SDP));
  if (rc == SAP_MATCH || rc == SAP_OTHER)
    check_sdp(SDP_OK, &s);
  if (rc == SAP_MATCH)
    check(strcmp(s.name, "driftless") == 0);
  if (rc == SAP_OTHER)
    check(strcmp(s.name, "driftless") != 0);
  if (rc == SAP_DELETION || rc < 0)
    check(zero(&s, sizeof s));

  /* The same bytes as a bare SDP (not terminated: the parser must not
   * read past size). */
  rc = sdp_parse((const char *)data, size, &s);
  check_sdp(rc, &s);
  return 0;
}
