import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { LocalPipeline } from '../../../cli/lib/local-pipeline.ts';
import { sharedPath } from '../../../test/support/shared.ts';
import type { ConsoleStore } from '../../store/index.ts';
import { hashPassword } from '../auth/passwords.ts';
import type { ConsoleSettings, Role } from '../config.ts';

/** The upstream PolicyEvent corpus: its CREDENTIAL_EXFILTRATION alert reads evt-0001 and egresses in evt-0007. */
export const upstreamEvents = (): string =>
  readFileSync(sharedPath('fixtures', 'upstream', 'policy-events', 'events.jsonl'), 'utf8');

/**
 * Events whose shown fields try to be markup: the console must render them as text. (Ids with quotes or
 * backslashes never get in: the pipeline refuses them, engine/model/bounds.ts.)
 */
export function hostileEvents(sessionId = 'sess-<b>x</b>'): string {
  const base = { sessionId, metadata: { source: 'cli', agentId: 'agent-<script>alert(0)</script>' } };
  const at = (seconds: number) => new Date(Date.UTC(2026, 1, 3, 1, 0, seconds)).toISOString();
  return [
    {
      ...base,
      eventId: 'evt-<script>alert(5)</script>',
      eventType: 'file_read',
      timestamp: at(0),
      data: { type: 'file', path: '/home/x/.ssh/<script>alert(1)</script>', operation: 'read' },
    },
    {
      ...base,
      eventId: 'evt-hostile-cmd',
      eventType: 'command_exec',
      timestamp: at(5),
      data: { type: 'command', command: '<img src=x onerror=alert(2)>', args: ['<svg onload=alert(3)>'] },
    },
    {
      ...base,
      eventId: 'evt-hostile-egress',
      eventType: 'network_egress',
      timestamp: at(10),
      data: { type: 'network', host: 'evil.example', port: 443, url: 'javascript:alert(4)' },
    },
  ]
    .map((event) => JSON.stringify(event))
    .join('\n');
}

export async function sendEvents(pipeline: LocalPipeline, ndjson: string): Promise<void> {
  const response = await fetch(`${pipeline.collectorUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${pipeline.apiKey}`, 'content-type': 'application/x-ndjson' },
    body: ndjson,
  });
  if (!response.ok) throw new Error(`collector answered ${response.status}: ${await response.text()}`);
}

/** Waits until the store holds at least `count` alerts of the rule (the sink writes asynchronously). */
export async function waitForAlerts(store: ConsoleStore, ruleId: string, count = 1, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const page = await store.listAlerts({
      filter: { ruleId: [ruleId] },
      sort: 'timestamp',
      order: 'desc',
      limit: 50,
    });
    if (page.items.length >= count) return page.items;
    if (Date.now() > deadline) throw new Error(`fewer than ${count} ${ruleId} alerts after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A console user as a test knows it: with the clear password it logs in with. */
export interface TestUser {
  name: string;
  role: Role;
  password: string;
}

/** An API token as a test knows it: the clear token it sends as `Authorization: Bearer`. */
export interface TestToken {
  id: string;
  role: Role;
  token: string;
}

/**
 * `console.users` and `console.tokens` as an operator writes them: each password scrypt-hashed, each token
 * as its hex SHA-256 (the config never holds a clear one).
 */
export async function consoleAccess(
  users: readonly TestUser[],
  tokens: readonly TestToken[] = [],
): Promise<Pick<ConsoleSettings, 'users' | 'tokens'>> {
  return {
    users: await Promise.all(
      users.map(async ({ name, role, password }) => ({ name, role, password: await hashPassword(password) })),
    ),
    tokens: tokens.map(({ id, role, token }) => ({
      id,
      role,
      sha256: createHash('sha256').update(token).digest('hex'),
    })),
  };
}

export const webhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** The session cookie pair (`edr_console=…`) a login answer sets. */
export function sessionCookie(response: Response): string {
  const header = response.headers.get('set-cookie') ?? '';
  const pair = header.split(';')[0] ?? '';
  if (!pair.startsWith('edr_console=')) throw new Error(`no session cookie in ${JSON.stringify(header)}`);
  return pair;
}

export function csrfFrom(html: string): string {
  const match = /<meta name="csrf-token" content="([^"]+)">/.exec(html);
  if (!match?.[1]) throw new Error('no CSRF token in the page');
  return match[1];
}
