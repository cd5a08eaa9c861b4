/**
 * A function compiled from `source`, the JavaScript expression of a function, in which `captured[i]` is named
 * `f{i}` (see `capturedName`).
 *
 * The engine generates its hot per-event functions (field readers, fact paths, conditions, dispatch, group keys)
 * because each compiled function keeps call-site feedback of its own, so V8 inlines what it calls and gives
 * each property read its own inline cache. Closures made from one shared literal share that feedback: a call
 * or read that sees many targets or object shapes there goes megamorphic and inlines nothing.
 *
 * `source` may hold only integers, keys quoted with JSON.stringify (schema keys, rule fact paths) and captured
 * names, never values. Code generation from strings is on in Node unless it runs with
 * --disallow-code-generation-from-strings (see docs/components.md).
 */
export function generate<F>(source: string, captured: readonly unknown[]): F {
  return new Function(...captured.map((_, i) => capturedName(i)), `return ${source};`)(...captured) as F;
}

export function capturedName(index: number): string {
  return `f${index}`;
}
