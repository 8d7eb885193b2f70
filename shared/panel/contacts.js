// "My contacts": the services where I hold a role, their three contacts and my roles; the
// pencil opens the form that asks for new contacts, editable only as SPEC §2 allows.

import { t } from './i18n.js';
import { seg } from './api.js';
import { h, messageBox, put } from './dom.js';
import { problemText } from './requests.js';

const ROLES = ['admin', 'tech', 'billing'];
const MAX_PAGES = 50;

/** What I may change on a service with `myRoles` (SPEC §2's table, as the form shows it). */
export function editable(myRoles) {
  const admin = myRoles.includes('admin');
  return {
    admin,
    tech: admin || myRoles.includes('tech'),
    billing: admin || myRoles.includes('billing'),
  };
}

export function contactsView(ctx, panel) {
  const state = { services: [], next: null, query: '', loading: false };
  const message = messageBox();
  const search = h('input', { id: 'search', type: 'search', autocomplete: 'off' });
  const tableBox = h('div', { class: 'table-box' });
  const count = h('p', { class: 'hint', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', hidden: true, onclick: () => loadMore() }, t('contacts.more'));
  const formBox = h('div');
  let searchTimer;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      state.query = search.value.trim().toLowerCase();
      // A search covers every service, not only the pages shown.
      if (state.query) await loadAll();
      render();
    }, 150);
  });
  put(panel,
    h('h2', {}, t('tabs.contacts')),
    h('p', {}, t('contacts.intro')),
    message.el,
    h('div', { class: 'search' }, h('label', { for: 'search' }, t('contacts.search')), search),
    tableBox, count, more, formBox);

  async function loadMore() {
    if (state.loading) return;
    state.loading = true;
    try {
      const page = await ctx.api.get(`v1/me/services${state.next ? `?cursor=${encodeURIComponent(state.next)}` : ''}`);
      state.services.push(...page.services);
      state.next = page.next_cursor;
    } catch (error) {
      message.show('error', problemText(error), { focus: true });
    } finally {
      state.loading = false;
    }
    render();
  }

  async function loadAll() {
    for (let i = 0; state.next && i < MAX_PAGES; i += 1) await loadMore();
  }

  async function reload() {
    state.services = [];
    state.next = null;
    await loadMore();
    if (state.query) await loadAll();
    render();
  }

  function render() {
    const shown = state.services.filter((s) => !state.query || s.service.includes(state.query));
    more.hidden = !state.next || Boolean(state.query);
    if (!state.services.length) {
      put(tableBox, h('p', {}, t('contacts.none')));
      put(count);
      return;
    }
    put(count, t('contacts.count', { shown: shown.length, total: state.services.length + (state.next ? '+' : '') }));
    if (!shown.length) {
      put(tableBox, h('p', {}, t('contacts.noMatch', { query: search.value.trim() })));
      return;
    }
    put(tableBox, h('table', {},
      h('caption', {}, t('contacts.caption')),
      h('thead', {}, h('tr', {},
        [t('contacts.service'), t('contacts.admin'), t('contacts.tech'), t('contacts.billing'), t('contacts.myRoles'), t('contacts.actions')]
          .map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, shown.map(row))));
  }

  function row(service) {
    return h('tr', {},
      h('th', { scope: 'row' }, service.service),
      ROLES.map((role) => h('td', {}, service.contacts[role])),
      h('td', {}, service.my_roles.map((role) => t(`roles.${role}`)).join(', ')),
      h('td', {}, h('button', {
        type: 'button', class: 'pencil', 'aria-label': t('contacts.edit', { service: service.service }),
        title: t('contacts.edit', { service: service.service }), onclick: (e) => openForm(service, e.currentTarget),
      }, h('span', { 'aria-hidden': 'true' }, '✎'))));
  }

  function openForm(service, opener) {
    message.clear();
    const form = editForm(ctx, service, {
      close: () => { put(formBox); opener?.focus(); },
      done: async () => {
        put(formBox);
        message.show('ok', t('form.taken'), { focus: true });
        await reload();
      },
    });
    put(formBox, form);
    form.querySelector('h3').focus();
  }

  reload();
  return { stop: () => clearTimeout(searchTimer) };
}

/** The pencil's form for `service`: one field per role, read-only where I may not change it. */
function editForm(ctx, service, { close, done }) {
  const may = editable(service.my_roles);
  const message = messageBox();
  const fields = {};
  const rules = may.admin ? 'form.rulesAdmin' : may.tech ? 'form.rulesTech' : 'form.rulesBilling';
  const form = h('form', { class: 'edit', novalidate: true, 'aria-labelledby': 'edit-title' },
    h('h3', { id: 'edit-title', tabindex: '-1' }, t('form.title', { service: service.service })),
    h('p', {}, t('form.intro')),
    h('p', { class: 'hint' }, t(rules)),
    ROLES.map((role) => field(role)),
    message.el,
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, t('form.confirm')),
      h('button', { type: 'button', onclick: close }, t('form.cancel'))));

  function field(role) {
    const id = `contact-${role}`;
    const why = { admin: 'form.whyAdmin', tech: 'form.whyTech', billing: 'form.whyBilling' }[role];
    const input = h('input', {
      id, name: role, value: service.contacts[role], autocomplete: 'off', spellcheck: 'false',
      readonly: !may[role], 'aria-describedby': `${id}-note`,
    });
    fields[role] = input;
    const take = may.admin && role !== 'admin' && service.contacts[role] !== ctx.me.account
      ? h('button', { type: 'button', class: 'take', 'aria-label': t('form.takeMyselfLabel', { role: t(`contacts.${role}`) }), onclick: () => { input.value = ctx.me.account; input.focus(); } }, t('form.takeMyself'))
      : null;
    return h('div', { class: `field${may[role] ? '' : ' locked'}` },
      h('label', { for: id }, t(`contacts.${role}`)),
      h('div', { class: 'row' }, input, take),
      h('p', { id: `${id}-note`, class: 'hint' }, may[role] ? t('form.current', { account: service.contacts[role] }) : t(why)));
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {};
    for (const role of ROLES) {
      const value = fields[role].value.trim();
      if (may[role] && value && value.toLowerCase() !== service.contacts[role]) body[role] = value;
    }
    if (!Object.keys(body).length) {
      message.show('error', t('form.nothing'), { focus: true });
      return;
    }
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      await ctx.api.post(`v1/services/${seg(service.service)}/contact-changes`, body);
      await done();
    } catch (error) {
      // The form keeps what was typed; the message says why, and takes the focus.
      message.show('error', problemText(error), { focus: true });
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
