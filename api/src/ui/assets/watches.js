// Watches (/v1/watches): the key's watches with pause, resume, run now and delete, a form that
// creates one, and a watch's page with its runs and the videos it has seen.

import { api } from './api.js';
import { h, clear, badge, when, count } from './dom.js';
import { meaning } from './error_codes.js';

const POLL_MS = 5000;
/** The field that names a watch's target, by kind (`trending` has none). */
const TARGET_FIELD = { user: 'username', hashtag: 'hashtag', sound: 'sound', search: 'query' };
const EVERY_CHOICES = [
  ['300', 'every 5 minutes'], ['900', 'every 15 minutes'], ['3600', 'every hour'],
  ['21600', 'every 6 hours'], ['86400', 'every day'],
];

/** `@name`, `#tag`, `sound 123…`, `"query"` or `trending`. */
export function watchTarget(watch) {
  switch (watch.kind) {
    case 'user': return `@${watch.username}`;
    case 'hashtag': return `#${watch.hashtag}`;
    case 'sound': return `sound ${watch.sound}`;
    case 'search': return `“${watch.query}”`;
    default: return watch.kind;
  }
}

/** A period in words: `5 min`, `2 h`, `1 d`. */
function period(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function watchStatus(watch) {
  if (watch.status === 'paused') {
    return h('span', {}, badge('paused'), ' ', h('span', { class: 'muted' }, watch.paused_reason || ''));
  }
  return badge(watch.status);
}

/** Pause/resume, run now and delete buttons; `changed` is called with the new watch (null: deleted). */
function watchActions(watch, changed, report) {
  const act = (label, id, run) => {
    const button = h('button', { type: 'button', class: 'secondary', 'data-action': id }, label);
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        changed(await run());
      } catch (error) {
        report(`${label} failed: ${error.message}`);
      }
      button.disabled = false;
    });
    return button;
  };
  const path = `/v1/watches/${watch.id}`;
  return h('span', { class: 'row actions' },
    watch.status === 'paused'
      ? act('Resume', 'resume', () => api(`${path}/resume`, { method: 'POST' }))
      : act('Pause', 'pause', () => api(`${path}/pause`, { method: 'POST' })),
    watch.status === 'paused' ? null : act('Run now', 'run', () => api(`${path}/run`, { method: 'POST' })),
    act('Delete', 'delete', async () => {
      await api(path, { method: 'DELETE' });
      return null;
    }));
}

function createForm(created) {
  const kind = h('select', { id: 'watch-kind', name: 'kind', 'aria-label': 'watch kind' },
    ['user', 'hashtag', 'sound', 'search', 'trending'].map((value) => h('option', { value }, value)));
  const target = h('input', { type: 'text', id: 'watch-target', name: 'target', placeholder: 'username', 'aria-label': 'target' });
  kind.addEventListener('change', () => {
    target.disabled = kind.value === 'trending';
    target.placeholder = { user: 'username', hashtag: 'hashtag', sound: 'music id or URL', search: 'search words' }[kind.value] || '';
  });
  const every = h('select', { id: 'watch-every', name: 'every', 'aria-label': 'how often' },
    EVERY_CHOICES.map(([value, label]) => h('option', { value }, label)));
  every.value = '3600';
  const result = h('div', { id: 'watch-create-result' });
  const button = h('button', { type: 'submit', id: 'watch-create' }, 'Create watch');
  const form = h('form', { class: 'card', id: 'watch-form' },
    h('h2', {}, 'New watch'),
    h('p', { class: 'muted' },
      'A watch runs a feed job on a schedule. Its first run is the baseline; after it, each video it has never seen is reported once (the runs, the videos list, and a watch.new_videos webhook).'),
    h('div', { class: 'row' }, kind, target, every,
      h('label', {}, 'count ', h('input', { type: 'number', id: 'watch-count', name: 'count', min: 1, value: 30 }))),
    h('div', { class: 'row' },
      h('label', {}, h('input', { type: 'checkbox', id: 'watch-report-existing', name: 'report_existing' }), 'report what the first run finds'),
      h('input', { type: 'text', id: 'watch-webhook', name: 'webhook', class: 'wide', placeholder: 'webhook URL (optional)', 'aria-label': 'webhook URL' })),
    h('div', { class: 'row' }, button), result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear(result);
    const body = { kind: kind.value, every: Number(every.value), count: Number(form.elements.count.value) };
    const field = TARGET_FIELD[kind.value];
    if (field) {
      const value = target.value.trim();
      if (!value) {
        result.append(h('p', { class: 'error' }, `Enter a ${field}.`));
        return;
      }
      body[field] = value;
    }
    if (form.elements.report_existing.checked) body.report_existing = true;
    const webhook = form.elements.webhook.value.trim();
    if (webhook) body.webhook = { url: webhook };
    button.disabled = true;
    try {
      const watch = await api('/v1/watches', { method: 'POST', body });
      target.value = '';
      created(watch);
    } catch (error) {
      result.append(h('p', { class: 'error' }, error.message));
      for (const entry of error.problem?.errors || []) {
        result.append(h('p', { class: 'error' }, [entry.pointer || entry.field, entry.code, entry.detail || entry.message]
          .filter(Boolean).join(' · ')));
      }
    }
    button.disabled = false;
  });
  return form;
}

export function watchesView(root) {
  const info = h('span', { class: 'muted', id: 'watches-updated' });
  const body = h('tbody', { id: 'watches-body' });
  const table = h('table', { id: 'watches-table' },
    h('thead', {}, h('tr', {},
      h('th', {}, 'Watch'), h('th', {}, 'Target'), h('th', {}, 'Every'), h('th', {}, 'Status'),
      h('th', {}, 'Next run'), h('th', {}, 'Last run'), h('th', { class: 'num' }, 'Runs'),
      h('th', { class: 'num' }, 'Videos seen'), h('th', {}, 'Last error'), h('th', {}, ''))),
    body);
  root.append(createForm(() => refresh()),
    h('section', { class: 'card' }, h('h2', {}, 'Watches'), h('div', { class: 'row' }, info), table));

  let timer = null;
  let stopped = false;
  const report = (text) => {
    info.textContent = text;
    info.classList.add('error');
  };
  async function refresh() {
    clearTimeout(timer);
    try {
      const list = await api('/v1/watches?limit=100');
      if (stopped) return;
      render(list.data);
      info.textContent = `${list.data.length} watch(es) · updated ${new Date().toLocaleTimeString()}`;
      info.classList.remove('error');
    } catch (error) {
      report(`Could not list watches: ${error.message}`);
    }
    if (!stopped) timer = setTimeout(refresh, POLL_MS);
  }

  function render(watches) {
    clear(body);
    if (watches.length === 0) {
      body.append(h('tr', {}, h('td', { colspan: 10, class: 'muted' }, 'No watches yet: create one above.')));
    }
    for (const watch of watches) {
      body.append(h('tr', { 'data-watch-id': watch.id, 'data-status': watch.status },
        h('td', {}, h('a', { href: `#/watches/${watch.id}`, class: 'mono' }, watch.id.slice(0, 8) + '…')),
        h('td', {}, watchTarget(watch)),
        h('td', {}, period(watch.every)),
        h('td', {}, watchStatus(watch)),
        h('td', {}, when(watch.next_run_at)),
        h('td', {}, when(watch.last_run_at)),
        h('td', { class: 'num' }, count(watch.runs)),
        h('td', { class: 'num' }, count(watch.videos_seen)),
        h('td', {}, watch.last_error
          ? h('code', { title: meaning(watch.last_error.code) }, watch.last_error.code)
          : '—'),
        h('td', {}, watchActions(watch, () => refresh(), report))));
    }
  }

  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export function watchView(root, watchId) {
  const controller = new AbortController();
  const facts = h('dl', { class: 'facts', id: 'watch-facts' });
  const actions = h('div', { class: 'row', id: 'watch-actions' });
  const message = h('p', { class: 'error', id: 'watch-error' });
  const runs = h('tbody', { id: 'watch-runs' });
  const videos = h('tbody', { id: 'watch-videos' });
  root.append(
    h('p', {}, h('a', { href: '#/watches' }, '← all watches')),
    h('section', { class: 'card' }, h('h2', {}, 'Watch ', h('span', { class: 'mono' }, watchId)), actions, message, facts),
    h('section', { class: 'card' }, h('h3', {}, 'Runs'),
      h('table', {}, h('thead', {}, h('tr', {},
        h('th', {}, 'Scheduled for'), h('th', {}, 'Job'), h('th', {}, 'Status'), h('th', {}, ''),
        h('th', { class: 'num' }, 'Found'), h('th', {}, 'New videos'), h('th', {}, 'Error'))), runs)),
    h('section', { class: 'card' }, h('h3', {}, 'Videos seen'),
      h('table', {}, h('thead', {}, h('tr', {},
        h('th', {}, 'Video'), h('th', {}, 'First seen'), h('th', {}, 'Reported'))), videos)));

  let timer = null;
  async function refresh() {
    clearTimeout(timer);
    try {
      const [watch, runList, videoList] = await Promise.all([
        api(`/v1/watches/${watchId}`, { signal: controller.signal }),
        api(`/v1/watches/${watchId}/runs?limit=50`, { signal: controller.signal }),
        api(`/v1/watches/${watchId}/videos?limit=100`, { signal: controller.signal }),
      ]);
      showWatch(watch);
      showRuns(runList.data);
      showVideos(videoList.data);
      message.textContent = '';
    } catch (error) {
      if (controller.signal.aborted) return;
      message.textContent = `Could not load the watch: ${error.message}`;
    }
    if (!controller.signal.aborted) timer = setTimeout(refresh, POLL_MS);
  }

  function showWatch(watch) {
    clear(actions);
    actions.append(watchActions(watch, (changed) => {
      if (changed === null) location.hash = '#/watches';
      else refresh();
    }, (text) => { message.textContent = text; }));
    clear(facts);
    const fact = (name, ...value) => facts.append(h('dt', {}, name), h('dd', {}, ...value));
    fact('Target', `${watch.kind} · ${watchTarget(watch)} · count ${watch.count}`);
    fact('Every', period(watch.every));
    fact('Status', watchStatus(watch));
    fact('Next run', when(watch.next_run_at));
    fact('Last run', when(watch.last_run_at));
    fact('Last success', when(watch.last_success_at));
    fact('Failures in a row', String(watch.consecutive_failures));
    if (watch.last_error) {
      fact('Last error', h('code', {}, watch.last_error.code), ` — ${meaning(watch.last_error.code)} `,
        h('span', { class: 'muted' }, watch.last_error.message));
    }
    fact('Webhook', watch.webhook ? h('span', { class: 'mono' }, watch.webhook.url) : '—');
    fact('Reports the first run', watch.report_existing ? 'yes' : 'no (baseline)');
    fact('Created', when(watch.created_at));
  }

  function showRuns(list) {
    clear(runs);
    if (list.length === 0) runs.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No run yet.')));
    for (const run of list) {
      runs.append(h('tr', { 'data-run-id': run.id, 'data-status': run.status },
        h('td', {}, when(run.scheduled_for)),
        h('td', {}, run.job_id ? h('a', { href: `#/jobs/${run.job_id}`, class: 'mono' }, run.job_id.slice(0, 8) + '…') : '—'),
        h('td', {}, badge(run.status)),
        h('td', { class: 'muted' }, run.baseline ? 'baseline' : ''),
        h('td', { class: 'num' }, count(run.videos_found)),
        h('td', { class: 'mono' }, (run.new_video_ids || []).join(' ') || '—'),
        h('td', {}, run.error ? h('code', { title: run.error.message }, run.error.code) : '—')));
    }
  }

  function showVideos(list) {
    clear(videos);
    if (list.length === 0) videos.append(h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'None yet.')));
    for (const video of list) {
      videos.append(h('tr', { 'data-video-id': video.video_id },
        h('td', {}, h('a', { href: video.url, class: 'mono', rel: 'noreferrer', target: '_blank' }, video.video_id)),
        h('td', {}, when(video.first_seen_at)),
        h('td', {}, video.reported ? 'reported' : h('span', { class: 'muted' }, 'baseline'))));
    }
  }

  refresh();
  return () => {
    controller.abort();
    clearTimeout(timer);
  };
}
