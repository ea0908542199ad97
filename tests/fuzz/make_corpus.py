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


if __name__ == "__main__":
    main()
