// The control panel (SPEC §5b): sign-in, then the tabs "My contacts", "My requests" and
// "Profile". No framework: each view is a module that builds its part of the page from the API.

import { LANGUAGES, lang, preferredLanguage, setLanguage, t } from './i18n.js';
import { client } from './api.js';
import { h, messageBox, put } from './dom.js';
import * as oidc from './oidc.js';
import { contactsView } from './contacts.js';
import { requestsView } from './requests.js';
import { profileView } from './profile.js';

const SESSION = 'panel.session';
const LANGUAGE = 'panel.language';
const TABS = [
  { id: 'contacts', label: 'tabs.contacts', view: contactsView },
  { id: 'requests', label: 'tabs.requests', view: requestsView },
  { id: 'profile', label: 'tabs.profile', view: profileView },
];
const root = document.getElementById('app');
const LANGUAGE_NAMES = { it: 'Italiano', en: 'English', fr: 'Français' };

const state = { config: null, session: null, me: null, api: null, tab: 'contacts', view: null };

function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION) || 'null');
    return s && s.token && (!s.expiresAt || s.expiresAt > Date.now()) ? s : null;
  } catch {
    return null;
  }
}

function saveSession(session) {
  state.session = session;
  if (session) sessionStorage.setItem(SESSION, JSON.stringify(session));
  else sessionStorage.removeItem(SESSION);
}

/** How to sign in; when the server cannot say (its identity provider is down), why. */
async function loadConfig() {
  try {
    const res = await fetch('panel/config', { cache: 'no-store' });
    const body = await res.json();
    return res.ok ? body : { sign_in: 'unavailable', detail: body.detail || String(res.status) };
  } catch {
    return { sign_in: 'none' };
  }
}

async function start() {
  state.config = await loadConfig();
  let problem = null;
  if (state.config.sign_in === 'oidc') {
    try {
      const signedIn = await oidc.completeSignIn(state.config, location.href);
      if (signedIn) saveSession({ ...signedIn, mode: 'oidc' });
    } catch (e) {
      problem = t('signin.failed', { detail: e.message });
    }
    if (oidc.callbackParams(location.href)) history.replaceState(null, '', oidc.redirectUri() + location.hash);
  }
  state.session = state.session || loadSession();
  if (state.session && state.session.mode !== modeOf(state.config)) saveSession(null);
  if (state.session && !(await loadMe())) saveSession(null);
  if (state.me) {
    await setLanguage(state.me.language);
    showPanel();
  } else {
    await setLanguage(localStorage.getItem(LANGUAGE) || preferredLanguage());
    showSignIn(problem);
  }
}

// A provider that cannot be reached for now ('unavailable') leaves a signed-in tab signed in:
// the API checks its token without the panel's server.
const modeOf = (config) => (['oidc', 'unavailable'].includes(config.sign_in) ? 'oidc' : 'development');

async function loadMe() {
  state.api = client(() => state.session?.token, () => signedOut(t('signin.expired')));
  try {
    state.me = await state.api.get('v1/me');
    return true;
  } catch {
    state.me = null;
    return false;
  }
}

function signedOut(message) {
  if (!state.me) return;
  state.view?.stop?.();
  state.me = null;
  saveSession(null);
  showSignIn(message);
}

function languageSwitcher() {
  const select = h('select', { id: 'language', onchange: () => switchLanguage(select.value) },
    LANGUAGES.map((code) => h('option', { value: code, lang: code, selected: code === lang() }, LANGUAGE_NAMES[code])));
  return h('div', { class: 'language' }, h('label', { for: 'language' }, t('app.language')), select);
}

async function switchLanguage(code) {
  if (state.me) {
    // The panel follows the profile: the switcher changes the profile's language (and the emails').
    try {
      state.me = await state.api.patch('v1/me', { language: code });
    } catch {
      /* shown below in the language it stays in */
    }
    await setLanguage(state.me?.language || code);
    showPanel();
    state.flash?.show('ok', t('profile.languageSaved', { language: LANGUAGE_NAMES[lang()] }));
    document.getElementById('language')?.focus();
  } else {
    localStorage.setItem(LANGUAGE, code);
    await setLanguage(code);
    showSignIn();
    document.getElementById('language')?.focus();
  }
}

function showSignIn(problem) {
  const message = messageBox();
  const main = h('main', { id: 'main' }, h('h1', { tabindex: '-1' }, t('app.title')), h('h2', {}, t('signin.title')));
  const mode = state.config.sign_in;
  if (mode === 'development') main.append(developmentSignIn(message));
  else if (mode === 'oidc') {
    main.append(h('p', {}, t('signin.oidcIntro')), h('button', { type: 'button', class: 'primary', onclick: () => oidc.beginSignIn(state.config).catch((e) => message.show('error', t('signin.failed', { detail: e.message }), { focus: true })) }, t('signin.submit')));
  } else if (mode === 'unavailable') main.append(h('p', { class: 'message error', role: 'alert' }, t('signin.unavailable', { detail: state.config.detail })));
  else main.append(h('p', { class: 'message error', role: 'alert' }, t('signin.notConfigured')));
  main.append(message.el);
  put(root, h('header', { class: 'top' }, h('span', { class: 'brand' }, t('app.title')), languageSwitcher()), main);
  document.title = `${t('signin.title')} · ${t('app.title')}`;
  if (problem) message.show('error', problem, { focus: true });
}

function developmentSignIn(message) {
  const input = h('input', { id: 'customer-id', name: 'customer-id', autocomplete: 'username', spellcheck: 'false', required: true, 'aria-describedby': 'customer-id-hint' });
  const form = h('form', { class: 'signin', novalidate: true },
    h('div', { class: 'local-warning', role: 'note' }, h('strong', {}, t('signin.localBadge')), ' ', t('signin.localWarning')),
    h('label', { for: 'customer-id' }, t('signin.customerId')),
    h('p', { id: 'customer-id-hint', class: 'hint' }, t('signin.customerIdHint')),
    input,
    h('button', { type: 'submit', class: 'primary' }, t('signin.submit')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const id = input.value.trim().toLowerCase();
    if (!/^[a-z]{2}[0-9]+-ovh$/.test(id)) {
      input.setAttribute('aria-invalid', 'true');
      message.show('error', t('signin.badId'), { focus: true });
      return;
    }
    saveSession({ token: id, mode: 'development' });
    if (await loadMe()) {
      await setLanguage(state.me.language);
      showPanel();
    } else {
      saveSession(null);
      message.show('error', t('error.unauthenticated'), { focus: true });
    }
  });
  return form;
}

function signOut() {
  const url = state.session?.mode === 'oidc' ? oidc.signOutUrl(state.config) : null;
  state.view?.stop?.();
  state.me = null;
  saveSession(null);
  if (url) location.assign(url);
  else {
    showSignIn();
    root.querySelector('h1')?.focus();
  }
}

function showPanel() {
  state.view?.stop?.();
  const fromHash = location.hash.slice(1);
  if (TABS.some((tab) => tab.id === fromHash)) state.tab = fromHash;
  state.flash = messageBox();
  const tablist = h('div', { role: 'tablist', 'aria-label': t('tabs.label') },
    TABS.map((tab) => h('button', {
      type: 'button', role: 'tab', id: `tab-${tab.id}`, 'aria-controls': 'tabpanel',
      'aria-selected': String(tab.id === state.tab), tabindex: tab.id === state.tab ? '0' : '-1',
      onclick: () => selectTab(tab.id, false),
    }, t(tab.label))));
  tablist.addEventListener('keydown', (event) => {
    const i = TABS.findIndex((tab) => tab.id === state.tab);
    const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -i, End: TABS.length - 1 - i };
    if (!(event.key in moves)) return;
    event.preventDefault();
    selectTab(TABS[(i + moves[event.key] + TABS.length) % TABS.length].id, true);
  });
  const panel = h('section', { role: 'tabpanel', id: 'tabpanel', 'aria-labelledby': `tab-${state.tab}`, tabindex: '-1' });
  put(root,
    h('header', { class: 'top' },
      h('span', { class: 'brand' }, t('app.title')),
      h('span', { class: 'who' }, t('app.signedInAs', { name: state.me.name, account: state.me.account })),
      languageSwitcher(),
      h('button', { type: 'button', onclick: signOut }, t('app.signOut'))),
    h('main', { id: 'main' }, h('h1', {}, t('app.title')), state.flash.el, tablist, panel));
  mountTab(panel);
}

function selectTab(id, focusTab) {
  state.tab = id;
  history.replaceState(null, '', `${location.pathname}${location.search}#${id}`);
  for (const button of root.querySelectorAll('[role=tab]')) {
    const selected = button.id === `tab-${id}`;
    button.setAttribute('aria-selected', String(selected));
    button.tabIndex = selected ? 0 : -1;
    if (selected && focusTab) button.focus();
  }
  const panel = document.getElementById('tabpanel');
  panel.setAttribute('aria-labelledby', `tab-${id}`);
  state.flash.clear();
  mountTab(panel);
}

function mountTab(panel) {
  state.view?.stop?.();
  const tab = TABS.find((x) => x.id === state.tab);
  document.title = `${t(tab.label)} · ${t('app.title')}`;
  const ctx = {
    api: state.api,
    me: state.me,
    config: state.config,
    setMe: (me) => { state.me = me; },
    reload: () => showPanel(),
    openTab: (id) => selectTab(id, true),
  };
  state.view = tab.view(ctx, panel);
}

start();
