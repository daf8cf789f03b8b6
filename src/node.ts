// A twinsan node: opens the devices of every LUN, builds the SCSI targets and listens on the
// portals. stop() asks every initiator to log out, then flushes and closes the devices.
import type { TwinsanConfig } from "./mgmt/config.ts";
import { log } from "./mgmt/log.ts";
import type { BlockDevice } from "./device/block-device.ts";
import { ImageFileDevice } from "./device/image-file.ts";
import { WriteBackCache } from "./device/write-back-cache.ts";
import { LogicalUnit } from "./scsi/logical-unit.ts";
import { ScsiTargetDevice } from "./scsi/target-device.ts";
import { AluaState } from "./scsi/alua-state.ts";
import { AccessState } from "./scsi/constants.ts";
import { listenOnPortal, type PortalListener } from "./iscsi/portal-listener.ts";
import type { IscsiNodeContext, TargetRuntime } from "./iscsi/target-runtime.ts";
import type { Session } from "./iscsi/session.ts";
import { preemptAndAbortTasks } from "./iscsi/task-management.ts";
import { join } from "node:path";

/** Seconds an initiator gets to log out when the node stops. */
const LOGOUT_GRACE_S = 2;

export interface RunningNode {
  stop(): Promise<void>;
}

export async function startNode(config: TwinsanConfig): Promise<RunningNode> {
  const devices: BlockDevice[] = [];
  const targets = new Map<string, TargetRuntime>();
  const alua = new AluaState([{
    id: config.targetPortGroupId,
    state: AccessState.ACTIVE_OPTIMIZED,
    relativePortIds: [...new Set(config.portals.map((portal) => portal.relativeTargetPortId))],
    preferred: true,
  }]);
  try {
    for (const target of config.targets) {
      const units: LogicalUnit[] = [];
      for (const lun of target.luns) {
        const image = await ImageFileDevice.open({
          path: lun.path,
          sizeBytes: lun.sizeBytes,
          blockSizeBytes: lun.blockSizeBytes,
          provisioning: lun.provisioning,
        });
        const { mode, sizeMB } = lun.cache;
        const cache = mode === "none" ? undefined : new WriteBackCache(image, {
          capacityBytes: sizeMB * 1024 * 1024,
          mode,
          name: `${target.iqn}/${lun.lun}`,
        });
        const device = cache ?? image;
        devices.push(device);
        units.push(new LogicalUnit({
          lun: lun.lun,
          device,
          writeCacheEnabled: cache?.writeCacheEnabled ?? true,
          provisioning: lun.provisioning,
          alua,
          persistentReservationsPath: join(config.node.dataDir, "reservations",
            `${lun.naaId.toLowerCase()}.json`),
          identity: {
            naaId: lun.naaId,
            serial: lun.serial,
            vendorId: lun.vendorId,
            productId: lun.productId,
            productRevision: lun.productRevision,
          },
        }));
      }
      const runtime: TargetRuntime = {
        config: target,
        scsi: new ScsiTargetDevice(units),
        sessions: new Set<Session>(),
      };
      runtime.scsi.setTaskAborter(preemptAndAbortTasks(runtime));
      targets.set(target.iqn, runtime);
    }
  } catch (err) {
    await Promise.allSettled(devices.map((device) => device.close()));
    throw err;
  }
  const ctx = nodeContext(config, targets);
  const listeners: PortalListener[] = [];
  try {
    for (const portal of config.portals) listeners.push(listenOnPortal(portal, ctx));
  } catch (err) {
    for (const listener of listeners) listener.stopAccepting();
    await Promise.allSettled(devices.map((device) => device.close()));
    throw err;
  }
  log.info("ready", { node: config.node.name, targets: [...targets.keys()] });
  return { stop: () => stopNode(listeners, ctx.sessions, devices) };
}

function nodeContext(config: TwinsanConfig, targets: Map<string, TargetRuntime>):
  IscsiNodeContext {
  let nextTsih = 1;
  const sessions = new Set<Session>();
  return {
    targets,
    portals: config.portals,
    targetPortGroupId: config.targetPortGroupId,
    discoveryChap: config.discovery.chap,
    nopInIntervalMs: config.iscsi.nopInIntervalMs,
    nopInTimeoutMs: config.iscsi.nopInTimeoutMs,
    sessions,
    allocateTsih() {
      const inUse = new Set([...sessions].map((s) => s.identity.tsih));
      for (let tries = 0; tries < 0xffff; tries++) {
        const tsih = nextTsih;
        nextTsih = nextTsih >= 0xffff ? 1 : nextTsih + 1;
        if (!inUse.has(tsih)) return tsih;
      }
      throw new Error("no free TSIH: 65535 sessions open");
    },
  };
}

async function stopNode(
  listeners: PortalListener[],
  sessions: ReadonlySet<Session>,
  devices: BlockDevice[],
): Promise<void> {
  const startedMs = Date.now();
  for (const listener of listeners) listener.stopAccepting();
  const connections = listeners.flatMap((listener) => [...listener.connections]);
  for (const connection of connections) connection.requestLogout(LOGOUT_GRACE_S);
  const allClosed = Promise.all(connections.map((connection) => connection.whenClosed()));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const graceOver = new Promise((resolve) => { timer = setTimeout(resolve, LOGOUT_GRACE_S * 1000); });
  await Promise.race([allClosed, graceOver]);
  clearTimeout(timer);
  // Commands still running keep their device I/O; let it finish before the files close.
  const executions = [...sessions].flatMap((s) => [...s.tasks.values()].map((t) => t.execution));
  for (const connection of connections) connection.abort();
  await Promise.allSettled(executions);
  for (const device of devices) await device.flush();
  await Promise.all(devices.map((device) => device.close()));
  log.info("stopped", { connections: connections.length, durationMs: Date.now() - startedMs });
}
