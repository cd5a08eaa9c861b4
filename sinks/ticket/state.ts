import { type FileHandle, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EdrError } from '../../core/errors.ts';
import type { TicketRef } from './api.ts';

export type TicketOperation = 'create' | 'comment';

/** What the state file knows of a group. */
export interface GroupTicket {
  ticket: TicketRef;
  /** Comments this sink added (it stops at maxCommentsPerTicket). */
  comments: number;
}

export interface PendingRequest {
  op: TicketOperation;
  group: string;
  /** Epoch ms when the request was about to be sent. */
  at: number;
}

export interface TicketStateLimits {
  maxGroups: number;
  /** Alert ids remembered as handled, newest kept (redeliveries come soon after the first delivery). */
  maxAlerts: number;
}

type StateRecord =
  | { t: 'ticket'; g: string; id: string; url: string; c?: number }
  | { t: 'intent'; a: string; g: string; op: TicketOperation; at: number }
  | { t: 'done'; a: string; g: string; op: TicketOperation | 'skip' }
  | { t: 'clear'; a: string };

/**
 * The ticket sink's durable memory, a JSONL write-ahead log synced before each request goes out:
 * - `intent` before a create or comment is sent, `done` once the target confirmed it, `clear` when the target
 *   refused it (nothing was made);
 * - `ticket`: the group's ticket.
 * An `intent` without `done` after a restart means the request may or may not have landed (the process died
 * between sending and recording): the sink then looks on the target before sending again. The file is
 * rewritten whole (to a temporary file, synced, renamed) at open and whenever it holds twice what is live,
 * so it stays bounded by maxGroups and maxAlerts; a torn last line from a crash is skipped.
 */
export class TicketState {
  private readonly groups = new Map<string, GroupTicket>();
  private readonly handled = new Map<string, string>();
  private readonly pending = new Map<string, PendingRequest>();
  private handle: FileHandle | undefined;
  private appended = 0;
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private readonly limits: TicketStateLimits,
  ) {}

  /** Opens the file for this process alone: a second user (another processor, worker or sink) fails here. */
  static async open(path: string, limits: TicketStateLimits): Promise<TicketState> {
    await mkdir(dirname(path), { recursive: true });
    await lock(path);
    const state = new TicketState(path, limits);
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    for (const line of text.split('\n')) {
      const record = parseRecord(line);
      if (record) state.apply(record);
    }
    await state.compact();
    return state;
  }

  ticketOf(group: string): GroupTicket | undefined {
    return this.groups.get(group);
  }

  isHandled(alertId: string): boolean {
    return this.handled.has(alertId);
  }

  pendingOf(alertId: string): PendingRequest | undefined {
    return this.pending.get(alertId);
  }

  stats(): { groups: number; pending: number; alerts: number } {
    return { groups: this.groups.size, pending: this.pending.size, alerts: this.handled.size };
  }

  recordTicket(group: string, ticket: TicketRef): Promise<void> {
    return this.write({ t: 'ticket', g: group, id: ticket.id, url: ticket.url });
  }

  intend(alertId: string, group: string, op: TicketOperation, at: number): Promise<void> {
    return this.write({ t: 'intent', a: alertId, g: group, op, at });
  }

  /** The alert is handled: its ticket created (then `ticket` is recorded first), commented, or skipped. */
  async done(
    alertId: string,
    group: string,
    op: TicketOperation | 'skip',
    ticket?: TicketRef,
  ): Promise<void> {
    if (ticket) await this.recordTicket(group, ticket);
    await this.write({ t: 'done', a: alertId, g: group, op });
  }

  clear(alertId: string): Promise<void> {
    return this.write({ t: 'clear', a: alertId });
  }

  close(): Promise<void> {
    return this.serialize(async () => {
      await this.handle?.close();
      this.handle = undefined;
      await unlock(this.path);
    });
  }

  /** Synced to disk before the memory changes, so memory never claims what a crash would lose. */
  private write(record: StateRecord): Promise<void> {
    return this.serialize(async () => {
      if (this.appended > 1_000 + 2 * this.liveRecords()) await this.compact();
      const handle = await this.file();
      await handle.appendFile(`${JSON.stringify(record)}\n`);
      await handle.datasync();
      this.appended++;
      this.apply(record);
    });
  }

  private apply(record: StateRecord): void {
    switch (record.t) {
      case 'ticket': {
        const known = this.groups.get(record.g);
        this.groups.delete(record.g);
        this.groups.set(record.g, {
          ticket: { id: record.id, url: record.url },
          comments: record.c ?? known?.comments ?? 0,
        });
        evictOldest(this.groups, this.limits.maxGroups);
        return;
      }
      case 'intent':
        this.pending.delete(record.a);
        this.pending.set(record.a, { op: record.op, group: record.g, at: record.at });
        evictOldest(this.pending, this.limits.maxAlerts);
        return;
      case 'done': {
        this.pending.delete(record.a);
        this.handled.delete(record.a);
        this.handled.set(record.a, record.g);
        evictOldest(this.handled, this.limits.maxAlerts);
        const group = this.groups.get(record.g);
        if (group && record.op === 'comment') group.comments++;
        return;
      }
      case 'clear':
        this.pending.delete(record.a);
        return;
    }
  }

  private liveRecords(): number {
    return this.groups.size + this.handled.size + this.pending.size;
  }

  /** Rewrites the file as what is live now: temporary file, synced, renamed over the old one. */
  private async compact(): Promise<void> {
    const lines: string[] = [];
    for (const [group, { ticket, comments }] of this.groups) {
      lines.push(JSON.stringify({ t: 'ticket', g: group, id: ticket.id, url: ticket.url, c: comments }));
    }
    for (const [alert, group] of this.handled)
      lines.push(JSON.stringify({ t: 'done', a: alert, g: group, op: 'skip' }));
    for (const [alert, { op, group, at }] of this.pending) {
      lines.push(JSON.stringify({ t: 'intent', a: alert, g: group, op, at }));
    }
    await this.handle?.close();
    this.handle = undefined;
    const temporary = `${this.path}.tmp`;
    const out = await open(temporary, 'w');
    try {
      await out.writeFile(lines.length > 0 ? `${lines.join('\n')}\n` : '');
      await out.datasync();
    } finally {
      await out.close();
    }
    await rename(temporary, this.path);
    this.appended = 0;
  }

  private async file(): Promise<FileHandle> {
    this.handle ??= await open(this.path, 'a');
    return this.handle;
  }

  private serialize(operation: () => Promise<void>): Promise<void> {
    const run = this.tail.then(operation);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/** State files this process holds: a lock naming our pid that is not among them is a previous life's. */
const held = new Set<string>();

/**
 * `<path>.lock` holds the owner's pid, created exclusively. A lock whose process is gone (killed -9) is taken
 * over; one held by a live process refuses the open, since two writers would lose each other's records.
 */
async function lock(path: string): Promise<void> {
  const lockPath = `${path}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      held.add(path);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    const ours = owner === process.pid && held.has(path);
    if (ours || (owner !== process.pid && isAlive(owner))) {
      throw new EdrError(
        'EDR_ERR_CONFIG',
        `ticket state file ${path} is in use by process ${owner}: each processor, worker and ticket sink needs its own stateFile`,
      );
    }
    await rm(lockPath, { force: true });
  }
  throw new EdrError('EDR_ERR_CONFIG', `could not lock the ticket state file ${path}`);
}

async function unlock(path: string): Promise<void> {
  if (!held.delete(path)) return;
  await rm(`${path}.lock`, { force: true });
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function evictOldest<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value as K);
}

function parseRecord(line: string): StateRecord | undefined {
  if (line.trim() === '') return undefined;
  try {
    const record = JSON.parse(line) as Partial<Record<string, unknown>>;
    switch (record.t) {
      case 'ticket':
        return typeof record.g === 'string' && typeof record.id === 'string' && typeof record.url === 'string'
          ? (record as StateRecord)
          : undefined;
      case 'intent':
        return typeof record.a === 'string' &&
          typeof record.g === 'string' &&
          typeof record.at === 'number' &&
          (record.op === 'create' || record.op === 'comment')
          ? (record as StateRecord)
          : undefined;
      case 'done':
        return typeof record.a === 'string' && typeof record.g === 'string'
          ? (record as StateRecord)
          : undefined;
      case 'clear':
        return typeof record.a === 'string' ? (record as StateRecord) : undefined;
      default:
        return undefined;
    }
  } catch {
    // A line torn by a crash.
    return undefined;
  }
}
