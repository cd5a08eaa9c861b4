import type { FastifyRequest } from 'fastify';
import type { Clock } from '../../../core/clock.ts';
import type { ConsoleStore } from '../../store/types.ts';
import type { ConsoleSettings } from '../config.ts';
import type { ResponseRunner } from '../respond.ts';
import type { RuleInfo } from '../rules.ts';
import type { ViewContext } from '../views/layout.ts';

export interface RouteDeps extends Record<string, unknown> {
  store: ConsoleStore;
  rules: ReadonlyMap<string, RuleInfo>;
  responder: ResponseRunner | undefined;
  contextOf: (request: FastifyRequest) => ViewContext | undefined;
  settings: ConsoleSettings;
  clock: Clock;
}

export const HTML = 'text/html; charset=utf-8';

/**
 * A same-site path to go back to after a login or a form; anything else (`//host`, `/\\host`, `https:`) is
 * refused. Printable ASCII only: browsers drop tabs and newlines from a URL, so `/<tab>/host` would become
 * `//host`, another site.
 */
const LOCAL_PATH = /^\/(?![/\\])[\x21-\x7e]*$/;
export function localPath(value: unknown, fallback: string): string {
  return typeof value === 'string' && value.length <= 2_048 && LOCAL_PATH.test(value) ? value : fallback;
}

export function field(body: unknown, name: string): string | undefined {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}
