import { type FSWatcher, watch } from 'node:fs';
import { type EngineInputPaths, type EngineInputs, loadEngineInputs } from '../engine/index.ts';

export interface ReloaderLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface ReloaderOptions {
  paths: EngineInputPaths;
  watch: boolean;
  log: ReloaderLogger;
  /** Receives every successfully loaded set of inputs after the first. */
  apply: (inputs: EngineInputs) => Promise<void>;
  /** Told the outcome of every reload after the first load (for the reloads metric). */
  onResult?: (result: 'ok' | 'failed') => void;
  /** Editors write a file in several steps; one reload after the last of them. */
  debounceMs?: number;
}

/**
 * Keeps the engine inputs current: reloads on file changes (when watching) and on SIGHUP. A file that fails
 * to load (broken, or past a limit of engine/rules/limits.ts) is logged with its problems, counted in
 * edr_processor_reloads_total{result="failed"}, and the running inputs stay in force.
 */
export class Reloader {
  readonly #options: ReloaderOptions;
  readonly #watchers: FSWatcher[] = [];
  #current: EngineInputs;
  #timer: NodeJS.Timeout | undefined;
  #reloads = 0;
  #failures = 0;
  readonly #onSignal = () => void this.reload('SIGHUP');

  /** Loads the inputs once; throws with every problem when they don't load (a processor must not start then). */
  constructor(options: ReloaderOptions) {
    this.#options = options;
    const loaded = loadEngineInputs(options.paths);
    if (!loaded.ok) throw new Error(`cannot load detection inputs:\n  ${loaded.error.join('\n  ')}`);
    for (const warning of loaded.value.warnings) options.log.warn({ warning }, 'skipped an input entry');
    this.#current = loaded.value.inputs;
  }

  get current(): EngineInputs {
    return this.#current;
  }

  stats(): { reloads: number; failures: number; rules: number } {
    return { reloads: this.#reloads, failures: this.#failures, rules: this.#current.rules.rules.length };
  }

  start(): void {
    process.on('SIGHUP', this.#onSignal);
    if (!this.#options.watch) return;
    const { rules, intel = [], assets = [] } = this.#options.paths;
    for (const path of [...rules, ...intel, ...assets]) {
      try {
        const watcher = watch(path, { recursive: true }, () => this.#schedule());
        watcher.on('error', (error) => this.#options.log.warn({ path, err: error }, 'stopped watching'));
        this.#watchers.push(watcher);
      } catch (error) {
        this.#options.log.warn({ path, err: error }, 'cannot watch; SIGHUP still reloads');
      }
    }
  }

  stop(): void {
    process.off('SIGHUP', this.#onSignal);
    clearTimeout(this.#timer);
    for (const watcher of this.#watchers.splice(0)) watcher.close();
  }

  /**
   * Loads the inputs again and applies them; returns whether they were applied. A refused load (each problem
   * names the file, the rule where there is one, and the reason) leaves the running inputs in force and is
   * counted as a failed reload; so is anything the loader throws, since a reload runs from a file watcher or
   * a signal where nothing else would catch it.
   */
  async reload(reason: string): Promise<boolean> {
    let loaded: ReturnType<typeof loadEngineInputs>;
    try {
      loaded = loadEngineInputs(this.#options.paths);
    } catch (error) {
      loaded = { ok: false, error: [`cannot load detection inputs: ${(error as Error).message}`] };
    }
    if (!loaded.ok) {
      this.#failures++;
      this.#options.onResult?.('failed');
      this.#options.log.error(
        { reason, problems: loaded.error },
        'reload rejected; the running rules stay in force',
      );
      return false;
    }
    this.#current = loaded.value.inputs;
    await this.#options.apply(this.#current);
    this.#reloads++;
    this.#options.onResult?.('ok');
    this.#options.log.info({ reason, rules: this.#current.rules.rules.length }, 'detection inputs reloaded');
    return true;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reload('file change'), this.#options.debounceMs ?? 250);
  }
}
