// "My contacts": the services where I hold a role (searched by the start of their name), their
// type, their three contacts and my roles; the
// pencil opens the form that asks for new contacts, editable only as SPEC §2 allows.

import { t } from './i18n.js';
import { seg } from './api.js';
import { h, messageBox, put } from './dom.js';
import { problemText } from './requests.js';

const ROLES = ['admin', 'tech', 'billing'];

/** The guide's "name and id", as the confirmation page writes it: "Teo Tecnico (te2000-ovh)"; the id alone if the name is unknown. */
function named(service, role) {
  const id = service.contacts[role];
  const name = service.names?.[id];
  return name ? `${name} (${id})` : id;
}


/** A service's type in words when the catalogue knows it (domain, vps, hosting, other), else as it is. */
function typeName(type) {
  if (!type) return '';
  const key = `type.${type}`;
  const name = t(key);
  return name === key ? type : name;
}

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
  // `query`: the start of a service name, searched by the API (`?q=`) across every page.
  const state = { services: [], next: null, query: '', type: '', generation: 0 };
  const message = messageBox();
  const search = h('input', { id: 'search', type: 'search', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'search-hint' });
  const tableBox = h('div', { class: 'table-box' });
  const count = h('p', { class: 'hint', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', hidden: true, onclick: () => loadMore() }, t('contacts.more'));
  const formBox = h('div');
  // The catalogue's types (the API takes any other as well).
  const typeFilter = h('select', { id: 'type-filter', onchange: () => { state.type = typeFilter.value; reload(); } },
    h('option', { value: '' }, t('contacts.allTypes')),
    ...['domain', 'vps', 'hosting', 'other'].map((type) => h('option', { value: type }, t(`type.${type}`))));
  let searchTimer;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.query = search.value.trim().toLowerCase();
      reload();
    }, 200);
  });
  put(panel,
    h('h2', {}, t('tabs.contacts')),
    h('p', {}, t('contacts.intro')),
    message.el,
    h('div', { class: 'search' }, h('label', { for: 'search' }, t('contacts.search')), search),
    h('div', { class: 'search' }, h('label', { for: 'type-filter' }, t('contacts.typeFilter')), typeFilter),
    h('p', { id: 'search-hint', class: 'hint' }, t('contacts.searchHint')),
    tableBox, count, more, formBox);

  function url() {
    const query = new URLSearchParams();
    if (state.query) query.set('q', state.query);
    if (state.type) query.set('type', state.type);
    if (state.next) query.set('cursor', state.next);
    const q = query.toString();
    return `v1/me/services${q ? `?${q}` : ''}`;
  }

  async function loadMore() {
    const generation = state.generation;
    // What the API cannot search (a name holds only letters, digits, dots, hyphens, underscores).
    if (state.query && !/^[a-z0-9.-]+$/.test(state.query)) {
      state.services = [];
      state.next = null;
      render();
      return;
    }
    try {
      const page = await ctx.api.get(url());
      if (generation !== state.generation) return; // a newer search won
      state.services.push(...page.services);
      state.next = page.next_cursor;
    } catch (error) {
      message.show('error', problemText(error), { focus: true });
    }
    render();
  }

  async function reload() {
    state.generation += 1;
    state.services = [];
    state.next = null;
    await loadMore();
  }

  function render() {
    more.hidden = !state.next;
    if (!state.services.length) {
      const none = state.query ? t('contacts.noMatch', { query: search.value.trim() }) : state.type ? t('contacts.noneOfType') : t('contacts.none');
      put(tableBox, h('p', {}, none));
      put(count);
      return;
    }
    put(count, t(state.next ? 'contacts.countMore' : 'contacts.count', { count: state.services.length }));
    put(tableBox, h('table', {},
      h('caption', {}, t('contacts.caption')),
      h('thead', {}, h('tr', {},
        [t('contacts.service'), t('contacts.type'), t('contacts.admin'), t('contacts.tech'), t('contacts.billing'), t('contacts.myRoles'), t('contacts.actions')]
          .map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, state.services.map(row))));
  }

  function row(service) {
    return h('tr', {},
      h('th', { scope: 'row' }, service.service),
      h('td', {}, typeName(service.type)),
      ROLES.map((role) => h('td', {}, named(service, role))),
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
      h('p', { id: `${id}-note`, class: 'hint' }, may[role] ? t('form.current', { account: named(service, role) }) : t(why)));
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
