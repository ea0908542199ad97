#include "wire/sap.h"

#include <errno.h>
#include <string.h>

#include "wire/sdp.h"

#define FLAG_A 0x10
#define FLAG_R 0x08
#define FLAG_T 0x04
#define FLAG_E 0x02
#define FLAG_C 0x01

/* Whether the payload type field is application/sdp, ignoring case
 * (MIME types are case-insensitive). */
static int is_sdp_type(const uint8_t *p, size_t n)
{
  static const char want[] = SAP_MIME_SDP;

  if (n != sizeof want - 1)
    return 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c >= 'A' && c <= 'Z')
      c = (uint8_t)(c - 'A' + 'a');
    if (c != (uint8_t)want[i])
      return 0;
  }
  return 1;
}

int sap_parse(const uint8_t *buf, size_t len, struct sap_msg *out)
{
  struct sap_msg m;
  size_t pos, olen;
  const uint8_t *nul;

  memset(out, 0, sizeof *out);
  memset(&m, 0, sizeof m);
  if (buf == NULL || len < SAP_HEADER_LEN)
    return SAP_ERR_SHORT;
  if (len > SAP_MAX_PACKET)
    return SAP_ERR_LONG;
  if (buf[0] >> 5 != SAP_VERSION)
    return SAP_ERR_VERSION;
  if (buf[0] & FLAG_E)
    return SAP_ERR_ENCRYPTED;
  if (buf[0] & FLAG_C)
    return SAP_ERR_COMPRESSED;
  m.ipv6 = (buf[0] & FLAG_A) != 0;
  m.deletion = (buf[0] & FLAG_T) != 0;
  m.hash = (uint16_t)(buf[2] << 8 | buf[3]);
  olen = m.ipv6 ? 16 : 4;
  if (len - SAP_HEADER_LEN < olen)
    return SAP_ERR_SHORT;
  memcpy(m.origin, buf + SAP_HEADER_LEN, olen);
  pos = SAP_HEADER_LEN + olen;
  m.auth_len = (size_t)buf[1] * 4;
  if (len - pos < m.auth_len)
    return SAP_ERR_AUTH;
  pos += m.auth_len;
  if (pos == len)
    return SAP_ERR_EMPTY;
  /* RFC 2974 6: without a payload type the payload is SDP, which starts
   * with "v=0"; a type field cannot (it is a MIME type). */
  if (len - pos >= 3 && memcmp(buf + pos, "v=0", 3) == 0) {
    m.had_type = 0;
  } else {
    nul = memchr(buf + pos, '\0', len - pos);
    if (nul == NULL)
      return SAP_ERR_TYPE;
    if (!is_sdp_type(buf + pos, (size_t)(nul - (buf + pos))))
      return SAP_ERR_NOT_SDP;
    m.had_type = 1;
    pos = (size_t)(nul - buf) + 1;
    if (pos == len)
      return SAP_ERR_EMPTY;
  }
  m.payload = buf + pos;
  m.payload_len = len - pos;
  *out = m;
  return SAP_OK;
}

const char *sap_strerror(int err)
{
  switch (err) {
  case SAP_OK: return "ok";
  case SAP_ERR_SHORT: return "truncated header";
  case SAP_ERR_LONG: return "oversized";
  case SAP_ERR_VERSION: return "not SAP version 1";
  case SAP_ERR_ENCRYPTED: return "encrypted";
  case SAP_ERR_COMPRESSED: return "compressed";
  case SAP_ERR_AUTH: return "authentication data past the end";
  case SAP_ERR_TYPE: return "payload type not terminated";
  case SAP_ERR_NOT_SDP: return "payload type is not application/sdp";
  case SAP_ERR_EMPTY: return "no payload";
  case SAP_ERR_SDP: return "malformed SDP";
  default: return "unknown error";
  }
}

int sap_build(const struct sap_msg *m, uint8_t *buf, size_t cap)
{
  static const char type[] = SAP_MIME_SDP;   /* with its NUL */
  size_t olen, n;

  if (m == NULL || buf == NULL || m->payload == NULL || m->payload_len == 0 || m->auth_len != 0 ||
      m->hash == 0)
    return -EINVAL;
  olen = m->ipv6 ? 16 : 4;
  if (m->payload_len > SAP_MAX_BUILD)
    return -EMSGSIZE;
  n = SAP_HEADER_LEN + olen + sizeof type + m->payload_len;
  if (n > SAP_MAX_BUILD)
    return -EMSGSIZE;
  if (n > cap)
    return -ENOBUFS;
  buf[0] = (uint8_t)(SAP_VERSION << 5 | (m->ipv6 ? FLAG_A : 0) | (m->deletion ? FLAG_T : 0));
  buf[1] = 0;
  buf[2] = (uint8_t)(m->hash >> 8);
  buf[3] = (uint8_t)m->hash;
  memcpy(buf + SAP_HEADER_LEN, m->origin, olen);
  memcpy(buf + SAP_HEADER_LEN + olen, type, sizeof type);
  memcpy(buf + SAP_HEADER_LEN + olen + sizeof type, m->payload, m->payload_len);
  return (int)n;
}

uint16_t sap_hash(const uint8_t *payload, size_t len)
{
  uint32_t h = 2166136261u;
  uint16_t f;

  for (size_t i = 0; i < len; i++) {
    h ^= payload[i];
    h *= 16777619u;
  }
  f = (uint16_t)(h ^ h >> 16);
  return f != 0 ? f : 1;
}

int64_t sap_interval_ns(int64_t interval_ns, double u)
{
  if (u < 0)
    u = 0;
  if (u >= 1)
    u = 0.999999;
  return interval_ns + (int64_t)((double)interval_ns * (2 * u - 1) / 3);
}

int sap_match(const uint8_t *buf, size_t len, const char *name, struct sap_msg *m,
              struct sdp_info *sdp)
{
  int rc = sap_parse(buf, len, m);

  memset(sdp, 0, sizeof *sdp);
  if (rc != SAP_OK)
    return rc;
  if (m->deletion)
    return SAP_DELETION;
  if (sdp_parse((const char *)m->payload, m->payload_len, sdp) != SDP_OK)
    return SAP_ERR_SDP;
  return name != NULL && strcmp(sdp->name, name) == 0 ? SAP_MATCH : SAP_OTHER;
}
