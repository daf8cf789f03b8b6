// The one NativeRing a process shares between its image files. One ring for every LUN means
// the requests of all devices made in one tick go to the kernel in one io_uring_enter, and one
// completion thread serves them all; the ring is opened by the first device and closed when
// the last one closes. Its 64 KiB slabs (registered with io_uring) are the bounce buffers for
// caller memory that O_DIRECT cannot take as it is; a caller waits in FIFO order when all are
// in use, so bounce memory stays bounded.
import { NativeRing } from "./native.ts";

/** Queue size of the shared ring: requests beyond it wait in NativeRing's FIFO. */
export const SHARED_RING_ENTRIES = 512;
/** 64 KiB slabs: 8 MiB of bounce memory for the whole process. */
export const SHARED_RING_SLABS = 128;

export class SharedRing {
  private users = 0;
  private readonly slabWaiters: ((slab: Buffer) => void)[] = [];

  constructor(readonly ring: NativeRing) {}

  get slabSizeBytes(): number {
    return this.ring.slabs?.slabSizeBytes ?? 0;
  }

  /** A free slab, waiting for one if all are in use; undefined when the ring has no slabs. */
  acquireSlab(): Buffer | Promise<Buffer> | undefined {
    const slabs = this.ring.slabs;
    if (slabs === undefined) return undefined;
    const slab = slabs.acquire();
    if (slab !== undefined) return slab;
    return new Promise((resolve) => this.slabWaiters.push(resolve));
  }

  /** Only after every request using the slab has completed; hands it to the oldest waiter. */
  releaseSlab(slab: Buffer): void {
    const waiter = this.slabWaiters.shift();
    if (waiter !== undefined) waiter(slab);
    else this.ring.slabs!.release(slab);
  }

  /** @internal */
  addUser(): void {
    this.users++;
  }

  /** @internal Returns true when this was the last user. */
  removeUser(): boolean {
    return --this.users === 0;
  }
}

let current: SharedRing | undefined;

/** The process's ring, opened on first use (TWINSAN_NO_IO_URING=1 selects the thread pool). */
export function acquireSharedRing(): SharedRing {
  current ??= new SharedRing(
    NativeRing.open({ entries: SHARED_RING_ENTRIES, slabCount: SHARED_RING_SLABS }),
  );
  current.addUser();
  return current;
}

/** Each acquire once; the last release closes the ring (in-flight requests complete first). */
export async function releaseSharedRing(shared: SharedRing): Promise<void> {
  if (!shared.removeUser()) return;
  if (current === shared) current = undefined; // the next acquire opens a fresh ring
  await shared.ring.close();
}
