/**
 * npm run bench:sinks — the Elasticsearch sink (SinkRouter → driver → ES sink) against a plain `client.bulk`
 * loop, on the same server in the same run: same kind of documents, same batch size, same index template,
 * different index names.
 *
 * Each round runs the three paths back to back, in an order that rotates every round, and yields per-round
 * ratios; the report gives the medians. Pairing within a round keeps a busy moment on the (shared, 2-core)
 * machine from favouring one path. Node CPU time per document is reported too: it is the sink's own cost
 * and is much less sensitive to what else the machine is doing than wall time.
 *
 * ELASTICSEARCH_URL selects the server; without it the test harness starts one for the run.
 * BENCH_DOCS (default 20000) and BENCH_ROUNDS (default 9) size the run.
 */
import { cpus } from 'node:os';
import type { Client } from '@elastic/elasticsearch';
import type { Envelope } from '../engine/model/index.ts';
import {
  createElasticsearchClient,
  createSinkRouter,
  ElasticsearchSinkConfigSchema,
  eventDocument,
  indexName,
  installTemplates,
  MemoryDeadLetterWriter,
  SinksConfigSchema,
} from '../sinks/index.ts';
import { servicesModeFromEnv, startServices, stopResources } from '../test/harness/services.ts';
import { commandEvent, makeEnvelope, networkEvent } from '../test/support/sink-items.ts';

const DOCS = Number(process.env.BENCH_DOCS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const BATCH = 500;
/** What the processor hands the router per deliver() call. */
const DELIVERY_CHUNK = 5_000;

interface Measurement {
  wallMs: number;
  cpuMs: number;
}

const makers = [makeEnvelope, networkEvent, commandEvent];
const envelopes = (count: number): Envelope[] =>
  Array.from({ length: count }, (_, index) => makers[index % makers.length]!());

async function measure(work: () => Promise<void>): Promise<Measurement> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

async function plainBulk(client: Client, prefix: string, events: Envelope[]): Promise<Measurement> {
  // Documents are built before measuring: the baseline pays only for _bulk itself.
  const operations = events.flatMap((event) => [
    { create: { _index: indexName(prefix, 'event', event.timestamp), _id: event.eventId } },
    eventDocument(event),
  ]);
  return measure(async () => {
    for (let i = 0; i < operations.length; i += BATCH * 2) {
      const response = await client.bulk({ operations: operations.slice(i, i + BATCH * 2) });
      if (response.errors) throw new Error('plain bulk loop: item errors');
    }
  });
}

async function viaSink(node: string, prefix: string, concurrency: number, events: Envelope[]) {
  const config = SinksConfigSchema.parse({
    sinks: [
      {
        type: 'elasticsearch',
        node,
        indexPrefix: prefix,
        installTemplates: false,
        delivery: { batchSize: BATCH, concurrency },
      },
    ],
  });
  const router = createSinkRouter(config, { deadLetters: new MemoryDeadLetterWriter() });
  const measurement = await measure(async () => {
    for (let i = 0; i < events.length; i += DELIVERY_CHUNK) {
      const chunk = events.slice(i, i + DELIVERY_CHUNK);
      const report = await router.deliver({ events: chunk });
      if (report.written !== chunk.length)
        throw new Error(`sink: ${chunk.length - report.written} not written`);
    }
  });
  await router.close();
  return measurement;
}

const PATHS = ['plain', 'sink', 'sinkConcurrent'] as const;
type Path = (typeof PATHS)[number];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const rate = (ms: number) => Math.round((DOCS / ms) * 1000);

async function main(): Promise<void> {
  let node = process.env.ELASTICSEARCH_URL;
  const owned = node ? undefined : await startServices({ mode: servicesModeFromEnv(), detached: false });
  node ??= owned!.endpoints.find((endpoint) => endpoint.name === 'elasticsearch')!.url;
  const client = createElasticsearchClient(
    ElasticsearchSinkConfigSchema.parse({ type: 'elasticsearch', node }),
  );
  const run = `bench-${Date.now().toString(36)}`;
  const prefixes: string[] = [];
  const samples = Object.fromEntries(PATHS.map((path) => [path, [] as Measurement[]])) as Record<
    Path,
    Measurement[]
  >;
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      const warmup = round === 0;
      const count = warmup ? 5_000 : DOCS;
      const runs: Record<Path, (prefix: string) => Promise<Measurement>> = {
        plain: (prefix) => plainBulk(client, prefix, envelopes(count)),
        sink: (prefix) => viaSink(node, prefix, 1, envelopes(count)),
        sinkConcurrent: (prefix) => viaSink(node, prefix, 2, envelopes(count)),
      };
      const results = {} as Record<Path, Measurement>;
      for (let k = 0; k < PATHS.length; k++) {
        const path = PATHS[(k + round) % PATHS.length]!;
        const prefix = `${run}-${path.toLowerCase()}-${round}`;
        prefixes.push(prefix);
        // Every index gets the same template, so all paths pay the same mapping cost.
        await installTemplates(client, prefix, { replicas: 0 });
        results[path] = await runs[path](prefix);
      }
      if (warmup) continue;
      for (const path of PATHS) samples[path].push(results[path]);
      console.log(
        `round ${round}: ${PATHS.map((path) => `${path} ${rate(results[path].wallMs)} docs/s`).join(', ')}; ` +
          `ratios ${(results.plain.wallMs / results.sink.wallMs).toFixed(2)} / ` +
          `${(results.plain.wallMs / results.sinkConcurrent.wallMs).toFixed(2)}`,
      );
    }
    const ratio = (path: Path) =>
      median(samples[path].map((sample, i) => samples.plain[i]!.wallMs / sample.wallMs)).toFixed(2);
    const cpuPerDoc = (path: Path) => ((median(samples[path].map((s) => s.cpuMs)) * 1000) / DOCS).toFixed(1);
    const docsPerSecond = (path: Path) => rate(median(samples[path].map((s) => s.wallMs)));
    const info = await client.nodes.info({ filter_path: ['nodes.*.version'] });
    const esVersion = Object.values(info.nodes ?? {})[0]?.version ?? 'unknown';
    const row = (label: string, path: Path) =>
      `| ${label} | ${docsPerSecond(path)} | ${path === 'plain' ? '1.00' : ratio(path)} | ${cpuPerDoc(path)} |`;
    console.log(
      [
        '',
        `Elasticsearch ${esVersion}, ${DOCS} docs per path and round, batch ${BATCH}, ${ROUNDS} rounds`,
        '',
        '| path | median docs/s | median ratio to plain | node CPU µs/doc |',
        '|---|---:|---:|---:|',
        row('plain `client.bulk` loop (documents prebuilt)', 'plain'),
        row('ES sink via `SinkRouter.deliver`, concurrency 1', 'sink'),
        row('ES sink via `SinkRouter.deliver`, concurrency 2 (default)', 'sinkConcurrent'),
        '',
        `machine: ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}`,
      ].join('\n'),
    );
  } finally {
    const indices = Object.keys(await client.indices.get({ index: `${run}-*`, allow_no_indices: true }));
    if (indices.length > 0) await client.indices.delete({ index: indices });
    for (const prefix of prefixes) {
      await client.indices.deleteIndexTemplate({ name: [`${prefix}-events`, `${prefix}-alerts`] });
    }
    await client.close();
    if (owned) await stopResources(owned.resources);
  }
}

await main();
