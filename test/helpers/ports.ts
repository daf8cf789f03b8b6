// Free TCP ports on loopback, chosen by the OS: listen on port 0, read the port, close.
// Ports handed out by this process are remembered so two calls never return the same port.
import { createServer } from "node:net";

export const LOOPBACK_HOST = "127.0.0.1";

const portsHandedOut = new Set<number>();

function askOsForPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host: LOOPBACK_HOST, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error(`unexpected listen address ${String(address)}`));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** A loopback TCP port nobody listened on a moment ago and this process has not handed out. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await askOsForPort();
    if (!portsHandedOut.has(port)) {
      portsHandedOut.add(port);
      return port;
    }
  }
  throw new Error("the OS kept offering ports this process already handed out");
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let index = 0; index < count; index++) ports.push(await freePort());
  return ports;
}
