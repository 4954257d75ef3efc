import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * This process as the owner of leases, reservations and in-flight markers: `host:pid:random`. The random part makes
 * it unique (pids repeat across machines and restarts); host and pid are there for people reading it.
 */
export const PROCESS_OWNER = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

/** "process 123 on host-a" for messages, from an owner id. */
export function describeOwner(owner: string): string {
  const parts = owner.split(':');
  if (parts.length < 3) return owner;
  const pid = parts[parts.length - 2];
  const host = parts.slice(0, -2).join(':');
  return `process ${pid} on ${host}`;
}
