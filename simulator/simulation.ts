import { ATTACKS, type AttackMove, type AttackName } from './attacks.ts';
import { nextBenignDraft, openSession, type Session } from './benign.ts';
import { encode, type WireRecord } from './formats.ts';
import { uuidV7 } from './ids.ts';
import type { AgentProfile, Draft, Intent } from './intent.ts';
import { Prng } from './prng.ts';
import { AGENT_TOOLS, TEAMS, USERS } from './vocabulary.ts';

export interface SimulationOptions {
  seed: number;
  agents: number;
  /** Attacks to inject; each runs once early, then again at random. Empty for benign traffic only. */
  attacks: readonly AttackName[];
  /** Mean time between injections once every attack has run once. */
  attackIntervalMs?: number;
}

/** One wire record and the intent it encodes (tests and the summary read the intent). */
export interface SimRecord extends WireRecord {
  intent: Intent;
}

interface Scenario {
  name: AttackName;
  moves: AttackMove[];
  nextMove: number;
  dueAt: number;
}

interface AgentState {
  profile: AgentProfile;
  session?: Session;
  scenario?: Scenario;
  /** Event times stay increasing per agent, also across bursts stamped slightly ahead of the clock. */
  lastTimestamp: number;
}

const DEFAULT_ATTACK_INTERVAL_MS = 30_000;
/** Agents work a little before the first attack, so alerts come with some benign context around them. */
const FIRST_ATTACK_AFTER_MS = 3000;
const FIRST_ROUND_GAP_MS = { min: 500, max: 2500 };
const MIN_ATTACK_GAP_MS = 2000;

/**
 * A fleet of coding agents. Pure: the caller passes the time of each step, and one seed with the same
 * sequence of times yields the same records.
 */
export class Simulation {
  private readonly rng: Prng;
  private readonly agents: AgentState[];
  private readonly attacks: readonly AttackName[];
  private readonly attackIntervalMs: number;
  private readonly policyHash: string;
  private readonly firstRound: AttackName[];
  private readonly injected = new Map<AttackName, number>();
  private nextInjectionAt: number | undefined;
  private nextAgentIndex = 0;

  constructor(options: SimulationOptions) {
    if (!Number.isInteger(options.agents) || options.agents < 1)
      throw new RangeError('agents must be at least 1');
    this.rng = new Prng(options.seed);
    this.attacks = options.attacks;
    this.attackIntervalMs = options.attackIntervalMs ?? DEFAULT_ATTACK_INTERVAL_MS;
    this.policyHash = this.rng.hex(64);
    this.agents = Array.from({ length: options.agents }, (_, index) => ({
      profile: createAgent(this.rng, index),
      lastTimestamp: 0,
    }));
    this.firstRound = this.rng.shuffle(options.attacks);
  }

  /** The records of the next step at time `now` (epoch ms): usually one, more for a burst. */
  next(now: number): SimRecord[] {
    this.injectWhenDue(now);
    const attacker = this.dueScenarioAgent(now);
    if (attacker) return this.playMove(attacker, now);
    const agent = this.rng.pick(this.agents);
    const session = this.sessionOf(agent, now);
    return this.emit(agent, [nextBenignDraft(this.rng, agent.profile, session)], now, 0);
  }

  /** The fleet: who runs each agent (for an asset inventory). */
  profiles(): AgentProfile[] {
    return this.agents.map((agent) => agent.profile);
  }

  /** How many times each attack was started so far. */
  injections(): ReadonlyMap<AttackName, number> {
    return this.injected;
  }

  private sessionOf(agent: AgentState, now: number): Session {
    // A session under attack lives until the attack is over; otherwise tasks end after a few minutes.
    if (!agent.session || (!agent.scenario && now >= agent.session.endsAt)) {
      agent.session = openSession(this.rng, agent.profile, now);
    }
    return agent.session;
  }

  private injectWhenDue(now: number): void {
    if (this.attacks.length === 0) return;
    this.nextInjectionAt ??= now + FIRST_ATTACK_AFTER_MS;
    if (now < this.nextInjectionAt) return;
    const agent = this.freeAgent();
    if (!agent) return; // every agent is busy with an attack: try again on the next step
    const name = this.firstRound.shift() ?? this.rng.pick(this.attacks);
    const moves = ATTACKS[name].moves(this.rng, agent.profile, this.sessionOf(agent, now));
    agent.scenario = { name, moves, nextMove: 0, dueAt: now + (moves[0]?.afterMs ?? 0) };
    this.injected.set(name, (this.injected.get(name) ?? 0) + 1);
    const gap =
      this.firstRound.length > 0
        ? this.rng.int(FIRST_ROUND_GAP_MS.min, FIRST_ROUND_GAP_MS.max)
        : Math.max(MIN_ATTACK_GAP_MS, this.rng.exponential(this.attackIntervalMs));
    this.nextInjectionAt = now + gap;
  }

  /** Round-robin over agents not already running an attack, so attacks spread across the fleet. */
  private freeAgent(): AgentState | undefined {
    for (let offset = 0; offset < this.agents.length; offset++) {
      const index = (this.nextAgentIndex + offset) % this.agents.length;
      const agent = this.agents[index]!;
      if (!agent.scenario) {
        this.nextAgentIndex = index + 1;
        return agent;
      }
    }
    return undefined;
  }

  private dueScenarioAgent(now: number): AgentState | undefined {
    let earliest: AgentState | undefined;
    for (const agent of this.agents) {
      const due = agent.scenario?.dueAt;
      if (due !== undefined && due <= now && (!earliest || due < earliest.scenario!.dueAt)) earliest = agent;
    }
    return earliest;
  }

  private playMove(agent: AgentState, now: number): SimRecord[] {
    const scenario = agent.scenario!;
    const move = scenario.moves[scenario.nextMove]!;
    const records = this.emit(agent, move.drafts, now, move.spacingMs ?? 0, scenario.name);
    scenario.nextMove++;
    const following = scenario.moves[scenario.nextMove];
    if (following) {
      scenario.dueAt = agent.lastTimestamp + following.afterMs;
    } else {
      // The attacked session ends with the attack (the agent is stopped or restarted); work goes on in a new one.
      agent.scenario = undefined;
      agent.session = openSession(this.rng, agent.profile, agent.lastTimestamp);
    }
    return records;
  }

  private emit(
    agent: AgentState,
    drafts: readonly Draft[],
    now: number,
    spacingMs: number,
    attack?: AttackName,
  ) {
    const sessionId = this.sessionOf(agent, now).sessionId;
    return drafts.flatMap((draft, index): SimRecord[] => {
      const timestamp = Math.max(now + index * spacingMs, agent.lastTimestamp + 1);
      agent.lastTimestamp = timestamp;
      const intent: Intent = {
        ...draft,
        eventId: uuidV7(this.rng, timestamp),
        timestamp,
        agent: agent.profile,
        sessionId,
      };
      if (attack) intent.attack = attack;
      return encode(intent, { rng: this.rng, policyHash: this.policyHash }).map((wire) => ({
        ...wire,
        intent,
      }));
    });
  }
}

function createAgent(rng: Prng, index: number): AgentProfile {
  const base = USERS[index % USERS.length]!;
  const user = index < USERS.length ? base : `${base}${Math.floor(index / USERS.length) + 1}`;
  return {
    agentId: `agent-${String(index + 1).padStart(4, '0')}`,
    user,
    home: `/home/${user}`,
    tool: rng.pick(AGENT_TOOLS),
    team: rng.pick(TEAMS),
    environment: rng.chance(0.2) ? 'ci' : 'dev',
  };
}
