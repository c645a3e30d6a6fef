// Submitting jobs (POST /v1/jobs): one video URL, a batch (one URL per line, optionally
// "URL,custom_id"), a feed (trending, a hashtag, a user, a search, a sound, with a count) or a
// video's comments.

import { api } from './api.js';
import { h, clear } from './dom.js';

function optionsFields(prefix) {
  const box = (name, label) => h('label', {},
    h('input', { type: 'checkbox', id: `${prefix}-${name}`, name }), label);
  const language = h('select', { id: `${prefix}-language`, name: 'language', 'aria-label': 'language' },
    h('option', { value: 'en' }, 'en'), h('option', { value: 'id' }, 'id'));
  return h('div', { class: 'row' },
    box('transcript', 'transcript'), box('analyze_thumbnail', 'analyze thumbnail'),
    box('refresh', 'refresh (skip the cache)'), h('label', {}, 'language ', language));
}

function readOptions(form) {
  const options = {};
  for (const name of ['transcript', 'analyze_thumbnail', 'refresh']) {
    if (form.elements[name].checked) options[name] = true;
  }
  if (options.transcript || options.analyze_thumbnail) options.language = form.elements.language.value;
  return options;
}

/** Renders a refused submission: the problem's detail and its per-field errors. */
function showProblem(target, error) {
  clear(target);
  target.append(h('p', { class: 'error' }, error.message));
  const errors = error.problem?.errors || [];
  if (errors.length > 0) {
    target.append(h('ul', { class: 'error' }, errors.slice(0, 50).map((entry) =>
      h('li', {}, [entry.pointer || entry.field || entry.position, entry.code, entry.detail || entry.message]
        .filter((part) => part !== undefined && part !== null).join(' · ')))));
  }
}

/** The field that names a feed's target, by kind (`trending` has none). */
const FEED_TARGETS = {
  hashtag: { field: 'hashtag', label: 'hashtag' },
  user: { field: 'username', label: 'username' },
  search: { field: 'query', label: 'search query' },
  sound: { field: 'sound', label: 'music id or sound URL' },
};

function submitForm(id, title, fields, buildBody, { withOptions = true } = {}) {
  const result = h('div', { id: `${id}-result` });
  const button = h('button', { type: 'submit', id: `${id}-submit` }, 'Submit');
  const form = h('form', { class: 'card', id }, h('h2', {}, title), fields, h('div', { class: 'row' }, button), result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear(result);
    let body;
    try {
      body = buildBody(form);
    } catch (error) {
      result.append(h('p', { class: 'error' }, error.message));
      return;
    }
    if (withOptions) body.options = readOptions(form);
    button.disabled = true;
    try {
      const job = await api('/v1/jobs', { method: 'POST', body });
      if (job.rejected?.length) {
        result.append(h('p', {}, `Job created; ${job.rejected.length} URL(s) refused: `),
          h('ul', {}, job.rejected.map((entry) => h('li', { class: 'mono' }, `${entry.url} — ${entry.error.code}`))),
          h('a', { href: `#/jobs/${job.id}` }, 'Open the job'));
      } else {
        location.hash = `#/jobs/${job.id}`;
      }
    } catch (error) {
      showProblem(result, error);
    }
    button.disabled = false;
  });
  return form;
}

export function submitView(root) {
  const video = submitForm('submit-video', 'A video',
    [h('label', { class: 'block', for: 'video-url' }, 'TikTok video URL'),
      h('input', { type: 'text', id: 'video-url', name: 'url', class: 'wide', required: true, placeholder: 'a video URL or short link' }),
      optionsFields('video')],
    (form) => ({ kind: 'video', url: form.elements.url.value.trim() }));

  const batch = submitForm('submit-batch', 'A batch',
    [h('label', { class: 'block', for: 'batch-urls' }, 'One URL per line (optionally URL,custom_id)'),
      h('textarea', { id: 'batch-urls', name: 'urls', required: true }),
      optionsFields('batch')],
    (form) => {
      const urls = form.elements.urls.value.split('\n').map((line) => line.trim()).filter(Boolean)
        .map((line) => {
          const comma = line.lastIndexOf(',');
          return comma > 0 ? { url: line.slice(0, comma).trim(), custom_id: line.slice(comma + 1).trim() } : line;
        });
      if (urls.length === 0) throw new Error('Enter at least one URL.');
      return { kind: 'batch', urls };
    });

  const kind = h('select', { id: 'feed-kind', name: 'kind', 'aria-label': 'feed' },
    ['trending', 'hashtag', 'user', 'search', 'sound'].map((value) => h('option', { value }, value)));
  const name = h('input', { type: 'text', id: 'feed-name', name: 'name', placeholder: 'hashtag or username', disabled: true });
  kind.addEventListener('change', () => {
    name.disabled = kind.value === 'trending';
    name.placeholder = FEED_TARGETS[kind.value]?.label ?? '';
  });
  const feed = submitForm('submit-feed', 'A feed',
    [h('div', { class: 'row' }, kind, name,
      h('label', {}, 'count ', h('input', { type: 'number', id: 'feed-count', name: 'count', min: 1, value: 30 })))
      , optionsFields('feed')],
    (form) => {
      const body = { kind: form.elements.kind.value, count: Number(form.elements.count.value) };
      const target = FEED_TARGETS[body.kind];
      const value = form.elements.name.value.trim();
      if (target && !value) throw new Error(`Enter a ${target.label}.`);
      if (target) body[target.field] = value;
      return body;
    });

  const comments = submitForm('submit-comments', "A video's comments",
    [h('label', { class: 'block', for: 'comments-url' }, 'TikTok video URL'),
      h('input', { type: 'text', id: 'comments-url', name: 'url', class: 'wide', required: true, placeholder: 'a video URL or short link' }),
      h('div', { class: 'row' },
        h('label', {}, 'count ', h('input', { type: 'number', id: 'comments-count', name: 'count', min: 1, value: 100 })),
        h('label', {}, h('input', { type: 'checkbox', id: 'comments-replies', name: 'replies' }), 'with replies'))],
    (form) => {
      const body = { kind: 'comments', url: form.elements.url.value.trim(), count: Number(form.elements.count.value) };
      if (form.elements.replies.checked) body.replies = true;
      return body;
    }, { withOptions: false });

  root.append(video, batch, feed, comments);
  return () => {};
}
