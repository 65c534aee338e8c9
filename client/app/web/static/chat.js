// chat.js: one conversation: its messages (paged back on scroll), live
// updates, sending, replies, reactions, unsend, requests and settings.
import { $, el, get, post, shortID, showError } from './api.js';

const stateLabels = { sending: 'Sending', sent: 'Sent', delivered: 'Delivered', read: 'Read', failed: 'Not sent, retrying', received: '' };
const stateMarks = { sending: '…', sent: '✓', delivered: '✓✓', read: '✓✓ read', failed: '!', received: '' };

let peer = '';
let info = {};
let byID = new Map();
let oldest = 0;
let more = false;
let loading = false;
let replyTo = null;
let typingTimer = 0;
let sentTyping = 0;

export const currentPeer = () => peer;

function time(ms) {
  const d = new Date(ms);
  return d.toLocaleString([], { hour: '2-digit', minute: '2-digit', day: 'numeric', month: 'short' });
}

function who(m) {
  if (m.out) return 'You';
  return info.name || shortID(m.author);
}

function render(m) {
  const li = el('li', { class: `msg ${m.out ? 'out' : 'in'}${m.unsent ? ' unsent' : ''}`, 'data-id': m.id, tabindex: '-1' });
  if (m.quote) {
    const q = byID.get(m.quote.id);
    li.append(el('blockquote', { text: m.quote.body || (q && q.body) || 'Original message not found' }));
  }
  li.append(el('p', { class: 'body', text: m.unsent ? 'This message was deleted' : m.body }));
  if (m.reactions && m.reactions.length) {
    li.append(el('div', { class: 'reactions' }, ...m.reactions.map((r) =>
      el('button', { type: 'button', 'aria-pressed': String(!!r.mine), 'aria-label': `${r.emoji} ${r.count}${r.mine ? ', yours: remove' : ''}`,
        onclick: () => react(m, r.emoji, !!r.mine), text: `${r.emoji} ${r.count}` }))));
  }
  const meta = el('div', { class: 'meta' },
    el('time', { datetime: new Date(m.sent_at).toISOString(), text: time(m.sent_at) }),
    m.out ? el('span', { class: 'state', 'data-state': m.state, title: stateLabels[m.state], 'aria-label': stateLabels[m.state], text: stateMarks[m.state] }) : null);
  if (!m.unsent) {
    meta.append(el('span', { class: 'actions' },
      el('button', { type: 'button', class: 'reply', 'aria-label': `Reply to: ${m.body.slice(0, 40)}`, onclick: () => startReply(m), text: 'Reply' }),
      el('button', { type: 'button', class: 'react', 'aria-label': 'React with a thumbs up', onclick: () => react(m, '👍', false), text: '👍' }),
      m.out ? el('button', { type: 'button', class: 'unsend', 'aria-label': 'Delete for everyone', onclick: () => unsend(m), text: 'Unsend' }) : null));
  }
  li.append(meta);
  li.setAttribute('aria-label', `${who(m)}, ${time(m.sent_at)}`);
  return li;
}

function place(m) {
  byID.set(m.id, m);
  const list = $('message-list');
  const old = list.querySelector(`li[data-id="${m.id}"]`);
  const li = render(m);
  if (old) { old.replaceWith(li); return li; }
  // New messages go at the end unless an older one arrives late.
  let after = null;
  for (let n = list.lastElementChild; n; n = n.previousElementSibling) {
    const o = byID.get(Number(n.dataset.id));
    if (!o || o.sent_at <= m.sent_at) { after = n; break; }
  }
  if (after) after.after(li); else list.prepend(li);
  return li;
}

function atBottom() {
  const box = $('messages');
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

function scrollDown() { const box = $('messages'); box.scrollTop = box.scrollHeight; }

export async function openChat(id) {
  peer = id;
  byID = new Map();
  oldest = 0;
  replyTo = null;
  $('reply-to').hidden = true;
  $('typing').textContent = '';
  $('message-list').replaceChildren();
  $('no-chat').hidden = true;
  $('chat').hidden = false;
  $('chat-search').value = '';
  const t0 = performance.now();
  try {
    const [got, r] = await Promise.all([get(`/api/conversations/${id}`), get(`/api/conversations/${id}/messages`)]);
    if (peer !== id) return;
    info = got;
    $('chat-title').textContent = info.note_to_self ? 'Note to Self' : (info.name || shortID(id));
    $('chat-id').textContent = id;
    $('request-bar').hidden = !info.request;
    const sel = $('disappear');
    sel.value = `${info.mode || 'off'}:${info.timer || 0}`;
    if (sel.selectedIndex < 0) sel.value = 'off:0';
    $('message-list').replaceChildren(...r.messages.map((m) => { byID.set(m.id, m); return render(m); }));
    oldest = r.messages.length ? r.messages[0].id : 0;
    more = r.more;
    $('load-older').hidden = !more;
    scrollDown();
    await new Promise(requestAnimationFrame);
    performance.mark('sotto-chat-rendered');
    window.sottoPerf.chat.push(performance.now() - t0);
    markRead();
  } catch (e) { showError(e); }
}

export function closeChat() {
  peer = '';
  $('chat').hidden = true;
  $('no-chat').hidden = false;
}

async function loadOlder() {
  if (loading || !more || !oldest) return;
  loading = true;
  const box = $('messages');
  const fromBottom = box.scrollHeight - box.scrollTop;
  try {
    const id = peer;
    const r = await get(`/api/conversations/${id}/messages?before=${oldest}`);
    if (peer !== id) return;
    const frag = document.createDocumentFragment();
    for (const m of r.messages) { byID.set(m.id, m); frag.append(render(m)); }
    $('message-list').prepend(frag);
    if (r.messages.length) oldest = r.messages[0].id;
    more = r.more;
    $('load-older').hidden = !more;
    box.scrollTop = box.scrollHeight - fromBottom;
  } catch (e) { showError(e); } finally { loading = false; }
}

let reading = false;
async function markRead() {
  if (!peer || document.hidden || info.request || reading) return;
  reading = true;
  try { await post(`/api/conversations/${peer}/read`); } catch (e) { showError(e); } finally { reading = false; }
}

function startReply(m) {
  replyTo = m;
  $('reply-text').textContent = m.body;
  $('reply-to').hidden = false;
  $('compose').focus();
}

function cancelReply() { replyTo = null; $('reply-to').hidden = true; }

async function react(m, emoji, remove) {
  try { place(await post(`/api/conversations/${peer}/messages/${m.id}/react`, { emoji, remove })); } catch (e) { showError(e); }
}

async function unsend(m) {
  if (!confirm('Delete this message for everyone?')) return;
  try { place(await post(`/api/conversations/${peer}/messages/${m.id}/unsend`)); } catch (e) { showError(e); }
}

async function send(ev) {
  ev.preventDefault();
  const box = $('compose');
  const body = box.value;
  if (!body.trim() || !peer) return;
  const quote = replyTo ? replyTo.id : undefined;
  box.value = '';
  cancelReply();
  try {
    const m = await post(`/api/conversations/${peer}/messages`, { body, quote });
    place(m);
    scrollDown();
    showError(null);
  } catch (e) { box.value = body; showError(e); }
}

function typing() {
  if (!peer || info.note_to_self) return;
  const now = Date.now();
  if (now - sentTyping > 10000) {
    sentTyping = now;
    post(`/api/conversations/${peer}/typing`, { typing: true }).catch(() => {});
  }
}

function search() {
  const q = $('chat-search').value.trim().toLowerCase();
  let first = null;
  for (const li of $('message-list').children) {
    const m = byID.get(Number(li.dataset.id));
    const hit = q !== '' && m && m.body.toLowerCase().includes(q);
    li.classList.toggle('match', hit);
    if (hit && !first) first = li;
  }
  if (first) first.scrollIntoView({ block: 'center' });
}

// onEvent applies an engine event to the open conversation. It returns
// the message element it showed, if any.
export function onEvent(ev) {
  if (!peer || ev.conversation !== peer) return null;
  switch (ev.kind) {
  case 'message': {
    const bottom = atBottom();
    const li = place(ev.message);
    $('typing').textContent = '';
    if (bottom || ev.message.out) scrollDown();
    markRead();
    return li;
  }
  case 'state': case 'reaction': case 'unsent':
    if (byID.has(ev.message.id)) return place(ev.message);
    return null;
  case 'expired': {
    const li = $('message-list').querySelector(`li[data-id="${ev.message.id}"]`);
    if (li) li.remove();
    byID.delete(ev.message.id);
    return null;
  }
  case 'typing':
    $('typing').textContent = ev.typing ? `${info.name || 'They'} is typing…` : '';
    clearTimeout(typingTimer);
    if (ev.typing) typingTimer = setTimeout(() => { $('typing').textContent = ''; }, 20000);
    return null;
  case 'approved': case 'disappearing': case 'synced':
    openChat(peer);
    return null;
  }
  return null;
}

export function initChat(onChange) {
  $('composer').addEventListener('submit', send);
  $('compose').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); $('composer').requestSubmit(); }
    else if (ev.key === 'Escape') cancelReply();
  });
  $('compose').addEventListener('input', typing);
  $('reply-cancel').addEventListener('click', cancelReply);
  $('load-older').addEventListener('click', loadOlder);
  $('messages').addEventListener('scroll', () => { if ($('messages').scrollTop < 60) loadOlder(); });
  $('chat-search').addEventListener('input', search);
  document.addEventListener('visibilitychange', markRead);
  $('disappear').addEventListener('change', async () => {
    const [mode, seconds] = $('disappear').value.split(':');
    try { await post(`/api/conversations/${peer}/disappearing`, { mode, seconds: Number(seconds) }); } catch (e) { showError(e); }
  });
  const act = (what, body) => async () => {
    try {
      await post(`/api/conversations/${peer}/${what}`, body);
      onChange(what);
    } catch (e) { showError(e); }
  };
  $('accept').addEventListener('click', act('accept'));
  $('decline').addEventListener('click', act('decline'));
  $('block').addEventListener('click', act('block', { blocked: true }));
}

export function requestAnswered() { info.request = false; $('request-bar').hidden = true; }
