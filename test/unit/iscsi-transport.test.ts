import { describe, expect, it } from "vitest";
import type { Socket } from "bun";
import { BunSocketTransport } from "../../src/iscsi/transport.ts";

/** Takes at most `budget` bytes per write until refilled, like a socket with a full buffer. */
class FakeSocket {
  readonly writes: Buffer[] = [];
  budget = Number.POSITIVE_INFINITY;
  ended = false;
  remoteAddress = "127.0.0.1";
  write(data: Buffer): number {
    const taken = Math.min(data.length, this.budget);
    this.budget -= taken;
    if (taken > 0) this.writes.push(Buffer.from(data.subarray(0, taken)));
    return taken;
  }
  end(): void { this.ended = true; }
  terminate(): void { this.ended = true; }
  get bytes(): Buffer { return Buffer.concat(this.writes); }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function transportOver(socket: FakeSocket): BunSocketTransport {
  return new BunSocketTransport(socket as unknown as Socket<unknown>);
}

describe("BunSocketTransport", () => {
  it("joins the small parts of one tick into one write and keeps large parts as views", async () => {
    const socket = new FakeSocket();
    const transport = transportOver(socket);
    const large = Buffer.alloc(64 * 1024, 7);
    transport.send([Buffer.alloc(48, 1), Buffer.alloc(512, 2)]);
    transport.send([Buffer.alloc(48, 3), large]);
    transport.send([Buffer.alloc(48, 4)]);
    expect(socket.writes).toHaveLength(0);
    await tick();
    expect(socket.writes.map((w) => w.length)).toEqual([48 + 512 + 48, 64 * 1024, 48]);
    expect(socket.bytes).toEqual(Buffer.concat([Buffer.alloc(48, 1), Buffer.alloc(512, 2),
      Buffer.alloc(48, 3), large, Buffer.alloc(48, 4)]));
  });

  it("keeps the untaken tail and resumes on drain, in order", async () => {
    const socket = new FakeSocket();
    socket.budget = 100;
    const transport = transportOver(socket);
    const payload = Buffer.from(Array.from({ length: 40_000 }, (_, i) => i % 251));
    transport.send([payload.subarray(0, 30_000)]);
    transport.send([payload.subarray(30_000)]);
    let drained = false;
    void transport.drained().then(() => { drained = true; });
    await tick();
    expect(transport.queuedBytes).toBe(40_000 - 100);
    transport.send([Buffer.from([1, 2, 3])]);
    await tick();
    expect(socket.bytes.length).toBe(100);
    expect(drained).toBe(false);
    socket.budget = Number.POSITIVE_INFINITY;
    transport.onDrain();
    await tick();
    expect(drained).toBe(true);
    expect(socket.bytes).toEqual(Buffer.concat([payload, Buffer.from([1, 2, 3])]));
    expect(transport.queuedBytes).toBe(0);
  });

  it("ends after the queue is written and drops everything on destroy", async () => {
    const socket = new FakeSocket();
    const transport = transportOver(socket);
    transport.send([Buffer.alloc(10)]);
    transport.end();
    expect(socket.ended).toBe(false);
    await tick();
    expect(socket.ended).toBe(true);
    expect(socket.bytes.length).toBe(10);
    const other = new FakeSocket();
    const destroyed = transportOver(other);
    destroyed.send([Buffer.alloc(10)]);
    destroyed.destroy();
    await tick();
    expect(other.writes).toHaveLength(0);
    expect(destroyed.queuedBytes).toBe(0);
  });
});
