import type { AgentTool } from './intent.ts';

/** The words benign sessions are made of. Data only; benign.ts decides how they combine. */

export interface ProjectKind {
  name: string;
  /** Paths relative to the project root. A session works on a subset of at most SESSION_FILE_LIMIT. */
  files: readonly string[];
  test: readonly string[];
  build: readonly string[];
  lint: readonly string[];
  install: { commands: readonly string[]; hosts: readonly string[] };
  /** Lines a patch adds (no diff prefix), and the content a fresh file starts with. */
  addedLines: readonly string[];
  fileHeader: string;
}

/** RAPID_FILE_ENUMERATION needs more than 50 distinct paths a minute: benign sessions stay well under. */
export const SESSION_FILE_LIMIT = 30;

export const PROJECTS: readonly ProjectKind[] = [
  {
    name: 'payments-api',
    files: [
      'package.json',
      'tsconfig.json',
      'README.md',
      'src/index.ts',
      'src/server.ts',
      'src/config.ts',
      'src/routes/orders.ts',
      'src/routes/refunds.ts',
      'src/routes/health.ts',
      'src/services/ledger.ts',
      'src/services/stripe-client.ts',
      'src/services/currency.ts',
      'src/db/pool.ts',
      'src/db/migrations/0007_add_refunds.sql',
      'src/lib/retry.ts',
      'src/lib/logger.ts',
      'src/lib/errors.ts',
      'test/orders.test.ts',
      'test/refunds.test.ts',
      'test/ledger.test.ts',
      'test/fixtures/order.json',
      'docs/api.md',
    ],
    test: ['npm test', 'npx vitest run test/orders.test.ts', 'npm run test:unit'],
    build: ['npm run build', 'npx tsc --noEmit'],
    lint: ['npx biome check src', 'npm run lint'],
    install: {
      commands: ['npm install zod', 'npm ci', 'npm install -D @types/node'],
      hosts: ['npm.mirror.example'],
    },
    addedLines: [
      "  if (!order.currency) throw new ValidationError('currency is required');",
      '  const total = items.reduce((sum, item) => sum + item.amount, 0);',
      "import { retry } from '../lib/retry.js';",
      '  logger.info({ orderId }, "refund queued");',
    ],
    fileHeader: "import { describe, expect, it } from 'vitest';\n",
  },
  {
    name: 'ml-pipeline',
    files: [
      'pyproject.toml',
      'README.md',
      'pipeline/__init__.py',
      'pipeline/train.py',
      'pipeline/features.py',
      'pipeline/dataset.py',
      'pipeline/evaluate.py',
      'pipeline/config.py',
      'pipeline/utils/io.py',
      'pipeline/utils/metrics.py',
      'tests/test_features.py',
      'tests/test_dataset.py',
      'tests/conftest.py',
      'notebooks/exploration.ipynb',
      'configs/train.yaml',
      'configs/eval.yaml',
    ],
    test: ['pytest -q', 'pytest tests/test_features.py -x', 'python -m pytest -k dataset'],
    build: ['python -m build', 'mypy pipeline'],
    lint: ['ruff check .', 'ruff format --check .'],
    install: {
      commands: ['pip install -r requirements.txt', 'pip install polars', 'uv sync'],
      hosts: ['pypi.mirror.example', 'files.pypi.mirror.example'],
    },
    addedLines: [
      '    df = df.drop_nulls(subset=["label"])',
      '    assert len(batch) > 0, "empty batch"',
      'from pipeline.utils.metrics import f1_score',
      '    logger.info("epoch %d loss %.4f", epoch, loss)',
    ],
    fileHeader: 'import pytest\n\n',
  },
  {
    name: 'edge-proxy',
    files: [
      'Cargo.toml',
      'Cargo.lock',
      'README.md',
      'src/main.rs',
      'src/lib.rs',
      'src/config.rs',
      'src/router.rs',
      'src/upstream.rs',
      'src/tls.rs',
      'src/metrics.rs',
      'src/cache/mod.rs',
      'src/cache/lru.rs',
      'tests/routing.rs',
      'tests/cache.rs',
      'benches/throughput.rs',
    ],
    test: ['cargo test', 'cargo test --test routing', 'cargo nextest run'],
    build: ['cargo build --release', 'cargo check'],
    lint: ['cargo clippy -- -D warnings', 'cargo fmt --check'],
    install: {
      commands: ['cargo fetch', 'cargo add tokio-util'],
      hosts: ['crates.mirror.example', 'static.crates.mirror.example'],
    },
    addedLines: [
      '    let timeout = Duration::from_millis(config.upstream_timeout_ms);',
      '        .map_err(ProxyError::Upstream)?;',
      'use crate::metrics::REQUESTS_TOTAL;',
      '    if entries.len() >= self.capacity { self.evict_oldest(); }',
    ],
    fileHeader: 'use edge_proxy::router::Router;\n\n',
  },
  {
    name: 'billing-worker',
    files: [
      'go.mod',
      'go.sum',
      'README.md',
      'cmd/worker/main.go',
      'internal/queue/consumer.go',
      'internal/queue/consumer_test.go',
      'internal/invoice/render.go',
      'internal/invoice/render_test.go',
      'internal/invoice/tax.go',
      'internal/store/postgres.go',
      'internal/store/postgres_test.go',
      'internal/config/config.go',
      'Makefile',
      'deploy/worker.yaml',
    ],
    test: ['go test ./...', 'go test ./internal/invoice -run TestRender', 'go test -race ./internal/queue'],
    build: ['go build ./...', 'go vet ./...'],
    lint: ['golangci-lint run', 'gofmt -l .'],
    install: {
      commands: ['go mod download', 'go get github.com/jackc/pgx/v5'],
      hosts: ['goproxy.mirror.example'],
    },
    addedLines: [
      '\tif inv.Total.IsNegative() {\n\t\treturn ErrNegativeTotal\n\t}',
      '\tctx, cancel := context.WithTimeout(ctx, 5*time.Second)',
      '\tdefer cancel()',
      '\tlog.Info("invoice rendered", "id", inv.ID)',
    ],
    fileHeader: 'package invoice\n\n',
  },
];

export const AGENT_TOOLS: readonly AgentTool[] = [
  {
    name: 'claude-code',
    llmHost: 'api.anthropic.com',
    llmPath: '/v1/messages',
    emitter: 'adapter-core',
    idStyle: 'uuid',
  },
  { name: 'codex', llmHost: 'api.openai.com', llmPath: '/v1/responses', emitter: 'cli', idStyle: 'millis' },
  {
    name: 'cursor-agent',
    llmHost: 'api.openai.com',
    llmPath: '/v1/chat/completions',
    emitter: 'adapter-core',
    idStyle: 'uuid',
  },
];

export const USERS: readonly string[] = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
];
export const TEAMS: readonly string[] = ['payments', 'platform', 'data', 'growth'];

export const USER_PROMPTS: readonly string[] = [
  'Add input validation to the create endpoint and cover it with tests',
  'Why is the build failing on CI? Fix it',
  'Write unit tests for the parsing helpers',
  'Refactor the retry logic into a small helper',
  'Bump the dependencies and fix the type errors',
  'Explain what this module does and add doc comments',
  'The integration test is flaky, find out why',
  'Rename the config fields to match the new naming convention',
];

export const COMMIT_MESSAGES: readonly string[] = [
  'fix: validate currency before charging',
  'test: cover the empty batch case',
  'refactor: extract retry helper',
  'chore: bump dependencies',
  'docs: explain cache eviction',
];

/** Read-only MCP servers a coding assistant typically has, with the calls it makes to them. */
export const MCP_CALLS: ReadonlyArray<{ server: string; tool: string; parameters: Record<string, unknown> }> =
  [
    {
      server: 'github',
      tool: 'get_pull_request',
      parameters: { owner: 'acme', repo: 'REPO', pullNumber: 42 },
    },
    { server: 'github', tool: 'list_issues', parameters: { owner: 'acme', repo: 'REPO', state: 'open' } },
    {
      server: 'github',
      tool: 'create_issue_comment',
      parameters: { owner: 'acme', repo: 'REPO', issueNumber: 17 },
    },
    { server: 'docs', tool: 'search_docs', parameters: { query: 'connection pool timeout' } },
    { server: 'linear', tool: 'get_issue', parameters: { id: 'PAY-311' } },
    { server: 'postgres', tool: 'describe_table', parameters: { table: 'invoices' } },
  ];

/** Secrets a coding agent legitimately reads, and the scope they live in. */
export const ROUTINE_SECRETS: ReadonlyArray<{ name: string; scope: string }> = [
  { name: 'GITHUB_TOKEN', scope: 'ci' },
  { name: 'NPM_TOKEN', scope: 'ci' },
  { name: 'DEV_DATABASE_URL', scope: 'development' },
];
