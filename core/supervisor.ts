import type { ChildProcess } from 'node:child_process';
import type { LifecycleLogger, Stoppable } from './lifecycle.ts';

export interface SupervisorOptions {
  /** How many workers run at once; worker i is started by `start(i)`, and again after it died. */
  workers: number;
  /** A child process with an IPC channel (`fork()`, or `cluster.fork().process`). */
  start: (index: number) => ChildProcess;
  /** What the logs and errors call one worker, e.g. "processor worker". */
  name: string;
  log: LifecycleLogger;
  /** Pause before a dead worker is replaced, so one that dies at start does not spin. */
  restartDelayMs?: number;
}

/**
 * The primary's side of a command's worker processes: starts them, replaces one that dies (after a delay),
 * and on stop sends every worker SIGTERM and waits for all to exit; the stop fails when one exits other than 0.
 * A replacement still waiting out its delay when the stop comes is not started.
 */
export function superviseWorkers(options: SupervisorOptions): Stoppable {
  const { name, log, restartDelayMs = 1_000 } = options;
  const running = new Map<number, ChildProcess>();
  const restarts = new Set<NodeJS.Timeout>();
  let stopping = false;
  const start = (index: number) => {
    const child = options.start(index);
    running.set(index, child);
    child.once('exit', (code, signal) => {
      running.delete(index);
      if (stopping) return;
      log.error({ worker: index, workerPid: child.pid, code, signal }, `${name} died; starting another`);
      const timer = setTimeout(() => {
        restarts.delete(timer);
        start(index);
      }, restartDelayMs);
      restarts.add(timer);
    });
  };
  for (let index = 0; index < options.workers; index++) start(index);
  log.info({ workers: options.workers }, `${name}s started`);
  return {
    async stop() {
      stopping = true;
      for (const timer of restarts) clearTimeout(timer);
      const exits = [...running].map(
        ([index, child]) =>
          new Promise<[number, number | null]>((resolve) =>
            child.once('exit', (code) => resolve([index, code])),
          ),
      );
      for (const child of running.values()) child.kill('SIGTERM');
      const failed = (await Promise.all(exits)).filter(([, code]) => code !== 0);
      if (failed.length > 0) {
        const which = failed.map(([index, code]) => `${index} (${code ?? 'killed'})`).join(', ');
        throw new Error(`${name}s exited other than 0: ${which}`);
      }
    },
  };
}

/**
 * The worker's side: resolves, once, at the first SIGTERM/SIGINT or when the primary is gone (its IPC channel
 * closed), even when that came while the worker was still starting; pass it to runUntilSignal. Later signals
 * are ignored: a signal to the whole process group reaches a worker twice, directly and through the primary,
 * and a repeat must not kill it mid-commit.
 */
export function followPrimary(): Promise<string> {
  return new Promise((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => resolve(signal));
    if (process.connected) process.once('disconnect', () => resolve('primary gone'));
    else resolve('primary gone');
  });
}
