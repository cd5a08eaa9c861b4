import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/shared.ts';
import { reachableFiles, readStages, type Stage, tsFilesIn } from './dockerfile.ts';

const stages = readStages(join(REPO_ROOT, 'Dockerfile'));
const runtime = stages.at(-1)!;
const args = (stage: Stage, keyword: string) =>
  stage.instructions
    .filter((instruction) => instruction.keyword === keyword)
    .map((instruction) => instruction.args);

/** `COPY [--from=x] src... dest` → its sources, or undefined when it copies from another stage. */
function contextSources(copy: string): string[] | undefined {
  const parts = copy.split(/\s+/);
  if (parts.some((part) => part.startsWith('--from='))) return undefined;
  return parts.filter((part) => !part.startsWith('--')).slice(0, -1);
}

describe('Dockerfile', () => {
  it('is multi-stage on a Node LTS image (an even major, 20 or newer)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      const match = /^node:(\d+)(?:[.-][\w.-]*)?$/.exec(stage.image);
      expect(match, `${stage.image}: pin a node:<LTS major> image`).not.toBeNull();
      const major = Number(match?.[1]);
      expect(major >= 20 && major % 2 === 0, `${stage.image} is not an LTS line`).toBe(true);
    }
  });

  it('runs as a non-root user', () => {
    const user = args(runtime, 'USER').at(-1);
    expect(user, 'the runtime stage sets no USER').toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
  });

  it('ships production dependencies only', () => {
    const from = args(runtime, 'COPY')
      .filter((copy) => /\bnode_modules\b/.test(copy))
      .map((copy) => /--from=(\S+)/.exec(copy)?.[1]);
    expect(from).toHaveLength(1);
    const source = stages.find((stage) => stage.name === from[0]);
    expect(args(source!, 'RUN').join('\n')).toMatch(/npm ci\b[^\n]*--omit=dev/);
    expect(args(runtime, 'RUN').join('\n')).not.toMatch(/npm (ci|install)/);
    const dockerignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(dockerignore).toEqual(expect.arrayContaining(['node_modules', '.env']));
  });

  it('copies only files that exist, and every source folder the CLI and its commands import', () => {
    for (const stage of stages)
      for (const copy of args(stage, 'COPY'))
        for (const source of contextSources(copy) ?? [])
          expect(existsSync(join(REPO_ROOT, source)), `COPY ${source}: not in the repo`).toBe(true);
    const build = stages.find((stage) => args(stage, 'RUN').some((run) => /npm run build/.test(run)));
    const copied = new Set(args(build!, 'COPY').flatMap((copy) => contextSources(copy) ?? []));
    const files = reachableFiles(REPO_ROOT, ['cli/main.ts', ...tsFilesIn(REPO_ROOT, 'cli/commands')]);
    const folders = new Set(
      [...files].map((file) => file.split('/')[0]!).filter((top) => !top.endsWith('.ts')),
    );
    expect(
      [...folders].filter((folder) => !copied.has(folder)).sort(),
      'folders the build stage misses',
    ).toEqual([]);
  });

  it('ships what the commands read at run time: the entry point, rules and the dashboards setup imports', () => {
    const copied = args(runtime, 'COPY').flatMap((copy) => contextSources(copy) ?? []);
    // frameworks/: the MITRE data rules validate and rules coverage check tags against.
    expect(copied).toEqual(
      expect.arrayContaining(['bin', 'rules', 'frameworks', 'dashboards', 'package.json']),
    );
    expect(args(runtime, 'ENTRYPOINT').at(-1)).toMatch(/bin\/clawdstrike-edr\.js/);
  });
});
