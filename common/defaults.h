/* Every default number of driftless, in one place (as trx's defaults.h).
 * Programs print these in --help; nothing else hard-codes them. */
#ifndef DL_DEFAULTS_H
#define DL_DEFAULTS_H

#ifndef DL_VERSION
#define DL_VERSION "0.1.0"
#endif

/* RTP and Opus (RFC 7587): the RTP clock is always 48 kHz. */
#define DL_RATE                   48000
#define DL_MAX_CHANNELS           2
#define DL_DEFAULT_PT             96
#define DL_MIN_DYNAMIC_PT         96
#define DL_MAX_DYNAMIC_PT         127
#define DL_DEFAULT_PORT           5004
/* RFC 6051 NTP-64 header extension (RFC 8285 one-byte form): its ID (the
 * SDP says a=extmap:1 urn:ietf:params:rtp-hdrext:ntp-64), and how long
 * after the start or a marker the sender's packets carry it, so that a
 * receiver maps RTP time to the sender's wall clock before the first SR. */
#define DL_RTP_EXT_NTP_ID         1
#define DL_NTP_EXT_MS             1000

/* Opus frames: 2.5 .. 60 ms per packet on our sender; a received packet may
 * carry up to 120 ms (5760 samples at 48 kHz). */
#define DL_DEFAULT_FRAME_US       20000
#define DL_MAX_PACKET_SAMPLES     5760
#define DL_MAX_PAYLOAD            1500   /* bytes of Opus payload we accept */
#define DL_MAX_DATAGRAM           65536  /* receive buffer: anything larger is truncated, so invalid */

/* Encoder. */
#define DL_DEFAULT_BITRATE_MONO   32000
#define DL_DEFAULT_BITRATE_STEREO 64000
#define DL_MIN_BITRATE            6000
#define DL_MAX_BITRATE            510000
#define DL_DEFAULT_COMPLEXITY     9
#define DL_DEFAULT_EXPECT_LOSS    10     /* percent, OPUS_SET_PACKET_LOSS_PERC */

/* Receiver. */
#define DL_DEFAULT_LATENCY_MS     60     /* "auto" starts here */
#define DL_DEFAULT_MIN_LATENCY_MS 2      /* the estimate's part; the read block and the sink's queue come on top */
#define DL_DEFAULT_MAX_LATENCY_MS 500
#define DL_MAX_LATENCY_LIMIT_MS   2000
/* --sync: the presentation delay every receiver of a stream plays at (RTP
 * time T at the sender's wall clock W(T) + this), its range, --sync-trim's
 * range, and the clock filter's (common/rx/sync) samples, their ageing
 * (NTP's PHI: a sample's error bound grows by this per second of age) and
 * the bound on a rate the sender's SRs may show against nominal. */
#define DL_DEFAULT_SYNC_DELAY_MS  150
#define DL_MIN_SYNC_DELAY_MS      10
#define DL_MAX_SYNC_DELAY_MS      1900
#define DL_MAX_SYNC_TRIM_MS       500
#define DL_SYNC_SAMPLES           16
#define DL_SYNC_PHI_PPM           15
#define DL_SYNC_MAX_RATE_PPM      1000
#define DL_SYNC_RATE_MIN_S        10      /* two SRs this far apart give the sender's rate */
#define DL_SYNC_SLOPE_MIN_S       10      /* offset samples spanning this give the clocks' relative rate */
#define DL_SILENCE_AFTER_MS       100    /* continuous loss before PLC turns to silence */
#define DL_FADE_MS                5      /* fade into silence after concealment */
#define DL_PLAYOUT_SLOTS          512    /* packets the playout queue holds */
#define DL_RING_SLOTS             1024   /* packets in flight from loop to playback thread */
#define DL_RESTART_AFTER_MS       1000
#define DL_LATE_RESYNC_MS         1000   /* only-late arrivals for this long resync */

/* Sinks. */
#define DL_ALSA_PERIOD_US         5000
#define DL_ALSA_PERIODS           4      /* a card's buffer: 20 ms */
/* Through a sound server's plugin (PulseAudio, PipeWire: ALSA ioplug or
 * extplug), the buffer is what the plugin's thread has to feed the server
 * from; a 20 ms buffer through a PulseAudio null sink underran twice in a
 * clean CI run while the machine was busy. */
#define DL_ALSA_SERVER_BUFFER_MS  40
#define DL_ALSA_BUFFER_MIN_MS     10     /* --device-buffer bounds */
#define DL_ALSA_BUFFER_MAX_MS     1000
#define DL_WAV_BLOCK_US           5000   /* WAV sink writes this much per deadline */

/* Statistics. */
#define DL_DEFAULT_STATS_INTERVAL_MS 1000
#define DL_STATUS_INTERVAL_MS     250    /* the live line on a terminal */
#define DL_LATENCY_NOW_MS         1000   /* the live line's latency: an exponential mean over this */

/* Time discipline (common/rx/delay, common/rx/drift; issue 4). */
#define DL_DEFAULT_LATENCY_QUANTILE 0.97 /* of the relative arrival delay */
#define DL_DELAY_MEMORY_MS        6000   /* histogram forgetting time constant */
#define DL_DRIFT_MAX_PPM          5000   /* resampler ratio within +-0.5 % */
#define DL_DRIFT_RISE_US_PER_S    4500   /* target latency slew up (us per s), within the room drift leaves */
#define DL_DRIFT_FALL_US_PER_S    2500   /* and down */
#define DL_DRIFT_BANDWIDTH_MHZ    25     /* controller natural frequency, mHz */
#define DL_DRIFT_SMOOTH_MS        500    /* latency measurement smoothing */

/* Receiver program (receiver/). */
#define DL_RING_SLOT_BYTES        2048   /* bytes per ring slot: an RTP header and DL_MAX_PAYLOAD fit */
#define DL_PLAYBACK_RT_PRIORITY   40     /* SCHED_FIFO priority of the playback thread, where permitted */
#define DL_WAV_SYNC_MS            1000   /* WAV header rewritten this often, so a killed receiver leaves a readable file */
#define DL_WAV_RESYNC_MS          1000   /* WAV pacing this far behind its clock counts an underrun and restarts */
#define DL_ALSA_WAIT_MS           100    /* longest wait for the device before looking at the stop flag */
#define DL_ALSA_STUCK_MS          5000   /* a device that takes no audio this long has failed (a sound
                                             server starts a stream in under 2 s) */
#define DL_SNAPSHOT_MS            50     /* playback thread publishes its counters this often */
#define DL_IDLE_CHECK_MS          100

/* Sender (h-sender). */
#define DL_RESAMPLE_QUALITY       5      /* speexdsp 0..10: input rate conversion */
#define DL_AUDIO_IN_CHUNK         1024   /* input frames read from the file at a time */
/* Fan-out (sender/dests): destinations of one sender. Each has its own
 * socket pair and RTCP session; past a few, multicast is the better tool. */
#define DL_MAX_DESTS              16
/* SAP (RFC 2974): the well-known global-scope group and port that VLC and
 * PipeWire listen on, and our announcement interval. RFC 2974 3.1 asks
 * for at least 300 s on a shared network's 4 kb/s budget; on a LAN a few
 * seconds is what players expect (PipeWire sends every 5 s), so that a
 * receiver started now finds the stream within one interval. */
#define DL_SAP_ADDR               "224.2.127.254"
#define DL_SAP_PORT               9875
#define DL_SAP_INTERVAL_MS        5000
#define DL_SENDER_START_LEAD_US   5000   /* t0 is this far after setup, so the first packet is not already late */
#define DL_MIN_STATS_INTERVAL_MS  10

/* Output lines off the pacing thread (shell/linew.c, shell/linew.c). */
#define DL_LINEW_QUEUE_BYTES      (1 << 20) /* about 50 s of a 2.5 ms --trace: a stalled disk drops nothing for that long */
#define DL_LINEW_POLL_MS          10     /* the writer thread looks for new lines this often */

/* E-model: Opus' encoder look-ahead at 48 kHz (312 samples), part of the
 * mouth-to-ear delay. */
#define DL_OPUS_LOOKAHEAD_MS      6.5

/* SCHED_FIFO priority of the sender's pacing loop, where permitted. */
#define DL_SENDER_RT_PRIORITY     40

/* Live capture (sender alsa:DEVICE, issue 12). The capture thread reads
 * periods of DL_CAPTURE_PERIOD_US; the device's buffer (--capture-buffer)
 * is how long that thread may be kept from reading before an overrun
 * loses audio: 40 ms is 8 periods, the receiver's sound-server buffer
 * (DL_ALSA_SERVER_BUFFER_MS), which held on a loaded 2-core machine. The
 * capture thread runs above the loop thread: it only reads and hands
 * over, and a late read is lost audio, where a late send is only late.
 * The ring to the loop thread holds DL_CAPTURE_RING_MS of periods (a loop
 * stalled longer drops periods, counted as overruns). */
#define DL_CAPTURE_PERIOD_US      5000
#define DL_CAPTURE_BUFFER_MS      40
#define DL_CAPTURE_BUFFER_MIN_MS  10
#define DL_CAPTURE_BUFFER_MAX_MS  1000
#define DL_CAPTURE_RT_PRIORITY    45
#define DL_CAPTURE_RING_MS        500
#define DL_CAPTURE_WAIT_MS        100    /* longest wait for the device before looking at the stop flag */
#define DL_LIVE_READ_BYTES        16384  /* --live: bytes read from the pipe at a time */

/* receiver --trace (receiver/trace.c): records queued by the playback
 * thread, drained into the file by the loop thread. 4096 packets are 41 s
 * of 10 ms frames: a loop thread stalled that long drops trace lines. */
#define DL_TRACE_SLOTS            4096
#define DL_TRACE_DRAIN_MS         100

/* The sink's queue in the adaptive target (rxpipe_set_sink_queue): its
 * peak falls this fast (us per s), as slowly as the drift loop may follow. */
#define DL_SINK_QUEUE_FALL_US_PER_S 1000

/* Playout (h-underrun): a sink pull this much later than the previous one
 * plus the audio it took means the sink lost time (a stall, an underrun);
 * the ALSA sink's 5 ms periods and a device's wake-up jitter stay well
 * below it, and any stall that empties a 20 ms device buffer reaches it
 * soon after. */
#define DL_SINK_GAP_MS            30
#define DL_SINK_SETTLE_MS         500    /* after such a gap, latency measurements wait this long */
/* ALSA sink (h-underrun): at open, silence is played until the device
 * consumes DL_ALSA_PRIME_MS of it in real time (PulseAudio can hold a new
 * stream for up to 1.7 s), for at most DL_ALSA_PRIME_MAX_MS. */
#define DL_ALSA_PRIME_MS          100
#define DL_ALSA_PRIME_MAX_MS      3000

/* RTCP (RFC 3550 6.2, 6.3; common/wire/rtcp, issue 13). The minimum report
 * interval is halved before the first report; RTCP gets a share of the
 * session bandwidth, and the senders a share of that when they are at most
 * that share of the members. avg_rtcp_size counts IPv4 and UDP headers. */
#define DL_RTCP_MIN_INTERVAL_MS   5000
#define DL_RTCP_BW_PERMILLE       50     /* 5 % of the session bandwidth */
#define DL_RTCP_SENDER_BW_PERMILLE 250   /* 25 % of the RTCP bandwidth */
#define DL_RTCP_IP_UDP_OVERHEAD   28     /* bytes: IPv4 20 + UDP 8 */
#define DL_RTCP_INITIAL_AVG_SIZE  128    /* bytes: SR + 1 block + SDES + XR + headers, the first guess */
/* A BYE's end: at most this far past the newest packet (playout_end). */
#define DL_BYE_TAIL_MS            100
#define DL_PLAYOUT_HELD_SLOTS     64     /* the next stream's packets held while one ends */
#define DL_BYE_STRAY_MS           1000   /* after the end, its SSRC's packets this near are stragglers */
/* The receiver's transit from the sender's SR wall clock (rx/rtcp_rx) is
 * taken only inside these bounds: outside, the two clocks are not one. */
#define DL_TRANSIT_CLOCK_SLACK_MS 5
#define DL_TRANSIT_CLOCK_MAX_MS   1000

/* The sender's adaptation (tx/adapt, --adapt). */
#define DL_ADAPT_HYST_PCT         2      /* expected loss moves by at least this many points */
#define DL_ADAPT_FALL_REPORTS     2      /* reports in a row that want it lower */
#define DL_ADAPT_MAX_LOSS_PCT     40     /* the most it plans for */
#define DL_ADAPT_QUEUE_MS         30     /* RTT above the least: a queue (with loss: congestion) */
#define DL_ADAPT_CONGESTED_LOSS_PCT 2
#define DL_ADAPT_CONGESTED_REPORTS 2     /* congested reports in a row before the bitrate steps down */
#define DL_ADAPT_CALM_REPORTS     3      /* calm reports in a row before the bitrate steps up */
#define DL_DEFAULT_MIN_BITRATE    12000  /* --min-bitrate, mono and stereo */

/* Time-scale modification (common/rx/tsm, issue 15): the pitch periods
 * searched (50..400 Hz, as NetEq's and Sonic's ranges), the normalised
 * correlation a voiced splice needs (NetEq's accelerate uses 0.9), and what
 * counts as a pause: 30 dB below the recent peak level (speech's vowels and
 * the following pause differ by 40-60 dB; fricatives sit 15-25 dB below the
 * vowels, so they stay "voiced" and untouched unless periodic), or below
 * -60 dBFS outright. */
#define DL_TSM_MIN_LAG_US         2500
#define DL_TSM_MAX_LAG_US         20000
#define DL_TSM_MIN_CORR           0.9
#define DL_TSM_MIN_CORR_FLOOR     0.7    /* after searching in vain this long, */
#define DL_TSM_RELAX_MS           200    /* the threshold has fallen to the floor */
#define DL_TSM_QUIET_DB           30
#define DL_TSM_FLOOR_DBFS         (-60)
#define DL_TSM_MIN_FADE_US        2500   /* shortest cross-fade of a voiced splice */
#define DL_TSM_QUIET_FADE_US      5000   /* cross-fade of a splice in a pause */
#define DL_TSM_LEVEL_TAU_MS       2000   /* the peak level's memory */
/* Re-targeting by it (common/rx/rxpipe): engaged while the latency is more
 * than DL_TSM_ENGAGE_MS below the target (a packet due too soon is late)
 * or DL_TSM_ENGAGE_DOWN_MS above it (the target's own wandering must not
 * be chased down: what is within is the drift resampler's slow approach),
 * released within DL_TSM_RELEASE_MS; at most this share
 * of the audio is taken out or put in (NetEq's accelerate and preemptive
 * expand change time at a similar pace). */
#define DL_TSM_ENGAGE_MS          4
#define DL_TSM_ENGAGE_DOWN_MS     4
#define DL_TSM_RELEASE_MS         1
#define DL_TSM_RATE_PCT           10
/* A route change (common/rx/rxpipe): DL_STEP_MS of packets in a row (and
 * at least two) whose relative delays are DL_STEP_MIN_MS beyond what the
 * path's delays explain and agree within DL_STEP_SPREAD_MS. */
#define DL_STEP_MS                40
#define DL_STEP_MIN_MS            20
#define DL_STEP_SPREAD_MS         10
/* The adaptive target holds one frame for the next packet's FEC while the
 * path lost a packet within this (at 1 % loss, losses come every 2 s). */
#define DL_FEC_MARGIN_HOLD_MS     10000
/* Without loss, the margin is this many mean deviations of the arrival
 * delay (about two standard deviations of normal jitter), at most the
 * frame. */
#define DL_JITTER_MARGIN_MADS     2.5

#endif /* DL_DEFAULTS_H */
