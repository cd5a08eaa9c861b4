import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeDir, tempDir, useCleanup } from '../../test/support/pipeline.ts';
import { TicketState } from './state.ts';

const LIMITS = { maxGroups: 3, maxAlerts: 6 };
const ticket = (id: string) => ({ id, url: `https://tickets.example/${id}` });

describe('ticket state file', () => {
  const defer = useCleanup();
  async function file(): Promise<string> {
    const directory = await tempDir('ticket-state');
    defer(() => removeDir(directory));
    return join(directory, 'tickets.jsonl');
  }

  it('survives a reopen: tickets, comment counts, handled alerts and in-flight intents', async () => {
    const path = await file();
    const state = await TicketState.open(path, LIMITS);
    await state.intend('a1', 'g1', 'create', 1_000);
    await state.done('a1', 'g1', 'create', ticket('7'));
    await state.intend('a2', 'g1', 'comment', 2_000);
    await state.done('a2', 'g1', 'comment');
    await state.intend('a3', 'g1', 'comment', 3_000);
    await state.intend('a4', 'g2', 'create', 4_000);
    await state.clear('a4');
    await state.close();

    const reopened = await TicketState.open(path, LIMITS);
    expect(reopened.ticketOf('g1')).toEqual({ ticket: ticket('7'), comments: 1 });
    expect(reopened.isHandled('a1') && reopened.isHandled('a2')).toBe(true);
    expect(reopened.pendingOf('a3')).toEqual({ op: 'comment', group: 'g1', at: 3_000 });
    expect(reopened.pendingOf('a4')).toBeUndefined();
    await reopened.close();
  });

  it('skips a line torn by a crash and keeps writing whole lines after it', async () => {
    const path = await file();
    const state = await TicketState.open(path, LIMITS);
    await state.done('a1', 'g1', 'create', ticket('1'));
    await state.close();
    await appendFile(path, '{"t":"done","a":"a2","g":"g');

    const reopened = await TicketState.open(path, LIMITS);
    expect(reopened.isHandled('a1')).toBe(true);
    expect(reopened.isHandled('a2')).toBe(false);
    await reopened.done('a3', 'g1', 'comment');
    await reopened.close();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines.every((line) => JSON.parse(line))).toBe(true);
    const again = await TicketState.open(path, LIMITS);
    expect(again.isHandled('a3')).toBe(true);
    await again.close();
  });

  it("is one process's: a second open while it is held fails; a lock left by a dead process is taken over", async () => {
    const path = await file();
    const state = await TicketState.open(path, LIMITS);
    await expect(TicketState.open(path, LIMITS)).rejects.toThrow(/in use by process/);
    await state.close();
    // A process killed -9 leaves its lock behind; pid 2**22 + 1 is above Linux's pid_max default, so not alive.
    await writeFile(`${path}.lock`, String(2 ** 22 + 1));
    const next = await TicketState.open(path, LIMITS);
    await next.close();
  });

  it('stays bounded: the oldest groups and alerts are forgotten, the file is rewritten as what is live', async () => {
    const path = await file();
    const state = await TicketState.open(path, LIMITS);
    for (let index = 0; index < 3_000; index++) {
      await state.done(`a${index}`, `g${index}`, 'create', ticket(String(index)));
    }
    expect(state.stats()).toEqual({ groups: 3, alerts: 6, pending: 0 });
    expect(state.ticketOf('g0')).toBeUndefined();
    expect(state.ticketOf('g2999')).toBeDefined();
    await state.close();
    // Live records plus at most 1,000 + twice as many appended since the last rewrite.
    expect((await stat(path)).size).toBeLessThan(1_100 * 120);
  });
});
