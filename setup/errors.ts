export const SETUP_STEPS = ['elasticsearch', 'kibana', 'transport'] as const;
export type SetupStep = (typeof SETUP_STEPS)[number];

/** A setup step that could not finish; the message says what to fix, `cause` keeps the client's error. */
export class SetupError extends Error {
  readonly step: SetupStep;

  constructor(step: SetupStep, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SetupError';
    this.step = step;
  }
}

export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch() wraps the socket error (ECONNREFUSED, ENOTFOUND) in `cause`; that is the useful part.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
