import { uuidV7 } from './ids.ts';
import {
  type Action,
  type AgentProfile,
  commandExec,
  customText,
  type Draft,
  egress,
  fileRead,
  fileWrite,
  mcpTool,
  patchApply,
  secretAccess,
  shellTool,
  toolCall,
} from './intent.ts';
import type { Prng } from './prng.ts';
import {
  COMMIT_MESSAGES,
  MCP_CALLS,
  PROJECTS,
  type ProjectKind,
  ROUTINE_SECRETS,
  SESSION_FILE_LIMIT,
  USER_PROMPTS,
} from './vocabulary.ts';

/** One task an agent works on: a project, the few files the task touches, and the steps still queued. */
export interface Session {
  sessionId: string;
  project: ProjectKind;
  root: string;
  files: readonly string[];
  endsAt: number;
  queue: Draft[];
}

const SESSION_MINUTES = { min: 3, max: 12 };

export function openSession(rng: Prng, agent: AgentProfile, now: number): Session {
  const project = rng.pick(PROJECTS);
  return {
    sessionId: uuidV7(rng, now),
    project,
    root: `${agent.home}/src/${project.name}`,
    files: rng.sample(project.files, rng.int(6, SESSION_FILE_LIMIT)),
    endsAt: now + rng.int(SESSION_MINUTES.min, SESSION_MINUTES.max) * 60_000,
    queue: [],
  };
}

/** The next step of ordinary coding-assistant work in this session. */
export function nextBenignDraft(rng: Prng, agent: AgentProfile, session: Session): Draft {
  if (session.queue.length === 0) session.queue = planTurn(rng, agent, session).map((action) => ({ action }));
  return session.queue.shift()!;
}

/**
 * One conversational turn, in the order an assistant works: prompt, model call, reads, model call, edits,
 * then verification; sometimes dependencies, MCP look-ups and git.
 */
function planTurn(rng: Prng, agent: AgentProfile, session: Session): Action[] {
  const { project, root } = session;
  const somePath = () => `${root}/${rng.pick(session.files)}`;
  const plan: Action[] = [];
  if (rng.chance(0.4)) plan.push(customText('user_input', rng.pick(USER_PROMPTS)));
  plan.push(llmCall(agent));
  for (let i = rng.int(1, 5); i > 0; i--) {
    plan.push(rng.chance(0.8) ? fileRead(somePath()) : toolCall('read_file', { path: somePath() }));
  }
  if (rng.chance(0.3)) {
    plan.push(
      toolCall('grep_search', { pattern: rng.pick(['TODO', 'retry', 'timeout', 'config']), path: root }),
    );
  }
  plan.push(llmCall(agent));
  for (let i = rng.int(1, 2); i > 0; i--) plan.push(edit(rng, session));
  if (rng.chance(0.25)) plan.push(mcpCall(rng, project));
  if (rng.chance(0.15)) {
    plan.push(shell(rng, rng.pick(project.install.commands), root));
    for (const host of project.install.hosts) plan.push(egress(host, 443, '/'));
  }
  plan.push(shell(rng, rng.pick([...project.test, ...project.build, ...project.lint]), root));
  if (rng.chance(0.3)) plan.push(...gitWork(rng, agent, root));
  return plan;
}

function llmCall(agent: AgentProfile): Action {
  return egress(agent.tool.llmHost, 443, agent.tool.llmPath);
}

/** Assistants run commands both ways: as a command_exec, or through their shell tool. */
function shell(rng: Prng, line: string, cwd: string): Action {
  return rng.chance(0.5) ? commandExec(line, cwd) : shellTool(line, cwd);
}

function edit(rng: Prng, session: Session): Action {
  const file = rng.pick(session.files);
  const added = rng.pick(session.project.addedLines);
  if (rng.chance(0.7)) {
    const line = rng.int(5, 180);
    return patchApply(`${session.root}/${file}`, unifiedDiff(file, line, [], [added]));
  }
  return fileWrite(`${session.root}/${file}`, `${session.project.fileHeader}${added}\n`);
}

function mcpCall(rng: Prng, project: ProjectKind): Action {
  const call = rng.pick(MCP_CALLS);
  const parameters = Object.fromEntries(
    Object.entries(call.parameters).map(([key, value]) => [key, value === 'REPO' ? project.name : value]),
  );
  return mcpTool(call.server, call.tool, parameters);
}

function gitWork(rng: Prng, agent: AgentProfile, root: string): Action[] {
  const steps = [shell(rng, 'git status --short', root), shell(rng, 'git diff --stat', root)];
  if (rng.chance(0.5)) {
    steps.push(
      shell(rng, 'git add -A', root),
      commandExec(['git', 'commit', '-m', rng.pick(COMMIT_MESSAGES)], root),
    );
    if (rng.chance(0.5)) {
      const secret = rng.pick(ROUTINE_SECRETS);
      steps.push(secretAccess(secret.name, secret.scope), shell(rng, 'git push', root), egress('github.com'));
      if (agent.environment === 'ci') steps.push(egress('api.github.com', 443, '/repos/acme/pulls'));
    }
  }
  return steps;
}

/** A one-hunk unified diff, as assistants' patch tools send it; lines are given without their +/- prefix. */
export function unifiedDiff(
  file: string,
  line: number,
  removed: readonly string[],
  added: readonly string[],
): string {
  const prefixed = (prefix: string, lines: readonly string[]) =>
    lines.flatMap((text) => text.split('\n')).map((text) => `${prefix}${text}`);
  const minus = prefixed('-', removed);
  const plus = prefixed('+', added);
  return [
    `diff --git a/${file} b/${file}`,
    `--- a/${file}`,
    `+++ b/${file}`,
    `@@ -${line},${minus.length + 1} +${line},${plus.length + 1} @@`,
    ' ',
    ...minus,
    ...plus,
    '',
  ].join('\n');
}
