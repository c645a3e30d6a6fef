// The dashboard's entry module: sign-in and the hash router (#/jobs, #/jobs/<id>, #/submit,
// #/watches, #/watches/<id>, #/stats). Each view returns a function that stops its timers and
// streams when left.

import { api, apiKey, setApiKey, signOut, ApiError } from './api.js';
import { h, clear } from './dom.js';
import { jobsView } from './jobs.js';
import { jobView } from './job.js';
import { submitView } from './submit.js';
import { statsView } from './stats.js';
import { watchesView, watchView } from './watches.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let leaveView = null;

function route() {
  if (leaveView) leaveView();
  leaveView = null;
  clear(main);
  if (!apiKey()) {
    nav.hidden = true;
    signInView(main);
    return;
  }
  nav.hidden = false;
  const hash = location.hash || '#/jobs';
  const job = hash.match(/^#\/jobs\/([0-9a-fA-F-]{36})$/);
  const watch = hash.match(/^#\/watches\/([0-9a-fA-F-]{36})$/);
  let current = 'jobs';
  if (job) {
    leaveView = jobView(main, job[1]);
  } else if (watch) {
    current = 'watches';
    leaveView = watchView(main, watch[1]);
  } else if (hash === '#/watches') {
    current = 'watches';
    leaveView = watchesView(main);
  } else if (hash === '#/submit') {
    current = 'submit';
    leaveView = submitView(main);
  } else if (hash === '#/stats') {
    current = 'stats';
    leaveView = statsView(main);
  } else {
    leaveView = jobsView(main);
  }
  for (const link of nav.querySelectorAll('a[data-nav]')) {
    link.classList.toggle('current', link.dataset.nav === current);
  }
}

function signInView(root) {
  const input = h('input', {
    type: 'password', id: 'api-key', class: 'wide', autocomplete: 'off', required: true,
    placeholder: 'your API key', 'aria-label': 'API key',
  });
  const message = h('p', { id: 'sign-in-error', class: 'error' });
  const button = h('button', { type: 'submit', id: 'sign-in' }, 'Sign in');
  const form = h('form', { class: 'card signin', id: 'sign-in-form' },
    h('h2', {}, 'Sign in'),
    h('p', { class: 'muted' },
      'Paste an API key. It is kept in this tab only (sessionStorage) and sent as the x-api-key header.'),
    input, h('div', { class: 'row' }, button), message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = '';
    button.disabled = true;
    setApiKey(input.value.trim());
    try {
      await api('/v1/jobs?limit=1', { signIn: true });
      if (!location.hash) location.hash = '#/jobs';
      route();
    } catch (error) {
      signOut();
      message.textContent = error instanceof ApiError && error.status === 401
        ? 'That key was refused (401 UNAUTHENTICATED).'
        : `Could not sign in: ${error.message}`;
      button.disabled = false;
    }
  });
  root.append(form);
  input.focus();
}

document.getElementById('sign-out').addEventListener('click', () => {
  signOut();
  location.hash = '';
  route();
});
window.addEventListener('hashchange', route);
window.addEventListener('tokworks:signed-out', route);
route();
