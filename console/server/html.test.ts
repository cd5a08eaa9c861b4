import { describe, expect, it } from 'vitest';
import { escapeHtml, href, html, raw } from './html.ts';

describe('the console escaping helper', () => {
  it('escapes every character that could open markup or leave an attribute', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\`</a>`)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;',
    );
  });

  it('escapes interpolated values, lists included, and passes only html output through', () => {
    const hostile = '<script>alert(1)</script>';
    const page = html`<p title="${hostile}">${hostile}${[hostile, html`<b>${hostile}</b>`]}${raw('<hr>')}</p>`;
    expect(page.value).not.toContain('<script>');
    expect(page.value).toContain('<b>&lt;script&gt;');
    expect(page.value).toContain('<hr>');
    expect(html`${null}${undefined}${false}${0}`.value).toBe('0');
  });

  it('encodes path segments and query values so a value stays one segment or one parameter', () => {
    expect(href(['alerts', 'a/b?c#d'])).toBe('/alerts/a%2Fb%3Fc%23d');
    expect(href(['timeline'], { agent: '../../x&y=1', session: 's 1', empty: '', type: ['a', 'b'] })).toBe(
      '/timeline?agent=..%2F..%2Fx%26y%3D1&session=s+1&type=a&type=b',
    );
    expect(href(['agent'], { id: 'javascript:alert(1)' })).toBe('/agent?id=javascript%3Aalert%281%29');
  });
});
