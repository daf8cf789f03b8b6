// A latency histogram in the manner of HdrHistogram: log-linear buckets, 128 per power of two
// (relative error under 0.8 %), fixed memory, mergeable. Values are integer nanoseconds; values
// of 2^32 ns (4.3 s) or more land in the last bucket and the exact maximum is kept aside.

const SUB_BUCKET_BITS = 7;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS; // 128
const LINEAR_LIMIT = SUB_BUCKETS * 2; // values below 256 ns have a bucket each
const MAX_EXPONENT = 31;
export const BUCKET_COUNT = (MAX_EXPONENT - SUB_BUCKET_BITS + 2) * SUB_BUCKETS; // 3328

/** Sparse form for JSON: [bucket index, count] pairs of the non-empty buckets. */
export type SparseBuckets = Array<[number, number]>;

export function bucketOf(valueNs: number): number {
  const v = valueNs < 0 ? 0 : valueNs >= 0xffffffff ? 0xffffffff : Math.floor(valueNs);
  if (v < LINEAR_LIMIT) return v;
  const exponent = 31 - Math.clz32(v);
  const shift = exponent - SUB_BUCKET_BITS;
  return (shift + 1) * SUB_BUCKETS + Math.floor(v / 2 ** shift) - SUB_BUCKETS;
}

/** The middle of a bucket's range, in nanoseconds. */
export function bucketMiddleNs(index: number): number {
  if (index < LINEAR_LIMIT) return index;
  const shift = Math.floor(index / SUB_BUCKETS) - 1;
  const low = ((index % SUB_BUCKETS) + SUB_BUCKETS) * 2 ** shift;
  return low + 2 ** shift / 2;
}

export class LatencyHistogram {
  readonly counts = new Float64Array(BUCKET_COUNT);
  total = 0;
  maxNs = 0;

  record(valueNs: number): void {
    this.counts[bucketOf(valueNs)]++;
    this.total++;
    if (valueNs > this.maxNs) this.maxNs = valueNs;
  }

  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKET_COUNT; i++) this.counts[i] += other.counts[i];
    this.total += other.total;
    this.maxNs = Math.max(this.maxNs, other.maxNs);
  }

  /** The value at `percentile` (0..100] in nanoseconds: the bucket middle, capped at the max. */
  percentileNs(percentile: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((percentile / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(bucketMiddleNs(i), this.maxNs);
    }
    return this.maxNs;
  }

  toSparse(): SparseBuckets {
    const sparse: SparseBuckets = [];
    for (let i = 0; i < BUCKET_COUNT; i++) if (this.counts[i] > 0) sparse.push([i, this.counts[i]]);
    return sparse;
  }

  static fromSparse(sparse: SparseBuckets, maxNs: number): LatencyHistogram {
    const histogram = new LatencyHistogram();
    for (const [index, count] of sparse) {
      histogram.counts[index] += count;
      histogram.total += count;
    }
    histogram.maxNs = maxNs;
    return histogram;
  }
}
