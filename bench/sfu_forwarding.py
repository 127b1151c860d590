"""SFU forwarding benchmark: hub CPU per forwarded RTP packet, SFU vs a MediaRelay transcoding baseline, and the
SFU with the meeting recorded (every published track written to its own file, signaling/recorder.py) vs without,
and the SFU while an archive job composes another meeting's recording next to it (a worker process, as the hub
runs them).

The hub (the SFU, or the baseline) runs in this process; publishers and
subscribers are media clients (signaling/media_client.py) in a separate process,
signalled over a Unix socket with JSON lines. Hub CPU is time.process_time()
(all threads: aiortc's decoder threads and encoder executors count).

    python -m bench.sfu_forwarding --publishers 2 --subscribers 3 --runs 3 --seconds 8
    python -m bench.sfu_forwarding ... --write docs/benchmarks.md
    python -m bench.sfu_forwarding --passthrough --publishers 4 --subscribers 12 --modes sfu record archive --write ...
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.compose import meeting as recorded_meeting
from bench.relay_baseline import RelayHub
from bench.report import write_section
from hub.recordings.archive import NICENESS
from signaling.media_client import MediaClient
from signaling.media_sample import encode_sample
from signaling.recorder import MeetingRecorder
from signaling.sfu import Sfu, SfuConfig, SfuPeer

ROOM = "bench"
AUDIO_FRAMES_PER_SECOND = 50  # Opus, 20 ms frames
START_DEADLINE = 60.0  # seconds for media to flow to everyone before a run counts as failed


@dataclass
class RunResult:
    mode: str
    packets: int
    seconds: float
    cpu: float
    streams: int
    decoded_fps: float
    # seconds of media delivered to clients, summed over streams: frames / the stream's frame rate
    stream_seconds: float

    @property
    def us_per_packet(self) -> float:
        return self.cpu / self.packets * 1e6 if self.packets else float("inf")

    @property
    def packets_per_second(self) -> float:
        return self.packets / self.seconds

    @property
    def cpu_percent_per_stream(self) -> float:
        """Hub CPU per stream delivered at its full frame rate (a hub that falls behind is not flattered)."""
        return 100.0 * self.cpu / self.stream_seconds if self.stream_seconds else float("inf")


# --- the client process ----------------------------------------------------------------


async def client_main(args: argparse.Namespace) -> None:
    """Run every participant's media client and answer the hub over the socket."""
    reader, writer = await asyncio.open_unix_connection(args.socket)
    clients: dict[str, MediaClient] = {}
    answers: dict[str, asyncio.Future[str]] = {}
    loop = asyncio.get_running_loop()

    def send(message: dict[str, Any]) -> None:
        writer.write(json.dumps(message).encode() + b"\n")

    for i in range(args.publishers):
        name = f"pub{i}"
        if args.sample:
            clients[name] = MediaClient(name, media_file=args.sample, passthrough=True, decode=False)
        else:
            clients[name] = MediaClient(name, width=args.width, height=args.height, fps=args.fps)
    for i in range(args.subscribers):
        name = f"sub{i}"
        clients[name] = MediaClient(name, video=False, audio=False, decode=not args.sample)

    async def answer_offer(name: str, sdp: str) -> None:
        send({"type": "answer", "id": name, "sdp": await clients[name].handle_offer(sdp)})

    tasks: set[asyncio.Task[None]] = set()
    stop = loop.create_future()

    async def read_loop() -> None:
        while line := await reader.readline():
            message = json.loads(line)
            kind, name = message["type"], message.get("id", "")
            if kind == "joined":
                await clients[name].handle_answer(message["sdp"])
                answers[name].set_result(name)
            elif kind == "offer":
                task = asyncio.ensure_future(answer_offer(name, message["sdp"]))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            elif kind == "report":
                send({"type": "report", "frames": {n: c.frames() for n, c in clients.items()},
                      "video": {n: list(c.frames("video")) for n, c in clients.items()}})
            elif kind == "stop":
                break
        if not stop.done():
            stop.set_result(None)

    reading = asyncio.ensure_future(read_loop())
    for name, client in clients.items():
        answers[name] = loop.create_future()
        send({"type": "join", "id": name, "sdp": await client.create_offer(), "sources": client.sources()})
        await answers[name]
    await writer.drain()
    await stop
    reading.cancel()
    for client in clients.values():
        await client.close()
    writer.close()


# --- the hub side ------------------------------------------------------------------------


class HubSide:
    """Serves one client process for one run, as the SFU or the relay baseline."""

    def __init__(self, mode: str, fast_receive: bool = True) -> None:
        self.mode = mode
        self.sfu = Sfu(SfuConfig(negotiation_timeout=30, inactivity_timeout=30, fast_receive=fast_receive))
        self.relay = RelayHub()
        self.peers: dict[str, SfuPeer] = {}
        self.writer: asyncio.StreamWriter | None = None
        self.reports: asyncio.Queue[dict[str, dict[str, int]]] = asyncio.Queue()
        self.connected = asyncio.Event()
        self.video_tracks: dict[str, list[str]] = {}
        self.recorder: MeetingRecorder | None = None

    def send(self, message: dict[str, Any]) -> None:
        assert self.writer is not None
        self.writer.write(json.dumps(message).encode() + b"\n")

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.connected.set()
        try:
            await self._serve(reader)
        except ConnectionError:
            pass  # the client process exits as soon as it is told to stop

    async def _serve(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            message = json.loads(line)
            kind, name = message["type"], message.get("id", "")
            if kind == "join":
                await self.join(name, message["sdp"], message["sources"])
            elif kind == "answer":
                if self.mode != "relay":
                    await self.peers[name].handle_answer(message["sdp"])
                else:
                    await self.relay.handle_answer(name, message["sdp"])
            elif kind == "report":
                self.video_tracks = message["video"]
                await self.reports.put(message["frames"])

    async def join(self, name: str, sdp: str, sources: dict[str, str]) -> None:
        async def on_offer(offer: str) -> None:
            self.send({"type": "offer", "id": name, "sdp": offer})

        if self.mode != "relay":
            await self.sfu.start()
            peer = self.peers[name] = await self.sfu.join(ROOM, name, on_offer)
            answer = await peer.handle_offer(sdp, sources)
        else:
            answer = await self.relay.join(name, sdp, on_offer)
        self.send({"type": "joined", "id": name, "sdp": answer})

    async def report(self) -> dict[str, dict[str, int]]:
        self.send({"type": "report"})
        return await asyncio.wait_for(self.reports.get(), 10)

    def record(self, where: Path) -> None:
        """Record every published track, as a recorded meeting's media node does."""
        def failed(reason: str, message: str) -> None:
            raise RuntimeError(f"recording failed: {reason}: {message}")

        self.recorder = MeetingRecorder("bench", time.time(), where, failed)
        for forwarder in self.sfu.rooms[ROOM].forwarders.values():
            self.recorder.add(forwarder, forwarder.info.participant_id)

    async def packets(self) -> int:
        if self.mode != "relay":
            return self.sfu.stats().packets_forwarded
        return await self.relay.packets_sent()

    def streams(self) -> int:
        if self.mode != "relay":
            room = self.sfu.rooms.get(ROOM)
            return sum(len(f.legs) for f in room.forwarders.values()) if room else 0
        return self.relay.streams()

    async def stop(self) -> None:
        if self.recorder is not None:
            await self.recorder.stop()
        await self.sfu.stop()
        await self.relay.stop()


def write_recording(where: Path) -> str:
    """Another meeting's recording for an archive job to compose (60 s, 9 cameras); its manifest's path."""
    where.mkdir(parents=True, exist_ok=True)
    manifest = where / "manifest.json"
    manifest.write_text(json.dumps(recorded_meeting(where, cameras=9, seconds=60).to_json()), encoding="utf-8")
    return str(manifest)


async def start_archive_job(args: argparse.Namespace, tmp: Path) -> asyncio.subprocess.Process:
    """An archive job composing another meeting's recording, started as the hub starts one (hub/recordings/archive.py:
    a worker process at a lower priority)."""
    command = [sys.executable, "-m", "hub.recordings.compose", args.archive_manifest, str(tmp / "archive.webm")]
    return await asyncio.create_subprocess_exec("nice", "-n", str(NICENESS), *command,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


def expected_tracks(name: str, publishers: int) -> int:
    return 2 * (publishers - 1 if name.startswith("pub") else publishers)


async def run_once(mode: str, args: argparse.Namespace) -> RunResult:
    hub = HubSide(mode, fast_receive=not args.queued_receive)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "hub.sock")
        server = await asyncio.start_unix_server(hub.serve, path)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.sfu_forwarding",
            "--client",
            "--socket",
            path,
            "--publishers",
            str(args.publishers),
            "--subscribers",
            str(args.subscribers),
            "--width",
            str(args.width),
            "--height",
            str(args.height),
            "--fps",
            str(args.fps),
            *(["--sample", args.sample] if args.sample else []),
        )
        try:
            await asyncio.wait_for(hub.connected.wait(), 30)
            deadline = time.monotonic() + START_DEADLINE
            while True:
                frames = await hub.report()
                if len(frames) == args.publishers + args.subscribers and all(
                    len(f) == expected_tracks(n, args.publishers) and all(count > 0 for count in f.values())
                    for n, f in frames.items()
                ):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{mode}: media did not start flowing: {frames}")
                await asyncio.sleep(0.5)
            if mode == "record":
                hub.record(Path(tmp) / "recording")
            worker = await start_archive_job(args, Path(tmp)) if mode == "archive" else None
            await asyncio.sleep(args.warmup)
            frames_before = await hub.report()
            packets_before, cpu_before, wall_before = (
                await hub.packets(),
                time.process_time(),
                time.monotonic(),
            )
            profiler = cProfile.Profile(time.process_time) if args.profile else None
            if profiler is not None:
                profiler.enable()
            await asyncio.sleep(args.seconds)
            if profiler is not None:
                profiler.disable()
                pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(
                    args.profile
                )
            packets_after, cpu_after, wall_after = await hub.packets(), time.process_time(), time.monotonic()
            frames_after = await hub.report()
            delivered = {
                (p, t): n - frames_before[p][t]
                for p, tracks in frames_after.items()
                for t, n in tracks.items()
                if t in frames_before[p]
            }
            stream_seconds = sum(
                n / (args.fps if t in hub.video_tracks[p] else AUDIO_FRAMES_PER_SECOND)
                for (p, t), n in delivered.items()
            )
            streams = hub.streams()
            if worker is not None:
                if worker.returncode is not None:
                    raise RuntimeError("the archive job ended before the measurement did: give it a longer recording")
                worker.kill()
                await worker.wait()
            hub.send({"type": "stop"})
            await asyncio.wait_for(child.wait(), 30)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
            await hub.stop()
            server.close()
            await server.wait_closed()
    seconds = wall_after - wall_before
    return RunResult(
        mode=mode,
        packets=packets_after - packets_before,
        seconds=seconds,
        cpu=cpu_after - cpu_before,
        streams=streams,
        decoded_fps=sum(delivered.values()) / seconds,
        stream_seconds=stream_seconds,
    )


def machine_info() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import aiortc
    import av

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores (load average {load} when the run ended), "
        f"Python {platform.python_version()}, "
        f"aiortc {aiortc.__version__}, PyAV {av.__version__}, {platform.system()} {platform.release()}"
    )


def table(results: dict[str, list[RunResult]], args: argparse.Namespace) -> str:
    def med(mode: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in results[mode])

    lines = [
        "| hub | streams | packets/s forwarded | hub CPU µs / packet | hub CPU % / stream at full rate "
        "| client frames/s | runs |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    names = {"sfu": "SFU (RTP forwarding)", "relay": "MediaRelay baseline (decode + re-encode)",
             "record": "SFU, the meeting recorded (every track to its own WebM file)",
             "archive": "SFU, an archive job composing next to it (a worker process, nice 10)"}
    for mode in results:
        lines.append(
            f"| {names[mode]} | {int(med(mode, 'streams'))} | {med(mode, 'packets_per_second'):.0f} "
            f"| {med(mode, 'us_per_packet'):.1f} | {med(mode, 'cpu_percent_per_stream'):.2f} "
            f"| {med(mode, 'decoded_fps'):.0f} | {len(results[mode])} |"
        )
    if "sfu" in results and "relay" in results:
        ratio = med("relay", "cpu_percent_per_stream") / med("sfu", "cpu_percent_per_stream")
        lines.append("")
        lines.append(f"Baseline / SFU hub CPU per forwarded stream: **{ratio:.0f}x**.")
    if "sfu" in results and "record" in results:
        cost = med("record", "cpu") / med("record", "seconds") / (med("sfu", "cpu") / med("sfu", "seconds")) - 1
        lines.append("")
        lines.append(f"Recording adds **{cost * 100:.1f}%** to the hub's CPU (median cores, recorded / not; runs "
                     "alternate between the modes).")
    if "sfu" in results and "archive" in results:
        slower = med("archive", "us_per_packet") / med("sfu", "us_per_packet") - 1
        delivered = med("archive", "decoded_fps") / med("sfu", "decoded_fps")
        lines.append("")
        lines.append(f"With an archive job composing on the same machine: hub CPU per packet {slower * 100:+.1f}%, "
                     f"frames delivered to the clients {delivered * 100:.1f}% of those without.")
    return "\n".join(lines)


async def hub_main(args: argparse.Namespace) -> None:
    results: dict[str, list[RunResult]] = {mode: [] for mode in args.modes}
    with tempfile.TemporaryDirectory() as tmp:
        if args.passthrough:
            args.sample = os.path.join(tmp, "sample.webm")
            encode_sample(
                args.sample,
                width=args.width,
                height=args.height,
                fps=args.fps,
                # longer than a client lives (start-up deadline included): the file plays once
                seconds=START_DEADLINE + 30 + args.warmup + args.seconds,
                bitrate=args.bitrate,
            )
        if "archive" in args.modes:
            args.archive_manifest = await asyncio.to_thread(write_recording, Path(tmp) / "archive")
        await run_all(results, args)
    command = "python -m bench.sfu_forwarding " + " ".join(sys.argv[1:])
    if args.passthrough:
        media = (
            f"a pre-encoded file sent as it is: VP8 {args.width}x{args.height} @ {args.fps} fps, "
            f"{args.bitrate // 1000} kbit/s, key frame every second, + Opus; clients count frames "
            "from RTP without decoding"
        )
    else:
        media = f"VP8 {args.width}x{args.height} @ {args.fps} fps + Opus, encoded live; clients decode"
    report = (
        f"Machine: {machine_info()}\n\n"
        f"Command: `{command}`\n\n"
        f"Topology: {args.publishers} publishers ({media}), "
        f"{args.subscribers} receive-only subscribers; every participant receives every other publisher. "
        f"Medians of {args.runs} runs of {args.seconds:g} s after {args.warmup:g} s warm-up."
        + (" Recorded: the hub's recorder (signaling/recorder.py) writes every published track, depacketized, "
           "to its own WebM file on the local disk (its writer thread counts in the hub's CPU)."
           if "record" in args.modes else "")
        + (" Archive job: `python -m hub.recordings.compose` at nice 10 composing a 60 s recording of 9 cameras "
           "(640x360) into 1280x720, running through the whole measurement (its own CPU is not the hub's)."
           if "archive" in args.modes else "")
        + "\n\n"
        + table(results, args)
        + "\n"
    )
    print()
    print(report)
    if args.write:
        recording = "record" in args.modes or "archive" in args.modes
        heading = "## Recording: hub CPU with recording on and off" if recording else "## SFU forwarding"
        write_section(args.write, heading, report)


async def run_all(results: dict[str, list[RunResult]], args: argparse.Namespace) -> None:
    for run in range(args.runs):
        for mode in args.modes:
            result = await run_once(mode, args)
            results[mode].append(result)
            print(
                f"run {run + 1} {mode}: {result.packets_per_second:.0f} pkt/s, "
                f"{result.us_per_packet:.1f} us/pkt, {result.cpu_percent_per_stream:.2f} %CPU/stream, "
                f"{result.streams} streams, {result.decoded_fps:.0f} frames/s at the clients",
                flush=True,
            )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--subscribers", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument(
        "--passthrough",
        action="store_true",
        help="publishers send a pre-encoded file without encoding, clients count frames without decoding "
        "(the load generator then keeps up with meeting-sized packet rates)",
    )
    parser.add_argument("--bitrate", type=int, default=1_000_000, help="video bit/s of the --passthrough file")
    parser.add_argument("--modes", nargs="+", default=["sfu", "relay"],
                        choices=["sfu", "relay", "record", "archive"],
                        help="record: the SFU with every published track recorded; archive: the SFU while an "
                             "archive job composes a 9-camera recording next to it")
    parser.add_argument("--write", help="markdown file to put the results in (section '## SFU forwarding', or "
                                        "'## Recording: hub CPU' when the modes include record)")
    parser.add_argument(
        "--queued-receive",
        action="store_true",
        help="SFU: keep aiortc's queued receive path (for comparison)",
    )
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest hub functions per run")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--socket", help=argparse.SUPPRESS)
    parser.add_argument("--sample", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publishers < 1 or args.subscribers < 0 or args.runs < 1 or args.seconds <= 0:
        parser.error("need at least one publisher, one run and a positive duration")
    return args


def main() -> None:
    args = parse_args()
    asyncio.run(client_main(args) if args.client else hub_main(args))


if __name__ == "__main__":
    main()
