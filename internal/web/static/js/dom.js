// dom.js: small helpers to build DOM nodes. Text always goes in as text
// nodes; no helper here ever parses a string as HTML.

// h creates an element. props sets attributes, except: class, text
// (textContent), dataset (an object), on<event> (listeners) and the live
// properties value, checked, disabled and hidden. children are nodes or
// strings (added as text); null and false are skipped.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'hidden') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// $ returns the element with id, which must exist.
export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no element #${id}`);
  return el;
}

// clear removes every child of el.
export function clear(el) {
  el.replaceChildren();
  return el;
}

// debounce returns f delayed until ms have passed without another call.
export function debounce(f, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => f(...args), ms);
  };
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

// timeLabel formats a timestamp as a short time, or a day for older ones.
export function timeLabel(iso, { short = false } = {}) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  if (!short) return timeFormat.format(d);
  const today = new Date();
  return d.toDateString() === today.toDateString() ? timeFormat.format(d) : dayFormat.format(d);
}

// fullTime formats a timestamp with its date, for titles.
export function fullTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : dateFormat.format(d);
}
