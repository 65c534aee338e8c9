// chat.js: one conversation: its messages (paged back on scroll), live
// updates, sending, replies, reactions, unsend, requests and settings.
import { $, el, get, post, shortID, showError } from './api.js';
import { memberName, refreshGroup, showGroup } from './groups.js';

const stateLabels = { sending: 'Sending', sent: 'Sent', delivered: 'Delivered', read: 'Read', failed: 'Not sent, retrying', received: '' };
const stateMarks = { sending: '…', sent: '✓', delivered: '✓✓', read: '✓✓ read', failed: '!', received: '' };

let peer = '';
let info = {};
let byID = new Map();
let oldest = 0;
let more = false;
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
  if (info.group) return memberName(m.author) || shortID(m.author);
  return info.name || shortID(m.author);
}

function render(m) {
  const li = el('li', { class: `msg ${m.out ? 'out' : 'in'}${m.unsent ? ' unsent' : ''}`, 'data-id': m.id, tabindex: '-1' });
  if (info.group && !m.out) li.append(el('p', { class: 'author', 'data-author': m.author, text: who(m) }));
  if (m.quote) {
    const q = byID.get(m.quote.id);
    li.append(el('blockquote', { text: m.quote.body || (q && q.body) || 'Original message not found' }));
  }
  if (!m.unsent && m.attachments) {
    for (const a of m.attachments) li.append(renderAttachment(a));
  }
  if (m.body || m.unsent || !m.attachments) li.append(el('p', { class: 'body', text: m.unsent ? 'This message was deleted' : m.body }));
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
      m.out ? el('button', { type: 'button', class: 'unsend', 'aria-label': 'Delete for everyone', onclick: (ev) => unsend(m, ev.currentTarget), text: 'Unsend' }) : null));
  }
  li.append(meta);
  li.setAttribute('aria-label', `${who(m)}, ${time(m.sent_at)}`);
  return li;
}

function size(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  if (n >= 1 << 10) return `${Math.round(n / (1 << 10))} kB`;
  return `${n} bytes`;
}

const inlineImage = /^image\/(png|jpeg|gif|webp)$/;

function renderAttachment(a) {
  const url = `/api/attachments/${a.id}`;
  const label = a.name || (a.voice ? 'Voice message' : 'File');
  if (a.state === 'pending') return el('p', { class: 'att pending', text: `${label}: downloading…` });
  if (a.state === 'failed') return el('p', { class: 'att failed', text: `${label}: the download failed` });
  if (inlineImage.test(a.type)) {
    return el('a', { class: 'att image', href: url, target: '_blank', rel: 'noopener', 'aria-label': `Open the image ${label}` },
      el('img', { src: url, alt: label, loading: 'lazy', width: a.width || undefined, height: a.height || undefined }));
  }
  if (a.voice || a.type.startsWith('audio/')) {
    return el('figure', { class: 'att audio' }, el('audio', { controls: true, preload: 'none', src: url, 'aria-label': label }),
      el('figcaption', { text: a.voice ? 'Voice message' : label }));
  }
  return el('a', { class: 'att file', href: url, download: label, text: `${label} (${size(a.size)})` });
}

// upload sends files one message each, showing the upload's progress.
function upload(files) {
  for (const f of files) uploadOne(f, f.name, f.type, false);
}

function uploadOne(f, name, type, voice) {
  const id = peer;
  const bar = el('progress', { max: '100', value: '0', 'aria-label': `Uploading ${name}` });
  const row = el('p', { class: 'upload' }, el('span', { text: `${name} ` }), bar);
  $('uploads').append(row);
  const xhr = new XMLHttpRequest();
  const q = new URLSearchParams({ name, type: type || '' });
  if (voice) q.set('voice', '1');
  xhr.open('POST', `/api/conversations/${id}/attachments?${q}`);
  xhr.setRequestHeader('Content-Type', 'application/octet-stream');
  xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) bar.value = Math.round(100 * ev.loaded / ev.total); };
  xhr.onload = () => {
    row.remove();
    let data = {};
    try { data = JSON.parse(xhr.responseText); } catch { data = { error: xhr.statusText }; }
    if (xhr.status >= 300 && xhr.status !== 202) { showError(new Error(data.error || 'upload failed')); return; }
    if (peer === id) { place(data); scrollDown(); }
  };
  xhr.onerror = () => { row.remove(); showError(new Error(`${name}: upload failed`)); };
  xhr.send(f);
}

const stateRank = { failed: 0, sending: 1, sent: 2, delivered: 3, read: 4, received: 0 };

// Voice messages: recorded in the browser (MediaRecorder), sent as an
// attachment flagged as a voice message.
let rec = null;

async function toggleRecord() {
  const b = $('record');
  if (rec) { rec.stop(); return; }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const type = MediaRecorder.isTypeSupported('audio/webm;codecs=opus') ? 'audio/webm;codecs=opus' : '';
    const r = new MediaRecorder(stream, type ? { mimeType: type } : {});
    const chunks = [];
    const started = Date.now();
    const tick = setInterval(() => {
      const s = Math.floor((Date.now() - started) / 1000);
      b.textContent = `Stop and send (${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')})`;
    }, 1000);
    r.ondataavailable = (e) => { if (e.data.size) { chunks.push(e.data); b.dataset.chunks = String(chunks.length); } };
    r.onstop = () => {
      clearInterval(tick);
      stream.getTracks().forEach((t) => t.stop());
      rec = null;
      b.textContent = 'Record';
      b.setAttribute('aria-pressed', 'false');
      delete b.dataset.chunks;
      if (chunks.length) uploadOne(new Blob(chunks, { type: 'audio/webm' }), 'voice-message.webm', 'audio/webm', true);
    };
    rec = r;
    r.start(250);
    b.textContent = 'Stop and send (0:00)';
    b.setAttribute('aria-pressed', 'true');
  } catch (e) { showError(new Error(`Cannot record: ${e.message}`)); }
}

function place(m) {
  // Answers and events may cross: a state never goes back.
  const old0 = byID.get(m.id);
  if (old0 && m.out && stateRank[old0.state] > stateRank[m.state]) m = { ...m, state: old0.state };
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
  searchAll('');
  const t0 = performance.now();
  try {
    const [got, r] = await Promise.all([get(`/api/conversations/${id}`), get(`/api/conversations/${id}/messages`)]);
    if (peer !== id) return;
    info = got;
    showInfo(id);
    // Messages that events brought while the page was fetched stay.
    const fetched = new Set(r.messages.map((m) => m.id));
    const newer = [...byID.values()].filter((m) => !fetched.has(m.id));
    $('message-list').replaceChildren(...r.messages.map((m) => { byID.set(m.id, m); return render(m); }));
    for (const m of newer) place(m);
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

// refreshInfo reloads the conversation's header: name, request, timer.
async function refreshInfo() {
  const id = peer;
  try {
    const got = await get(`/api/conversations/${id}`);
    if (peer !== id) return;
    info = got;
    showInfo(id);
  } catch (e) { showError(e); }
}

function showInfo(id) {
  $('chat-title').textContent = info.note_to_self ? 'Note to Self' : (info.name || shortID(id));
  $('chat-id').textContent = id;
  $('request-bar').hidden = !info.request;
  showGroup(id);
  const sel = $('disappear');
  sel.value = `${info.mode || 'off'}:${info.timer || 0}`;
  if (sel.selectedIndex < 0) sel.value = 'off:0';
}

export function closeChat() {
  peer = '';
  $('chat').hidden = true;
  $('no-chat').hidden = false;
}

// loadOlder loads the page above the oldest message shown. A call while
// a page is on its way waits for that page.
let olderP = null;
function loadOlder() {
  if (olderP) return olderP;
  if (!more || !oldest) return Promise.resolve();
  olderP = fetchOlder().finally(() => { olderP = null; });
  return olderP;
}

async function fetchOlder() {
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
  } catch (e) { showError(e); }
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

// unsend asks first: the first press turns the button into a
// confirmation for a few seconds.
async function unsend(m, btn) {
  if (btn.dataset.confirm !== '1') {
    btn.dataset.confirm = '1';
    btn.textContent = 'Delete for everyone?';
    setTimeout(() => { if (btn.isConnected) { btn.dataset.confirm = ''; btn.textContent = 'Unsend'; } }, 5000);
    return;
  }
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
  searchAll(q);
}

// searchAll asks the engine for the matches in the whole conversation,
// loaded or not, and lists them; the newest answer wins.
let searchSeq = 0;
async function searchAll(q) {
  const seq = ++searchSeq;
  if (q === '') { $('search-results').hidden = true; $('search-list').replaceChildren(); return; }
  const id = peer;
  try {
    const r = await get(`/api/conversations/${id}/search?q=${encodeURIComponent(q)}`);
    if (seq !== searchSeq || peer !== id) return;
    $('search-status').textContent = r.messages.length ? `${r.messages.length} found` : 'Nothing found.';
    $('search-list').replaceChildren(...r.messages.map((m) => el('li', {},
      el('button', { type: 'button', class: 'link', 'data-id': m.id, onclick: () => jumpTo(m.id) },
        `${who(m)}, ${time(m.sent_at)}: ${m.body}`))));
    $('search-results').hidden = false;
  } catch (e) { showError(e); }
}

// jumpTo shows message id, loading older pages until it is there.
async function jumpTo(msgID) {
  const id = peer;
  while (peer === id && !byID.has(msgID) && more) {
    const before = oldest;
    await loadOlder();
    if (oldest === before) break;
  }
  const li = $('message-list').querySelector(`li[data-id="${msgID}"]`);
  if (!li) return;
  li.classList.add('match');
  li.scrollIntoView({ block: 'center' });
  li.focus();
}

// onEvent applies an engine event to the open conversation. It returns
// the message element it showed, if any.
export function onEvent(ev) {
  if (!peer || ev.conversation !== peer) return null;
  switch (ev.kind) {
  case 'message': {
    const bottom = atBottom();
    const li = place(ev.message);
    // A member not named yet: their message brought their profile.
    if (info.group && !ev.message.out && !memberName(ev.message.author)) refreshGroup();
    $('typing').textContent = '';
    if (bottom || ev.message.out) scrollDown();
    markRead();
    return li;
  }
  case 'state':
    // A state may come before the answer to the send that made it.
    return place(ev.message);
  case 'reaction': case 'unsent': case 'attachment':
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
    refreshInfo();
    return null;
  case 'group':
    refreshInfo();
    refreshGroup();
    return null;
  }
  return null;
}

export function initChat(onChange) {
  $('composer').addEventListener('submit', send);
  $('record').addEventListener('click', toggleRecord);
  $('attach').addEventListener('change', () => { upload($('attach').files); $('attach').value = ''; });
  const chat = $('chat');
  chat.addEventListener('dragover', (ev) => { ev.preventDefault(); chat.classList.add('dropping'); });
  chat.addEventListener('dragleave', () => chat.classList.remove('dropping'));
  chat.addEventListener('drop', (ev) => {
    ev.preventDefault();
    chat.classList.remove('dropping');
    if (ev.dataTransfer && ev.dataTransfer.files.length && !$('attach').disabled) upload(ev.dataTransfer.files);
  });
  $('compose').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); $('composer').requestSubmit(); }
    else if (ev.key === 'Escape' && replyTo) { ev.preventDefault(); cancelReply(); }
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
