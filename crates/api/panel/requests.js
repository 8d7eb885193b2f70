// "My requests": every request where I am requester, party or informed previous holder,
// newest first, with what I can do on each: accept or refuse with my code, send it again,
// cancel it (its requester, or the service's admin). Pending ones refresh by themselves (a modest poll), keeping what I typed.

import { lang, t } from './i18n.js';
import { seg } from './api.js';
import { h, messageBox, put, when } from './dom.js';

const STATES = ['pending', 'done', 'refused', 'expired', 'cancelled', 'failed'];
const POLL_MS = 10_000;

/** An API error in plain words (SPEC §5's codes), with the wait when there is one. */
export function problemText(error) {
  const seconds = error.retryAfter ?? '?';
  if (error.code === 'network') return t('error.network');
  const key = `error.${error.code}`;
  const text = t(key, { seconds, detail: error.detail });
  return text === key ? t('error.generic', { status: error.status, detail: error.detail }) : text;
}

/** When each request may be sent again (ms since the epoch), for this tab. */
const cooldowns = new Map();

export function requestsView(ctx, panel) {
  const state = { requests: [], next: null, filter: '', codes: new Map(), stopped: false };
  const message = messageBox();
  const list = h('div', { class: 'requests' });
  const more = h('button', { type: 'button', hidden: true, onclick: () => load(true) }, t('requests.more'));
  const filter = h('select', { id: 'state-filter', onchange: () => { state.filter = filter.value; load(false); } },
    h('option', { value: '' }, t('requests.all')),
    STATES.map((s) => h('option', { value: s }, t(`state.${s}`))));
  put(panel,
    h('h2', {}, t('tabs.requests')),
    h('div', { class: 'search' }, h('label', { for: 'state-filter' }, t('requests.filter')), filter),
    message.el, list, more);

  /** The services I am the admin of: their admin may cancel any pending request on them (SPEC §3). */
  const adminOf = new Set();
  async function loadAdminOf() {
    let cursor = null;
    for (let i = 0; i < 20; i += 1) {
      const page = await ctx.api.get(`v1/me/services${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`).catch(() => null);
      for (const s of page?.services || []) if (s.my_roles.includes('admin')) adminOf.add(s.service);
      cursor = page?.next_cursor;
      if (!cursor) return;
    }
  }

  async function fetchPage(cursor) {
    const query = new URLSearchParams();
    if (state.filter) query.set('state', state.filter);
    if (cursor) query.set('cursor', cursor);
    const q = query.toString();
    return ctx.api.get(`v1/me/contact-changes${q ? `?${q}` : ''}`);
  }

  async function load(append) {
    try {
      const page = await fetchPage(append ? state.next : null);
      state.requests = append ? [...state.requests, ...page.requests] : page.requests;
      state.next = page.next_cursor;
    } catch (error) {
      message.show('error', problemText(error), { focus: true });
    }
    render();
  }

  /** The poll: the first page again, re-drawn only if something changed. */
  async function poll() {
    if (state.stopped || document.hidden || !state.requests.some((r) => r.state === 'pending')) return;
    try {
      const page = await fetchPage(null);
      const before = JSON.stringify(state.requests.slice(0, page.requests.length));
      if (JSON.stringify(page.requests) !== before) {
        const rest = state.requests.slice(page.requests.length);
        state.requests = [...page.requests, ...rest.filter((r) => !page.requests.some((p) => p.id === r.id))];
        render();
      }
    } catch {
      /* the next poll tries again */
    }
  }

  function render() {
    const focused = document.activeElement?.id;
    more.hidden = !state.next;
    put(list, state.requests.length ? state.requests.map(card) : h('p', {}, t('requests.none')));
    if (focused && !document.activeElement?.id) document.getElementById(focused)?.focus();
  }

  function who(account) {
    return account === ctx.me.account ? `${account} (${ctx.me.name})` : account;
  }

  function card(r) {
    const me = ctx.me.account;
    const roles = r.roles.map((role) => t(`roles.${role}`)).join(', ');
    const accepted = r.parties.filter((p) => p.status === 'accepted').map((p) => who(p.account));
    const refused = r.parties.filter((p) => p.status === 'refused').map((p) => who(p.account));
    const rows = [
      ['requests.id', r.id],
      ['requests.roles', roles],
      ['requests.from', who(r.from)],
      ['requests.to', who(r.to)],
      ['requests.requestedBy', who(r.requested_by)],
      ['requests.state', t(`state.${r.state}`)],
      ['requests.accepted', accepted.join(', ') || t('requests.nobody')],
      refused.length && ['requests.refusedBy', refused.join(', ')],
      r.state === 'pending' && r.awaiting.length && ['requests.awaiting', r.awaiting.map(who).join(', ')],
      r.informed.length && ['requests.informed', r.informed.map(who).join(', ')],
      ['requests.created', when(r.created_at, lang())],
      r.state === 'pending' ? ['requests.expires', when(r.expires_at, lang())] : ['requests.closed', when(r.closed_at, lang())],
      r.reason && ['requests.reason', t(`reason.${r.reason}`)],
      r.bouncing?.length && ['requests.bouncing', r.bouncing.join(', ')],
    ].filter(Boolean);
    const heading = `request-${r.id}-title`;
    const step = (e) => h('li', {},
      `${when(e.at, lang())}: ${t(`event.${e.event}`)}`,
      e.by ? ` ${t('event.by', { account: e.by })}` : '',
      e.to ? ` ${t('event.to', { account: e.to })}` : '');
    const trail = h('ol', { class: 'history' }, r.history.map(step));
    // A listing's history has the request's own steps; opened, the request itself brings the
    // whole trail, with its mails.
    const opened = async (e) => {
      if (!e.currentTarget.open || trail.dataset.whole) return;
      const whole = await ctx.api.get(`v1/contact-changes/${seg(r.id)}`).catch(() => null);
      if (whole?.history) {
        trail.dataset.whole = 'true';
        put(trail, whole.history.map(step));
      }
    };
    return h('article', { class: `request state-${r.state}`, 'aria-labelledby': heading },
      h('h3', { id: heading }, t('requests.heading', { service: r.service, roles })),
      h('dl', {}, rows.map(([label, value]) => [h('dt', {}, t(label)), h('dd', {}, value)])),
      h('details', { ontoggle: opened }, h('summary', {}, t('requests.history')), trail),
      r.state === 'pending' ? actions(r, me) : null);
  }

  function actions(r, me) {
    const box = messageBox();
    const party = r.parties.find((p) => p.account === me);
    const parts = [];
    if (party?.status === 'pending') {
      const id = `code-${r.id}`;
      const input = h('input', { id, name: 'token', autocomplete: 'one-time-code', spellcheck: 'false', value: state.codes.get(r.id) || '', 'aria-describedby': `${id}-hint` });
      input.addEventListener('input', () => state.codes.set(r.id, input.value));
      const form = h('form', { class: 'answer', novalidate: true },
        h('label', { for: id }, t('requests.code')),
        h('p', { id: `${id}-hint`, class: 'hint' }, t('requests.codeHint')),
        input,
        h('div', { class: 'buttons' },
          h('button', { type: 'submit', value: 'accept', id: `accept-${r.id}`, class: 'primary' }, t('requests.accept')),
          h('button', { type: 'submit', value: 'refuse', id: `refuse-${r.id}` }, t('requests.refuse'))));
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        const decision = event.submitter?.value === 'refuse' ? 'refuse' : 'accept';
        const token = input.value.trim();
        if (!token) {
          box.show('error', t('requests.codeMissing'), { focus: true });
          return;
        }
        act(r, decision, { token }, box);
      });
      parts.push(form);
    }
    const buttons = [];
    if (party || r.requested_by === me) buttons.push(resendButton(r, box));
    if (r.requested_by === me || adminOf.has(r.service)) buttons.push(h('button', { type: 'button', id: `cancel-${r.id}`, onclick: () => act(r, 'cancel', undefined, box) }, t('requests.cancel')));
    if (buttons.length) parts.push(h('div', { class: 'buttons' }, buttons));
    return h('div', { class: 'actions' }, parts, box.el);
  }

  function resendButton(r, box) {
    const button = h('button', { type: 'button', id: `resend-${r.id}`, onclick: () => act(r, 'resend', undefined, box) });
    const tick = () => {
      const left = Math.ceil(((cooldowns.get(r.id) || 0) - Date.now()) / 1000);
      button.disabled = left > 0;
      button.textContent = left > 0 ? t('requests.resendWait', { seconds: left }) : t('requests.resend');
      if (left > 0 && !state.stopped) setTimeout(tick, 1000);
    };
    tick();
    return button;
  }

  async function act(r, action, body, box) {
    try {
      const updated = await ctx.api.post(`v1/contact-changes/${seg(r.id)}/${action}`, body);
      if (action === 'resend') cooldowns.set(r.id, Date.now() + 1000 * (ctx.config.resend_cooldown_seconds || 60));
      state.codes.delete(r.id);
      state.requests = state.requests.map((x) => (x.id === r.id ? { ...x, ...updated } : x));
      render();
      message.show('ok', outcome(action, updated), { focus: true });
    } catch (error) {
      if (error.retryAfter && (error.code === 'too_soon')) cooldowns.set(r.id, Date.now() + 1000 * error.retryAfter);
      if (error.code === 'too_soon') render();
      const target = error.code === 'too_soon' ? message : box;
      target.show('error', problemText(error), { focus: true });
    }
  }

  function outcome(action, r) {
    if (action === 'resend') return t('requests.resent.ok');
    if (action === 'cancel') return t('requests.cancelled.ok');
    if (r.state === 'done') return t('requests.done.ok');
    if (r.state === 'failed') return t('requests.failed.ok', { reason: t(`reason.${r.reason}`) });
    if (r.state === 'refused') return t('requests.refused.ok');
    return t('requests.accepted.ok');
  }

  loadAdminOf().then(() => load(false));
  const timer = setInterval(poll, POLL_MS);
  return { stop: () => { state.stopped = true; clearInterval(timer); } };
}
