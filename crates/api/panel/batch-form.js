// "Edit contacts of N services" (SPEC §7): the pencil's fields for the services selected in
// "My contacts", sent as one batch (POST /v1/contact-change-batches); then the answer: the
// batch asked, and each service left out with the problem that kept it out.

import { t, tn } from './i18n.js';
import { ApiError } from './api.js';
import { h, messageBox } from './dom.js';
import { problemText } from './requests.js';

const ROLES = ['admin', 'tech', 'billing'];
/** The most services one batch takes (SPEC §7). */
export const MAX_SERVICES = 1000;

/**
 * The batch's form for `services` (records of GET /v1/me/services): one field per role, empty,
 * read-only where `may` says I may change that role on none of them; every role typed names
 * the same new contact. `done(answer)` gets the API's 201 body.
 */
export function batchForm(ctx, services, { may, close, done }) {
  const message = messageBox();
  const fields = {};
  const rules = may.admin ? ['form.rulesAdmin'] : [may.tech && 'form.rulesTech', may.billing && 'form.rulesBilling'].filter(Boolean);
  const names = services.map((s) => s.service);
  const form = h('form', { class: 'edit batch', novalidate: true, 'aria-labelledby': 'batch-title' },
    h('h3', { id: 'batch-title', tabindex: '-1' }, tn('batch.editSelected', services.length)),
    h('p', {}, t('batch.intro')),
    rules.map((key) => h('p', { class: 'hint' }, t(key))),
    h('p', { class: 'hint' }, t('batch.eachJudged')),
    h('details', { class: 'services' },
      h('summary', {}, tn('batch.selected', services.length)),
      h('ul', { class: 'names' }, names.map((name) => h('li', {}, name)))),
    ROLES.map((role) => field(role)),
    message.el,
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, t('form.confirm')),
      h('button', { type: 'button', onclick: close }, t('form.cancel'))));

  function field(role) {
    const id = `batch-${role}`;
    const why = { admin: 'form.whyAdmin', tech: 'form.whyTech', billing: 'form.whyBilling' }[role];
    const input = h('input', { id, name: role, autocomplete: 'off', spellcheck: 'false', readonly: !may[role], 'aria-describedby': `${id}-note` });
    fields[role] = input;
    const take = may.admin && role !== 'admin'
      ? h('button', { type: 'button', class: 'take', 'aria-label': t('form.takeMyselfLabel', { role: t(`contacts.${role}`) }), onclick: () => { input.value = ctx.me.account; input.focus(); } }, t('form.takeMyself'))
      : null;
    return h('div', { class: `field${may[role] ? '' : ' locked'}` },
      h('label', { for: id }, t(`contacts.${role}`)),
      h('div', { class: 'row' }, input, take),
      h('p', { id: `${id}-note`, class: 'hint' }, may[role] ? t('batch.keep') : t(why)));
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const asked = ROLES.filter((role) => may[role] && fields[role].value.trim()).map((role) => [role, fields[role].value.trim()]);
    const problem = !asked.length ? 'form.nothing'
      : new Set(asked.map(([, value]) => value.toLowerCase())).size > 1 ? 'batch.oneContact'
        : services.length > MAX_SERVICES ? 'batch.tooMany' : null;
    if (problem) {
      message.show('error', t(problem, { max: MAX_SERVICES, count: services.length }), { focus: true });
      return;
    }
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const answer = await ctx.api.post('v1/contact-change-batches', { services: names, ...Object.fromEntries(asked) });
      await done(answer);
    } catch (error) {
      // As the pencil's form: what was typed stays, the message says why and takes the focus.
      message.show('error', problemText(error), { focus: true });
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/**
 * What the API answered to a batch: how many services it holds, and every service left out with
 * its problem (in the panel's words for the codes it knows, else the API's detail).
 */
export function batchAnswer(answer, { close, toRequests }) {
  const message = messageBox();
  const inBatch = answer.parts.filter((p) => p.request).length;
  const left = answer.parts.filter((p) => p.problem);
  const title = h('h3', { id: 'batch-answer-title', tabindex: '-1' }, tn('batch.answerTitle', inBatch));
  const el = h('section', { class: 'edit batch-answer', 'aria-labelledby': 'batch-answer-title' },
    title,
    message.el,
    left.length ? [
      h('h4', { id: 'left-out-title' }, tn('batch.leftOutTitle', left.length)),
      h('ul', { class: 'left-out', 'aria-labelledby': 'left-out-title' }, left.map((p) => h('li', {},
        h('strong', {}, p.service), ': ', problemText(new ApiError(p.problem.status, p.problem, null))))),
    ] : null,
    h('div', { class: 'buttons' },
      h('button', { type: 'button', class: 'primary', onclick: toRequests }, t('batch.toRequests')),
      h('button', { type: 'button', onclick: close }, t('form.cancel'))));
  const said = [tn('batch.taken', inBatch), left.length ? tn('batch.leftOut', left.length) : ''].filter(Boolean).join(' ');
  return {
    el,
    focus: () => message.show('ok', said, { focus: true }),
  };
}
