import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeOwner, Leases, openStorage, PROCESS_OWNER, type Storage } from '../../src/executor/index.js';
import { ownerIsDeadHere } from '../../src/executor/owner.js';
import { backends } from '../helpers/backends.js';

const open: Storage[] = [];
afterEach(async () => {
  for (const s of open.splice(0).reverse()) await s.close();
});

/** An owner id for `pid` on this machine (same host and pid namespace as ours). */
const localOwner = (pid: number) => PROCESS_OWNER.replace(/:\d+:/, `:${pid}:`).replace(/\.[0-9a-f]+$/, '.0bad');

/** A zombie: `sh` starts a short sleep and execs a long one, which never reaps it. Returns its pid and the parent. */
async function zombie(): Promise<{ pid: number; parent: ReturnType<typeof spawn> }> {
  const parent = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((res) => parent.stdout!.once('data', (d) => res(Number(String(d).trim()))));
  await sleep(300);
  return { pid, parent };
}

describe('dead owners', () => {
  it('a gone pid or a zombie of this machine is dead; a live pid, another host or another pid namespace is not', async () => {
    const z = await zombie();
    try {
      expect(ownerIsDeadHere(localOwner(z.pid))).toBe(true); // kill(pid, 0) would still say "alive"
      expect(() => process.kill(z.pid, 0)).not.toThrow();
      expect(ownerIsDeadHere(localOwner(z.parent.pid!))).toBe(false);
      expect(ownerIsDeadHere(PROCESS_OWNER)).toBe(false);
      expect(ownerIsDeadHere(localOwner(z.pid).replace(/^[^:]+/, 'another-host'))).toBe(false);
      expect(ownerIsDeadHere(localOwner(z.pid).replace(/:\d+\.0bad$/, ':1.0bad'))).toBe(false);
    } finally {
      z.parent.kill('SIGKILL');
    }
    const gone = spawn('true');
    await new Promise((r) => gone.on('close', r));
    expect(ownerIsDeadHere(localOwner(gone.pid!))).toBe(true);
  });
});

describe.each(backends())('leases on $name', (backend) => {
  async function twoOwners() {
    const location = backend.fresh('leases');
    const [s1, s2] = [await openStorage(location), await openStorage(location)];
    open.push(s1, s2);
    return { a: new Leases(s1, 'host-a:101:aaaa'), b: new Leases(s2, 'host-b:202:bbbb') };
  }

  it('lets one owner hold a name; others see who holds it and for how long, and take it once released', async () => {
    const { a, b } = await twoOwners();
    const lease = (await a.acquire('study:s', 5_000))!;
    expect(lease).toBeDefined();
    expect(await b.acquire('study:s', 5_000)).toBeUndefined();
    expect(await a.acquire('study:s', 5_000)).toBeUndefined(); // not re-entrant: a second claim by the same owner waits too
    const h = (await b.holder('study:s'))!;
    expect(h.owner).toBe('host-a:101:aaaa');
    expect(h.remainingMs).toBeGreaterThan(4_000);
    expect(h.remainingMs).toBeLessThanOrEqual(5_000);
    expect(describeOwner(h.owner)).toBe('process 101 on host-a');
    expect(await lease.renew()).toBe(true);
    await lease.release();
    await lease.release(); // idempotent
    expect(await b.holder('study:s')).toBeUndefined();
    expect(await b.acquire('study:s', 5_000)).toBeDefined();
    expect(PROCESS_OWNER).toMatch(new RegExp(`:${process.pid}:\\d+\\.[0-9a-f]{8}$`));
  });

  it('is taken over at once from a holder of this machine that died (a zombie), not only after expiry', async () => {
    const z = await zombie();
    try {
      const location = backend.fresh('zombie');
      const s = await openStorage(location);
      open.push(s);
      await new Leases(s, localOwner(z.pid)).acquire('study:z', 60_000);
      const leases = new Leases(s);
      expect(await leases.holder('study:z')).toMatchObject({ owner: localOwner(z.pid), dead: true });
      expect(await leases.acquire('study:z', 60_000)).toBeDefined();
      expect(await leases.holder('study:z')).toMatchObject({ owner: PROCESS_OWNER, dead: false });
    } finally {
      z.parent.kill('SIGKILL');
    }
  });

  it('expires by the database clock when not renewed; the old holder can then neither renew nor release it', async () => {
    const { a, b } = await twoOwners();
    const old = (await a.acquire('trial:1', 120))!;
    await sleep(200);
    expect((await b.holder('trial:1'))!.remainingMs).toBeLessThanOrEqual(0);
    const taken = (await b.acquire('trial:1', 5_000))!;
    expect(taken).toBeDefined();
    expect(await old.renew()).toBe(false);
    await old.release(); // must not delete the new holder's lease
    expect((await a.holder('trial:1'))!.owner).toBe('host-b:202:bbbb');
    await taken.release();
  });

  it('a heartbeat keeps a lease alive past many lifetimes, stops on release, and reports a lease taken from it', async () => {
    const { a, b } = await twoOwners();
    const lease = (await a.acquire('study:hb', 150))!;
    lease.keepAlive({ intervalMs: 40 });
    await sleep(500);
    expect(await b.acquire('study:hb', 150)).toBeUndefined();
    await lease.release();
    expect(await b.acquire('study:hb', 150)).toBeDefined();

    // A heartbeat that finds its lease gone (a long pause let it expire and someone took it) says so once.
    const paused = (await a.acquire('study:lost', 80))!;
    await sleep(150);
    await b.acquire('study:lost', 5_000);
    let lost = 0;
    const beat = paused.keepAlive({ intervalMs: 20, onLost: () => lost++ });
    await sleep(120);
    beat.stop();
    expect(lost).toBe(1);
  });
});
