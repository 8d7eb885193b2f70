// One catalogue per language (strings-*.js); English is built in, the others load on demand.

import en from './strings-en.js';

export const LANGUAGES = ['it', 'en', 'fr'];
const loaders = {
  it: () => import('./strings-it.js'),
  fr: () => import('./strings-fr.js'),
};

let current = 'en';
let strings = en;

/** The language in use. */
export function lang() {
  return current;
}

/** Switches to `code` (it, en, fr; anything else is English) and sets the page's lang. */
export async function setLanguage(code) {
  const next = LANGUAGES.includes(code) ? code : 'en';
  strings = next === 'en' ? en : (await loaders[next]()).default;
  current = next;
  document.documentElement.lang = next;
  return next;
}

/** The string `key`, with `{name}` filled from `params`; the English one when missing. */
export function t(key, params = {}) {
  const text = strings[key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/**
 * The string `key.one` or `key.other` by `count` (filled in as {count}, with `params`): one for 1,
 * and in French for 0 too ("0 service").
 */
export function tn(key, count, params = {}) {
  const one = count === 1 || (count === 0 && current === 'fr');
  return t(`${key}.${one ? 'one' : 'other'}`, { ...params, count });
}

/** The language the browser prefers among ours, for the sign-in page. */
export function preferredLanguage() {
  for (const tag of navigator.languages || [navigator.language || 'en']) {
    const code = String(tag).slice(0, 2).toLowerCase();
    if (LANGUAGES.includes(code)) return code;
  }
  return 'en';
}
