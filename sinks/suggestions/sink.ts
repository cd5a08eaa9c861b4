import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, systemClock } from '../../core/clock.ts';
import { renderSuggestionsByAgent } from '../../engine/response/by-agent.ts';
import { mergeOverlays, type PolicyOverlay } from '../../engine/response/overlay.ts';
import { parseOverlaysYaml } from '../../engine/response/yaml.ts';
import { outcomesOf } from '../driver/verdict.ts';
import { classifyFileError } from '../file/retry.ts';
import type { ItemOutcome, ProbeResult, Sink, SinkItem } from '../types.ts';
import type { SuggestionsSinkConfig } from './config.ts';
import { agentFileName, dayOf, expiredDays } from './files.ts';

/** A suggestions file larger than this is not read back (ours stay far below: every list is bounded). */
const MAX_FILE_BYTES = 8 * 1024 * 1024;

/**
 * Wiring only: alerts with a policy suggestion → grouped by UTC day and agent → merged with that file's
 * overlays → the file replaced whole (written aside, then renamed), so a reader never sees half a file and a
 * redelivered alert changes nothing (merging is a set union). Day folders past `retainDays` are deleted.
 */
export class SuggestionsSink implements Sink {
  readonly name: string;
  readonly guarantee = 'local-write';
  private readonly clock: Clock;

  constructor(
    private readonly config: SuggestionsSinkConfig,
    deps: { clock?: Clock } = {},
  ) {
    this.name = config.name ?? config.type;
    this.clock = deps.clock ?? systemClock;
  }

  accepts(item: SinkItem): boolean {
    return item.kind === 'alert' && item.alert.response !== undefined;
  }

  async write(items: readonly SinkItem[]): Promise<ItemOutcome[]> {
    const groups = new Map<
      string,
      { day: string; agentId: string; overlays: PolicyOverlay[]; items: number[] }
    >();
    items.forEach((item, index) => {
      const alert = item.kind === 'alert' ? item.alert : undefined;
      const overlay = alert?.response?.policySuggestion;
      if (!alert || !overlay) return;
      const day = dayOf(alert.timestamp);
      const key = `${day}\n${alert.agentId}`;
      const group = groups.get(key) ?? { day, agentId: alert.agentId, overlays: [], items: [] };
      group.overlays.push(overlay);
      group.items.push(index);
      groups.set(key, group);
    });
    const outcomes: ItemOutcome[] = outcomesOf({ action: 'ok' }, items.length);
    for (const group of groups.values()) {
      const outcome = await this.merge(group.day, group.agentId, group.overlays);
      for (const index of group.items) outcomes[index] = outcome;
    }
    await this.prune().catch(() => undefined);
    return outcomes;
  }

  private async merge(day: string, agentId: string, overlays: PolicyOverlay[]): Promise<ItemOutcome> {
    const folder = join(this.config.directory, day);
    const path = join(folder, agentFileName(agentId));
    try {
      const previous = await readExisting(path);
      if (typeof previous === 'string') return { status: 'blocked', reason: previous };
      const text = renderSuggestionsByAgent([
        { agentId, overlays: mergeOverlays([...previous, ...overlays]) },
      ]);
      await mkdir(folder, { recursive: true });
      const aside = `${path}.${process.pid}.tmp`;
      const handle = await open(aside, 'w');
      try {
        await handle.writeFile(text);
        if (this.config.fsync) await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(aside, path);
      return outcomesOf({ action: 'ok' }, 1)[0]!;
    } catch (error) {
      return outcomesOf(classifyFileError(error, path), 1)[0]!;
    }
  }

  private async prune(): Promise<void> {
    const names = await readdir(this.config.directory);
    for (const day of expiredDays(names, this.clock(), this.config.retainDays)) {
      await rm(join(this.config.directory, day), { recursive: true, force: true });
    }
  }

  async probe(): Promise<ProbeResult> {
    try {
      await mkdir(this.config.directory, { recursive: true });
      return { state: 'ok' };
    } catch (error) {
      const verdict = classifyFileError(error, this.config.directory);
      const reason = 'reason' in verdict ? verdict.reason : this.config.directory;
      return { state: verdict.action === 'unusable' ? 'unusable' : 'down', reason };
    }
  }
}

/**
 * The overlays already in a day's file (none when there is no file yet), or why it cannot be merged into: a
 * file that is not what this sink writes (edited by hand, or too large) is left alone for an operator.
 */
async function readExisting(path: string): Promise<PolicyOverlay[] | string> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return [];
    throw error;
  }
  if (size > MAX_FILE_BYTES)
    return `${path}: ${size} bytes, more than a suggestions file holds (${MAX_FILE_BYTES})`;
  const { overlays, problems } = parseOverlaysYaml(await readFile(path, 'utf8'));
  return problems.length > 0 ? `${path} is not a suggestions file this sink wrote: ${problems[0]}` : overlays;
}
