// Task management functions (RFC 7143 section 11.5, SAM-5 section 7). An aborted task never
// gets a response; the TMF response waits until the aborted tasks have left the SCSI layer, so
// no aborted write can land after the initiator was told it is gone.
import * as C from "./constants.ts";
import type { TaskMgmtRequestPdu } from "./pdu-types.ts";
import type { IscsiTask, Session } from "./session.ts";
import type { TargetRuntime } from "./target-runtime.ts";
import type { TaskAborter } from "../scsi/reservations/logical-unit-reservations.ts";

export interface TaskManagementHost {
  respond(itt: number, response: number): void;
  /** For TARGET COLD RESET: the sessions end after the response went out. */
  closeSessionsAfterResponse(sessions: Session[]): void;
}

export async function handleTaskManagement(
  host: TaskManagementHost,
  session: Session,
  request: TaskMgmtRequestPdu,
): Promise<void> {
  const target = session.target;
  if (target === null) return host.respond(request.itt, C.TMF_RESP_FUNCTION_REJECTED);
  const lunExists = target.scsi.hasLun(request.lun);
  switch (request.function) {
    case C.TMF_ABORT_TASK: {
      const task = session.tasks.get(request.referencedTaskTag);
      if (task === undefined) return host.respond(request.itt, C.TMF_RESP_TASK_DOES_NOT_EXIST);
      await abortTasks(session, [task]);
      return host.respond(request.itt, C.TMF_RESP_FUNCTION_COMPLETE);
    }
    case C.TMF_ABORT_TASK_SET:
    case C.TMF_CLEAR_TASK_SET: {
      if (!lunExists) return host.respond(request.itt, C.TMF_RESP_LUN_DOES_NOT_EXIST);
      await abortTasks(session, tasksOnLun(session, request.lun));
      return host.respond(request.itt, C.TMF_RESP_FUNCTION_COMPLETE);
    }
    case C.TMF_LOGICAL_UNIT_RESET: {
      if (!lunExists) return host.respond(request.itt, C.TMF_RESP_LUN_DOES_NOT_EXIST);
      await Promise.all([...target.sessions].map((s) => abortTasks(s, tasksOnLun(s, request.lun))));
      target.scsi.lunReset(request.lun);
      return host.respond(request.itt, C.TMF_RESP_FUNCTION_COMPLETE);
    }
    case C.TMF_TARGET_WARM_RESET:
    case C.TMF_TARGET_COLD_RESET: {
      const sessions = [...target.sessions];
      await Promise.all(sessions.map((s) => abortTasks(s, [...s.tasks.values()])));
      target.scsi.targetReset();
      host.respond(request.itt, C.TMF_RESP_FUNCTION_COMPLETE);
      if (request.function === C.TMF_TARGET_COLD_RESET) host.closeSessionsAfterResponse(sessions);
      return;
    }
    case C.TMF_TASK_REASSIGN:
      return host.respond(request.itt, C.TMF_RESP_TASK_ALLEGIANCE_REASSIGNMENT_NOT_SUPPORTED);
    default:
      return host.respond(request.itt, C.TMF_RESP_FUNCTION_NOT_SUPPORTED);
  }
}

function tasksOnLun(session: Session, lun: number): IscsiTask[] {
  return [...session.tasks.values()].filter((task) => task.command.lun === lun);
}

async function abortTasks(session: Session, tasks: IscsiTask[]): Promise<void> {
  for (const task of tasks) {
    task.aborted = true;
    session.tasks.delete(task.itt);
  }
  await Promise.allSettled(tasks.map((task) => task.execution ?? Promise.resolve()));
}

/**
 * PERSISTENT RESERVE OUT with PREEMPT AND ABORT: the preempted nexuses' tasks on the LUN are
 * aborted like ABORT TASK SET, all but the PREEMPT AND ABORT command itself (it is still running
 * and waits for this).
 */
export function preemptAndAbortTasks(target: TargetRuntime): TaskAborter {
  return async ({ lun, isPreempted, preemptingTask }) => {
    const aborts = [...target.sessions]
      .filter((session) => session.nexus !== null && isPreempted(session.nexus))
      .map((session) => abortTasks(session, tasksOnLun(session, lun)
        .filter((task) => task.command.cdb !== preemptingTask.cdb)));
    await Promise.all(aborts);
  };
}

