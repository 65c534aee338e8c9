// rooms.js: communities: the joined rooms, joining by URL, and one room:
// its posts (polled from the app, which the engine's community loop
// keeps up to date), posting with replies, reactions and, for a room's
// moderators, deleting posts and banning their authors.
import { $, el, get, post, shortID, showError } from './api.js';
import { filterList } from './list.js';

let room = '';
let info = {};
let shown = new Map(); // post id → its JSON, as last rendered
let timer = 0;
let replyTo = null;
let dmTo = '';
let onOpen = () => {};

// pollEvery is how often an open room is read again from the app.
const pollEvery = 2000;

export const currentRoom = () => room;

function time(ms) {
  return new Date(ms).toLocaleString([], { hour: '2-digit', minute: '2-digit', day: 'numeric', month: 'short' });
}

export async function refreshRooms() {
  try {
    const r = await get('/api/rooms');
    $('rooms').replaceChildren(...r.rooms.map((x) => el('li', { 'data-room': x.room },
      el('button', { type: 'button', class: 'conv', 'data-room': x.room, 'aria-current': String(x.room === room),
        onclick: () => onOpen(x.room) },
      el('span', { class: 'name', text: x.name || x.room }), el('span'),
      el('span', { class: 'last', text: x.server })))));
    if ($('conv-search').value) filterList($('conv-search').value);
  } catch (e) { showError(e); }
}

function confirmFirst(btn, label, ask, fn) {
  if (btn.dataset.confirm !== '1') {
    btn.dataset.confirm = '1';
    btn.textContent = ask;
    setTimeout(() => { if (btn.isConnected) { btn.dataset.confirm = ''; btn.textContent = label; } }, 5000);
    return;
  }
  btn.dataset.confirm = '';
  fn();
}

async function act(what, body) {
  try {
    await post(`/api/room/${what}`, { room, ...body });
    showError(null);
    await loadPosts(true);
  } catch (e) { showError(e); }
}

function render(p) {
  const author = p.mine ? 'You' : (p.name || shortID(p.author));
  const li = el('li', { class: `msg post ${p.mine ? 'out' : 'in'}`, 'data-id': p.id, tabindex: '-1', 'aria-label': `${author}, ${time(p.posted)}` });
  if (!p.mine) li.append(el('p', { class: 'author', title: p.author, text: author }));
  if (p.quote_id) {
    const q = [...shown.values()].find((x) => x.sent_at === p.quote_id);
    li.append(el('blockquote', { text: q ? q.body : 'Original post not loaded' }));
  }
  li.append(el('p', { class: 'body', text: p.body }));
  const rs = Object.entries(p.reactions || {});
  if (rs.length) {
    li.append(el('div', { class: 'reactions' }, ...rs.map(([emoji, n]) =>
      el('button', { type: 'button', 'aria-label': `${emoji} ${n}: react too`, onclick: () => act('react', { id: p.id, emoji, add: true }), text: `${emoji} ${n}` }))));
  }
  const acts = el('span', { class: 'actions' },
    el('button', { type: 'button', class: 'reply', 'aria-label': `Reply to: ${p.body.slice(0, 40)}`, onclick: () => startReply(p), text: 'Reply' }),
    el('button', { type: 'button', class: 'react', 'aria-label': 'React with a thumbs up', onclick: () => act('react', { id: p.id, emoji: '👍', add: true }), text: '👍' }));
  if (!p.mine) {
    acts.append(el('button', { type: 'button', class: 'dm', 'aria-label': `Message ${author}`, onclick: () => startDM(p.author, author), text: 'Message' }));
  }
  if (p.mine || info.moderator) {
    acts.append(el('button', { type: 'button', class: 'delete', 'aria-label': `Delete the post: ${p.body.slice(0, 40)}`, text: 'Delete',
      onclick: (ev) => confirmFirst(ev.currentTarget, 'Delete', 'Delete for everyone?', () => act('delete', { id: p.id })) }));
  }
  if (info.moderator && !p.mine) {
    acts.append(el('button', { type: 'button', class: 'ban danger', 'aria-label': `Ban ${author} and delete their posts`, text: 'Ban',
      onclick: (ev) => confirmFirst(ev.currentTarget, 'Ban', `Ban ${author}?`, () => act('ban', { user: p.author, delete_all: true })) }));
  }
  li.append(el('div', { class: 'meta' }, el('time', { datetime: new Date(p.posted).toISOString(), text: time(p.posted) }), acts));
  return li;
}

function startReply(p) {
  replyTo = p;
  $('room-reply-text').textContent = p.body;
  $('room-reply-to').hidden = false;
  $('room-compose').focus();
}

// startDM opens the small composer for a message to a post's author,
// sent to their blinded ID through the room's server.
function startDM(to, name) {
  dmTo = to;
  $('room-dm-label').textContent = `Message to ${name}`;
  $('room-dm-status').textContent = '';
  $('room-dm').hidden = false;
  $('room-dm-body').focus();
}

function closeDM() { dmTo = ''; $('room-dm').hidden = true; $('room-dm-body').value = ''; }

async function sendDM(ev) {
  ev.preventDefault();
  const body = $('room-dm-body').value;
  if (!body.trim() || !dmTo) return;
  try {
    await post('/api/room/dm', { room, user: dmTo, body });
    $('room-dm-body').value = '';
    $('room-dm-status').textContent = 'Sent.';
    showError(null);
  } catch (e) { showError(e); }
}

function cancelReply() { replyTo = null; $('room-reply-to').hidden = true; }

// loadPosts shows the room's posts, changing only what changed; with
// poll the app first asks the server.
async function loadPosts(poll) {
  const id = room;
  if (!id) return;
  try {
    const r = await get(`/api/room/posts?room=${encodeURIComponent(id)}${poll ? '&poll=1' : ''}`);
    if (room !== id) return;
    const box = $('posts-box');
    const bottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    const next = new Map(r.posts.map((p) => [p.id, p]));
    for (const li of [...$('posts').children]) {
      if (!next.has(Number(li.dataset.id))) li.remove();
    }
    shown = next;
    let prev = null;
    for (const p of r.posts) {
      const old = $('posts').querySelector(`li[data-id="${p.id}"]`);
      let li = old;
      if (!old || old.dataset.sig !== JSON.stringify(p)) {
        li = render(p);
        li.dataset.sig = JSON.stringify(p);
        if (old) old.replaceWith(li);
      }
      if (!old) { if (prev) prev.after(li); else $('posts').prepend(li); }
      prev = li;
    }
    if (bottom) box.scrollTop = box.scrollHeight;
  } catch (e) { showError(e); }
}

export async function openRoom(id) {
  room = id;
  info = {};
  shown = new Map();
  cancelReply();
  closeDM();
  $('posts').replaceChildren();
  $('room').hidden = false;
  $('no-chat').hidden = true;
  $('room-title').textContent = '';
  $('room-id').textContent = id;
  $('room-role').textContent = '';
  for (const b of document.querySelectorAll('#rooms .conv')) b.setAttribute('aria-current', String(b.dataset.room === id));
  clearInterval(timer);
  timer = setInterval(() => loadPosts(false), pollEvery);
  await loadPosts(false);
  try {
    const r = await get(`/api/room?room=${encodeURIComponent(id)}`);
    if (room !== id) return;
    info = r;
    $('room-title').textContent = r.name || id;
    $('room-role').textContent = r.offline ? 'Offline: showing what is stored.' : (r.moderator ? 'You moderate this room.' : '');
    shown = new Map();
    $('posts').replaceChildren();
    await loadPosts(true);
    $('posts-box').scrollTop = $('posts-box').scrollHeight;
  } catch (e) { showError(e); }
}

export function closeRoom() {
  room = '';
  clearInterval(timer);
  $('room').hidden = true;
  for (const b of document.querySelectorAll('#rooms .conv')) b.setAttribute('aria-current', 'false');
}

export function initRooms(open, left) {
  onOpen = open;
  $('join-room').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = $('join-room').querySelector('button');
    btn.disabled = true;
    try {
      const r = await post('/api/rooms', { url: $('join-room-url').value.trim() });
      $('join-room-url').value = '';
      showError(null);
      await refreshRooms();
      open(r.room);
    } catch (e) { showError(e); } finally { btn.disabled = false; }
  });
  $('room-composer').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const box = $('room-compose');
    const body = box.value;
    if (!body.trim() || !room) return;
    const quote = replyTo ? replyTo.id : undefined;
    box.value = '';
    cancelReply();
    try {
      await post('/api/room/post', { room, body, quote });
      showError(null);
      await loadPosts(true);
      $('posts-box').scrollTop = $('posts-box').scrollHeight;
    } catch (e) { box.value = body; showError(e); }
  });
  $('room-compose').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); $('room-composer').requestSubmit(); }
    else if (ev.key === 'Escape' && replyTo) { ev.preventDefault(); cancelReply(); }
  });
  $('room-reply-cancel').addEventListener('click', cancelReply);
  $('room-dm').addEventListener('submit', sendDM);
  $('room-dm-cancel').addEventListener('click', closeDM);
  $('room-leave').addEventListener('click', (ev) => confirmFirst(ev.currentTarget, 'Leave room', 'Leave: are you sure?', async () => {
    $('room-leave').textContent = 'Leave room';
    try {
      await post('/api/room/leave', { room });
      showError(null);
      await refreshRooms();
      left();
    } catch (e) { showError(e); }
  }));
}
