// Small DOM helpers: elements built from data (never from HTML strings, so nothing a server
// sends can become markup), and the page's two live regions.

/** `h('p', {class: 'x', onclick: f}, 'text', child)`: an element; null/false children are skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'value') el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces the children of `el`. */
export function put(el, ...children) {
  el.replaceChildren();
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined && child !== false) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let uid = 0;
/** A unique element id with a readable prefix. */
export function newId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/**
 * A message box: a success (role=status, polite) or an error (role=alert, assertive). It can
 * take the focus (tabindex=-1), so that after a submit the focus lands on what happened.
 */
export function messageBox() {
  // A polite live region from the start (announced when filled); an error turns it into an alert.
  const box = h('div', { class: 'message', tabindex: '-1', role: 'status', hidden: true });
  const live = { el: box };
  live.show = (kind, text, { focus = false } = {}) => {
    box.className = `message ${kind}`;
    box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    box.hidden = false;
    put(box, h('p', {}, text));
    if (focus) box.focus();
  };
  live.clear = () => {
    box.hidden = true;
    box.replaceChildren();
  };
  return live;
}

/** "2026-12-09 14:03" in the reader's time zone, from RFC 3339. */
export function when(rfc3339, lang) {
  if (!rfc3339) return '';
  const d = new Date(rfc3339);
  try {
    return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
  } catch {
    return d.toISOString();
  }
}
