// A well-behaved client next to a fuzzer: qemu-io processes, one iSCSI session each, writing
// byte patterns over a region and reading each one back at once; any error or wrong byte
// throws (see qemuIoChecked).
import { Prng } from "./prng.ts";
import { qemuIoChecked, readCommand, writeCommand, type PatternIo } from "./qemu.ts";

export interface HealthyWriterOptions {
  url: string;
  regionBytes: number; // I/O stays in [0, regionBytes)
  sectorBytes: number; // the LUN's block size: offsets are aligned to it or deliberately not
  pairsPerProcess: number; // write+read pairs per qemu-io process (one session)
  minPairs: number; // keep going at least until this many pairs completed
  keepGoing: () => boolean; // and while this says so
  processTimeoutMs: number;
}

export interface HealthyWriterStats {
  processes: number;
  pairs: number;
  bytesWritten: number;
}

const LENGTHS_BYTES = [512, 4096, 65536, 1 << 20];

function randomIo(prng: Prng, options: HealthyWriterOptions): PatternIo {
  const lengthBytes = prng.chance(0.8) ? prng.pick(LENGTHS_BYTES)
    : prng.between(1, 64) * 512 + (prng.chance(0.3) ? prng.between(1, 511) : 0);
  const alignment = prng.chance(0.8) ? options.sectorBytes : 1;
  const slots = Math.floor((options.regionBytes - lengthBytes) / alignment);
  return { pattern: prng.between(1, 255), offsetBytes: prng.int(slots) * alignment, lengthBytes };
}

export async function runHealthyWriter(
  prng: Prng,
  options: HealthyWriterOptions,
): Promise<HealthyWriterStats> {
  const stats: HealthyWriterStats = { processes: 0, pairs: 0, bytesWritten: 0 };
  while (stats.pairs < options.minPairs || options.keepGoing()) {
    const ios = Array.from({ length: options.pairsPerProcess }, () => randomIo(prng, options));
    const commands = ios.flatMap((io) => [writeCommand(io), readCommand(io)]);
    await qemuIoChecked(options.url, commands, options.processTimeoutMs);
    stats.processes++;
    stats.pairs += ios.length;
    stats.bytesWritten += ios.reduce((sum, io) => sum + io.lengthBytes, 0);
  }
  return stats;
}
