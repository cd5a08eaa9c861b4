import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { type Envelope, parseRecord } from '../engine/model/index.ts';
import type { AttackName } from './attacks.ts';
import { type SimRecord, Simulation, type SimulationOptions } from './simulation.ts';

/** Test helpers: a corpus from a simulation, its normalized form, and the attack patterns as predicates. */

export const START = Date.parse('2026-03-02T09:00:00Z');
const MINUTE = 60_000;

/** Steps a simulation on simulated time at `rate` records per second for `durationMs`. */
export function generate(
  options: SimulationOptions,
  rate: number,
  durationMs: number,
  start = START,
): SimRecord[] {
  const simulation = new Simulation(options);
  const records: SimRecord[] = [];
  for (let now = start; now < start + durationMs; now += 1000 / rate)
    records.push(...simulation.next(Math.floor(now)));
  return records;
}

export interface Normalized {
  source: SimRecord;
  envelope: Envelope;
}

export function normalize(records: readonly SimRecord[]): Normalized[] {
  return records.map((source) => {
    const result = parseRecord(source.record);
    if (!result.ok)
      throw new Error(`${JSON.stringify(source.record)} failed: ${JSON.stringify(result.error)}`);
    return { source, envelope: result.value };
  });
}

/** Events per agent+session, in event-time order: the grouping every starter rule uses. */
export function bySession(events: readonly Normalized[]): Map<string, Normalized[]> {
  const groups = new Map<string, Normalized[]>();
  for (const event of events) {
    const key = `${event.envelope.agentId}|${event.envelope.sessionId}`;
    const group = groups.get(key);
    if (group) group.push(event);
    else groups.set(key, [event]);
  }
  for (const group of groups.values()) group.sort((a, b) => time(a.envelope) - time(b.envelope));
  return groups;
}

// --- a test collector -------------------------------------------------------------------------------

/** How the test collector answers the next request; after the script it accepts everything. */
export type Reply = 'accept' | 'reject-first' | { status: number; retryAfter?: string };

export interface Received {
  at: number;
  headers: IncomingMessage['headers'];
  lines: string[];
  status: number;
  accepted: number;
}

/** A small collector: counts what it accepted, answers 202 {accepted, rejected, errors} like the real one. */
export async function startCollector(
  script: Reply[],
): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method === 'GET') {
        response.writeHead(200).end('ok');
        return;
      }
      const raw = Buffer.concat(chunks);
      const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const lines = body
        .toString('utf8')
        .split('\n')
        .filter((line) => line !== '');
      const reply = script.shift() ?? 'accept';
      if (typeof reply === 'object') {
        received.push({ at: Date.now(), headers: request.headers, lines, status: reply.status, accepted: 0 });
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (reply.retryAfter) headers['retry-after'] = reply.retryAfter;
        response.writeHead(reply.status, headers).end(JSON.stringify({ error: 'try later' }));
        return;
      }
      const rejected = reply === 'reject-first' ? 1 : 0;
      const errors = rejected
        ? [{ index: 0, line: 1, field: 'timestamp', message: 'expected a date-time' }]
        : [];
      received.push({
        at: Date.now(),
        headers: request.headers,
        lines,
        status: 202,
        accepted: lines.length - rejected,
      });
      response
        .writeHead(202, { 'content-type': 'application/json' })
        .end(JSON.stringify({ accepted: lines.length - rejected, rejected, errors }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

export async function stopCollector(server: Server): Promise<void> {
  const closing = new Promise((resolve) => server.close(resolve));
  // fetch keeps connections alive; close() alone would wait for them.
  server.closeAllConnections();
  await closing;
}

// --- the patterns, as issue 3 section 2 words them ---------------------------------------------------

type Pattern = (session: readonly Envelope[]) => boolean;

const CREDENTIAL_PATH = /(^|\/)\.ssh\/|(^|\/)\.aws\/|(^|\/)\.env$/;
const RECON_FILES = new Set(['/etc/passwd', '/etc/hosts', '/etc/resolv.conf']);
const RECON_COMMAND = /\b(whoami|hostname|ifconfig|ip addr)\b/;
const SECRET_IN_TEXT = /AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9]{20,}/;
const SECURITY_DISABLED = /\bdisabl|rejectUnauthorized: false|verify=False/i;

export const time = (event: Envelope) => Date.parse(event.timestamp);
const text = (value: unknown) => (typeof value === 'string' ? value : '');
const pathOf = (event: Envelope) => text(event.data.path) || event.target;
const hostOf = (event: Envelope) => text(event.data.host);
const isDenied = (event: Envelope, guard?: string) =>
  event.decision.outcome === 'deny' && (guard === undefined || event.decision.guard === guard);
const allowlisted = (host: string) =>
  host.endsWith('.openai.com') || host.endsWith('.anthropic.com') || host === 'api.github.com';

/** A command line from command_exec, or from a tool call's `parameters.command`. */
export function commandOf(event: Envelope): string {
  if (event.eventType === 'command_exec') return event.target;
  if (event.eventType !== 'tool_call') return '';
  const parameters = event.data.parameters;
  return typeof parameters === 'object' && parameters !== null
    ? text((parameters as Record<string, unknown>).command)
    : '';
}

function rapidEnumeration(session: readonly Envelope[]): boolean {
  const reads = session.filter((event) => event.eventType === 'file_read');
  const counts = new Map<string, number>();
  for (let end = 0, start = 0; end < reads.length; end++) {
    const path = pathOf(reads[end]!);
    counts.set(path, (counts.get(path) ?? 0) + 1);
    while (time(reads[end]!) - time(reads[start]!) > MINUTE) {
      const old = pathOf(reads[start++]!);
      const left = counts.get(old)! - 1;
      if (left === 0) counts.delete(old);
      else counts.set(old, left);
    }
    if (end - start + 1 > 100 && counts.size > 50) return true;
  }
  return false;
}

function lateralMovement(session: readonly Envelope[]): boolean {
  const reads = session.filter((event) => event.eventType === 'file_read' && RECON_FILES.has(pathOf(event)));
  const commands = session.filter((event) => RECON_COMMAND.test(commandOf(event)));
  const egresses = session.filter((event) => event.eventType === 'network_egress');
  return reads.some((read) =>
    commands.some((command) =>
      egresses.some((egress) => {
        const times = [read, command, egress].map(time);
        return Math.max(...times) - Math.min(...times) <= 30 * MINUTE;
      }),
    ),
  );
}

export const PATTERNS: Readonly<Record<AttackName, Pattern>> = {
  credential_exfiltration: (session) =>
    session.some(
      (read, index) =>
        read.eventType === 'file_read' &&
        CREDENTIAL_PATH.test(pathOf(read)) &&
        session
          .slice(index + 1)
          .some(
            (egress) =>
              egress.eventType === 'network_egress' &&
              !allowlisted(hostOf(egress)) &&
              time(egress) - time(read) <= 5 * MINUTE,
          ),
    ),
  prompt_injection_chain: (session) => {
    const denials = session.filter((event) => isDenied(event));
    return denials.some(
      (first, index) =>
        (first.decision.guard === 'prompt_injection' || first.decision.guard === 'jailbreak_detection') &&
        denials.slice(index + 1).filter((later) => time(later) - time(first) <= 10 * MINUTE).length >= 3,
    );
  },
  rapid_file_enumeration: rapidEnumeration,
  lateral_movement_prep: lateralMovement,
  secret_leak: (session) =>
    session.some(
      (event) =>
        event.eventType === 'file_write' &&
        SECRET_IN_TEXT.test(text(event.data.content)) &&
        isDenied(event, 'secret_leak'),
    ),
  forbidden_path_write: (session) =>
    session.some(
      (event) =>
        event.eventType === 'file_write' &&
        pathOf(event) === '/etc/sudoers' &&
        isDenied(event, 'forbidden_path'),
    ),
  disable_security_checks: (session) =>
    session.some(
      (event) =>
        event.eventType === 'patch_apply' &&
        SECURITY_DISABLED.test(text(event.data.patchContent)) &&
        event.decision.guard === 'patch_integrity' &&
        event.decision.outcome !== 'allow',
    ),
  threat_intel_egress: (session) =>
    session.some((event) => event.eventType === 'network_egress' && hostOf(event) === 'evil.example'),
  denial_burst: (session) => {
    const denials = session.filter((event) => isDenied(event));
    return denials.some((first, index) => {
      const tenth = denials[index + 9];
      return tenth !== undefined && time(tenth) - time(first) <= MINUTE;
    });
  },
  jailbreak_attempt: (session) =>
    session.some(
      (event) =>
        event.eventType === 'custom' &&
        /\bDAN\b|Developer Mode|Ignore previous instructions/.test(text(event.data.text)) &&
        isDenied(event, 'jailbreak_detection'),
    ),
  mcp_tool_abuse: (session) =>
    session.some(
      (event) =>
        event.eventType === 'tool_call' && event.target.startsWith('mcp__') && isDenied(event, 'mcp_tool'),
    ),
  secret_scope_abuse: (session) =>
    session.some((event) => event.eventType === 'secret_access' && event.data.scope === 'production'),
};
