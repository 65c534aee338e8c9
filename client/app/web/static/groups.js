// groups.js: groups (03): the new-group form (members picked from the
// contacts or given by Session ID), and in a group's conversation the
// members and admins, adding, removing, promoting and leaving.
import { $, el, get, post, shortID, showError } from './api.js';

let group = '';
let data = null;
let onLeft = () => {};

const idRe = /^05[0-9a-f]{64}$/;

// memberName is the name the chat shows for a message's author in the
// open group, or '' when it is not known.
export function memberName(id) {
  if (!data) return '';
  const m = data.members.find((x) => x.id === id);
  return m ? m.name : '';
}

async function loadContacts() {
  try {
    const r = await get('/api/contacts');
    $('group-contacts').replaceChildren(...r.contacts.map((c, i) => el('li', {},
      el('input', { type: 'checkbox', id: `pick-${i}`, value: c.id }),
      el('label', { for: `pick-${i}`, text: c.name || shortID(c.id), title: c.id }))));
    $('group-contacts-empty').hidden = r.contacts.length > 0;
    $('group-add-contacts').replaceChildren(...r.contacts.map((c) => el('option', { value: c.id, text: c.name || shortID(c.id) })));
  } catch (e) { showError(e); }
}

async function create(ev, open) {
  ev.preventDefault();
  const picked = [...$('group-contacts').querySelectorAll('input:checked')].map((b) => b.value);
  const typed = $('group-ids').value.split(/[\s,]+/).map((s) => s.trim().toLowerCase()).filter((s) => s);
  const bad = typed.find((s) => !idRe.test(s));
  if (bad) { showError(new Error(`Not a Session ID: ${bad}`)); return; }
  const members = [...new Set([...picked, ...typed])];
  if (!members.length) { showError(new Error('Pick at least one member.')); return; }
  const btn = $('new-group-form').querySelector('button[type=submit]');
  btn.disabled = true;
  try {
    const r = await post('/api/groups', { name: $('group-name').value, members });
    showError(null);
    $('new-group-form').reset();
    $('new-group').open = false;
    open(r.id);
  } catch (e) { showError(e); } finally { btn.disabled = false; }
}

const inviteLabels = { sent: 'invited', failed: 'invitation failed', 'not-sent': 'invitation not sent yet' };

function memberItem(m) {
  const role = m.admin ? 'Admin' : (m.promotion ? 'Being promoted' : 'Member');
  const notes = [role];
  if (inviteLabels[m.invite]) notes.push(inviteLabels[m.invite]);
  if (m.removing) notes.push('being removed');
  const name = m.me ? 'You' : (m.name || shortID(m.id));
  const li = el('li', { 'data-id': m.id },
    el('span', { class: 'name', text: name, title: m.id }), ' ',
    el('span', { class: 'role hint', text: notes.join(', ') }));
  if (data.admin && !m.me && !m.removing) {
    const act = (what, label) => el('button', { type: 'button', class: what, 'aria-label': `${label} ${name}`, text: label,
      onclick: () => memberAction(what, m.id) });
    li.append(' ', m.admin ? '' : act('promote', 'Make admin'), ' ', act('remove', 'Remove'));
  }
  return li;
}

function show() {
  if (!data) return;
  $('group-members').replaceChildren(...data.members.map(memberItem));
  for (const a of document.querySelectorAll('#message-list .author[data-author]')) {
    a.textContent = memberName(a.dataset.author) || shortID(a.dataset.author);
  }
  const states = { joined: '', invited: 'You are invited: accept to join.', removed: 'You were removed from this group.',
    destroyed: 'This group was deleted.', left: 'You left this group.' };
  $('group-state').textContent = states[data.state] || '';
  $('group-state').hidden = !states[data.state];
  $('group-add').hidden = !data.admin || data.state !== 'joined';
  $('group-leave').hidden = data.state !== 'joined';
  const closed = { left: 'You left this group', removed: 'You were removed', destroyed: 'This group was disbanded' };
  closeComposer(closed[data.state] || '');
  $('members-toggle').textContent = `Members (${data.members.length})`;
}

// refreshGroup reloads the open group's members.
export async function refreshGroup() {
  const id = group;
  if (!id) return;
  try {
    const r = await get(`/api/groups/${id}`);
    if (group !== id) return;
    data = r;
    show();
  } catch (e) { if (e.status !== 404) showError(e); }
}

async function memberAction(what, member) {
  try {
    await post(`/api/groups/${group}/${what}`, { members: [member] });
    showError(null);
    await refreshGroup();
  } catch (e) { showError(e); }
}

// closeComposer disables the composer with a note saying why, or enables
// it again when note is empty.
function closeComposer(note) {
  $('composer-closed').textContent = note;
  $('composer-closed').hidden = !note;
  for (const id of ['compose', 'send', 'record', 'attach']) $(id).disabled = !!note;
}

// showGroup shows the group tools for id, or hides them when id is not a
// group's.
export function showGroup(id) {
  const isGroup = id.startsWith('03');
  $('members-toggle').hidden = !isGroup;
  if (group !== id) {
    data = null;
    $('group-members').replaceChildren();
    $('group-panel').hidden = true;
    $('members-toggle').setAttribute('aria-expanded', 'false');
    $('members-toggle').textContent = 'Members';
  }
  if (group !== id) closeComposer('');
  group = isGroup ? id : '';
  if (isGroup) refreshGroup();
  else $('group-panel').hidden = true;
}

export function initGroups(open, left) {
  onLeft = left;
  $('new-group').addEventListener('toggle', () => { if ($('new-group').open) { loadContacts(); $('group-name').focus(); } });
  $('new-group-form').addEventListener('submit', (ev) => create(ev, open));
  $('members-toggle').addEventListener('click', () => {
    const p = $('group-panel');
    p.hidden = !p.hidden;
    $('members-toggle').setAttribute('aria-expanded', String(!p.hidden));
    if (!p.hidden) { loadContacts(); refreshGroup(); $('group-panel-h').setAttribute('tabindex', '-1'); $('group-panel-h').focus(); }
  });
  $('group-add').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = $('group-add-id').value.trim().toLowerCase();
    if (!idRe.test(id)) { showError(new Error('A member is a Session ID: 66 hexadecimal characters starting with 05.')); return; }
    $('group-add-id').value = '';
    await memberAction('invite', id);
  });
  $('group-leave').addEventListener('click', async (ev) => {
    const b = ev.currentTarget;
    if (b.dataset.confirm !== '1') {
      b.dataset.confirm = '1';
      b.textContent = 'Leave: are you sure?';
      setTimeout(() => { b.dataset.confirm = ''; b.textContent = 'Leave group'; }, 5000);
      return;
    }
    b.dataset.confirm = '';
    b.textContent = 'Leave group';
    try {
      await post(`/api/groups/${group}/leave`);
      showError(null);
      await refreshGroup();
      onLeft();
    } catch (e) { showError(e); }
  });
}
