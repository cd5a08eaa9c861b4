import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../test/support/shared.ts';

const execFileAsync = promisify(execFile);

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'cli', 'main.ts'), 'rules', ...args],
      { cwd: REPO_ROOT, timeout: 120_000, maxBuffer: 16 * 2 ** 20 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout: string; stderr: string };
    return { code: failed.code ?? -1, stdout: failed.stdout, stderr: failed.stderr };
  }
}

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'edr-framework-tags-'));
  await cp(join(REPO_ROOT, 'rules', 'lists.yaml'), join(folder, 'lists.yaml'));
  const rule = (id: string, tags: string[]) => ({
    id,
    name: id,
    description: 'tags under test',
    severity: 'low',
    tags,
    type: 'match',
    condition: { fact: 'eventType', operator: 'equal', value: 'file_read' },
    summary: 'x',
  });
  await writeFile(
    join(folder, 'tagged.json'),
    JSON.stringify({
      rules: [
        rule('MADE_UP_ATLAS', ['atlas:AML.T9999']),
        rule('REVOKED_ATTACK', ['attack:T1145']),
        rule('DEPRECATED_ATTACK', ['attack:T1064', 'atlas:AML.T0053']),
      ],
    }),
  );
});
afterAll(() => rm(folder, { recursive: true, force: true }));

describe('rules validate: framework ids', () => {
  it('refuses a made-up ATLAS id and a revoked ATT&CK id, naming file, rule and tag; warns on a deprecated one', async () => {
    const file = join(folder, 'tagged.json');
    const result = await cli('validate', folder);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${file}: rule MADE_UP_ATLAS: $.tags[0]: AML.T9999 is not a tactic or technique of MITRE ATLAS 5.5.0`,
    );
    expect(result.stderr).toContain(
      `${file}: rule REVOKED_ATTACK: $.tags[0]: T1145 (Private Keys) is revoked in MITRE ATT&CK Enterprise 18.0; use T1552.004 (Private Keys)`,
    );
    expect(result.stderr).toMatch(
      /^warning: .*rule DEPRECATED_ATTACK: \$\.tags\[0\]: T1064 \(Scripting\) is deprecated .*use T1059/m,
    );
    expect(result.stderr).toMatch(/^2 problem\(s\)$/m);
  });

  it('control: the bundled rules pass with no warning', async () => {
    const result = await cli('validate', join(REPO_ROOT, 'rules'));
    expect(result).toMatchObject({ code: 0, stderr: '' });
  });
});

describe('rules coverage', () => {
  it('lists every in-scope ATLAS technique as covered with fixtures and writes both Navigator layers', async () => {
    const out = join(folder, 'layers');
    const result = await cli('coverage', '--navigator', out);
    expect(result.code, result.stderr).toBe(0);
    const scope = await readFile(join(REPO_ROOT, 'frameworks', 'atlas-scope.yaml'), 'utf8');
    for (const [, id = ''] of scope.matchAll(/- id: (AML\.T\d{4}(?:\.\d{3})?)/g)) {
      expect(result.stdout).toMatch(new RegExp(`^    ${id.replace('.', '\\.')} .*\\[\\+~\\]`, 'm'));
    }
    for (const name of ['atlas-layer.json', 'attack-enterprise-layer.json']) {
      const layer = JSON.parse(await readFile(join(out, name), 'utf8'));
      expect(layer.versions.layer).toBe('4.5');
      expect(layer.techniques.length).toBeGreaterThan(10);
    }
  });

  it('exits 1 and names the technique when an in-scope technique loses its rule', async () => {
    const rules = join(folder, 'without-exfil');
    await cp(join(REPO_ROOT, 'rules'), rules, { recursive: true });
    const file = join(rules, 'agent-configuration.yaml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('atlas:AML.T0086, ', ''));
    const result = await cli('coverage', '--rules', rules);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'AML.T0086 (Exfiltration via AI Agent Tool Invocation) is in scope but no rule',
    );
  });

  it('--help describes coverage and its options', async () => {
    const result = await cli('--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/coverage .*--navigator DIR/s);
    expect(result.stdout).toContain('score 2 = covered with fixtures, 1 = without');
  });
});
