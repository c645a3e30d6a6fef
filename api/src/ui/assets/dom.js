// Small DOM helpers: elements are built with textContent and attributes only (never innerHTML),
// so nothing from the API is ever parsed as markup.

/** An HTML element: `attrs` are attributes (`on…` are listeners), children nodes or text. */
export function h(tag, attrs = {}, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** An SVG element (same rules as `h`). */
export function s(tag, attrs = {}, ...children) {
  return fill(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs, children);
}

function fill(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'value' || name === 'checked' || name === 'disabled') {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** Appends `children` to `element`, skipping null, undefined and false. */
export function add(element, ...children) {
  return fill(element, {}, children);
}

/** Removes every child of `element`. */
export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
}

/** A status badge (`succeeded`, `failed`, …). */
export function badge(status) {
  return h('span', { class: `badge badge-${status}`, 'data-status': status }, status);
}

/** Local date and time of an RFC 3339 timestamp, or an em dash. */
export function when(timestamp) {
  if (!timestamp) return '—';
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? timestamp : date.toLocaleString();
}

/** A number with thousands separators, or an em dash. */
export function count(value) {
  return typeof value === 'number' ? value.toLocaleString() : '—';
}

/** Milliseconds, rounded sensibly. */
export function millis(value) {
  if (typeof value !== 'number') return '—';
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
}

/** A `<progress>` of a job's ended items, with its text. */
export function jobProgress(counts) {
  const total = counts?.total ?? 0;
  const ended = (counts?.succeeded ?? 0) + (counts?.failed ?? 0) + (counts?.canceled ?? 0);
  return h('span', { class: 'progress' },
    h('progress', { max: Math.max(total, 1), value: ended }),
    ` ${ended}/${total}`);
}

/** Statuses after which a job or item never changes. */
export const TERMINAL = new Set(['succeeded', 'partial', 'failed', 'canceled', 'expired']);

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}
