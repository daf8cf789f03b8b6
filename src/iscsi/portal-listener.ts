// Accepts iSCSI connections on one portal (address:port) with Bun.listen.
import type { PortalConfig } from "../mgmt/config.ts";
import { log } from "../mgmt/log.ts";
import { Connection } from "./connection.ts";
import type { IscsiNodeContext } from "./target-runtime.ts";
import { BunSocketTransport } from "./transport.ts";

interface SocketState {
  connection: Connection;
  transport: BunSocketTransport;
}

export interface PortalListener {
  readonly portal: PortalConfig;
  readonly connections: ReadonlySet<Connection>;
  /** Stops accepting; open connections are left to the caller. */
  stopAccepting(): void;
}

export function listenOnPortal(portal: PortalConfig, ctx: IscsiNodeContext): PortalListener {
  const connections = new Set<Connection>();
  const server = Bun.listen<SocketState>({
    hostname: portal.address,
    port: portal.port,
    socket: {
      open(socket) {
        socket.setNoDelay(true);
        const transport = new BunSocketTransport(socket);
        const connection = new Connection(transport, ctx, portal);
        socket.data = { connection, transport };
        connections.add(connection);
      },
      data(socket, chunk) {
        socket.data.connection.receive(chunk);
      },
      drain(socket) {
        socket.data.transport.onDrain();
      },
      close(socket) {
        socket.data.transport.markClosed();
        socket.data.connection.closedByPeer();
        connections.delete(socket.data.connection);
      },
      error(socket, error) {
        log.warn("socket error", { portal: portal.id, error: error.message });
        socket.data.connection.abort();
      },
    },
  });
  log.info("listening", { portal: portal.id, address: portal.address, port: server.port });
  return {
    portal,
    connections,
    stopAccepting: () => server.stop(false),
  };
}
