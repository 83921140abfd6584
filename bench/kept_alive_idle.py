#!/usr/bin/env python3
"""Idle streams opened as the SECOND request on a kept-alive connection (what
browsers and nginx's upstream keep-alive pool do): server RSS per held stream.

Each client sends `GET /healthz`, reads the answer, then on the same socket
`GET /api/v1/events?topics=announcements`, and holds the stream. Server RSS is
read from /proc/PID/status before and after (as `pointcast-bench idle` does).

    python3 bench/kept_alive_idle.py --url 127.0.0.1:8080 --server-pid PID -n 1000

Added by the edge engineer beside the Rust load generator (which opens every
stream on a fresh connection); it builds nothing.
"""
import argparse, asyncio, time


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


async def client(host, port, held, opened):
    r, w = await asyncio.open_connection(host, port)
    w.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await r.readuntil(b"\r\n\r\n")
    length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length"))
    await r.readexactly(length)
    w.write(b"GET /api/v1/events?topics=announcements HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
    await r.readuntil(b"event: stream.open")
    opened.append(1)
    held.append((r, w))


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", default="127.0.0.1:8080")
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("-n", type=int, default=1000)
    p.add_argument("--hold-secs", type=int, default=5)
    a = p.parse_args()
    host, port = a.url.rsplit(":", 1)
    before = rss_kb(a.server_pid)
    held, opened = [], []
    sem = asyncio.Semaphore(200)

    async def one():
        async with sem:
            await client(host, int(port), held, opened)

    await asyncio.gather(*(one() for _ in range(a.n)))
    await asyncio.sleep(a.hold_secs)
    after = rss_kb(a.server_pid)
    print(f"kept-alive idle {a.n}: held {len(opened)}; server RSS {before} -> {after} kB: "
          f"{(after - before) * 1024 / max(1, len(opened)):.0f} bytes per held stream")
    for _, w in held:
        w.close()


asyncio.run(main())
