import { html, type SafeHtml } from '../html.ts';
import { page } from './layout.ts';

export function loginPage(input: { next: string; error?: string }): SafeHtml {
  return page(
    'Log in',
    undefined,
    html`<h1>Log in</h1>
${input.error ? html`<p role="alert" class="error">${input.error}</p>` : ''}
<form method="post" action="/login" class="login">
  <input type="hidden" name="next" value="${input.next}">
  <label>User <input type="text" name="user" autocomplete="username" required maxlength="64"></label>
  <label>Password <input type="password" name="password" autocomplete="current-password" required maxlength="1024"></label>
  <button type="submit">Log in</button>
</form>
<p class="muted">Or open the one-time login link that <code>clawdstrike-edr start</code> prints.</p>`,
  );
}
