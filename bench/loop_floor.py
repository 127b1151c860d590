"""The floor under any asyncio forwarder on this machine: receive UDP datagrams, send each on N times.

No SRTP, no parsing, no Python of the SFU: only the event loop waking for a datagram, `recvfrom` and
`sendto`. What this costs per packet is what an SFU built on asyncio cannot go below; at low packet
rates the wake-up per datagram dominates it. A sender process paces datagrams (in bursts of --burst),
a sink process drains what the forwarder sends.

    python -m bench.loop_floor --rates 225 2000 --fanout 4
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import time

SENDER = """
import socket, sys, time
port, rate, burst = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data = bytes(1100)
t = time.monotonic()
while True:
    for _ in range(burst):
        s.sendto(data, ("127.0.0.1", port))
    t += burst / rate
    time.sleep(max(0.0, t - time.monotonic()))
"""

SINK = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    s.recv(2048)
"""


async def measure(rate: int, burst: int, fanout: int, seconds: float) -> tuple[float, float]:
    """(datagrams received per second, forwarder CPU µs per datagram sent on)."""
    loop = asyncio.get_running_loop()
    sink = await asyncio.create_subprocess_exec(sys.executable, "-c", SINK, stdout=asyncio.subprocess.PIPE)
    assert sink.stdout is not None
    target = ("127.0.0.1", int(await sink.stdout.readline()))
    received = 0

    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.setblocking(False)
    send = out.sendto

    class Forwarder(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            nonlocal received
            received += 1
            for _ in range(fanout):
                send(data, target)

    transport, _ = await loop.create_datagram_endpoint(Forwarder, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    sender = await asyncio.create_subprocess_exec(sys.executable, "-c", SENDER, str(port), str(rate), str(burst))
    try:
        await asyncio.sleep(2)
        cpu, count = time.process_time(), received
        await asyncio.sleep(seconds)
        cpu, count = time.process_time() - cpu, received - count
    finally:
        for child in (sender, sink):
            child.kill()
            await child.wait()
        transport.close()
        out.close()
    return count / seconds, cpu / max(1, count * max(1, fanout)) * 1e6


async def main(args: argparse.Namespace) -> None:
    print("| datagrams/s in | burst | sent on to | forwarder CPU µs per datagram sent | runs |")
    print("|---:|---:|---:|---:|---:|")
    for rate in args.rates:
        runs = [await measure(rate, args.burst, args.fanout, args.seconds) for _ in range(args.runs)]
        per_packet = statistics.median(r[1] for r in runs)
        received = statistics.median(r[0] for r in runs)
        print(f"| {received:.0f} | {args.burst} | {args.fanout} | {per_packet:.1f} | {args.runs} |", flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=int, nargs="+", default=[225, 2000])
    parser.add_argument("--burst", type=int, default=1)
    parser.add_argument("--fanout", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
