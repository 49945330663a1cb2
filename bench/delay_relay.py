#!/usr/bin/python3
"""make bench's network model: a TCP relay on 127.0.0.1 in front of the local endpoint that
delays every chunk of bytes, each way, by half the round trip (--rtt-ms), handshakes included,
as a network path to AWS does. A connection's first bytes to the endpoint wait one round trip
more: the client's TCP handshake (connect() to this relay returns at once; across a network the
SYN and SYN-ACK take a round trip before the first byte can leave).

Why not `tc netem` in a network namespace: this machine's kernel has no netem (and no fq for
eBPF departure times): CONFIG_NET_SCH_NETEM is not set and modules cannot be loaded. A
namespace without a delay qdisc adds nothing measurable, so the delay is modelled here. Bytes
pass through unchanged (the TLS is end to end between the client and the endpoint).

usage: delay_relay.py --target-port PORT --rtt-ms MS
Prints "READY <port>" once listening; stops on SIGTERM."""
import argparse
import asyncio
import signal
import sys


class Pipe:
    """One direction of one connection: chunks leave in order, each delay after it arrived
    (the first one extra later when first is set)."""

    def __init__(self, reader, writer, delay, first_extra):
        self.reader = reader
        self.writer = writer
        self.delay = delay
        self.first_extra = first_extra
        self.queue = asyncio.Queue()

    async def pump_in(self):
        loop = asyncio.get_running_loop()
        extra = self.first_extra
        while True:
            data = await self.reader.read(65536)
            self.queue.put_nowait((loop.time() + self.delay + extra, data))
            extra = 0.0
            if not data:
                return

    async def pump_out(self):
        loop = asyncio.get_running_loop()
        while True:
            due, data = await self.queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                try:
                    self.writer.write_eof()
                except (OSError, RuntimeError):
                    pass
                return
            self.writer.write(data)
            await self.writer.drain()


async def relay(client_r, client_w, args):
    try:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", args.target_port)
    except OSError:
        client_w.close()
        return
    half = args.rtt_ms / 2000.0
    pipes = [Pipe(client_r, up_w, half, 2 * half), Pipe(up_r, client_w, half, 0.0)]
    tasks = [asyncio.ensure_future(t) for p in pipes for t in (p.pump_in(), p.pump_out())]
    try:
        await asyncio.gather(*tasks)
    except (OSError, ConnectionError):
        pass
    finally:
        for t in tasks:
            t.cancel()
        for w in (client_w, up_w):
            w.close()


async def main_async(args):
    server = await asyncio.start_server(lambda r, w: relay(r, w, args), "127.0.0.1", args.port)
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target-port", type=int, required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--rtt-ms", type=float, required=True)
    asyncio.run(main_async(ap.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
