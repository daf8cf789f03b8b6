// A simulated backing device for the cache tests: in memory, seeded, with random latency (so
// completions come back in any order), injectable write failures, and a record of what is
// durable (survives a power loss) apart from what a read sees.
import type {
  AllocationExtent,
  BlockDevice,
  WriteOptions,
} from "../../src/device/block-device.ts";

/** mulberry32: a small seeded generator, so every run of a seed is the same run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimDeviceOptions {
  sizeBytes: number;
  blockSizeBytes: 512 | 4096;
  seed: number;
  /** Most event-loop turns an operation takes (each turn a setImmediate). */
  maxLatencyTurns?: number;
  /** Thin: offers unmap and allocationMap; a write allocates, an unmap deallocates. */
  thin?: boolean;
}

export interface SimCall {
  op: "read" | "write" | "flush" | "unmap" | "map";
  offsetBytes: number;
  lengthBytes: number;
  fua: boolean;
}

interface LandedWrite {
  offsetBytes: number;
  data: Buffer;
  seq: number;
}

export class SimDevice implements BlockDevice {
  readonly blockSizeBytes: number;
  readonly sizeBytes: number;
  readonly unmap?: (offsetBytes: number, lengthBytes: number) => Promise<void>;
  readonly allocationMap?: (offsetBytes: number, lengthBytes: number) =>
    Promise<AllocationExtent[]>;
  /** What reads return. */
  readonly visible: Buffer;
  /** What survives a power loss: written with FUA, or written before a completed flush. */
  readonly durable: Buffer;
  readonly calls: SimCall[] = [];
  /** Probability that a write fails (it then lands wholly or not at all). */
  writeFailureRate = 0;
  closed = false;
  inFlight = 0;
  maxInFlight = 0;
  private readonly random: () => number;
  private readonly maxLatencyTurns: number;
  /** Completed writes not yet durable, oldest first; seq orders them by landing. */
  private volatileWrites: LandedWrite[] = [];
  private landedWrites = 0;
  /** Per block, the seq of the write the durable copy holds: an older one never replaces it. */
  private readonly durableSeqs: Float64Array;
  /** Per block, 1 once written, 0 again once unmapped. */
  private readonly mapped: Uint8Array;

  constructor(options: SimDeviceOptions) {
    this.blockSizeBytes = options.blockSizeBytes;
    this.sizeBytes = options.sizeBytes;
    this.visible = Buffer.alloc(options.sizeBytes);
    this.durable = Buffer.alloc(options.sizeBytes);
    this.durableSeqs = new Float64Array(options.sizeBytes / options.blockSizeBytes);
    this.mapped = new Uint8Array(options.sizeBytes / options.blockSizeBytes);
    this.random = seededRandom(options.seed);
    this.maxLatencyTurns = options.maxLatencyTurns ?? 4;
    if (options.thin) {
      this.unmap = (offset, length) => this.unmapRange(offset, length);
      this.allocationMap = (offset, length) => this.mapOf(offset, length);
    }
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    this.begin({ op: "read", offsetBytes, lengthBytes, fua: false });
    try {
      // The data is taken at a random moment between submission and completion.
      await this.latency();
      const data = Buffer.from(this.visible.subarray(offsetBytes, offsetBytes + lengthBytes));
      await this.latency();
      return data;
    } finally {
      this.inFlight--;
    }
  }

  async write(offsetBytes: number, data: Buffer, options: WriteOptions = {}): Promise<void> {
    const fua = options.fua === true;
    this.begin({ op: "write", offsetBytes, lengthBytes: data.length, fua });
    const copy = Buffer.from(data);
    try {
      await this.latency();
      const fails = this.random() < this.writeFailureRate;
      if (!fails || this.random() < 0.5) this.land(offsetBytes, copy, fua);
      await this.latency();
      if (fails) throw new Error(`simulated write failure at ${offsetBytes}`);
    } finally {
      this.inFlight--;
    }
  }

  async flush(): Promise<void> {
    this.begin({ op: "flush", offsetBytes: 0, lengthBytes: 0, fua: false });
    try {
      const landedBeforeFlush = this.landedWrites;
      await this.latency();
      const toPersist = this.volatileWrites.filter((write) => write.seq <= landedBeforeFlush);
      this.volatileWrites = this.volatileWrites.filter((write) => write.seq > landedBeforeFlush);
      for (const write of toPersist) this.persist(write);
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  callsOf(op: SimCall["op"]): SimCall[] {
    return this.calls.filter((call) => call.op === op);
  }

  private async unmapRange(offsetBytes: number, lengthBytes: number): Promise<void> {
    this.begin({ op: "unmap", offsetBytes, lengthBytes, fua: false });
    try {
      await this.latency();
      this.land(offsetBytes, Buffer.alloc(lengthBytes), false);
      this.mapped.fill(0, offsetBytes / this.blockSizeBytes,
        (offsetBytes + lengthBytes) / this.blockSizeBytes);
    } finally {
      this.inFlight--;
    }
  }

  private async mapOf(offsetBytes: number, lengthBytes: number): Promise<AllocationExtent[]> {
    this.begin({ op: "map", offsetBytes, lengthBytes, fua: false });
    try {
      await this.latency();
      const size = this.blockSizeBytes;
      const extents: AllocationExtent[] = [];
      for (let block = offsetBytes / size; block < (offsetBytes + lengthBytes) / size; block++) {
        const mapped = this.mapped[block] === 1;
        const last = extents.at(-1);
        if (last && last.mapped === mapped) last.lengthBytes += size;
        else extents.push({ offsetBytes: block * size, lengthBytes: size, mapped });
      }
      return extents;
    } finally {
      this.inFlight--;
    }
  }

  private land(offsetBytes: number, data: Buffer, fua: boolean): void {
    data.copy(this.visible, offsetBytes);
    this.mapped.fill(1, offsetBytes / this.blockSizeBytes,
      (offsetBytes + data.length) / this.blockSizeBytes);
    const write = { offsetBytes, data, seq: ++this.landedWrites };
    if (fua) this.persist(write);
    else this.volatileWrites.push(write);
  }

  private persist(write: LandedWrite): void {
    const size = this.blockSizeBytes;
    const firstBlock = write.offsetBytes / size;
    for (let i = 0; i < write.data.length / size; i++) {
      if (this.durableSeqs[firstBlock + i] > write.seq) continue;
      this.durableSeqs[firstBlock + i] = write.seq;
      write.data.copy(this.durable, write.offsetBytes + i * size, i * size, (i + 1) * size);
    }
  }

  private begin(call: SimCall): void {
    if (this.closed) throw new Error("sim device is closed");
    const { offsetBytes, lengthBytes } = call;
    if (offsetBytes % this.blockSizeBytes !== 0 || lengthBytes % this.blockSizeBytes !== 0 ||
      offsetBytes + lengthBytes > this.sizeBytes) {
      throw new RangeError(`sim device: bad range ${offsetBytes}+${lengthBytes}`);
    }
    this.calls.push(call);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
  }

  private async latency(): Promise<void> {
    const turns = Math.floor(this.random() * (this.maxLatencyTurns + 1));
    for (let turn = 0; turn < turns; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
