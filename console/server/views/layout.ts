import { type HtmlValue, html, type SafeHtml } from '../html.ts';

export interface ViewContext {
  user: string;
  role: string;
  /** The session's CSRF token; empty for a token-authenticated request (which needs none). */
  csrf: string;
  storeKind: string;
}

const NAV = [
  ['/alerts', 'Alerts'],
  ['/rules', 'Rules'],
] as const;

/** Every page: no inline script or style (the CSP forbids them), our one script and stylesheet, a skip link. */
export function page(title: string, context: ViewContext | undefined, body: HtmlValue): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · clawdstrike-edr console</title>
<link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script>
${context ? html`<meta name="csrf-token" content="${context.csrf}">` : ''}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">clawdstrike-edr</span>
  ${
    context
      ? html`<nav aria-label="Main">${NAV.map(([path, label]) => html`<a href="${path}">${label}</a>`)}</nav>
  <span class="who">${context.user} <span class="role">(${context.role})</span></span>
  <form method="post" action="/logout" class="inline">${csrfField(context)}<button type="submit">Log out</button></form>`
      : ''
  }
</header>
<main id="main" tabindex="-1">
${body}
</main>
${context ? html`<footer>store: ${context.storeKind}</footer>` : ''}
</body>
</html>`;
}

export function csrfField(context: ViewContext): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${context.csrf}">`;
}

export function errorPage(status: number, message: string, context: ViewContext | undefined): SafeHtml {
  return page(
    `Error ${status}`,
    context,
    html`<h1>Error ${status}</h1><p role="alert">${message}</p><p><a href="/alerts">Back to the alerts</a></p>`,
  );
}
