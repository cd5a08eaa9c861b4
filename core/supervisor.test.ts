import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LifecycleLogger } from './lifecycle.ts';
import { superviseWorkers } from './supervisor.ts';

/** A worker that says when it is ready and exits with $EXIT_CODE (default 0) on SIGTERM. */
const WORKER = `
process.on('SIGTERM', () => process.exit(Number(process.env.EXIT_CODE ?? 0)));
setInterval(() => {}, 60_000);
process.stdout.write('ready\\n');
`;

interface Started {
  index: number;
  child: ChildProcess;
  out: ReturnType<typeof output>;
  at: number;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function spawnNode(args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  return child;
}

/** What the child wrote to stdout so far, and a wait until it wrote `text`. */
function output(child: ChildProcess): { text: () => string; waitFor: (text: string) => Promise<void> } {
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return {
    text: () => text,
    waitFor: (wanted) => vi.waitFor(() => expect(text).toContain(wanted), { timeout: 20_000, interval: 20 }),
  };
}

function recordingLog(): LifecycleLogger & { errors: Array<[Record<string, unknown>, string]> } {
  const errors: Array<[Record<string, unknown>, string]> = [];
  return { info: () => {}, error: (fields, message) => errors.push([fields, message]), errors };
}

/** A supervisor of WORKER processes; `exitCodes[i]` is what worker i exits with on SIGTERM. */
async function supervised(workers: number, restartDelayMs: number, exitCodes: number[] = []) {
  const started: Started[] = [];
  const log = recordingLog();
  const supervisor = superviseWorkers({
    workers,
    name: 'test worker',
    log,
    restartDelayMs,
    start: (index) => {
      const child = spawnNode(['-e', WORKER], { EXIT_CODE: String(exitCodes[index] ?? 0) });
      started.push({ index, child, out: output(child), at: Date.now() });
      return child;
    },
  });
  await Promise.all(started.map(({ out }) => out.waitFor('ready')));
  return { supervisor, started, log };
}

describe('superviseWorkers', () => {
  it('replaces a worker that died, after the restart delay, and leaves the others running', async () => {
    const { supervisor, started, log } = await supervised(2, 500);
    const [first, second] = started;
    const killedAt = Date.now();
    first!.child.kill('SIGKILL');
    await vi.waitFor(() => expect(started).toHaveLength(3), { timeout: 5_000, interval: 20 });
    const replacement = started[2]!;
    expect(replacement.index).toBe(0);
    expect(replacement.at - killedAt).toBeGreaterThanOrEqual(500);
    expect(log.errors).toEqual([
      [
        { worker: 0, workerPid: first!.child.pid, code: null, signal: 'SIGKILL' },
        'test worker died; starting another',
      ],
    ]);
    expect(second!.child.exitCode).toBeNull();
    await replacement.out.waitFor('ready');
    await supervisor.stop();
    expect([second!.child.exitCode, replacement.child.exitCode]).toEqual([0, 0]);
  });

  it('stops every worker with SIGTERM, and starts no replacement still waiting out its delay', async () => {
    const { supervisor, started } = await supervised(3, 300);
    const dead = started[0]!.child;
    dead.kill('SIGKILL');
    await once(dead, 'exit');
    await supervisor.stop();
    expect(started.slice(1).map(({ child }) => [child.exitCode, child.signalCode])).toEqual([
      [0, null],
      [0, null],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(started).toHaveLength(3);
  });

  it('fails the stop, naming the worker, when one exits other than 0', async () => {
    const { supervisor } = await supervised(2, 300, [0, 3]);
    await expect(supervisor.stop()).rejects.toThrow('test workers exited other than 0: 1 (3)');
  });
});

const modules = ['./supervisor.ts', './lifecycle.ts'].map((path) => new URL(path, import.meta.url).href);

/**
 * A worker that follows its primary: loaded, it takes $START_MS to start (a signal or the primary's death
 * meanwhile must not be lost), then runs until told to stop; its stop says so and takes a moment.
 */
const FOLLOWER = `
Promise.all(${JSON.stringify(modules)}.map((url) => import(url))).then(async ([supervisor, lifecycle]) => {
  const stopRequested = supervisor.followPrimary();
  process.stdout.write('loaded\\n');
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.START_MS ?? 0)));
  const service = {
    stop: async () => {
      process.stdout.write('stopping\\n');
      await new Promise((resolve) => setTimeout(resolve, 300));
    },
  };
  process.stdout.write('ready\\n');
  const code = await lifecycle.runUntilSignal([service], 5_000, { info() {}, error() {} }, stopRequested);
  process.stdout.write('stopped ' + code + '\\n');
  process.exit(code);
});
`;

/** A primary that starts FOLLOWER with an IPC channel and reports its pid and how it exited. */
const PRIMARY = `
const { spawn } = require('node:child_process');
const worker = spawn(process.execPath, ['--import', 'tsx', '-e', process.env.FOLLOWER], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
process.stdout.write('worker ' + worker.pid + '\\n');
worker.on('exit', (code, signal) => {
  process.stdout.write('exit ' + code + ' ' + signal + '\\n');
  process.exit(0);
});
`;

describe('followPrimary', () => {
  async function primaryAndWorker(startMs = 0, until = 'ready') {
    const primary = spawnNode(['-e', PRIMARY], { FOLLOWER, START_MS: String(startMs) });
    const out = output(primary);
    await out.waitFor(until);
    const pid = Number(/worker (\d+)/.exec(out.text())![1]);
    return { primary, out, pid };
  }

  /** Kills the primary; resolves once the worker, which inherited the primary's stdout, has exited too. */
  async function killPrimary(primary: ChildProcess): Promise<void> {
    const ended = once(primary.stdout!, 'end');
    primary.kill('SIGKILL');
    await ended;
  }

  it('stops the worker as SIGTERM does when its primary dies', async () => {
    const { primary, out } = await primaryAndWorker();
    await killPrimary(primary);
    expect(out.text()).toContain('stopping\nstopped 0\n');
  });

  it('stops a worker whose primary died while it was still starting, once it has started', async () => {
    const { primary, out } = await primaryAndWorker(1_500, 'loaded');
    await killPrimary(primary);
    expect(out.text()).toContain('loaded\nready\nstopping\nstopped 0\n');
  });

  it('ignores a repeated signal: the worker stops once and exits 0', async () => {
    const { out, pid } = await primaryAndWorker();
    process.kill(pid, 'SIGTERM');
    await out.waitFor('stopping');
    process.kill(pid, 'SIGTERM');
    process.kill(pid, 'SIGINT');
    await out.waitFor('exit 0 null');
    expect(out.text().match(/stopping/g)).toHaveLength(1);
  });
});
