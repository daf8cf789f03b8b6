// Asymmetric logical unit access state of a node (SPC-4 5.15.2): its target port groups, plain
// data that the HA layer changes (sync state -> path state) and replicates. Every logical unit
// listens: a state change raises ASYMMETRIC ACCESS STATE CHANGED on its I_T nexuses.

import assert from "node:assert/strict";
import { AccessState, type AccessStateValue } from "./constants.ts";
import type { ItNexus } from "./types.ts";

export interface TargetPortGroup {
  id: number;
  state: AccessStateValue;
  /** RELATIVE TARGET PORT IDENTIFIERs of the ports in the group. */
  relativePortIds: number[];
  /** PREF bit: this group is the preferred path. */
  preferred: boolean;
}

export interface AluaSnapshot {
  groups: TargetPortGroup[];
}

export interface AccessStateChange {
  groupId: number;
  state: AccessStateValue;
  /** The I_T nexus whose SET TARGET PORT GROUPS asked for it; absent for implicit changes. */
  origin?: ItNexus;
}

const ACCESS_STATES: ReadonlySet<number> = new Set(Object.values(AccessState));

function copyGroup(group: TargetPortGroup): TargetPortGroup {
  return { ...group, relativePortIds: [...group.relativePortIds] };
}

function checkGroups(groups: readonly TargetPortGroup[]): void {
  const ports = new Set<number>();
  for (const group of groups) {
    assert.ok(Number.isInteger(group.id) && group.id > 0 && group.id <= 0xffff, "group id");
    assert.ok(ACCESS_STATES.has(group.state), `group ${group.id}: access state ${group.state}`);
    for (const port of group.relativePortIds) {
      assert.ok(Number.isInteger(port) && port > 0 && port <= 0xffff, "relative port id");
      assert.ok(!ports.has(port), `relative port ${port} is in two groups`);
      ports.add(port);
    }
  }
  assert.equal(new Set(groups.map((group) => group.id)).size, groups.length, "duplicate group");
}

export class AluaState {
  private groupList: TargetPortGroup[];
  private readonly listeners: Array<(change: AccessStateChange) => void> = [];

  /** Without groups the node is standalone: every group it sees is active/optimized. */
  constructor(groups: readonly TargetPortGroup[] = []) {
    checkGroups(groups);
    this.groupList = groups.map(copyGroup);
  }

  /** The groups, copied: changing them changes nothing here. */
  get groups(): TargetPortGroup[] {
    return this.groupList.map(copyGroup);
  }

  stateOf(groupId: number): AccessStateValue {
    const group = this.groupList.find((candidate) => candidate.id === groupId);
    assert.ok(group, `target port group ${groupId} is unknown`);
    return group.state;
  }

  hasGroup(groupId: number): boolean {
    return this.groupList.some((group) => group.id === groupId);
  }

  /**
   * A command arrived through the nexus's port: the port belongs to its group. A group nobody
   * configured is created active/optimized, which is what a single node reports.
   */
  portSeen(nexus: ItNexus): void {
    const { targetPortGroupId: id, relativeTargetPortId: port } = nexus;
    const group = this.groupList.find((candidate) => candidate.id === id);
    if (group?.relativePortIds.includes(port)) return;
    const others = this.groupList.filter((candidate) => candidate !== group);
    assert.ok(!others.some((other) => other.relativePortIds.includes(port)),
      `relative port ${port} arrived with group ${id} but belongs to another group`);
    if (group) {
      group.relativePortIds.push(port);
    } else {
      this.groupList.push({
        id, state: AccessState.ACTIVE_OPTIMIZED, relativePortIds: [port], preferred: false,
      });
    }
  }

  /** Changes a group's access state; every listener hears of a real change. */
  setGroupState(groupId: number, state: AccessStateValue, origin?: ItNexus): void {
    assert.ok(ACCESS_STATES.has(state), `access state ${state}`);
    const group = this.groupList.find((candidate) => candidate.id === groupId);
    assert.ok(group, `target port group ${groupId} is unknown`);
    if (group.state === state) return;
    group.state = state;
    for (const listener of this.listeners) listener({ groupId, state, origin });
  }

  onChange(listener: (change: AccessStateChange) => void): void {
    this.listeners.push(listener);
  }

  snapshot(): AluaSnapshot {
    return { groups: this.groups };
  }

  /** Takes over a replicated state; groups whose access state differs count as changed. */
  restore(snapshot: AluaSnapshot): void {
    checkGroups(snapshot.groups);
    const before = new Map(this.groupList.map((group) => [group.id, group.state]));
    this.groupList = snapshot.groups.map(copyGroup);
    for (const { id, state } of this.groupList) {
      if (before.get(id) === state) continue;
      for (const listener of this.listeners) listener({ groupId: id, state });
    }
  }
}
