/** Wall-clock access is injected so the engine and tests stay deterministic. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
