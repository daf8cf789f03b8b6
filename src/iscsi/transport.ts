// The byte transport under one iSCSI connection. TCP today; an RDMA (iSER) transport can fill the
// same interface later. Parts are written in order without joining them: a header and a payload
// view go out as two writes, so payload bytes are never copied to build a PDU.
import type { Socket } from "bun";

export interface PduTransport {
  readonly remoteAddress: string;
  /** Queues the parts in order; they are written as the socket takes them. */
  send(parts: readonly Buffer[]): void;
  /** Bytes queued but not yet taken by the kernel. */
  readonly queuedBytes: number;
  /** Resolves once everything queued so far has been taken by the kernel. */
  drained(): Promise<void>;
  /** Closes after the queued bytes are written (end), or at once (destroy). */
  end(): void;
  destroy(): void;
}

export interface SocketEvents {
  onData(chunk: Buffer): void;
  onClose(): void;
}

/** Bun.listen socket wrapper: Bun's write() returns the bytes the kernel took and keeps nothing. */
export class BunSocketTransport implements PduTransport {
  private readonly queue: Buffer[] = [];
  private queuedByteCount = 0;
  private drainWaiters: Array<() => void> = [];
  private ending = false;
  private closed = false;

  constructor(private readonly socket: Socket<unknown>) {}

  get remoteAddress(): string {
    return this.socket.remoteAddress;
  }

  get queuedBytes(): number {
    return this.queuedByteCount;
  }

  send(parts: readonly Buffer[]): void {
    if (this.closed || this.ending) return;
    const wasIdle = this.queue.length === 0;
    for (const part of parts) {
      if (part.length === 0) continue;
      this.queue.push(part);
      this.queuedByteCount += part.length;
    }
    if (wasIdle) this.flush();
  }

  drained(): Promise<void> {
    if (this.queue.length === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Called by the listener on Bun's drain event. */
  flush(): void {
    while (this.queue.length > 0 && !this.closed) {
      const head = this.queue[0];
      const written = this.socket.write(head);
      if (written < 0) return this.destroy();
      this.queuedByteCount -= written;
      if (written < head.length) {
        this.queue[0] = head.subarray(written);
        return;
      }
      this.queue.shift();
    }
    if (this.queue.length === 0) this.settleDrained();
  }

  end(): void {
    if (this.closed) return;
    this.ending = true;
    if (this.queue.length === 0) {
      this.closed = true;
      this.socket.end();
      return;
    }
    void this.drained().then(() => {
      if (this.closed) return;
      this.closed = true;
      this.socket.end();
    });
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.queuedByteCount = 0;
    this.socket.terminate();
    this.settleDrained();
  }

  /** The socket closed underneath us. */
  markClosed(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queuedByteCount = 0;
    this.settleDrained();
  }

  private settleDrained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
