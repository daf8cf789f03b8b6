// Round-trip time to a partner: the time a TCP connect takes (SYN out, SYN-ACK back), sampled
// several times. Only to the addresses the admin names.

import { lookup } from "node:dns/promises";
import { connect } from "node:net";

export const DEFAULT_PARTNER_PORT = 3260;

export interface PartnerAddress {
  host: string;
  port: number;
}

/** "host", "host:port", "[v6]" or "[v6]:port"; undefined when it is none of them. */
export function parsePartnerAddress(text: string): PartnerAddress | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:\s]+))(?::(\d{1,5}))?$/.exec(text);
  if (!match) return undefined;
  const port = match[3] === undefined ? DEFAULT_PARTNER_PORT : Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1] ?? match[2], port };
}

/** `samples` TCP connect times in ms; throws naming the partner if it cannot be reached. */
export async function measureConnectRttMs(
  partner: PartnerAddress,
  samples: number,
  timeoutMs: number,
): Promise<number[]> {
  // Resolved once, so that no sample includes a DNS lookup.
  let address: string;
  try {
    ({ address } = await lookup(partner.host));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`cannot resolve partner "${partner.host}" (${reason})`);
  }
  const rttsMs: number[] = [];
  for (let sample = 0; sample < samples; sample++) {
    rttsMs.push(await timeConnectMs(address, partner.port, timeoutMs));
  }
  return rttsMs;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("bug: median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function timeConnectMs(host: string, port: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const startMs = performance.now();
    const socket = connect({ host, port });
    socket.setTimeout(timeoutMs);
    socket.once("connect", () => {
      const elapsedMs = performance.now() - startMs;
      socket.destroy();
      resolve(elapsedMs);
    });
    socket.once("timeout", () => {
      socket.destroy();
      reject(new Error(`partner ${host}:${port} did not answer in ${timeoutMs} ms`));
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      reject(new Error(`cannot reach partner ${host}:${port} (${error.code ?? error.message})`));
    });
  });
}
