// The jobs list: the key's jobs, newest first, polled every few seconds (GET /v1/jobs).

import { api } from './api.js';
import { h, clear, badge, when, jobProgress } from './dom.js';

const POLL_MS = 3000;
const STATUSES = ['', 'queued', 'running', 'succeeded', 'partial', 'failed', 'canceled'];
const KINDS = ['', 'video', 'batch', 'trending', 'hashtag', 'user', 'search', 'sound', 'comments'];

function choice(id, values, label) {
  return h('select', { id, 'aria-label': label },
    values.map((value) => h('option', { value }, value || `any ${label}`)));
}

function target(job) {
  if (job.input?.url) return job.input.url;
  if (job.kind === 'batch') return `${job.counts.total} URLs`;
  if (job.feed?.hashtag) return `#${job.feed.hashtag}`;
  if (job.feed?.username) return `@${job.feed.username}`;
  if (job.feed?.query) return `“${job.feed.query}”`;
  if (job.feed?.music_id) return `sound ${job.feed.sound?.title ? `“${job.feed.sound.title}”` : job.feed.music_id}`;
  return job.kind;
}

export function jobsView(root) {
  const status = choice('jobs-status', STATUSES, 'status');
  const kind = choice('jobs-kind', KINDS, 'kind');
  const limit = choice('jobs-limit', ['20', '50', '100'], 'limit');
  const info = h('span', { class: 'muted', id: 'jobs-updated' });
  const body = h('tbody', { id: 'jobs-body' });
  const table = h('table', { id: 'jobs-table' },
    h('thead', {}, h('tr', {},
      h('th', {}, 'Job'), h('th', {}, 'Kind'), h('th', {}, 'Input'), h('th', {}, 'Status'),
      h('th', {}, 'Progress'), h('th', {}, 'Failed'), h('th', {}, 'Created'))),
    body);
  root.append(h('section', { class: 'card' },
    h('h2', {}, 'Jobs'),
    h('div', { class: 'row' }, status, kind, limit, info),
    table));

  let timer = null;
  let stopped = false;
  async function refresh() {
    clearTimeout(timer);
    const query = new URLSearchParams({ limit: limit.value });
    if (status.value) query.set('status', status.value);
    if (kind.value) query.set('kind', kind.value);
    try {
      const list = await api(`/v1/jobs?${query}`);
      if (stopped) return;
      render(list.data);
      info.textContent = `${list.data.length} job(s) · updated ${new Date().toLocaleTimeString()} · every ${POLL_MS / 1000} s`;
      info.classList.remove('error');
    } catch (error) {
      info.textContent = `Could not list jobs: ${error.message}`;
      info.classList.add('error');
    }
    if (!stopped) timer = setTimeout(refresh, POLL_MS);
  }

  function render(jobs) {
    clear(body);
    if (jobs.length === 0) {
      body.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No jobs yet: submit one.')));
    }
    for (const job of jobs) {
      body.append(h('tr', { 'data-job-id': job.id, 'data-status': job.status },
        h('td', {}, h('a', { href: `#/jobs/${job.id}`, class: 'mono' }, job.id.slice(0, 8) + '…')),
        h('td', {}, job.kind),
        h('td', { class: 'mono' }, target(job)),
        h('td', {}, badge(job.status)),
        h('td', {}, jobProgress(job.counts)),
        h('td', { class: 'num' }, String(job.counts.failed)),
        h('td', {}, when(job.created_at))));
    }
  }

  for (const select of [status, kind, limit]) select.addEventListener('change', refresh);
  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
