// Orders the cache's backing I/O on overlapping block ranges: an operation waits for every
// earlier overlapping one still in flight (reads do not wait for reads). The backing device may
// complete requests in any order, so without this two flushes of one block could land oldest
// last, or a read miss could fetch data older than a write it must observe.
import assert from "node:assert/strict";

export type IoKind = "read" | "write";

/** Ends the operation's hold on its range; call exactly once, after the backing I/O settled. */
export type ReleaseIo = () => void;

interface InFlightIo {
  firstBlock: number;
  endBlock: number;
  kind: IoKind;
  done: Promise<void>;
}

export class IoOrder {
  /** In registration order. Bounded by the I/O the cache has in flight. */
  private readonly inFlight = new Set<InFlightIo>();

  get size(): number {
    return this.inFlight.size;
  }

  /**
   * Registers the operation now (so later ones wait for it) and resolves once every earlier
   * overlapping operation has released its range.
   */
  async enter(firstBlock: number, endBlock: number, kind: IoKind): Promise<ReleaseIo> {
    assert.ok(firstBlock < endBlock, "empty I/O range");
    const earlier: Promise<void>[] = [];
    for (const io of this.inFlight) {
      const overlaps = io.firstBlock < endBlock && firstBlock < io.endBlock;
      if (overlaps && (io.kind === "write" || kind === "write")) earlier.push(io.done);
    }
    let markDone = (): void => {};
    const done = new Promise<void>((resolve) => { markDone = resolve; });
    const entry: InFlightIo = { firstBlock, endBlock, kind, done };
    this.inFlight.add(entry);
    await Promise.all(earlier);
    let released = false;
    return () => {
      assert.ok(!released, "I/O range released twice");
      released = true;
      this.inFlight.delete(entry);
      markDone();
    };
  }
}
