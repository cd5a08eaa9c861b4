// The console's one script: the live alert feed, keyboard moves in the queue, and opening the event a
// timeline link points at. Pages work without it. No inline script exists (the CSP forbids it).

function liveQueue() {
  const table = document.getElementById('queue');
  if (!table?.dataset.live || !('EventSource' in window)) return;
  const body = table.tBodies[0];
  const status = document.getElementById('live-status');
  let arrived = 0;
  const source = new EventSource(table.dataset.live);
  source.addEventListener('open', () => {
    status.textContent = 'Live: new alerts appear at the top.';
    table.dataset.liveState = 'open';
  });
  source.addEventListener('error', () => {
    status.textContent = 'Live feed interrupted; reconnecting.';
    table.dataset.liveState = 'reconnecting';
  });
  source.addEventListener('alert', (message) => {
    const { alertId, row } = JSON.parse(message.data);
    if (body.querySelector(`tr[data-alert-id="${CSS.escape(alertId)}"]`)) return;
    // The row is markup the server rendered and escaped (the same code as the page's rows).
    const template = document.createElement('template');
    template.innerHTML = row;
    const tr = template.content.firstElementChild;
    tr.classList.add('arrived');
    body.prepend(tr);
    arrived += 1;
    for (const count of document.querySelectorAll('.matching')) {
      count.textContent = String(Number(count.textContent) + 1);
    }
    status.textContent = `Live: ${arrived} new alert${arrived === 1 ? '' : 's'}.`;
  });
}

function keyboardQueue() {
  const table = document.getElementById('queue');
  if (!table) return;
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'j' && event.key !== 'k') return;
    if (event.target.closest('input, select, textarea') || event.ctrlKey || event.metaKey || event.altKey)
      return;
    const links = [...table.querySelectorAll('a.rule-link')];
    if (links.length === 0) return;
    const at = links.indexOf(document.activeElement);
    const next = event.key === 'j' ? Math.min(links.length - 1, at + 1) : Math.max(0, at - 1);
    links[next].focus();
    event.preventDefault();
  });
}

function openLinkedEvent() {
  if (!location.hash) return;
  const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (!target) return;
  const details = target.querySelector('details');
  if (details) details.open = true;
  target.scrollIntoView({ block: 'center' });
  target.focus();
}

document.addEventListener('DOMContentLoaded', () => {
  liveQueue();
  keyboardQueue();
  openLinkedEvent();
});
