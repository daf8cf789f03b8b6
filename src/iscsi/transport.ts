// The byte transport under one iSCSI connection. TCP today; an RDMA (iSER) transport can fill the
// same interface later. Parts queued in one tick go out together at the end of it: runs of small
// parts (headers, short payloads) are joined into one write, large payload views are written as
// they are, so a syscall carries many PDUs and big payload bytes are never copied.
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

/** Parts up to this size are joined with their neighbours; larger ones go out as views. */
const JOIN_PART_MAX_BYTES = 16 * 1024;
/** Upper bound of one joined write. */
const JOIN_RUN_MAX_BYTES = 256 * 1024;

/** Bun.listen socket wrapper: Bun's write() returns the bytes the kernel took and keeps nothing. */
export class BunSocketTransport implements PduTransport {
  private readonly queue: Buffer[] = [];
  private queuedByteCount = 0;
  private drainWaiters: Array<() => void> = [];
  private flushScheduled = false;
  /** The kernel did not take everything: wait for Bun's drain event before writing again. */
  private blocked = false;
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
    for (const part of parts) {
      if (part.length === 0) continue;
      this.queue.push(part);
      this.queuedByteCount += part.length;
    }
    if (!this.flushScheduled && !this.blocked) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  drained(): Promise<void> {
    if (this.queue.length === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Bun's drain event: the socket takes bytes again. */
  onDrain(): void {
    this.blocked = false;
    this.flush();
  }

  end(): void {
    if (this.closed) return;
    this.ending = true;
    void this.drained().then(() => {
      if (this.closed) return;
      this.closed = true;
      this.socket.end();
    });
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropQueue();
    this.socket.terminate();
  }

  /** The socket closed underneath us. */
  markClosed(): void {
    this.closed = true;
    this.dropQueue();
  }

  private flush(): void {
    while (this.queue.length > 0 && !this.closed && !this.blocked) {
      const chunk = this.nextChunk();
      const written = this.socket.write(chunk);
      if (written < 0) return this.destroy();
      this.queuedByteCount -= written;
      if (written < chunk.length) {
        this.queue.unshift(chunk.subarray(written));
        this.blocked = true;
        return;
      }
    }
    if (this.queue.length === 0) this.settleDrained();
  }

  /** Takes the next write off the queue: one large part, or a joined run of small ones. */
  private nextChunk(): Buffer {
    const head = this.queue.shift()!;
    if (head.length > JOIN_PART_MAX_BYTES || this.queue.length === 0 ||
      this.queue[0].length > JOIN_PART_MAX_BYTES) {
      return head;
    }
    const run = [head];
    let runBytes = head.length;
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (next.length > JOIN_PART_MAX_BYTES || runBytes + next.length > JOIN_RUN_MAX_BYTES) break;
      run.push(this.queue.shift()!);
      runBytes += next.length;
    }
    return Buffer.concat(run, runBytes);
  }

  private dropQueue(): void {
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
