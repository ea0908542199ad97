#!/usr/bin/python3
"""GStreamer rtpbin as the far end of an RTCP test (tests/integration/interop_rtcp.sh).

  gst_rtcp.py recv PORT RTCP_TO SECONDS
      rtpbin receives Opus RTP on PORT and RTCP on PORT+1, sends its RTCP
      (RR) to 127.0.0.1:RTCP_TO; after SECONDS prints the stats of each
      remote source of its session as JSON lines (have-sr, sr-ntptime,
      sr-rtptime, sr-packet-count, sr-octet-count, ...).
  gst_rtcp.py send PORT LOCAL SECONDS
      rtpbin sends SECONDS of a tone as Opus RTP to 127.0.0.1:PORT from
      local port LOCAL and RTCP (SR) to PORT+1 from LOCAL+1, where it also
      receives the RTCP the far end sends back (RR); then prints the stats
      of its own sender source (have-rb, rb-fractionlost, rb-jitter, ...).

Prints {"skipped": WHY} when a GStreamer element is missing.
"""
import json
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib, Gst  # noqa: E402

Gst.init(None)


def make(kind, **props):
    e = Gst.ElementFactory.make(kind)
    if e is None:
        print(json.dumps({"skipped": "GStreamer element %s missing" % kind}))
        sys.exit(0)
    for k, v in props.items():
        e.set_property(k.replace("_", "-"), v)
    return e


def bound_socket(port):
    s = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP)
    s.bind(Gio.InetSocketAddress.new_from_string("127.0.0.1", port), True)
    return s


def structure_dict(st):
    out = {}
    for i in range(st.n_fields()):
        name = st.nth_field_name(i)
        v = st.get_value(name)
        if isinstance(v, (bool, int, float, str)):
            out[name] = v
    return out


def sources(rtpbin):
    session = rtpbin.emit("get-internal-session", 0)
    return [structure_dict(s.get_property("stats")) for s in session.get_property("sources")]


def run(pipe, seconds, rtpbin):
    loop = GLib.MainLoop()
    result = {}

    def done():
        result["sources"] = sources(rtpbin)
        loop.quit()
        return False

    def on_message(bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            result["error"] = "%s (%s)" % (err.message, dbg)
            loop.quit()

    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    pipe.set_state(Gst.State.PLAYING)
    GLib.timeout_add(int(seconds * 1000), done)
    loop.run()
    pipe.set_state(Gst.State.NULL)
    if "error" in result:
        print(json.dumps({"error": result["error"]}))
        sys.exit(1)
    for s in result["sources"]:
        print(json.dumps(s))


def recv(port, rtcp_to, seconds):
    pipe = Gst.Pipeline.new("recv")
    rtpbin = make("rtpbin", latency=60)
    caps = Gst.Caps.from_string(
        "application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=96")
    rtp_src = make("udpsrc", port=port, caps=caps)
    rtcp_src = make("udpsrc", port=port + 1)
    rtcp_sink = make("udpsink", host="127.0.0.1", port=rtcp_to, sync=False, **{"async": False})
    for e in (rtpbin, rtp_src, rtcp_src, rtcp_sink):
        pipe.add(e)
    rtp_src.get_static_pad("src").link(rtpbin.request_pad_simple("recv_rtp_sink_0"))
    rtcp_src.get_static_pad("src").link(rtpbin.request_pad_simple("recv_rtcp_sink_0"))
    rtpbin.request_pad_simple("send_rtcp_src_0").link(rtcp_sink.get_static_pad("sink"))

    def pad_added(_, pad):
        if not pad.get_name().startswith("recv_rtp_src_0"):
            return
        depay, dec, sink = make("rtpopusdepay"), make("opusdec"), make("fakesink", sync=False)
        for e in (depay, dec, sink):
            pipe.add(e)
            e.sync_state_with_parent()
        depay.link(dec)
        dec.link(sink)
        pad.link(depay.get_static_pad("sink"))

    rtpbin.connect("pad-added", pad_added)
    run(pipe, seconds, rtpbin)


def send(port, local, seconds):
    pipe = Gst.Pipeline.new("send")
    rtpbin = make("rtpbin")
    src = make("audiotestsrc", is_live=True, wave="sine", freq=440.0,
               num_buffers=int(seconds * 50), samplesperbuffer=960)
    caps = make("capsfilter", caps=Gst.Caps.from_string("audio/x-raw,rate=48000,channels=1"))
    enc = make("opusenc", bitrate=32000, frame_size=20)
    pay = make("rtpopuspay", pt=96, ssrc=0x0a0b0c0d)
    rtp_sock, rtcp_sock = bound_socket(local), bound_socket(local + 1)
    rtp_sink = make("udpsink", host="127.0.0.1", port=port, socket=rtp_sock, close_socket=False)
    rtcp_sink = make("udpsink", host="127.0.0.1", port=port + 1, socket=rtcp_sock, close_socket=False,
                     sync=False, **{"async": False})
    rtcp_src = make("udpsrc", socket=rtcp_sock, close_socket=False)
    for e in (rtpbin, src, caps, enc, pay, rtp_sink, rtcp_sink, rtcp_src):
        pipe.add(e)
    src.link(caps)
    caps.link(enc)
    enc.link(pay)
    pay.get_static_pad("src").link(rtpbin.request_pad_simple("send_rtp_sink_0"))
    rtpbin.get_static_pad("send_rtp_src_0").link(rtp_sink.get_static_pad("sink"))
    rtpbin.request_pad_simple("send_rtcp_src_0").link(rtcp_sink.get_static_pad("sink"))
    rtcp_src.get_static_pad("src").link(rtpbin.request_pad_simple("recv_rtcp_sink_0"))
    run(pipe, seconds, rtpbin)


if __name__ == "__main__":
    mode, a, b, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    (recv if mode == "recv" else send)(a, b, secs)
