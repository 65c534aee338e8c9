// onboard.js: the first run (create an account, its recovery phrase shown
// once and checked, or restore one from its phrase) and unlocking.
import { $, post, showError } from './api.js';

function step(id) {
  for (const s of ['onboard-choose', 'onboard-phrase', 'onboard-confirm', 'onboard-restore']) $(s).hidden = s !== id;
  const first = $(id).querySelector('input, textarea, button');
  if (first) first.focus();
}

export function initOnboarding(onReady) {
  let check = [];
  $('create-start').addEventListener('click', async () => {
    try {
      const r = await post('/api/onboard/new');
      const list = $('phrase');
      list.replaceChildren(...r.phrase.map((w) => Object.assign(document.createElement('li'), { textContent: w })));
      $('new-id').textContent = r.session_id;
      check = r.check;
      $('check-0-label').textContent = `Word ${check[0]}`;
      $('check-1-label').textContent = `Word ${check[1]}`;
      showError(null);
      step('onboard-phrase');
    } catch (e) { showError(e); }
  });
  $('phrase-done').addEventListener('click', () => {
    // Shown once: the words leave the page before they are asked for.
    $('phrase').replaceChildren();
    step('onboard-confirm');
  });
  $('restore-start').addEventListener('click', () => step('onboard-restore'));
  for (const b of document.querySelectorAll('#onboard .back')) b.addEventListener('click', () => step('onboard-choose'));

  $('onboard-confirm').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const st = await post('/api/onboard/create', {
        words: [$('check-0').value, $('check-1').value],
        name: $('create-name').value, passphrase: $('create-pass').value,
      });
      $('create-pass').value = '';
      showError(null);
      onReady(st);
    } catch (e) { showError(e); }
  });
  $('onboard-restore').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const st = await post('/api/onboard/restore', {
        phrase: $('restore-phrase').value, name: $('restore-name').value, passphrase: $('restore-pass').value,
      });
      $('restore-phrase').value = '';
      $('restore-pass').value = '';
      showError(null);
      onReady(st);
    } catch (e) { showError(e); }
  });
  $('unlock-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const st = await post('/api/unlock', { passphrase: $('unlock-pass').value });
      $('unlock-pass').value = '';
      showError(null);
      onReady(st);
    } catch (e) { showError(e); }
  });
}
