import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { BudgetExceeded, openStorage, SpendLedger, type Storage } from '../../src/executor/index.js';
import { backends } from '../helpers/backends.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function storageAt(location: string): Promise<Storage> {
  const s = await openStorage(location);
  open.push(s);
  return s;
}

async function ledger(storage: Storage, opts: Omit<Parameters<typeof SpendLedger.open>[0], 'storage'>): Promise<SpendLedger> {
  const l = await SpendLedger.open({ storage, ...opts });
  open.push(l);
  return l;
}

describe.each(backends())('spend ledger on $name', (backend) => {
  it('reserves, settles and releases, by account, within the budget', async () => {
    const s = await storageAt(backend.fresh('ledger'));
    const l = await ledger(s, { budgetUsd: 1 });
    const a = await l.reserve('X', 0.6);
    await expect(l.reserve('X', 0.5)).rejects.toThrow(BudgetExceeded);
    await l.settle(a, 'mixture', 0.2);
    const b = await l.reserve('X', 0.5);
    await l.release(b);
    const c = await l.reserve('X', 0.7);
    await l.settle(c, 'judge', 0.7);
    const refused = await l.reserve('X', 0.2).catch((e) => e);
    expect(refused).toBeInstanceOf(BudgetExceeded);
    expect(refused).toMatchObject({ budget: 1, reserved: 0, needed: 0.2, model: 'X' });
    expect(refused.spent).toBeCloseTo(0.9, 12);
    const snap = l.snapshot();
    expect(snap).toMatchObject({ byAccount: { judge: 0.7, mixture: 0.2 }, reserved: 0, budget: 1, calls: { made: 2, cached: 0, failed: 1 } });
    expect(snap.total).toBeCloseTo(0.9, 12);
    const shared = await l.scopeSpend();
    expect(shared).toMatchObject({ budget: 1, reserved: 0, openReservations: 0, calls: 2 });
    expect(shared.spent).toBeCloseTo(0.9, 12);
    expect(shared.byAccount.judge).toBeCloseTo(0.7, 12);
  });

  it('shares one budget between owners on separate connections, and never admits past it under contention', async () => {
    const location = backend.fresh('shared');
    const [s1, s2] = [await storageAt(location), await storageAt(location)];
    const a = await ledger(s1, { scope: 'study:x', budgetUsd: 1, owner: 'host-a:1:aaaa' });
    const b = await ledger(s2, { scope: 'study:x', owner: 'host-b:2:bbbb' });
    expect(b.budget).toBe(1); // read from the scope
    const held = await a.reserve('X', 0.6);
    await expect(b.reserve('X', 0.5)).rejects.toThrow(BudgetExceeded);
    await a.settle(held, 'mixture', 0.25);
    await b.settle(await b.reserve('X', 0.5), 'judge', 0.5);
    expect((await a.scopeSpend()).byAccount).toEqual({ judge: 0.5, mixture: 0.25 });

    // 40 reservations of $0.01 race for the $0.25 left: exactly 25 get in.
    const tries = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).reserve('X', 0.01)));
    expect(tries.filter((t) => t.status === 'fulfilled')).toHaveLength(25);
    for (const t of tries) if (t.status === 'rejected') expect(t.reason).toBeInstanceOf(BudgetExceeded);
    const s = await a.scopeSpend();
    expect(s.openReservations).toBe(25);
    expect(s.spent + s.reserved).toBeLessThanOrEqual(1 + 1e-12);
  });

  it('closes a dead owner\'s reservations at their worst case once they expire; a live owner keeps renewing its own', async () => {
    const location = backend.fresh('expiry');
    const live = await ledger(await storageAt(location), { scope: 'study:e', budgetUsd: 1, reservationTtlMs: 150 });
    // The dead owner's connection goes away with its holds still open (a lost machine).
    const deadStorage = await openStorage(location);
    const dead = await SpendLedger.open({ storage: deadStorage, scope: 'study:e', reservationTtlMs: 150, owner: 'gone:9:dead' });
    await dead.reserve('X', 0.5);
    await deadStorage.close();
    const mine = await live.reserve('X', 0.3);
    await expect(live.reserve('X', 0.3)).rejects.toThrow(BudgetExceeded);
    await sleep(400);
    // Its $0.5 became spend, not budget handed back: the dead process's call may have been billed.
    expect(await live.sweepExpired()).toBe(1);
    const s = await live.scopeSpend();
    expect(s.openReservations).toBe(1); // mine, renewed by the heartbeat past three lease periods
    expect(s.byAccount.unsettled).toBeCloseTo(0.5, 12);
    expect(s.spent).toBeCloseTo(0.5, 12);
    expect(s.reserved).toBeCloseTo(0.3, 12);
    await live.settle(mine, 'mixture', 0.1);
    await live.settle(await live.reserve('X', 0.35), 'mixture', 0.35);
    await dead.close().catch(() => {}); // stops its timer; its connection is gone
  });

  it('a named scope keeps its spend across runs and takes a raised budget; a run\'s own scope is removed on close', async () => {
    const s = await storageAt(backend.fresh('scopes'));
    const first = await SpendLedger.open({ storage: s, scope: 'study:r', budgetUsd: 0.5 });
    await first.settle(await first.reserve('X', 0.4), 'mixture', 0.4);
    await first.close();
    const again = await ledger(s, { scope: 'study:r', budgetUsd: 1 });
    expect(await again.scopeSpend()).toMatchObject({ budget: 1, spent: 0.4 });
    await again.reserve('X', 0.6);

    const run = await SpendLedger.open({ storage: s, budgetUsd: 2 });
    await run.settle(await run.reserve('X', 1), 'mixture', 1);
    expect(run.scope).toMatch(/^run:/);
    await run.close();
    expect(await s.get('SELECT scope FROM ledger_scopes WHERE scope = ?', [run.scope!])).toBeUndefined();
    expect(await s.get('SELECT COUNT(*) AS n FROM ledger_accounts WHERE scope = ?', [run.scope!])).toEqual({ n: 0 });
  });

  it('without budget or scope, counts spend in this process only', async () => {
    const s = await storageAt(backend.fresh('local'));
    const l = await ledger(s, {});
    expect(l.scope).toBeUndefined();
    await l.settle(undefined, 'mixture', 0.3);
    expect(l.snapshot()).toMatchObject({ total: 0.3, byAccount: { mixture: 0.3 } });
    expect(await s.get('SELECT COUNT(*) AS n FROM ledger_scopes')).toEqual({ n: 0 });
  });
});
