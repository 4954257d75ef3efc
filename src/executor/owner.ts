import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/** This process's pid namespace (Linux), so that a pid is only ever judged inside the namespace it belongs to. */
function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
  } catch {
    return '0';
  }
}

const HERE = { host: hostname(), ns: pidNamespace() };

/**
 * This process as the owner of leases, reservations and in-flight markers: `host:pid:ns.random`. The random part
 * makes it unique (pids repeat across machines and restarts); host and pid are for people reading it; `ns` is the
 * pid namespace, so that a container never judges another container's pid.
 */
export const PROCESS_OWNER = `${HERE.host}:${process.pid}:${HERE.ns}.${randomBytes(4).toString('hex')}`;

interface ParsedOwner {
  host: string;
  pid: number;
  ns: string;
}

function parseOwner(owner: string): ParsedOwner | undefined {
  const parts = owner.split(':');
  if (parts.length < 3) return undefined;
  const pid = Number(parts[parts.length - 2]);
  const ns = parts[parts.length - 1]!.split('.')[0]!;
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { host: parts.slice(0, -2).join(':'), pid, ns };
}

/** "process 123 on host-a" for messages, from an owner id. */
export function describeOwner(owner: string): string {
  const o = parseOwner(owner);
  return o ? `process ${o.pid} on ${o.host}` : owner;
}

/** A process's state letter from /proc: undefined when there is no such process; 'unknown' when /proc cannot say. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S …": the command may hold spaces and parentheses; the state follows the last ")".
    const end = stat.lastIndexOf(')');
    return stat.slice(end + 2, end + 3);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' && existsSync('/proc/self/stat') ? undefined : 'unknown';
  }
}

/**
 * True only when `owner` is provably dead: a process of this host and pid namespace that no longer exists, or a
 * zombie (killed and not yet reaped, as happens where PID 1 does not reap; `kill(pid, 0)` still succeeds on those).
 * Anything else — another host or container, a live pid, a pid /proc cannot tell about — is presumed alive: its
 * lease has to expire first.
 */
export function ownerIsDeadHere(owner: string): boolean {
  const o = parseOwner(owner);
  if (!o || owner === PROCESS_OWNER || o.host !== HERE.host || o.ns !== HERE.ns || HERE.ns === '0') return false;
  const state = procState(o.pid);
  return state === undefined || state === 'Z' || state === 'X';
}
