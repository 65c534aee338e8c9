// settings.js: the settings panel: network state and the onion path,
// blocked contacts, notifications.
import { $, el, get, post, shortID, showError } from './api.js';

let timer = 0;

async function loadNetwork() {
  try {
    const n = await get('/api/network');
    if (!n.configured) $('net-status').textContent = 'No network configured.';
    else if (!n.connected) $('net-status').textContent = `Connecting… (${n.nodes} nodes known)`;
    else $('net-status').textContent = `Connected: ${n.nodes} nodes known, ${n.paths.length} onion path${n.paths.length === 1 ? '' : 's'}.`;
    const path = n.paths[0] || [];
    const roles = ['Entry (guard)', 'Middle', 'Last'];
    $('net-path').replaceChildren(...path.map((h, i) => el('li', {},
      el('span', { text: `${roles[i] || 'Hop'}: ` }), el('span', { class: 'mono', title: h.key, text: `${shortID(h.key)} ${h.addr}` }))));
  } catch (e) { showError(e); }
}

async function loadBlocked() {
  try {
    const r = await get('/api/blocked');
    $('blocked').replaceChildren(...r.blocked.map((b) => el('li', {},
      el('span', { text: b.name || shortID(b.id) }), ' ',
      el('button', { type: 'button', 'aria-label': `Unblock ${b.name || b.id}`, text: 'Unblock',
        onclick: async () => {
          try { await post(`/api/conversations/${b.id}/block`, { blocked: false }); loadBlocked(); } catch (e) { showError(e); }
        } }))));
    $('blocked-empty').hidden = r.blocked.length > 0;
  } catch (e) { showError(e); }
}

function notifyButton() {
  const b = $('notify');
  if (!('Notification' in window)) { b.hidden = true; return; }
  b.disabled = Notification.permission !== 'default';
  b.textContent = Notification.permission === 'granted' ? 'Notifications are on'
    : Notification.permission === 'denied' ? 'Notifications are blocked by the browser' : 'Turn on notifications';
}

export function initSettings() {
  const d = $('settings');
  d.addEventListener('toggle', () => {
    clearInterval(timer);
    if (!d.open) return;
    loadNetwork();
    loadBlocked();
    timer = setInterval(loadNetwork, 5000);
  });
  notifyButton();
  $('notify').addEventListener('click', async () => {
    await Notification.requestPermission();
    notifyButton();
  });
}
