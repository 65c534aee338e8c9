// settings.js: the settings panel: network state and the onion path,
// blocked contacts, notifications, the profile picture, receipts, the
// passphrase, the recovery phrase (after a confirmation), the devices
// and the sync state.
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

let encrypted = false;

function when(ms) {
  return ms > 0 ? new Date(ms).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) : 'never';
}

async function loadPicture(has) {
  const img = $('my-picture');
  $('picture-remove').hidden = !has;
  if (!has) { img.hidden = true; img.removeAttribute('src'); return; }
  img.src = `/api/profile/picture?t=${Date.now()}`;
  img.onload = () => { img.hidden = false; };
  img.onerror = () => { img.hidden = true; };
}

async function loadSettings() {
  try {
    const r = await get('/api/settings');
    encrypted = r.encrypted;
    $('read-receipts').checked = r.read_receipts;
    $('delivery-receipts').checked = r.delivery_receipts;
    $('pass-state').textContent = r.encrypted ? 'Your keys on this computer are encrypted with a passphrase.'
      : 'Your keys on this computer are not encrypted: set a passphrase to protect them.';
    $('pass-current-row').hidden = !r.encrypted;
    $('phrase-pass-row').hidden = !r.encrypted;
    $('phrase-confirm-row').hidden = r.encrypted;
    $('devices').replaceChildren(...r.devices.map((d) => el('li', { 'data-id': d.id },
      el('span', { text: `${d.name || 'Unnamed device'}${d.platform ? ` (${d.platform})` : ''}${d.this ? ', this device' : ''}` }), ' ',
      el('span', { class: 'hint', text: d.removed ? 'removed' : `last seen ${when(d.last_seen)}` }), ' ',
      d.this || d.removed ? null : el('button', { type: 'button', 'aria-label': `Remove the device ${d.name || d.id}`, text: 'Remove',
        onclick: async () => {
          try { await post('/api/settings/devices/remove', { id: d.id }); loadSettings(); } catch (e) { showError(e); }
        } }))));
    if (r.devices_error) $('devices').append(el('li', { class: 'hint', text: r.devices_error }));
    $('sync-state').textContent = r.sync_error ? `Sync is off: ${r.sync_error}`
      : (r.sync.every((o) => o.state === 'clean') ? 'Everything is synced.' : 'Changes wait to be synced.');
    $('sync').replaceChildren(...r.sync.map((o) => el('li', {},
      el('span', { text: `${o.name}: ${o.state}` }), ' ',
      el('span', { class: 'hint', text: `pushed ${when(Date.parse(o.last_push) || 0)}${o.last_error ? `, ${o.last_error}` : ''}` }))));
    loadPicture(r.picture);
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
    loadSettings();
    timer = setInterval(loadNetwork, 5000);
  });
  const receipts = async () => {
    try {
      await post('/api/settings/receipts', { read: $('read-receipts').checked, delivery: $('delivery-receipts').checked });
      showError(null);
    } catch (e) { showError(e); loadSettings(); }
  };
  $('read-receipts').addEventListener('change', receipts);
  $('delivery-receipts').addEventListener('change', receipts);
  $('picture-file').addEventListener('change', async () => {
    const f = $('picture-file').files[0];
    if (!f) return;
    try {
      const res = await fetch('/api/profile/picture', { method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/octet-stream' }, body: f });
      if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error || res.statusText);
      showError(null);
      loadPicture(true);
    } catch (e) { showError(e); } finally { $('picture-file').value = ''; }
  });
  $('picture-remove').addEventListener('click', async () => {
    try { await post('/api/profile/picture/remove'); loadPicture(false); } catch (e) { showError(e); }
  });
  $('pass-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('pass-done').textContent = '';
    if ($('pass-new').value !== $('pass-repeat').value) { showError(new Error('The two new passphrases differ.')); return; }
    try {
      const r = await post('/api/settings/passphrase', { current: $('pass-current').value, new: $('pass-new').value });
      showError(null);
      $('pass-form').reset();
      $('pass-done').textContent = r.encrypted ? 'Passphrase saved.' : 'Passphrase removed: your keys are not encrypted.';
      loadSettings();
    } catch (e) { showError(e); }
  });
  $('phrase-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = await post('/api/settings/phrase', encrypted ? { passphrase: $('phrase-pass').value } : { confirm: $('phrase-confirm').checked });
      showError(null);
      $('phrase-form').reset();
      $('phrase-form').hidden = true;
      $('settings-phrase').replaceChildren(...r.phrase.map((w) => el('li', { text: w })));
      $('phrase-shown').hidden = false;
      $('phrase-hide').focus();
    } catch (e) { showError(e); }
  });
  $('phrase-hide').addEventListener('click', () => {
    $('settings-phrase').replaceChildren();
    $('phrase-shown').hidden = true;
    $('phrase-form').hidden = false;
  });
  d.addEventListener('toggle', () => { if (!d.open) $('phrase-hide').click(); });
  notifyButton();
  $('notify').addEventListener('click', async () => {
    await Notification.requestPermission();
    notifyButton();
  });
}
