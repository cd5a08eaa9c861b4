import { z } from 'zod';
import { csvRecords } from './csv.ts';

/**
 * Agent inventory: agentId → owner, team, criticality, environment (and any further keys), exposed to rules
 * as `asset.*` and copied into alerts. `asset.known` is false for agents the inventory does not list.
 * `secretScopes` lists the secret scopes an agent normally uses (see rule SECRET_ACCESS_OUT_OF_SCOPE).
 */
export const CRITICALITIES = ['low', 'medium', 'high', 'critical'] as const;

export const AssetRecordSchema = z.looseObject({
  agentId: z.string().min(1),
  owner: z.string().optional(),
  team: z.string().optional(),
  criticality: z.enum(CRITICALITIES).optional(),
  environment: z.string().optional(),
  secretScopes: z.array(z.string()).optional(),
});
export type AssetRecord = z.infer<typeof AssetRecordSchema>;

export const AssetFileSchema = z.union([
  z.array(AssetRecordSchema),
  z.object({ agents: z.array(AssetRecordSchema) }),
]);

/** The `asset.*` facts. */
export type AssetFacts = Readonly<Record<string, unknown>> & { known: boolean };

export const UNKNOWN_ASSET: AssetFacts = Object.freeze({ known: false });

export class AssetInventory {
  private readonly byAgent = new Map<string, AssetFacts>();

  constructor(records: readonly AssetRecord[]) {
    for (const record of records) this.byAgent.set(record.agentId, Object.freeze({ known: true, ...record }));
  }

  get size(): number {
    return this.byAgent.size;
  }

  facts(agentId: string): AssetFacts {
    return this.byAgent.get(agentId) ?? UNKNOWN_ASSET;
  }
}

export const EMPTY_INVENTORY = new AssetInventory([]);

export interface ParsedAssets {
  records: AssetRecord[];
  problems: string[];
}

function describe(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `${issue.path.join('.') || '(record)'}: ${issue.message}`).join('; ');
}

/** JSON: an array of records or `{agents: [...]}`. */
export function parseAssetJson(content: unknown, source: string): ParsedAssets {
  const parsed = AssetFileSchema.safeParse(content);
  if (!parsed.success) return { records: [], problems: [`${source}: ${describe(parsed.error.issues)}`] };
  return { records: Array.isArray(parsed.data) ? parsed.data : parsed.data.agents, problems: [] };
}

/** CSV with a header row; `secretScopes` holds scopes separated by `;`. */
export function parseAssetCsv(text: string, source: string): ParsedAssets {
  const out: ParsedAssets = { records: [], problems: [] };
  csvRecords(text).forEach((row, index) => {
    const { secretScopes, ...rest } = row;
    const candidate =
      secretScopes === undefined
        ? rest
        : { ...rest, secretScopes: secretScopes.split(';').map((s) => s.trim()) };
    const parsed = AssetRecordSchema.safeParse(candidate);
    if (parsed.success) out.records.push(parsed.data);
    else out.problems.push(`${source}:${index + 2}: ${describe(parsed.error.issues)}`);
  });
  return out;
}
