"""A pre-encoded VP8 + Opus WebM file of the synthetic camera and microphone, for load generation.

Publishers that send this file's packets as they are (MediaClient(passthrough=True)) cost the load
generator no encoding, so one process can drive an SFU at meeting-sized packet rates.
"""

from __future__ import annotations

import fractions

import av

from signaling.media_client import AUDIO_PTIME, PatternVideoTrack, ToneTrack


def encode_sample(path: str, *, width: int, height: int, fps: int, seconds: float, bitrate: int) -> None:
    """Write `seconds` of the test pattern (VP8 at `bitrate` bit/s, a key frame every second) and a tone (Opus)."""
    camera = PatternVideoTrack(width, height, fps)
    microphone = ToneTrack()
    with av.open(path, "w", format="webm") as container:
        video = container.add_stream("libvpx", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.bit_rate = bitrate
        video.codec_context.gop_size = fps
        video.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        audio = container.add_stream("libopus", rate=48000)
        audio.layout = "mono"
        audio.bit_rate = 32000
        audio_frames = int(seconds / AUDIO_PTIME)
        video_frames = int(seconds * fps)
        v = a = 0
        while v < video_frames or a < audio_frames:
            # interleave by presentation time so the muxer never buffers much
            if a >= audio_frames or (v < video_frames and v / fps <= a * AUDIO_PTIME):
                frame = camera.frame(v)
                frame.pts, frame.time_base = v, fractions.Fraction(1, fps)
                container.mux(video.encode(frame))
                v += 1
            else:
                container.mux(audio.encode(microphone.frame(a)))
                a += 1
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
