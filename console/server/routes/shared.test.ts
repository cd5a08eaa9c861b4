import { describe, expect, it } from 'vitest';
import { localPath } from './shared.ts';

describe('localPath (where a login or a form goes back to)', () => {
  it('keeps a same-site path and its query', () => {
    expect(localPath('/alerts?severity=high&text=exfil%20ssh', '/x')).toBe(
      '/alerts?severity=high&text=exfil%20ssh',
    );
  });

  it('refuses every way out to another site, browsers tab and newline stripping included', () => {
    for (const hostile of [
      '//evil.example/',
      '/\\evil.example/',
      'https://evil.example/',
      'javascript:alert(1)',
      '/\t/evil.example/',
      '/\n/evil.example/',
      '/\r\n/evil.example/',
      ' /alerts',
      `/${'a'.repeat(2_048)}`,
      42,
    ]) {
      expect(localPath(hostile, '/alerts')).toBe('/alerts');
    }
  });
});
