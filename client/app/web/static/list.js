// list.js: the conversation list and the message requests, with unread
// counts, the last message and the unread total in the tab title.
import { $, el, get, post, shortID, showError } from './api.js';

let current = '';
let onOpen = () => {};
let order = [];
let filter = '';

// filterList shows only the conversations and rooms whose name holds q;
// it returns how many are shown.
export function filterList(q) {
  filter = q.trim().toLowerCase();
  let n = 0;
  for (const li of document.querySelectorAll('#inbox > li, #requests > li, #rooms > li')) {
    const name = (li.querySelector('.name') || li).textContent.toLowerCase();
    li.hidden = filter !== '' && !name.includes(filter);
    if (!li.hidden) n++;
  }
  $('conv-search-none').textContent = filter && n === 0 ? 'No conversation has that name.' : '';
  return n;
}

// firstShown is the first conversation or room button the filter leaves.
export function firstShown() {
  return document.querySelector('#requests > li:not([hidden]) .conv, #inbox > li:not([hidden]) .conv, #rooms > li:not([hidden]) .conv');
}

export function setCurrent(peer) {
  current = peer;
  for (const b of document.querySelectorAll('.conv')) b.setAttribute('aria-current', String(b.dataset.peer === peer));
}

export function neighbour(delta) {
  const i = order.indexOf(current);
  if (order.length === 0) return '';
  return order[Math.max(0, Math.min(order.length - 1, i < 0 ? 0 : i + delta))];
}

function preview(s) {
  if (!s.last) return '';
  if (s.last.unsent) return 'This message was deleted';
  return (s.last.out ? 'You: ' : '') + s.last.body;
}

function item(s, request) {
  const name = s.note_to_self ? 'Note to Self' : (s.name || shortID(s.peer));
  const label = `${name}${s.unread ? `, ${s.unread} unread` : ''}`;
  const btn = el('button', { type: 'button', class: 'conv', 'data-peer': s.peer, 'aria-label': label,
    'aria-current': String(s.peer === current), onclick: () => onOpen(s.peer) },
  el('span', { class: 'name', text: name }),
  s.unread ? el('span', { class: 'unread', 'aria-hidden': 'true', text: String(s.unread) }) : el('span'),
  el('span', { class: 'last', text: preview(s) }));
  const li = el('li', { 'data-peer': s.peer }, btn);
  if (request) {
    const act = (what, body) => async () => {
      try { await post(`/api/conversations/${s.peer}/${what}`, body); await refreshList(); } catch (e) { showError(e); }
    };
    li.append(el('span', { class: 'req-actions' },
      el('button', { type: 'button', class: 'accept', 'aria-label': `Accept ${name}`, onclick: act('accept'), text: 'Accept' }),
      el('button', { type: 'button', class: 'decline', 'aria-label': `Decline ${name}`, onclick: act('decline'), text: 'Decline' }),
      el('button', { type: 'button', class: 'block danger', 'aria-label': `Block ${name}`, onclick: act('block', { blocked: true }), text: 'Block' })));
  }
  return li;
}

let pending = null;

// refreshList reloads the lists; calls made while one runs share the next.
export function refreshList() {
  if (pending) return pending;
  pending = (async () => {
    try {
      const t0 = performance.now();
      const r = await get('/api/conversations');
      $('inbox').replaceChildren(...r.inbox.map((s) => item(s, false)));
      $('requests').replaceChildren(...r.requests.map((s) => item(s, true)));
      $('requests-section').hidden = r.requests.length === 0;
      $('inbox-empty').hidden = r.inbox.length > 0;
      order = [...r.requests, ...r.inbox].map((s) => s.peer);
      if (filter) filterList(filter);
      const unread = [...r.inbox, ...r.requests].reduce((n, s) => n + s.unread, 0);
      document.title = unread ? `(${unread}) Sotto` : 'Sotto';
      performance.mark('sotto-list-rendered');
      window.sottoPerf.list.push(performance.now() - t0);
    } catch (e) {
      showError(e);
    } finally {
      pending = null;
    }
  })();
  return pending;
}

export function initList(open) { onOpen = open; }
