export interface Stoppable {
  stop(): Promise<void>;
}

export interface LifecycleLogger {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/**
 * Resolves with the exit code once SIGTERM or SIGINT arrived (or `stopRequested` resolved, with its reason)
 * and every service stopped, in order. A stop that hangs past the timeout (a broker that never answers)
 * exits the process rather than leaving the orchestrator waiting.
 */
export function runUntilSignal(
  services: readonly Stoppable[],
  timeoutMs: number,
  log: LifecycleLogger,
  stopRequested?: Promise<string>,
): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      const timer = setTimeout(() => {
        log.error({ timeoutMs }, 'shutdown timed out');
        process.exit(1);
      }, timeoutMs);
      timer.unref();
      let code = 0;
      for (const service of services) {
        try {
          await service.stop();
        } catch (error) {
          log.error({ err: error }, 'error while stopping');
          code = 1;
        }
      }
      clearTimeout(timer);
      resolve(code);
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
    void stopRequested?.then(shutdown);
  });
}
