import { z } from 'zod';
import { commaList } from '../../core/config.ts';
import { ConsoleStoreConfigSchema } from '../store/index.ts';
import { SCRYPT_HASH_PATTERN } from './auth/passwords.ts';

/** Each role can do what the one before it can, and more: viewer reads, responder acts, admin invites. */
export const ROLES = ['viewer', 'responder', 'admin'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

export function roleAtLeast(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}

const NameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._@-]+$/, 'letters, digits and . _ @ -');

export const ConsoleUserSchema = z.strictObject({
  name: NameSchema.describe('login name; recorded on every change the user makes'),
  role: RoleSchema,
  password: z
    .string()
    .regex(SCRYPT_HASH_PATTERN, 'expected scrypt$<N>$<r>$<p>$<salt>$<hash> (base64url)')
    .describe('scrypt hash of the password: `clawdstrike-edr console --hash-password` prints one'),
});
export type ConsoleUser = z.infer<typeof ConsoleUserSchema>;

export const ConsoleTokenSchema = z.strictObject({
  id: NameSchema.describe('who the token acts as in the workflow history'),
  role: RoleSchema,
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'expected the hex SHA-256 of the token (64 hex digits)')
    .transform((hex) => hex.toLowerCase())
    .describe('hex SHA-256 of the token, sent as `Authorization: Bearer <token>`'),
});
export type ConsoleToken = z.infer<typeof ConsoleTokenSchema>;

export const ConsoleSettingsSchema = z
  .strictObject({
    host: z.string().default('127.0.0.1'),
    port: z.int().min(0).max(65_535).default(8090),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info'),
    store: ConsoleStoreConfigSchema.prefault({ type: 'sqlite' }).describe(
      "`console` command only: `start` always reads its data directory's console.db",
    ),
    rules: commaList(z.string().min(1))
      .optional()
      .describe(
        'rule files or folders whose descriptions and files the console shows (default: the bundled rules)',
      ),
    users: z.array(ConsoleUserSchema).max(1_000).default([]),
    tokens: z.array(ConsoleTokenSchema).max(1_000).default([]),
    sessionSecret: z
      .string()
      .min(32)
      .optional()
      .describe(
        'HMAC key of the session cookies (32+ characters); unset: a random one per process, so sessions end at restart',
      ),
    sessionTtlSeconds: z
      .int()
      .min(60)
      .max(7 * 86_400)
      .default(8 * 3_600),
    loginLinkTtlSeconds: z
      .int()
      .min(10)
      .max(86_400)
      .default(900)
      .describe('how long a one-time login link (printed at start, or made by an admin) stays usable'),
    maxLoginLinks: z
      .int()
      .min(1)
      .max(10_000)
      .default(100)
      .describe('unused login links kept; making one more drops the oldest'),
    ruleFileUrl: z
      .string()
      .optional()
      .describe(
        'link for a rule file, `{file}` replaced by its path relative to the rules folder (e.g. a repository URL); unset: the console serves the file',
      ),
  })
  .describe('the triage console (`start`, `console`)');
export type ConsoleSettings = z.infer<typeof ConsoleSettingsSchema>;
export type ConsoleSettingsInput = z.input<typeof ConsoleSettingsSchema>;
