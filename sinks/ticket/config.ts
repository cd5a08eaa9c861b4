import { z } from 'zod';
import { ResponseActionSchema } from '../../core/response-actions.ts';
import { SeveritySchema } from '../../core/severity.ts';
import { deliverySchema, redactSchema, TlsSchema } from '../shared/config.ts';
import { Secret } from './secret.ts';
import { templateProblems } from './template.ts';

const SecretSchema = z
  .string()
  .min(1)
  .transform((value) => new Secret(value))
  .describe('prefer the environment variable: a token in the config file is only as safe as the file');

/** GitHub label names are at most 50 characters; commas would split them in the list-issues filter. */
const GithubLabelSchema = z.string().regex(/^[^,]{1,50}$/, 'a label is 1 to 50 characters, no comma');
/** Jira labels cannot contain spaces. */
const JiraLabelSchema = z.string().regex(/^\S{1,255}$/, 'a Jira label is 1 to 255 characters, no space');

const GithubTargetSchema = z
  .object({
    kind: z.literal('github'),
    apiUrl: z.url().default('https://api.github.com').describe('REST API root (GitHub Enterprise: /api/v3)'),
    owner: z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'a GitHub user or organization name'),
    repo: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'a GitHub repository name'),
    token: SecretSchema.optional().describe('token with Issues write access (default: from tokenEnv)'),
    tokenEnv: z.string().min(1).default('GITHUB_TOKEN').describe('environment variable holding the token'),
    labels: z.array(GithubLabelSchema).max(20).default(['clawdstrike-edr']).describe('added to every issue'),
    lookupSettleMs: z
      .int()
      .min(0)
      .default(10_000)
      .describe('after a create whose answer was lost, how long a lookup that finds nothing is trusted less'),
    mutationIntervalMs: z
      .int()
      .min(0)
      .default(1_000)
      .describe('least time between two creates or comments (GitHub: at least a second between POSTs)'),
  })
  .describe('GitHub Issues: one issue per alert group, later alerts as comments');

const JiraTargetSchema = z
  .object({
    kind: z.literal('jira'),
    baseUrl: z.url().describe('site URL, e.g. https://your-domain.atlassian.net'),
    email: z.string().min(3).describe('Atlassian account email (basic auth user)'),
    apiToken: SecretSchema.optional().describe('Atlassian API token (default: from apiTokenEnv)'),
    apiTokenEnv: z.string().min(1).default('JIRA_API_TOKEN'),
    projectKey: z.string().regex(/^[A-Z][A-Z0-9_]{0,254}$/, 'a Jira project key, e.g. SEC'),
    issueType: z.string().min(1).default('Task').describe('issue type name'),
    labels: z.array(JiraLabelSchema).max(20).default(['clawdstrike-edr']),
    lookupSettleMs: z
      .int()
      .min(0)
      .default(60_000)
      .describe('JQL search is eventually consistent: after a lost create, a miss waits this long'),
  })
  .describe('Jira Cloud REST v3: one issue per alert group, description and comments in ADF');

const RequestTemplateSchema = z.object({
  url: z.string().min(1).describe('{{placeholder}}s are percent-encoded'),
  method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
  headers: z.record(z.string(), z.string()).default({}),
  secretHeaders: z
    .record(z.string(), z.string())
    .default({})
    .describe('header name → environment variable holding its value (tokens never live in the config)'),
  body: z.json().describe('any JSON value; {{placeholder}}s in its strings, JSON-escaped on output'),
});

const TemplateTargetSchema = z
  .object({
    kind: z.literal('template'),
    create: RequestTemplateSchema.describe('the request that opens a ticket for a new group'),
    comment: RequestTemplateSchema.optional().describe(
      'the request for a later alert of the group ({{ticket.id}} available); without it, nothing is sent',
    ),
    ticketIdPointer: z
      .string()
      .regex(/^(\/[^/]*)*$/, 'a JSON pointer, e.g. /id')
      .default('/id')
      .describe('JSON pointer to the ticket id in the create response'),
  })
  .superRefine((target, context) => {
    for (const [name, template] of [
      ['create', target.create],
      ['comment', target.comment],
    ] as const) {
      if (!template) continue;
      for (const message of templateProblems(template, name === 'comment')) {
        context.addIssue({ code: 'custom', path: [name], message });
      }
    }
  })
  .describe('any JSON API: requests built from templates with placeholders from the alert');

export const TicketTargetSchema = z.discriminatedUnion('kind', [
  GithubTargetSchema,
  JiraTargetSchema,
  TemplateTargetSchema,
]);
export type TicketTarget = z.infer<typeof TicketTargetSchema>;
export type GithubTarget = z.infer<typeof GithubTargetSchema>;
export type JiraTarget = z.infer<typeof JiraTargetSchema>;
export type TemplateTarget = z.infer<typeof TemplateTargetSchema>;
export type RequestTemplate = z.infer<typeof RequestTemplateSchema>;

export const GROUP_FIELDS = ['ruleId', 'agentId', 'sessionId', 'groupKey'] as const;
export type GroupField = (typeof GROUP_FIELDS)[number];

export const TicketSinkConfigSchema = z
  .object({
    type: z.literal('ticket'),
    name: z.string().min(1).optional().describe('unique sink name (default: ticket)'),
    minSeverity: SeveritySchema.default('high').describe('alerts below this severity open no ticket'),
    actions: z
      .array(ResponseActionSchema)
      .min(1)
      .optional()
      .describe('only alerts asking for one of these actions (default: every alert at minSeverity)'),
    redact: redactSchema,
    target: TicketTargetSchema,
    groupBy: z
      .array(z.enum(GROUP_FIELDS))
      .min(1)
      .default(['ruleId', 'agentId', 'groupKey'])
      .describe('alert fields whose values make the ticket group: one ticket per distinct combination'),
    stateFile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'group → ticket mapping and in-flight requests, kept across restarts (default: ./data/tickets-<name>.jsonl)',
      ),
    maxTrackedGroups: z
      .int()
      .min(1)
      .default(10_000)
      .describe('groups kept in the state file; an evicted group is found again by its label'),
    maxCommentsPerTicket: z
      .int()
      .min(0)
      .default(50)
      .describe('later alerts of a group beyond this add no comment (counted in stats)'),
    maxFieldChars: z
      .int()
      .min(64)
      .max(8_192)
      .default(2_000)
      .describe('longest alert field (summary, id, path) rendered into a ticket; longer ones are cut'),
    maxEventsListed: z.int().min(0).max(100).default(20).describe('contributing event ids listed per ticket'),
    timeoutMs: z.int().min(1).default(15_000),
    tls: TlsSchema,
    delivery: deliverySchema({ batchSize: 1, concurrency: 1, maxPendingItems: 1_000 }),
  })
  .describe('opens one ticket per alert group (GitHub Issues, Jira Cloud, any JSON API); detached route');
export type TicketSinkConfig = z.infer<typeof TicketSinkConfigSchema>;
