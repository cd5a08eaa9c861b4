import { describe, expect, it } from 'vitest';
import { localPath } from '../../console/server/routes/shared.ts';

/**
 * Open redirect through the console's login: `next` (where a login or a form goes back to) must stay a
 * same-site path. Browsers drop tabs and newlines from a URL, so `/<tab>/evil.example` became
 * `//evil.example`, another site; `next` is now printable ASCII only (console/server/routes/shared.ts).
 * A control that keeps a same-site path, then every way out refused to the fallback.
 */
describe('localPath (where a login or a form goes back to)', () => {
  it('control: keeps a same-site path and its query', () => {
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
