// A job's items (GET /v1/jobs/{id}/items): status filter (server side), error-code filter (on
// the loaded pages), covers through blob URLs, counts, captions, analysis, transcript, errors;
// a comments job's items are comments (replies indented under their comment).

import { api, coverUrl } from './api.js';
import { h, add, clear, badge, count, when } from './dom.js';
import { meaning } from './error_codes.js';

const PAGE = 100;
const STATUSES = ['', 'queued', 'running', 'succeeded', 'failed', 'canceled'];

export function itemsPanel(jobId, signal) {
  const status = h('select', { id: 'items-status', 'aria-label': 'item status' },
    STATUSES.map((value) => h('option', { value }, value || 'any status')));
  const code = h('select', { id: 'items-error-code', 'aria-label': 'error code' },
    h('option', { value: '' }, 'any error code'));
  const summary = h('span', { class: 'muted', id: 'items-summary' });
  const list = h('div', { class: 'items', id: 'items' });
  const more = h('button', { type: 'button', class: 'secondary', id: 'items-more', hidden: true }, 'Load more');
  const element = h('section', { class: 'card' },
    h('h3', {}, 'Items'), h('div', { class: 'row' }, status, code, summary), list, h('div', { class: 'row' }, more));

  let items = [];
  let cursor = null;
  let loading = null;
  let reloadTimer = null;

  async function load(append) {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (status.value) query.set('status', status.value);
    if (append && cursor) query.set('cursor', cursor);
    try {
      const page = await api(`/v1/jobs/${jobId}/items?${query}`, { signal });
      items = append ? items.concat(page.data) : page.data;
      cursor = page.has_more ? page.next_cursor : null;
      render();
    } catch (error) {
      if (!signal.aborted) summary.textContent = `Could not load items: ${error.message}`;
    }
  }

  function reload() {
    clearTimeout(reloadTimer);
    loading = (loading || Promise.resolve()).then(() => load(false));
    return loading;
  }

  function render() {
    const codes = [...new Set(items.map((item) => item.error?.code).filter(Boolean))].sort();
    const chosen = code.value;
    clear(code);
    code.append(h('option', { value: '' }, 'any error code'),
      codes.map((value) => h('option', { value }, value)));
    code.value = codes.includes(chosen) ? chosen : '';
    const shown = code.value ? items.filter((item) => item.error?.code === code.value) : items;
    clear(list);
    for (const item of shown) list.append(item.object === 'comment' ? renderComment(item) : renderItem(item));
    const byStatus = {};
    for (const item of items) if (item.status) byStatus[item.status] = (byStatus[item.status] || 0) + 1;
    summary.textContent = `${shown.length} shown of ${items.length} loaded`
      + (cursor ? ' (more available)' : '') + ' · '
      + Object.entries(byStatus).map(([name, n]) => `${n} ${name}`).join(', ');
    more.hidden = !cursor;
  }

  status.addEventListener('change', reload);
  code.addEventListener('change', render);
  more.addEventListener('click', () => load(true));
  reload();
  return {
    element,
    reload,
    /** An item ended (event stream): reload the page soon, once per burst of events. */
    itemEnded() {
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(reload, 500);
    },
  };
}

function renderComment(comment) {
  const flags = [comment.pinned ? 'pinned' : null, comment.liked_by_author ? 'liked by the author' : null].filter(Boolean);
  return h('article', { class: comment.parent_id ? 'comment reply' : 'comment', 'data-comment-id': comment.id },
    h('div', { class: 'row' },
      h('strong', {}, `#${comment.position}`),
      h('span', {}, `@${comment.author?.unique_id ?? '?'}`),
      h('span', { class: 'muted' }, comment.author?.nickname ?? ''),
      h('span', { class: 'muted' }, `${count(comment.like_count)} likes · ${count(comment.reply_count)} replies · ${when(comment.created_at)}`),
      flags.length ? h('span', { class: 'muted' }, flags.join(' · ')) : null),
    h('p', { class: 'text' }, comment.text));
}

function renderItem(item) {
  const video = item.result;
  const thumb = h('div', { class: 'thumb' }, item.video_id ? 'loading cover…' : 'no video');
  if (item.video_id && item.status === 'succeeded') {
    coverUrl(item.video_id).then((url) => {
      clear(thumb);
      if (url) {
        thumb.append(h('img', { src: url, class: 'cover', alt: `cover of video ${item.video_id}`, 'data-video-id': item.video_id }));
      } else {
        thumb.append('no stored cover');
      }
    });
  }
  const body = h('div', {},
    h('div', { class: 'row' },
      h('strong', {}, `#${item.position}`), badge(item.status),
      item.custom_id ? h('span', { class: 'muted' }, `custom_id ${item.custom_id}`) : null,
      item.cache_hit ? h('span', { class: 'muted' }, 'cache hit') : null,
      item.duplicate_of ? h('span', { class: 'muted' }, 'duplicate') : null,
      h('span', { class: 'muted' }, `${item.attempts} attempt(s) · ${when(item.finished_at)}`)),
    h('div', { class: 'mono muted' }, item.canonical_url || item.url));
  if (video) {
    add(body, 
      h('p', { class: 'caption' }, video.description || video.caption || h('span', { class: 'muted' }, 'no caption')),
      video.author ? h('div', { class: 'muted' }, `@${video.author.unique_id ?? '?'} · ${video.author.nickname ?? ''}`) : null,
      h('div', { class: 'counts' },
        ['play', 'like', 'comment', 'share', 'collect'].map((name) =>
          h('span', {}, `${count(video.counts?.[`${name}_count`])} ${name}s`))),
    );
  }
  if (item.error) {
    add(body, h('p', { class: 'error item-error' },
      h('code', {}, item.error.code), ` — ${meaning(item.error.code)}`,
      h('br'), h('span', { class: 'muted' }, item.error.message),
      item.error.retryable ? ' (retryable)' : ''));
  }
  add(body, analysisDetails(item.thumbnail_analysis), transcriptDetails(item.transcript));
  if (video) add(body, h('details', {}, h('summary', {}, 'Result JSON'), h('pre', {}, JSON.stringify(video, null, 2))));
  return h('article', { class: 'item', 'data-item-id': item.id, 'data-status': item.status }, thumb, body);
}

function analysisDetails(analysis) {
  if (!analysis) return null;
  const head = `Thumbnail analysis (${analysis.status}, ${analysis.language}${analysis.cached ? ', cached' : ''})`;
  const rows = Object.entries(analysis.analysis || {}).map(([name, value]) =>
    h('tr', {}, h('th', {}, name), h('td', {}, typeof value === 'string' ? value : JSON.stringify(value))));
  return h('details', { class: 'analysis' }, h('summary', {}, head),
    analysis.error ? h('p', { class: 'error' }, `${analysis.error.code}: ${analysis.error.message}`) : null,
    rows.length ? h('table', {}, h('tbody', {}, rows)) : null);
}

function transcriptDetails(transcript) {
  if (!transcript) return null;
  const head = `Transcript (${transcript.status}, ${transcript.track_language || transcript.language}`
    + `${transcript.source ? `, ${transcript.source}` : ''})`;
  return h('details', { class: 'transcript' }, h('summary', {}, head),
    transcript.text ? h('pre', { class: 'text' }, transcript.text) : null,
    transcript.error ? h('p', { class: 'error' }, `${transcript.error.code}: ${transcript.error.message}`) : null,
    transcript.status === 'unavailable'
      ? h('p', { class: 'muted' }, `No track in this language; available: ${(transcript.available_languages || []).join(', ') || 'none'}`)
      : null);
}
