import { describe, expect, it } from 'vitest';
import { parseRecord } from '../normalize.ts';
import { contentId, eventTypeForEcs } from './ecs.ts';

const filebeat = {
  '@timestamp': '2026-11-25T17:41:01.000Z',
  message: 'agent started',
  ecs: { version: '8.17.0' },
  agent: { type: 'filebeat', id: 'fb-1' },
  log: { offset: 10 },
};

describe('ECS documents from Beats-style shippers', () => {
  it('a document without event.id gets the digest of its content, whatever its key order', () => {
    const reordered = {
      log: { offset: 10 },
      agent: { id: 'fb-1', type: 'filebeat' },
      ecs: { version: '8.17.0' },
      message: 'agent started',
      '@timestamp': '2026-11-25T17:41:01.000Z',
    };
    expect(contentId(reordered)).toBe(contentId(filebeat));
    expect(contentId({ ...filebeat, log: { offset: 11 } })).not.toBe(contentId(filebeat));
    const parsed = parseRecord(filebeat);
    expect(parsed.ok && parsed.value).toMatchObject({
      eventId: contentId(filebeat),
      agentId: 'fb-1',
      eventType: 'custom',
      source: { format: 'hushd_ecs', emitter: 'filebeat' },
    });
  });

  it.each([
    [undefined, ['process'], ['start'], 'command_exec'],
    ['deleted', ['file'], ['deletion'], 'file_write'],
    ['opened-file', ['file'], [], 'file_read'],
    ['overwrite', ['file'], [], 'file_write'],
    ['connection_attempted', ['network'], ['connection'], 'network_egress'],
    ['execute_tool', ['api'], [], 'tool_call'],
    ['executed', [], [], 'command_exec'],
    ['user-login', ['authentication'], ['start'], undefined],
    ['constructor', [], [], undefined],
  ] as const)('action %s, category %j, type %j is %s', (action, categories, types, expected) => {
    expect(eventTypeForEcs(action, categories, types)).toBe(expected);
  });

  it('reads the target of a mapped document from its ECS fields; event.category may be one string', () => {
    const parsed = parseRecord({
      ...filebeat,
      event: { category: 'network', type: 'connection', id: 'net-1' },
      destination: { ip: '203.0.113.9', port: 443 },
    });
    expect(parsed.ok && parsed.value).toMatchObject({
      eventId: 'net-1',
      eventType: 'network_egress',
      target: '203.0.113.9',
      data: { host: '203.0.113.9', port: 443 },
    });
  });
});
