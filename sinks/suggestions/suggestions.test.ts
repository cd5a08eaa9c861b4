import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { overlayOf, type SuggestedChange } from '../../engine/response/overlay.ts';
import { parseOverlaysYaml } from '../../engine/response/yaml.ts';
import { makeAlert } from '../../test/support/sink-items.ts';
import { SinksConfigSchema } from '../config.ts';
import { MemoryDeadLetterWriter } from '../driver/dead-letter.ts';
import { createSinkRouter } from '../factory.ts';
import { SuggestionsSinkConfigSchema } from './config.ts';
import { agentFileName } from './files.ts';
import { SuggestionsSink } from './sink.ts';

const suggesting = (agentId: string, timestamp: string, ...changes: SuggestedChange[]) =>
  makeAlert({
    agentId,
    timestamp,
    actions: ['update_policy'],
    response: { policySuggestion: overlayOf(changes, 'clawdstrike:default')!.overlay },
  });
const block = (value: string): SuggestedChange => ({ kind: 'egress_block', value });

describe('suggestions sink (through the shared driver)', () => {
  let directory: string;
  let now: number;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'edr-suggestions-'));
    now = Date.parse('2026-03-14T12:00:00.000Z');
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  function router(retainDays = 30) {
    const config = SinksConfigSchema.parse({
      sinks: [{ type: 'suggestions', directory, retainDays, delivery: { retry: { initialDelayMs: 1 } } }],
    });
    return createSinkRouter(config, { deadLetters: new MemoryDeadLetterWriter(), clock: () => now });
  }
  const file = (day: string, agentId: string) =>
    readFile(join(directory, day, agentFileName(agentId)), 'utf8');

  it('merges an agent day into one file; a redelivery leaves its bytes as they are', async () => {
    const sinks = router();
    await sinks.start();
    const first = suggesting('agent-7', '2026-03-14T09:00:00.000Z', block('b.example'));
    const second = suggesting('agent-7', '2026-03-14T10:00:00.000Z', block('a.example'), block('b.example'));
    const tool = makeAlert({
      agentId: 'agent-7',
      timestamp: '2026-03-14T11:00:00.000Z',
      response: {
        policySuggestion: overlayOf([{ kind: 'mcp_block', value: 'exec' }], 'clawdstrike:default')!.overlay,
      },
    });
    const none = makeAlert({ agentId: 'agent-7', timestamp: '2026-03-14T11:30:00.000Z' });

    expect(await sinks.deliver({ alerts: [first, second, none] })).toMatchObject({ deadLettered: 0 });
    expect(await sinks.deliver({ alerts: [tool] })).toMatchObject({ written: 1 });
    const text = await file('2026-03-14', 'agent-7');
    expect(text).toBe(
      [
        '# agent "agent-7"',
        'version: 1.2.0',
        'extends: clawdstrike:default',
        'merge_strategy: deep_merge',
        'guards:',
        '  egress_allowlist:',
        '    additional_block:',
        '      - a.example',
        '      - b.example',
        '  mcp_tool:',
        '    additional_block:',
        '      - exec',
        '',
      ].join('\n'),
    );
    await sinks.deliver({ alerts: [second, first, tool] });
    expect(await file('2026-03-14', 'agent-7')).toBe(text);
    expect(await readdir(join(directory, '2026-03-14'))).toEqual([agentFileName('agent-7')]);
    await sinks.close();
  });

  it('rotates by day and deletes day folders past retainDays', async () => {
    const sinks = router(2);
    await sinks.start();
    await sinks.deliver({
      alerts: [suggesting('agent-7', '2026-03-10T09:00:00.000Z', block('old.example'))],
    });
    await sinks.deliver({
      alerts: [suggesting('agent-7', '2026-03-13T09:00:00.000Z', block('new.example'))],
    });
    expect((await readdir(directory)).sort()).toEqual(['2026-03-13']);
    expect(parseOverlaysYaml(await file('2026-03-13', 'agent-7')).overlays).toHaveLength(1);
    await sinks.close();
  });

  it('keeps hostile agent ids inside the day folder and out of the YAML structure', async () => {
    const sinks = router();
    await sinks.start();
    const hostile = '../../etc/cron.d/x\n# injected: true\nversion: 9';
    await sinks.deliver({ alerts: [suggesting(hostile, '2026-03-14T09:00:00.000Z', block('c.example'))] });
    const names = await readdir(join(directory, '2026-03-14'));
    expect(names).toEqual([agentFileName(hostile)]);
    expect(names[0]).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*-[0-9a-f]{16}\.yaml$/);
    expect(await readdir(directory)).toEqual(['2026-03-14']);
    const text = await file('2026-03-14', hostile);
    expect(text.split('\n')[0]).toBe(`# agent ${JSON.stringify(hostile)}`);
    const { overlays, problems } = parseOverlaysYaml(text);
    expect(problems).toEqual([]);
    expect(overlays[0]?.version).toBe('1.2.0');
    expect(agentFileName('a/b')).not.toBe(agentFileName('a_b'));
    await sinks.close();
  });

  it('leaves a file it did not write alone and reports the sink blocked', async () => {
    const config = SuggestionsSinkConfigSchema.parse({ type: 'suggestions', directory });
    const sink = new SuggestionsSink(config, { clock: () => now });
    const path = join(directory, '2026-03-14', agentFileName('agent-7'));
    await mkdir(join(directory, '2026-03-14'), { recursive: true });
    await writeFile(path, 'version: 1.2.0\nguards: { egress_allowlist: { allow: ["*"] } }\n');
    const alert = suggesting('agent-7', '2026-03-14T09:00:00.000Z', block('d.example'));
    const [outcome] = await sink.write([{ kind: 'alert', alert }]);
    expect(outcome).toMatchObject({ status: 'blocked' });
    expect(await readFile(path, 'utf8')).toContain('allow: ["*"]');
  });
});
