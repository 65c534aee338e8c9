// app.js: boots the page: account state, theme, the live event stream
// (Server-Sent Events), navigation and keyboard shortcuts.
import { $, get, post, shortID, showError } from './api.js';
import { initOnboarding } from './onboard.js';
import { initList, refreshList, setCurrent, neighbour, filterList, firstShown } from './list.js';
import { initChat, openChat, closeChat, onEvent, currentPeer, requestAnswered } from './chat.js';
import { initSettings } from './settings.js';
import { initGroups } from './groups.js';
import { initRooms, openRoom, closeRoom, refreshRooms } from './rooms.js';

// Figures the browser tests read (docs/PERFORMANCE.md): render times in
// ms and, per live message, the delay from the engine to the page.
window.sottoPerf = { list: [], chat: [], delays: [] };

let me = '';

function applyTheme(t) {
  const root = document.documentElement;
  if (t) root.dataset.theme = t; else delete root.dataset.theme;
  const dark = t ? t === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  const b = $('theme-toggle');
  b.setAttribute('aria-pressed', String(dark));
  b.textContent = dark ? 'Light theme' : 'Dark theme';
}

function initTheme() {
  applyTheme(localStorage.getItem('sotto-theme'));
  $('theme-toggle').addEventListener('click', () => {
    const dark = $('theme-toggle').getAttribute('aria-pressed') === 'true';
    const t = dark ? 'light' : 'dark';
    localStorage.setItem('sotto-theme', t);
    applyTheme(t);
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme(localStorage.getItem('sotto-theme')));
}

function open(peer) {
  if (location.hash !== `#/c/${peer}`) location.hash = `#/c/${peer}`;
  else route();
}

function openRoomPage(room) {
  const h = `#/r/${encodeURIComponent(room)}`;
  if (location.hash !== h) location.hash = h;
  else route();
}

function route() {
  const m = location.hash.match(/^#\/c\/((?:05|03)[0-9a-f]{64})$/);
  const r = location.hash.match(/^#\/r\/(.+)$/);
  if (m) {
    closeRoom();
    setCurrent(m[1]);
    openChat(m[1]);
  } else if (r) {
    setCurrent('');
    closeChat();
    openRoom(decodeURIComponent(r[1]));
  } else {
    setCurrent('');
    closeRoom();
    closeChat();
  }
}

let listTimer = 0;
function refreshSoon() {
  clearTimeout(listTimer);
  listTimer = setTimeout(refreshList, 100);
}

function connect() {
  const es = new EventSource('/api/events');
  let broken = false;
  es.onopen = () => {
    $('status').textContent = 'Live';
    if (broken) { broken = false; refreshList(); if (currentPeer()) openChat(currentPeer()); }
  };
  es.onerror = () => { broken = true; $('status').textContent = 'Reconnecting…'; };
  es.onmessage = (msg) => {
    const ev = JSON.parse(msg.data);
    const shown = onEvent(ev);
    if (shown && ev.kind === 'message') {
      requestAnimationFrame(() => window.sottoPerf.delays.push(Date.now() - ev.at));
    }
    if (ev.kind === 'message' && !ev.message.out && document.hidden && 'Notification' in window && Notification.permission === 'granted') {
      new Notification('Sotto', { body: 'New message' });
    }
    if (ev.kind !== 'typing') refreshSoon();
  };
}

async function ready(st) {
  me = st.session_id;
  for (const id of ['onboard', 'unlock']) $(id).hidden = true;
  $('app').hidden = false;
  $('me').textContent = `${st.name || 'No display name'} · ${shortID(me)}`;
  $('my-id').textContent = me;
  $('profile-name').value = st.name || '';
  document.documentElement.dataset.state = 'ready';
  connect();
  await Promise.all([refreshList(), refreshRooms()]);
  route();
}

// closeTop closes the innermost open thing: the conversation search, a
// panel, the settings, then the conversation or room. It returns whether
// it closed something.
function closeTop() {
  const search = $('conv-search');
  if (document.activeElement === search || search.value) {
    const had = search.value !== '';
    search.value = '';
    filterList('');
    if (had || document.activeElement === search) { search.blur(); return true; }
  }
  if (!$('group-panel').hidden) {
    $('members-toggle').click();
    $('members-toggle').focus();
    return true;
  }
  for (const id of ['new-group', 'settings']) {
    const d = $(id);
    if (d.open) { d.open = false; d.querySelector('summary').focus(); return true; }
  }
  if (location.hash) {
    location.hash = '';
    const b = firstShown();
    if (b) b.focus();
    return true;
  }
  return false;
}

function initShortcuts() {
  document.addEventListener('keydown', (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && !ev.altKey && (ev.key === 'k' || ev.key === 'K')) {
      ev.preventDefault();
      $('conv-search').focus();
      $('conv-search').select();
      return;
    }
    if (ev.key === 'Escape' && !ev.defaultPrevented && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      if (closeTop()) ev.preventDefault();
      return;
    }
    if (!ev.altKey) return;
    if (ev.key === 'n' || ev.key === 'N') { ev.preventDefault(); $('new-chat-id').focus(); }
    else if (ev.key === 'ArrowUp' || ev.key === 'ArrowDown') {
      const p = neighbour(ev.key === 'ArrowUp' ? -1 : 1);
      if (p) { ev.preventDefault(); open(p); }
    }
  });
  $('conv-search').addEventListener('input', () => filterList($('conv-search').value));
  $('conv-search').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      const b = firstShown();
      if (b) {
        b.click();
        $('conv-search').value = '';
        filterList('');
      }
    } else if (ev.key === 'ArrowDown') {
      const b = firstShown();
      if (b) { ev.preventDefault(); b.focus(); }
    }
  });
}

async function boot() {
  initTheme();
  initShortcuts();
  initList(open);
  initChat(async (what) => {
    requestAnswered();
    await refreshList();
    if (what !== 'accept') { location.hash = ''; }
  });
  initOnboarding((st) => ready(st));
  initSettings();
  initGroups(open, refreshList);
  initRooms(openRoomPage, () => { location.hash = ''; });
  $('new-chat').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = $('new-chat-id').value.trim().toLowerCase();
    if (!/^(05|03)[0-9a-f]{64}$/.test(id)) { showError(new Error('A Session ID is 66 hexadecimal characters starting with 05.')); return; }
    $('new-chat-id').value = '';
    showError(null);
    open(id);
    $('compose').focus();
  });
  $('note-to-self').addEventListener('click', () => open(me));
  $('profile-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = await post('/api/profile', { name: $('profile-name').value });
      $('me').textContent = `${r.name} · ${shortID(me)}`;
    } catch (e) { showError(e); }
  });
  window.addEventListener('hashchange', route);
  // The page was rendered for an open account: fetch the list at once,
  // alongside the state.
  if (document.documentElement.dataset.state === 'ready') refreshList();
  try {
    const st = await get('/api/state');
    if (st.state === 'ready') await ready(st);
    else if (st.state === 'locked') $('unlock-pass').focus();
    else $('create-start').focus();
  } catch (e) { showError(e); }
}

boot();
