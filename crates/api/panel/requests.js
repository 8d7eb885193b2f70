// "My requests": every request and every batch (SPEC §7: one entry for all its services) where I
// am requester, party or informed previous holder, newest first, with what I can do on each:
// accept or refuse with my code, send it again, cancel it (its requester, or for a request the
// service's admin). Pending ones refresh by themselves (a modest poll), keeping what I typed.

import { lang, t, tn } from './i18n.js';
import { seg } from './api.js';
import { h, messageBox, put, when } from './dom.js';

// `partly_done` is a batch's alone: with it, only batches are listed.
const STATES = ['pending', 'done', 'partly_done', 'refused', 'expired', 'cancelled', 'failed'];
const POLL_MS = 10_000;
/** A batch's parts, by state: the failed ones first, where a reader looks. */
const PART_ORDER = ['failed', 'pending', 'refused', 'expired', 'cancelled', 'done'];

/** An API error in plain words (SPEC §5's codes), with the wait when there is one. */
export function problemText(error) {
  const seconds = error.retryAfter ?? '?';
  if (error.code === 'network') return t('error.network');
  const key = `error.${error.code}`;
  const text = t(key, { seconds, detail: error.detail });
  return text === key ? t('error.generic', { status: error.status, detail: error.detail }) : text;
}

/** A batch (GET /v1/me/contact-change-batches), not a request: it has parts. */
const isBatch = (x) => Array.isArray(x.parts);

/** A batch every party accepted, whose parts are taking effect: still pending, awaiting nobody. */
const settling = (x) => isBatch(x) && x.state === 'pending' && !x.awaiting.length;

/** The API's path of a request or a batch. */
const pathOf = (x) => (isBatch(x) ? `v1/contact-change-batches/${seg(x.id)}` : `v1/contact-changes/${seg(x.id)}`);

/** When each request may be sent again (ms since the epoch), for this tab. */
const cooldowns = new Map();

export function requestsView(ctx, panel) {
  // Two listings, each newest first and paged on its own: requests and batches.
  const state = { requests: [], next: null, batches: [], nextBatch: null, filter: '', codes: new Map(), open: new Set(), stopped: false };
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

  /** One page of `path` (a listing), with the state filter and `cursor`. */
  async function fetchPage(path, cursor) {
    const query = new URLSearchParams();
    if (state.filter) query.set('state', state.filter);
    if (cursor) query.set('cursor', cursor);
    const q = query.toString();
    return ctx.api.get(`${path}${q ? `?${q}` : ''}`);
  }

  const noPage = Promise.resolve(null);
  const requestsPage = (cursor) => (state.filter === 'partly_done' ? noPage : fetchPage('v1/me/contact-changes', cursor));
  const batchesPage = (cursor) => fetchPage('v1/me/contact-change-batches', cursor);

  async function load(append) {
    try {
      // "Show more" pages each listing that has more; a first load reads both.
      const [requests, batches] = await Promise.all([
        append && !state.next ? noPage : requestsPage(append ? state.next : null),
        append && !state.nextBatch ? noPage : batchesPage(append ? state.nextBatch : null),
      ]);
      if (requests || !append) {
        state.requests = append ? [...state.requests, ...requests.requests] : requests?.requests || [];
        state.next = requests?.next_cursor || null;
      }
      if (batches || !append) {
        state.batches = append ? [...state.batches, ...batches.batches] : batches.batches;
        state.nextBatch = batches.next_cursor;
      }
    } catch (error) {
      message.show('error', problemText(error), { focus: true });
    }
    render();
  }

  /** `fresh` (a first page) over `items`: the first page's entries, then the older ones not in it. */
  function merged(items, fresh) {
    return [...fresh, ...items.slice(fresh.length).filter((x) => !fresh.some((f) => f.id === x.id))];
  }

  /** The poll: the first pages again, re-drawn only if something changed. */
  async function poll() {
    const pending = (x) => x.state === 'pending';
    if (state.stopped || document.hidden || !(state.requests.some(pending) || state.batches.some(pending))) return;
    try {
      const [requests, batches] = await Promise.all([requestsPage(null), batchesPage(null)]);
      const before = JSON.stringify([state.requests, state.batches]);
      if (requests) state.requests = merged(state.requests, requests.requests);
      state.batches = merged(state.batches, batches.batches);
      if (JSON.stringify([state.requests, state.batches]) !== before) render();
    } catch {
      /* the next poll tries again */
    }
  }

  function render() {
    const focused = document.activeElement?.id;
    more.hidden = !state.next && !state.nextBatch;
    // Newest first, the batches among the requests.
    const entries = [...state.requests, ...state.batches].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || (a.id < b.id ? 1 : -1));
    put(list, entries.length ? entries.map((x) => (isBatch(x) ? batchCard(x) : card(x))) : h('p', {}, t('requests.none')));
    if (focused && !document.activeElement?.id) document.getElementById(focused)?.focus();
  }

  function who(account) {
    return account === ctx.me.account ? `${account} (${ctx.me.name})` : account;
  }

  /** Who accepted, who refused, who is awaited: the rows a request and a batch share. */
  function partyRows(r) {
    const accepted = r.parties.filter((p) => p.status === 'accepted').map((p) => who(p.account));
    const refused = r.parties.filter((p) => p.status === 'refused').map((p) => who(p.account));
    return [
      ['requests.accepted', accepted.join(', ') || t('requests.nobody')],
      refused.length && ['requests.refusedBy', refused.join(', ')],
      r.state === 'pending' && r.awaiting.length && ['requests.awaiting', r.awaiting.map(who).join(', ')],
    ];
  }

  function card(r) {
    const roles = r.roles.map((role) => t(`roles.${role}`)).join(', ');
    const rows = [
      ['requests.id', r.id],
      ['requests.roles', roles],
      ['requests.from', who(r.from)],
      ['requests.to', who(r.to)],
      ['requests.requestedBy', who(r.requested_by)],
      ['requests.state', t(`state.${r.state}`)],
      ...partyRows(r),
      r.informed.length && ['requests.informed', r.informed.map(who).join(', ')],
      ['requests.created', when(r.created_at, lang())],
      r.state === 'pending' ? ['requests.expires', when(r.expires_at, lang())] : ['requests.closed', when(r.closed_at, lang())],
      r.reason && ['requests.reason', t(`reason.${r.reason}`)],
      r.bouncing?.length && ['requests.bouncing', r.bouncing.join(', ')],
    ];
    return entry(r, t('requests.heading', { service: r.service, roles }), rows, null);
  }

  /**
   * A batch: one entry for all its services, with the outcome of each (collapsed behind a count
   * per state, so that a thousand services stay readable) and one code for all of them.
   */
  function batchCard(b) {
    const roles = b.roles.map((role) => t(`roles.${role}`)).join(', ');
    const rows = [
      ['batches.id', b.id],
      ['requests.roles', roles],
      ['requests.from', b.from ? who(b.from) : t('batches.fromEach')],
      ['requests.to', who(b.to)],
      ['requests.requestedBy', who(b.requested_by)],
      ['requests.state', settling(b) ? t('batches.inProgress') : t(`state.${b.state}`)],
      ...partyRows(b),
      ['requests.created', when(b.created_at, lang())],
      b.state === 'pending' ? ['requests.expires', when(b.expires_at, lang())] : ['requests.closed', when(b.closed_at, lang())],
    ];
    return entry(b, tn('batches.heading', b.parts.length, { roles }), rows, partsTable(b));
  }

  /** The batch's services and each one's outcome: a count per state, the table when opened. */
  function partsTable(b) {
    const counts = PART_ORDER.map((s) => [s, b.parts.filter((p) => p.state === s).length]).filter(([, n]) => n > 0);
    const summary = [tn('batches.services', b.parts.length), ...counts.map(([s, n]) => t('batches.countOf', { state: t(`state.${s}`), count: n }))].join(' · ');
    const body = h('div', { class: 'table-box' });
    const fill = () => {
      if (body.firstChild) return;
      const parts = [...b.parts].sort((x, y) => PART_ORDER.indexOf(x.state) - PART_ORDER.indexOf(y.state) || (x.service < y.service ? -1 : 1));
      put(body, h('table', { class: 'parts' },
        h('caption', {}, t('batches.caption')),
        h('thead', {}, h('tr', {}, [t('contacts.service'), t('requests.state'), t('requests.reason')].map((label) => h('th', { scope: 'col' }, label)))),
        h('tbody', {}, parts.map((p) => h('tr', {},
          h('th', { scope: 'row' }, p.service),
          h('td', {}, t(`state.${p.state}`)),
          h('td', {}, p.reason ? t(`reason.${p.reason}`) : ''))))));
    };
    // Opened or closed, it stays so when the list is drawn again (the poll).
    const details = h('details', { class: 'parts', open: state.open.has(b.id) }, h('summary', {}, summary), body);
    details.addEventListener('toggle', () => {
      if (details.open) {
        state.open.add(b.id);
        fill();
      } else state.open.delete(b.id);
    });
    if (details.open) fill();
    return details;
  }

  /** The entry of a request or a batch `x`: its heading, its rows, `extra`, its history, what I can do. */
  function entry(x, title, rows, extra) {
    const heading = `request-${x.id}-title`;
    const step = (e) => h('li', {},
      `${when(e.at, lang())}: ${t(`event.${e.event}`)}`,
      e.by ? ` ${t('event.by', { account: e.by })}` : '',
      e.to ? ` ${t('event.to', { account: e.to })}` : '');
    const trail = h('ol', { class: 'history' }, x.history.map(step));
    // A listing's history has the entry's own steps; opened, the request (or the batch) itself
    // brings the whole trail, with its mails.
    const opened = async (e) => {
      if (!e.currentTarget.open || trail.dataset.whole) return;
      const whole = await ctx.api.get(pathOf(x)).catch(() => null);
      if (whole?.history) {
        trail.dataset.whole = 'true';
        put(trail, whole.history.map(step));
      }
    };
    return h('article', { class: `request state-${x.state}${isBatch(x) ? ' batch' : ''}`, 'aria-labelledby': heading },
      h('h3', { id: heading }, title),
      h('dl', {}, rows.filter(Boolean).map(([label, value]) => [h('dt', {}, t(label)), h('dd', {}, value)])),
      extra,
      h('details', { ontoggle: opened }, h('summary', {}, t('requests.history')), trail),
      x.state === 'pending' && !settling(x) ? actions(x, ctx.me.account) : null);
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
        h('p', { id: `${id}-hint`, class: 'hint' }, t(isBatch(r) ? 'batches.codeHint' : 'requests.codeHint')),
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
    // A batch is cancelled by its requester; a service's admin cancels only its part (SPEC §7).
    if (r.requested_by === me || (!isBatch(r) && adminOf.has(r.service))) buttons.push(h('button', { type: 'button', id: `cancel-${r.id}`, onclick: () => act(r, 'cancel', undefined, box) }, t('requests.cancel')));
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
      const updated = await ctx.api.post(`${pathOf(r)}/${action}`, body);
      if (action === 'resend') cooldowns.set(r.id, Date.now() + 1000 * (ctx.config.resend_cooldown_seconds || 60));
      state.codes.delete(r.id);
      const update = (x) => (x.id === r.id ? { ...x, ...updated } : x);
      state.requests = state.requests.map(update);
      state.batches = state.batches.map(update);
      render();
      message.show('ok', isBatch(r) ? batchOutcome(action, updated) : outcome(action, updated), { focus: true });
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

  function batchOutcome(action, b) {
    if (action === 'resend') return t('batches.resent.ok');
    if (action === 'cancel') return t('batches.cancelled.ok');
    const done = b.parts.filter((p) => p.state === 'done').length;
    if (b.state === 'done') return tn('batches.done.ok', done);
    if (b.state === 'partly_done') return t('batches.partlyDone.ok', { done, count: b.parts.length });
    if (b.state === 'failed') return t('batches.failed.ok');
    if (b.state === 'refused') return t('batches.refused.ok');
    return settling(b) ? t('batches.inProgress.ok') : t('batches.accepted.ok');
  }

  loadAdminOf().then(() => load(false));
  const timer = setInterval(poll, POLL_MS);
  return { stop: () => { state.stopped = true; clearInterval(timer); } };
}
