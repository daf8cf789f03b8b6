// Progress on stderr while the bench runs: which row and system, elapsed time, time left
// (from the measurements still to do and the mean time of those done).
import type { BenchRow } from "./schema.ts";
import type { RowPlan, SystemId } from "./workloads.ts";

export interface Progress {
  note(text: string): void;
  startMeasurement(plan: RowPlan, system: SystemId, round: number): void;
  endMeasurement(): void;
  rowDone(row: BenchRow): void;
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export class ConsoleProgress implements Progress {
  private readonly startedMs = performance.now();
  private measurementsDone = 0;
  private measuringSinceMs = 0;
  private measuringMsTotal = 0;
  private rowIndex = 0;

  constructor(
    private readonly rowCount: number,
    private readonly rounds: number,
    private readonly systemCount: number,
    /** Seconds a measurement is planned to take, for the estimate before any is done. */
    private readonly plannedSeconds: number,
    private readonly write: (line: string) => void = (line) => process.stderr.write(line),
  ) {}

  note(text: string): void {
    this.write(`bench: ${text}\n`);
  }

  startMeasurement(plan: RowPlan, system: SystemId, round: number): void {
    if (round === 0 && system === "limit") this.rowIndex++;
    this.measuringSinceMs = performance.now();
    const total = this.rowCount * this.rounds * this.systemCount;
    const eachSeconds = this.measurementsDone > 0
      ? this.measuringMsTotal / 1000 / this.measurementsDone : this.plannedSeconds;
    const left = (total - this.measurementsDone) * eachSeconds;
    const elapsed = (performance.now() - this.startedMs) / 1000;
    this.write(`[row ${this.rowIndex}/${this.rowCount}] ${plan.label} (${plan.client}) ` +
      `${system} round ${round + 1}/${this.rounds} | ${clock(elapsed)} elapsed, ` +
      `~${clock(left)} left\n`);
  }

  endMeasurement(): void {
    this.measurementsDone++;
    this.measuringMsTotal += performance.now() - this.measuringSinceMs;
  }

  rowDone(row: BenchRow): void {
    const iops = (system: string) =>
      Math.round(row.results.find((r) => r.system === system)?.iops ?? 0);
    const ratio = row.ratios.twinsanOverPeer;
    this.write(`  => limit ${iops("limit")} | tgt ${iops("tgt")} | twinsan ${iops("twinsan")} ` +
      `IOPS, twinsan/tgt ${ratio === null ? "-" : ratio.toFixed(2)}\n`);
  }
}
