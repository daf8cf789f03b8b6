// Per-logical-unit lock on ranges of blocks. Commands that change blocks (WRITE, WRITE SAME, UNMAP,
// WRITE AND VERIFY, COMPARE AND WRITE) hold an exclusive lease on their range; reads hold a shared
// one. Overlapping requests are granted strictly in arrival order: a request waits for every
// earlier request it conflicts with, granted or still waiting, so nobody starves.

import assert from "node:assert/strict";

export type LockMode = "shared" | "exclusive";

export interface LockedRange {
  readonly lba: number;
  readonly blocks: number;
}

export interface RangeLease extends LockedRange {
  readonly mode: LockMode;
  /** False once released; a released lease must not be used for I/O. */
  readonly held: boolean;
  release(): void;
}

interface Request extends LockedRange {
  readonly mode: LockMode;
  readonly released: Promise<void>;
}

function overlaps(a: LockedRange, b: LockedRange): boolean {
  return a.lba < b.lba + b.blocks && b.lba < a.lba + a.blocks;
}

function conflicts(a: Request, b: Request): boolean {
  return (a.mode === "exclusive" || b.mode === "exclusive") && overlaps(a, b);
}

/** True when the lease is held and spans every block of `range`. */
export function leaseCovers(lease: RangeLease, range: LockedRange): boolean {
  return lease.held && lease.lba <= range.lba &&
    range.lba + range.blocks <= lease.lba + lease.blocks;
}

export class RangeLock {
  /** Granted and waiting requests; a Set iterates in insertion, i.e. arrival, order. */
  private readonly requests = new Set<Request>();

  /** Requests granted or waiting; for tests and diagnostics. */
  get pending(): number {
    return this.requests.size;
  }

  /** Queues the request now (arrival order is the call order) and resolves once it is granted. */
  acquire(range: LockedRange, mode: LockMode): Promise<RangeLease> {
    assert.ok(Number.isSafeInteger(range.lba) && range.lba >= 0, "lock range LBA");
    assert.ok(Number.isSafeInteger(range.blocks) && range.blocks > 0, "lock range length");
    let signalRelease = () => {};
    const request: Request = {
      lba: range.lba,
      blocks: range.blocks,
      mode,
      released: new Promise<void>((resolve) => { signalRelease = resolve; }),
    };
    const earlier = [...this.requests].filter((other) => conflicts(other, request));
    this.requests.add(request);
    let held = true;
    const lease: RangeLease = {
      lba: range.lba,
      blocks: range.blocks,
      mode,
      get held() {
        return held;
      },
      release: () => {
        assert.ok(held, "range lease released twice");
        held = false;
        this.requests.delete(request);
        signalRelease();
      },
    };
    if (earlier.length === 0) return Promise.resolve(lease);
    return Promise.all(earlier.map((other) => other.released)).then(() => lease);
  }

  /** Runs `work` holding a lease on `range`, released however `work` ends. */
  async run<T>(
    range: LockedRange,
    mode: LockMode,
    work: (lease: RangeLease) => Promise<T>,
  ): Promise<T> {
    const lease = await this.acquire(range, mode);
    try {
      return await work(lease);
    } finally {
      lease.release();
    }
  }
}
