// A job's page: its facts, live progress over its event stream (fetch + SSE parsing, with
// Last-Event-ID on reconnect) and its items (items.js).

import { api, readEvents, ApiError } from './api.js';
import { h, clear, badge, when, millis, jobProgress, pause, TERMINAL } from './dom.js';
import { meaning } from './error_codes.js';
import { itemsPanel } from './items.js';

const RECONNECT_MS = 2000;

export function jobView(root, jobId) {
  const controller = new AbortController();
  const title = h('h2', {}, 'Job ', h('span', { class: 'mono' }, jobId));
  const status = h('span', { id: 'job-status' });
  const progress = h('span', { id: 'job-progress' });
  const live = h('span', { class: 'live', id: 'job-live' }, 'connecting to the event stream…');
  const facts = h('dl', { class: 'facts', id: 'job-facts' });
  const cancel = h('button', { type: 'button', class: 'secondary', id: 'job-cancel', hidden: true }, 'Cancel job');
  const message = h('p', { class: 'error', id: 'job-error' });
  const items = itemsPanel(jobId, controller.signal);
  root.append(
    h('p', {}, h('a', { href: '#/jobs' }, '← all jobs')),
    h('section', { class: 'card' }, title,
      h('div', { class: 'row' }, status, progress, live, cancel), message, facts),
    items.element);

  let job = null;
  function show(view) {
    job = view;
    clear(status);
    status.append(badge(view.status));
    clear(progress);
    progress.append(jobProgress(view.counts));
    cancel.hidden = TERMINAL.has(view.status);
    if (view.timings || view.kind) renderFacts(facts, view);
  }

  function showState(state) {
    if (!job) return;
    show({ ...job, status: state.status, counts: state.counts });
  }

  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      show(await api(`/v1/jobs/${jobId}/cancel`, { method: 'POST' }));
      items.reload();
    } catch (error) {
      message.textContent = `Cancel failed: ${error.message}`;
    }
    cancel.disabled = false;
  });

  async function follow() {
    let lastEventId = null;
    let ended = false;
    while (!ended && !controller.signal.aborted) {
      try {
        live.className = 'live on';
        live.textContent = 'live';
        lastEventId = await readEvents(`/v1/jobs/${jobId}/events`, {
          signal: controller.signal,
          lastEventId,
          onEvent(event) {
            const data = JSON.parse(event.data);
            if (event.type === 'state') showState(data);
            else if (event.type === 'item') items.itemEnded(data);
            else if (event.type === 'end') {
              ended = true;
              show(data);
              items.reload();
            }
          },
        });
      } catch (error) {
        if (controller.signal.aborted) return;
        if (error instanceof ApiError && error.status < 500 && error.status !== 429) {
          live.className = 'live off';
          live.textContent = `no event stream: ${error.message}`;
          return;
        }
        live.className = 'live off';
        live.textContent = `reconnecting: ${error.message}`;
      }
      if (!ended) await pause(RECONNECT_MS, controller.signal);
    }
    if (ended) {
      live.className = 'live';
      live.textContent = 'finished';
    }
  }

  api(`/v1/jobs/${jobId}`, { signal: controller.signal })
    .then((view) => {
      show(view);
      follow();
    })
    .catch((error) => {
      if (!controller.signal.aborted) {
        message.textContent = `Could not load the job: ${error.message}`;
        live.textContent = '';
      }
    });
  return () => controller.abort();
}

function renderFacts(facts, job) {
  clear(facts);
  const fact = (name, ...value) => facts.append(h('dt', {}, name), h('dd', {}, ...value));
  fact('Kind', job.kind);
  if (job.input?.url) fact('URL', h('span', { class: 'mono' }, job.input.url));
  if (job.feed) {
    const what = job.feed.hashtag ? `#${job.feed.hashtag}`
      : job.feed.username ? `@${job.feed.username}`
        : job.feed.query ? `search “${job.feed.query}”`
          : job.feed.music_id ? `sound ${job.feed.music_id}` : 'trending';
    const stopped = job.feed.walk?.stopped;
    fact('Feed', `${what} · count ${job.feed.count ?? '—'} · walk ${job.feed.walk?.status ?? '—'}`
      + (job.feed.cache_hit ? ' · from cache' : '')
      + (stopped ? ` · stopped: ${stopped.code}` : ''));
  }
  const sound = job.feed?.sound;
  if (sound) {
    fact('Sound', `“${sound.title ?? '?'}” by ${sound.author ?? '?'}`
      + (sound.original ? ' · original sound' : '')
      + (typeof sound.duration_seconds === 'number' ? ` · ${sound.duration_seconds} s` : '')
      + (typeof sound.video_count === 'number' ? ` · used in ${sound.video_count.toLocaleString()} videos` : ''));
  }
  const counts = job.counts;
  fact('Items', `${counts.total} total · ${counts.succeeded} succeeded · ${counts.failed} failed · `
    + `${counts.canceled} canceled · ${counts.pending} pending`);
  if (job.error) {
    fact('Error', h('code', {}, job.error.code), ` — ${meaning(job.error.code)} `,
      h('span', { class: 'muted' }, job.error.message));
  }
  fact('Created', when(job.created_at));
  fact('Started', when(job.started_at));
  fact('Finished', when(job.finished_at));
  const stages = Object.entries(job.timings?.stages_ms || {});
  if (stages.length > 0) {
    fact('Stages', stages.map(([stage, ms]) => `${stage} ${millis(ms)}`).join(' · '));
  }
  if (typeof job.timings?.elapsed_ms === 'number') fact('Elapsed', millis(job.timings.elapsed_ms));
  if (job.rejected?.length) fact('Rejected at submit', `${job.rejected.length} URL(s)`);
}
