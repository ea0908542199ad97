#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ (small files).
Run from the top of the tree; the files are committed, so this is only
needed to change them."""
import os
import struct

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def rtp(pt=96, seq=1, ts=960, ssrc=0x12345678, payload=b"\xf8\xff\xfe",
        marker=0, csrc=(), ext=None, pad=0):
    b0 = 0x80 | (0x20 if pad else 0) | (0x10 if ext is not None else 0) | len(csrc)
    h = struct.pack("!BBHII", b0, (marker << 7) | pt, seq, ts, ssrc)
    h += b"".join(struct.pack("!I", c) for c in csrc)
    if ext is not None:
        h += struct.pack("!HH", 0xBEDE, len(ext) // 4) + ext
    body = h + payload
    if pad:
        body += b"\0" * (pad - 1) + bytes([pad])
    return body


# Opus payloads (RFC 6716 TOC codes 0..3) of several durations.
OPUS = {
    "celt20": b"\xf8\xff\xfe",                      # code 0, 20 ms
    "silk10": b"\x00" + b"\x11" * 20,               # code 0, SILK NB 10 ms
    "two_equal": b"\xf9" + b"\x22" * 10,            # code 1, 2 x 20 ms
    "two_sizes": b"\xfa\x03" + b"\x33" * 8,         # code 2, 3 + 5 bytes
    "code3_cbr": b"\xfb\x03" + b"\x44" * 9,         # code 3, 3 frames CBR
    "code3_vbr_pad": b"\xfb\xc2\x02\x01" + b"\x55" * 6,  # code 3, VBR, padding
    "120ms": b"\x0b\x06" + b"\x66" * 12,            # code 3, 6 x 20 ms = 120 ms
    "hybrid": b"\x78" + b"\x77" * 30,
}


def write(target, name, data):
    d = os.path.join(TOP, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for k, p in OPUS.items():
        write("fuzz_rtp", "opus_" + k, rtp(payload=p))
    write("fuzz_rtp", "csrc2", rtp(csrc=(1, 2)))
    write("fuzz_rtp", "ext", rtp(ext=b"\x10\xab\x00\x00"))
    write("fuzz_rtp", "pad4", rtp(pad=4))
    write("fuzz_rtp", "all", rtp(csrc=(7,), ext=b"\x10\xab\x00\x00", pad=3, marker=1))
    # RFC 8285 extensions: RFC 6051 NTP-64 (ID 1) in both forms, beside
    # other elements, and element lists that run past the end.
    ntp = b"\x17" + bytes(range(1, 9)) + b"\0\0\0"
    write("fuzz_rtp", "ext_ntp64", rtp(ext=ntp, marker=1))
    write("fuzz_rtp", "ext_ntp64_after_other", rtp(ext=b"\x21\xaa\xbb" + ntp + b"\0"))
    write("fuzz_rtp", "ext_two_byte_ntp64", rtp(ext=b"\x01\x08" + bytes(range(1, 9)) + b"\0\0"))
    write("fuzz_rtp", "ext_elem_past_end", rtp(ext=b"\x17\x01\x02\x03"))
    write("fuzz_rtp", "ext_two_byte_past_end", rtp(ext=b"\x01\xc8\x01\x02"))
    write("fuzz_rtp", "bad_version", b"\x40" + rtp()[1:])
    write("fuzz_rtp", "bad_csrc15", b"\x8f" + rtp()[1:])
    write("fuzz_rtp", "bad_ext_len", rtp(ext=b"")[:14] + b"\xff\xff\xf8")
    write("fuzz_rtp", "bad_toc_code3_0", rtp(payload=b"\xfb\x00"))
    write("fuzz_rtp", "too_long_150ms", rtp(payload=b"\xfb\x07" + b"\x01" * 14))

    # fuzz_srtp: mode byte, position byte, packet (see fuzz_srtp.c).
    pkt = rtp(payload=OPUS["celt20"] + b"\x10" * 40)
    write("fuzz_srtp", "roundtrip", b"\x01\x00" + pkt)
    write("fuzz_srtp", "roundtrip_ext", b"\x01\x00" + rtp(csrc=(3,), ext=b"\x10\xab\x00\x00"))
    write("fuzz_srtp", "flip_tag", b"\x03\xe5" + pkt)
    write("fuzz_srtp", "flip_header", b"\x03\x22" + pkt)
    write("fuzz_srtp", "truncate", b"\x05\x07" + pkt)
    write("fuzz_srtp", "forged", b"\x00\x00" + pkt + b"\xaa" * 10)
    write("fuzz_srtp", "forged_short", b"\x00\x00" + pkt[:21])
    write("fuzz_srtp", "forged_csrc15", b"\x00\x00\x8f" + pkt[1:] + b"\xaa" * 10)

    playout_corpus()
    audio_in_corpus()
    rtcp_corpus()
    sap_corpus()


def playout_corpus():
    """fuzz_playout: 2 config bytes, then operations (see fuzz_playout.c)."""
    put = lambda dseq=1, dts=8, extra=0, dms=20, pick=0, ssrc2=0: \
        bytes([0 | (4 if ssrc2 else 0), dseq & 0xFF]) + struct.pack("!h", dts) + bytes([extra, dms, pick])
    pull = lambda dq=80, mx=4: bytes([2, dq, mx])
    cfg = bytes([0x3c, 0x02])   # 60 ms target, 13 slots, 300 ms max latency
    steady = cfg + b"".join(put() + pull() for _ in range(40))
    write("fuzz_playout", "steady", steady)
    lossy = cfg + b"".join((put(dseq=2, dts=16) if i % 5 == 4 else put()) + pull() for i in range(40))
    write("fuzz_playout", "loss", lossy)
    reorder = cfg
    for i in range(20):
        reorder += put(dseq=2, dts=16) + put(dseq=-1 & 0xFF, dts=-8, dms=0) + put(dseq=2, dts=16, dms=0) + pull() + pull()
    write("fuzz_playout", "reorder", reorder)
    restart = cfg + b"".join(put() + pull() for _ in range(10)) + \
        b"".join(put(ssrc2=1, dts=1000 if i == 0 else 8) + pull() for i in range(10))
    write("fuzz_playout", "ssrc_change", restart)
    burst = cfg + b"".join(put(dms=0) for _ in range(30)) + b"".join(pull(dq=200, mx=7) for _ in range(30))
    write("fuzz_playout", "burst_full", burst)
    mixed = cfg + b"".join(put(pick=p_, dts=[8, 1, 2, 4, 16, 24, 16, 48, 24][p_]) + pull(mx=p_ % 8)
                           for p_ in range(9)) + bytes([3, 100]) + b"".join(put() + pull() for _ in range(10))
    write("fuzz_playout", "durations_target", mixed)
    write("fuzz_playout", "stall", cfg + b"".join(put() + pull() for _ in range(10)) +
          bytes([2, 255, 7]) * 8 + b"".join(put() + pull() for _ in range(10)))


def wav(rate, ch, bits, frames, fmt_tag=1):
    """A RIFF WAVE file of a ramp; fmt_tag 1 PCM, 3 IEEE float."""
    width = bits // 8
    data = bytearray()
    for i in range(frames):
        for c in range(ch):
            v = ((i * 997 + c * 131) % 200 - 100) / 100.0
            if fmt_tag == 3:
                data += struct.pack("<f", v * 0.5)
            elif bits == 8:
                data += bytes([int(128 + v * 100)])
            else:
                data += int(v * (1 << (bits - 2))).to_bytes(width, "little", signed=True)
    fmt = struct.pack("<HHIIHH", fmt_tag, ch, rate, rate * ch * width, ch * width, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + bytes(data)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def au(rate, ch, frames):
    """Sun .au, 16-bit big-endian PCM."""
    data = b"".join(struct.pack(">h", (i * 37 % 2000) - 1000) for i in range(frames * ch))
    return struct.pack(">4sIIIII", b".snd", 24, len(data), 3, rate, ch) + data


def audio_in_corpus():
    """fuzz_audio_in: an option byte (channels % 3, quality), then a file."""
    write("fuzz_audio_in", "wav_48k_mono_s16", b"\x00" + wav(48000, 1, 16, 300))
    write("fuzz_audio_in", "wav_8k_stereo_float", b"\x01" + wav(8000, 2, 32, 100, fmt_tag=3))
    write("fuzz_audio_in", "wav_44k1_mono_u8", b"\x02" + wav(44100, 1, 8, 200))
    write("fuzz_audio_in", "wav_32k_3ch_s24", b"\x12" + wav(32000, 3, 24, 80))
    write("fuzz_audio_in", "wav_rate0", b"\x00" + wav(0, 1, 16, 10))
    write("fuzz_audio_in", "wav_truncated", b"\x00" + wav(48000, 1, 16, 300)[:200])
    write("fuzz_audio_in", "au_16k_stereo", b"\x01" + au(16000, 2, 150))
    # FLAC and Ogg/Vorbis need an encoder: sox, where it is installed.
    import shutil
    import subprocess
    import tempfile
    if shutil.which("sox"):
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "in.wav")
            with open(src, "wb") as f:
                f.write(wav(22050, 1, 16, 400))
            for ext, opt in (("flac", b"\x00"), ("ogg", b"\x01")):
                out = os.path.join(d, "out." + ext)
                if subprocess.call(["sox", src, out], stderr=subprocess.DEVNULL) == 0:
                    with open(out, "rb") as f:
                        write("fuzz_audio_in", ext + "_22k_mono", opt + f.read())
    write("fuzz_audio_in", "not_audio", b"\x00" + b"hello, this is not an audio file\n")


# RTCP (RFC 3550 6.4-6.6, RFC 3611): one packet of type pt with the 5-bit
# count and a body of whole words; pad adds that many bytes of padding.
def rtcp_packet(pt, count, body, pad=0):
    assert len(body) % 4 == 0 and pad % 4 == 0
    if pad:
        body += b"\0" * (pad - 1) + bytes([pad])
    return struct.pack("!BBH", 0x80 | (0x20 if pad else 0) | count, pt, len(body) // 4) + body


def report_block(ssrc, fraction=0, lost=0, ext=1000, jitter=20, lsr=0, dlsr=0):
    return struct.pack("!IIIIII", ssrc, (fraction << 24) | (lost & 0xFFFFFF), ext, jitter, lsr, dlsr)


def sr(ssrc, blocks=(), ntp=0xE9000000C0000000, ts=960000, packets=500, octets=40000, pad=0):
    body = struct.pack("!IQIII", ssrc, ntp, ts, packets, octets) + b"".join(blocks)
    return rtcp_packet(200, len(blocks), body, pad)


def rr(ssrc, blocks=(), pad=0):
    return rtcp_packet(201, len(blocks), struct.pack("!I", ssrc) + b"".join(blocks), pad)


def sdes(chunks, pad=0):
    """chunks: (ssrc, [(item type, text bytes), ...])"""
    body = b""
    for ssrc, items in chunks:
        c = struct.pack("!I", ssrc) + b"".join(bytes([t, len(v)]) + v for t, v in items) + b"\0"
        body += c + b"\0" * (-len(c) % 4)
    return rtcp_packet(202, len(chunks), body, pad)


def bye(ssrcs, reason=None, pad=0):
    body = b"".join(struct.pack("!I", s) for s in ssrcs)
    if reason is not None:
        r = bytes([len(reason)]) + reason
        body += r + b"\0" * (-len(r) % 4)
    return rtcp_packet(203, len(ssrcs), body, pad)


def xr(ssrc, blocks, pad=0):
    return rtcp_packet(207, 0, struct.pack("!I", ssrc) + b"".join(blocks), pad)


def xr_block(bt, body):
    return struct.pack("!BBH", bt, 0, len(body) // 4) + body


XR_RRT = xr_block(4, struct.pack("!Q", 0xE9000001D0000000))
XR_DLRR = xr_block(5, struct.pack("!III", 0x5EED0001, 0x0001D000, 0x00008000) +
                   struct.pack("!III", 0x5EED0002, 0x0001C000, 0x00010000))
XR_VOIP = xr_block(7, struct.pack("!IBBBBHHHHbbBBBBBBBBHHH", 0x5EED0001, 12, 3, 40, 2, 120, 5000,
                                  45, 30, -20, -60, 127, 16, 88, 127, 41, 40, 0xF5, 0, 60, 200, 500))


def rtcp_corpus():
    """fuzz_rtcp: compound packets as the sender and receiver will send
    them, the other types a peer may add, and a few that are refused."""
    me, peer = 0x5EED0001, 0x0C0FFEE0
    cname = (1, b"driftless@host")
    blk = report_block(me, fraction=25, lost=10, ext=0x1FFFF, jitter=48, lsr=0xC0000000, dlsr=0x8000)
    write("fuzz_rtcp", "sr_sdes", sr(me, [report_block(peer)]) + sdes([(me, [cname])]))
    write("fuzz_rtcp", "rr_sdes_xr_rrt_voip",
          rr(peer, [blk]) + sdes([(peer, [(1, b"rx@host")])]) + xr(peer, [XR_RRT, XR_VOIP]))
    write("fuzz_rtcp", "sr_sdes_xr_dlrr_bye_padded",
          sr(me, [blk, report_block(peer + 1)]) +
          sdes([(me, [cname, (2, b"Alice"), (6, b"driftless 0.1")])]) +
          xr(me, [XR_DLRR]) + bye([me], b"end of stream", pad=24))
    write("fuzz_rtcp", "rr_empty", rr(peer))
    write("fuzz_rtcp", "rr_padded", rr(peer, [blk], pad=8))
    write("fuzz_rtcp", "rr_app_rtpfb_psfb_sdes",
          rr(peer, [blk]) + rtcp_packet(204, 1, struct.pack("!I", peer) + b"name" + b"\1\2\3\4") +
          rtcp_packet(205, 1, struct.pack("!III", peer, me, 0x00050003)) +
          rtcp_packet(206, 1, struct.pack("!II", peer, me)) + sdes([(peer, [(1, b"x")])]))
    write("fuzz_rtcp", "sdes_three_chunks",
          rr(me) + sdes([(0x1111, [(1, b"mixer@a"), (3, b"a@example.org")]), (me, [cname, (8, b"\2pv")]),
                         (0x3333, [])]))
    write("fuzz_rtcp", "xr_unknown_block",
          rr(me) + xr(me, [xr_block(42, b"\xde\xad\xbe\xef"), XR_RRT]) + sdes([(me, [cname])]))
    write("fuzz_rtcp", "sr_31_blocks_and_rr",
          sr(me, [report_block(i) for i in range(31)]) + rr(me, [report_block(100 + i) for i in range(3)]) +
          sdes([(me, [cname])]))
    write("fuzz_rtcp", "bye_many", rr(me) + sdes([(me, [cname])]) + bye(list(range(1, 32)), b"x" * 255))
    write("fuzz_rtcp", "bad_version", b"\x40" + rr(me)[1:])
    write("fuzz_rtcp", "bad_first_sdes", sdes([(me, [cname])]))
    write("fuzz_rtcp", "bad_padding_not_last", rr(me, pad=4) + sdes([(me, [cname])]))
    write("fuzz_rtcp", "bad_sdes_no_end", rr(me) + rtcp_packet(202, 1, struct.pack("!I", me) + b"\1\2ab"))
    write("fuzz_rtcp", "bad_xr_rrt_length", rr(me) + xr(me, [xr_block(4, b"\0" * 12)]))
    write("fuzz_rtcp", "bad_bye_count", rr(me) + rtcp_packet(203, 3, struct.pack("!I", me)))
    write("fuzz_rtcp", "bad_length_sum", rr(me) + b"\x81\xca")

    # fuzz_rtcp_session: a byte of stream shape (k/4 packets, gaps, reorder,
    # a BYE built), then the peer's datagram: the sender's and the
    # receiver's compounds as each will send them, about the target's SSRCs.
    tx, rx = 0x1234, 0x5151
    rblk = report_block(tx, fraction=25, lost=10, ext=0x1FFFF, jitter=48, lsr=0xC0000000, dlsr=0x8000)
    write("fuzz_rtcp_session", "rr_xr_from_receiver",
          bytes([0xC3]) + rr(rx, [rblk]) + sdes([(rx, [(1, b"rx@host")])]) + xr(rx, [XR_RRT, XR_VOIP]))
    write("fuzz_rtcp_session", "sr_dlrr_bye_from_sender",
          bytes([0x47]) + sr(tx, []) + sdes([(tx, [cname])]) + xr(tx, [XR_DLRR]) + bye([tx], b"end"))
    write("fuzz_rtcp_session", "no_packets", bytes([0]) + rr(rx, [rblk]) + sdes([(rx, [(1, b"x")])]))


def sdp(name=b"driftless", addr=b"239.1.2.3", port=b"5004", proto=b"RTP/AVP", pt=b"96",
        extra=b"", nl=b"\r\n"):
    lines = [b"v=0", b"o=- 7 7 IN IP4 " + addr, b"s=" + name, b"c=IN IP4 " + addr + b"/16", b"t=0 0",
             b"m=audio " + port + b" " + proto + b" " + pt, b"a=rtpmap:" + pt + b" opus/48000/2",
             b"a=fmtp:" + pt + b" useinbandfec=1", b"a=ptime:20"]
    return nl.join(lines) + nl + extra


def sap(payload, b0=0x20, auth=b"", ptype=b"application/sdp\0", origin=b"\x7f\0\0\x01", h=0x1234):
    return bytes([b0, len(auth) // 4]) + struct.pack("!H", h) + origin + auth + ptype + payload


def sap_corpus():
    """fuzz_sap: SAP announcements as the sender sends them and as others
    may (no type field, auth data, IPv6 origin, deletions), bare SDPs, and
    the malformed cases of tests/unit/test_sap.c."""
    w = lambda n, d: write("fuzz_sap", n, d)
    w("announce", sap(sdp()))
    w("announce_other_name", sap(sdp(name=b"Kitchen")))
    w("announce_srtp", sap(sdp(proto=b"RTP/SAVP", extra=b"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + b"A" * 40 + b"\r\n")))
    w("deletion", sap(b"o=- 7 7 IN IP4 239.1.2.3\r\n", b0=0x24))
    w("no_type_lf", sap(sdp(nl=b"\n"), ptype=b""))
    w("auth_ipv6", sap(sdp(addr=b"ff0e::1"), b0=0x30, auth=b"\xaa" * 8, origin=b"\xfe\x80" + b"\0" * 13 + b"\x01"))
    w("media_level_c", sap(b"v=0\ns=driftless\nm=video 6000 RTP/AVP 98\nm=audio 6002 RTP/AVP 111\n"
                           b"c=IN IP4 239.9.9.9\na=rtpmap:111 OPUS/48000/2\n"))
    w("sdp_bare", sdp())
    w("bad_version", sap(sdp(), b0=0x40))
    w("bad_encrypted", sap(sdp(), b0=0x22))
    w("bad_compressed", sap(sdp(), b0=0x21))
    w("bad_auth_len", sap(sdp(), auth=b"") [:1] + b"\x7f" + sap(sdp())[2:])
    w("bad_type_no_nul", sap(b"", ptype=b"application/sdp"))
    w("bad_type_other", sap(b"hello", ptype=b"text/plain\0"))
    w("bad_no_media", sap(b"v=0\r\ns=x\r\nc=IN IP4 239.1.2.3\r\n"))
    w("bad_port", sap(sdp(port=b"70000")))
    w("bad_pt", sap(sdp(pt=b"300")))
    w("bad_truncated", sap(sdp())[:6])


if __name__ == "__main__":
    main()
