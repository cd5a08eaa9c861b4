import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EngineInputs } from '../engine/index.ts';
import { Reloader } from './reloader.ts';

const sigmaRule = (id: string, condition = 'selection') => `title: Whoami run
id: ${id}
logsource:
    product: clawdstrike
    category: process_creation
detection:
    selection:
        CommandLine|contains: whoami
    condition: ${condition}
`;

describe('hot reload of Sigma files', () => {
  it('picks up an added Sigma document, and keeps the running rules when one is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigma-reload-'));
    const file = join(dir, 'whoami.yml');
    writeFileSync(file, sigmaRule('11111111-0000-4000-8000-000000000001'));
    const applied: EngineInputs[] = [];
    const problems: unknown[] = [];
    const log = {
      info: () => {},
      warn: () => {},
      error: (fields: Record<string, unknown>) => problems.push(fields),
    };
    const reloader = new Reloader({
      paths: { rules: [dir] },
      watch: false,
      log,
      apply: async (inputs) => {
        applied.push(inputs);
      },
    });
    expect(reloader.current.rules.rules.map((rule) => rule.id)).toEqual([
      '11111111-0000-4000-8000-000000000001',
    ]);

    writeFileSync(
      file,
      `${sigmaRule('11111111-0000-4000-8000-000000000001')}---\n${sigmaRule('11111111-0000-4000-8000-000000000002')}`,
    );
    expect(await reloader.reload('test')).toBe(true);
    expect(applied.at(-1)?.rules.rules.map((rule) => rule.id)).toEqual([
      '11111111-0000-4000-8000-000000000001',
      '11111111-0000-4000-8000-000000000002',
    ]);

    writeFileSync(file, sigmaRule('11111111-0000-4000-8000-000000000003', 'selection and'));
    expect(await reloader.reload('test')).toBe(false);
    expect(JSON.stringify(problems)).toContain('condition: ends where an identifier was expected');
    expect(reloader.current.rules.rules).toHaveLength(2);
    expect(reloader.stats()).toMatchObject({ failures: 1, rules: 2 });
  });
});
