// "My contacts": the services where I hold a role (searched by the start of their name), their
// type, their three contacts and my roles; the
// pencil opens the form that asks for new contacts, editable only as SPEC §2 allows. A checkbox
// per row and "Select all shown" choose services for one batch (SPEC §7), whose form
// (batch-form.js) has the pencil's fields.

import { t, tn } from './i18n.js';
import { seg } from './api.js';
import { h, messageBox, put } from './dom.js';
import { problemText } from './requests.js';
import { batchAnswer, batchForm } from './batch-form.js';

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

/** What I may change on at least one of `services`: the batch's fields (each service is judged on its own). */
function editableOnAny(services) {
  const all = services.map((service) => editable(service.my_roles));
  return Object.fromEntries(ROLES.map((role) => [role, all.some((may) => may[role])]));
}

export function contactsView(ctx, panel) {
  // `query`: the start of a service name, searched by the API (`?q=`) across every page.
  // `selected`: the services chosen for a batch, by name; kept across searches and filters.
  const state = { services: [], next: null, query: '', type: '', generation: 0, selected: new Map() };
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
  const selectAll = h('input', { id: 'select-all', type: 'checkbox', onchange: () => selectShown(selectAll.checked) });
  const editSelected = h('button', { type: 'button', id: 'edit-selected', class: 'primary', onclick: (e) => openBatchForm(e.currentTarget) });
  const clearSelection = h('button', { type: 'button', onclick: () => { state.selected.clear(); render(); selectAll.focus(); } }, t('batch.clear'));
  const selectionNote = h('p', { class: 'hint', 'aria-live': 'polite' });
  const selection = h('div', { class: 'selection' },
    h('div', { class: 'check' }, selectAll, h('label', { for: 'select-all' }, t('batch.selectAll'))),
    editSelected, clearSelection);
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
    selection, selectionNote, tableBox, count, more, formBox);

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
      showSelection();
      return;
    }
    put(count, t(state.next ? 'contacts.countMore' : 'contacts.count', { count: state.services.length }));
    put(tableBox, h('table', {},
      h('caption', {}, t('contacts.caption')),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('batch.selectColumn'))),
        [t('contacts.service'), t('contacts.type'), t('contacts.admin'), t('contacts.tech'), t('contacts.billing'), t('contacts.myRoles'), t('contacts.actions')]
          .map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, state.services.map(row))));
    showSelection();
  }

  /** "Select all shown" follows the rows (checked, mixed or not); the button counts the selection. */
  function showSelection() {
    const shown = state.services.filter((s) => state.selected.has(s.service)).length;
    selectAll.checked = shown > 0 && shown === state.services.length;
    selectAll.indeterminate = shown > 0 && shown < state.services.length;
    selectAll.disabled = !state.services.length;
    const n = state.selected.size;
    editSelected.textContent = tn('batch.editSelected', n);
    editSelected.disabled = n === 0;
    clearSelection.hidden = n === 0;
    const hidden = n - shown;
    put(selectionNote, hidden > 0 ? tn('batch.selectedHidden', hidden) : '');
    for (const box of tableBox.querySelectorAll('input[type=checkbox]')) {
      box.checked = state.selected.has(box.value);
      box.closest('tr').classList.toggle('selected', box.checked);
    }
  }

  /** Selects (or unselects) exactly the rows the search and the type filter show. */
  function selectShown(on) {
    for (const service of state.services) {
      if (on) state.selected.set(service.service, service);
      else state.selected.delete(service.service);
    }
    showSelection();
  }

  function toggle(service, on) {
    if (on) state.selected.set(service.service, service);
    else state.selected.delete(service.service);
    showSelection();
  }

  function row(service) {
    // A selected service's record is kept as the latest listing shows it.
    if (state.selected.has(service.service)) state.selected.set(service.service, service);
    return h('tr', {},
      h('td', {}, h('input', {
        type: 'checkbox', value: service.service, 'aria-label': t('batch.select', { service: service.service }),
        onchange: (e) => toggle(service, e.currentTarget.checked),
      })),
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

  function openBatchForm(opener) {
    message.clear();
    const services = [...state.selected.values()].sort((a, b) => (a.service < b.service ? -1 : 1));
    const form = batchForm(ctx, services, {
      may: editableOnAny(services),
      close: () => { put(formBox); opener?.focus(); },
      done: async (answer) => {
        state.selected.clear();
        const view = batchAnswer(answer, {
          close: () => { put(formBox); selectAll.focus(); },
          toRequests: () => ctx.openTab('requests'),
        });
        put(formBox, view.el);
        view.focus();
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
