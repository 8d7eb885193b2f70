// "Profile": who I am, my email address with its verification step (PATCH /v1/me {email}
// makes it pending and mails a link to the new address), my standing, and a copy of everything
// the service holds about me (GET /v1/me/data, SPEC §8) saved as a file.

import { t } from './i18n.js';
import { h, messageBox, put } from './dom.js';
import { problemText } from './requests.js';

export function profileView(ctx, panel) {
  const message = messageBox();
  const details = h('dl', { class: 'profile' });
  const email = h('input', { id: 'new-email', type: 'email', autocomplete: 'email', required: true });
  const code = h('input', { id: 'verify-code', autocomplete: 'one-time-code', spellcheck: 'false', 'aria-describedby': 'verify-code-hint' });
  const verifyForm = h('form', { class: 'verify', novalidate: true, hidden: true },
    h('label', { for: 'verify-code' }, t('profile.code')),
    h('p', { id: 'verify-code-hint', class: 'hint' }, t('profile.codeHint')),
    code,
    h('button', { type: 'submit', class: 'primary' }, t('profile.verify')));
  const emailForm = h('form', { class: 'email', novalidate: true },
    h('label', { for: 'new-email' }, t('profile.newEmail')),
    email,
    h('button', { type: 'submit', class: 'primary' }, t('profile.changeEmail')));

  function render(me) {
    const rows = [
      ['profile.account', me.account],
      ['profile.name', me.name],
      ['profile.email', me.email],
      me.pending_email && ['profile.pending', me.pending_email],
      ['profile.emailStatus', me.email_status === 'bouncing' ? t('profile.bouncing') : t('profile.deliveryOk')],
      ['profile.payment', t(`payment.${me.payment_status}`)],
      me.zone && ['profile.zone', t(`zone.${me.zone}`)],
    ].filter(Boolean);
    put(details, rows.map(([label, value]) => [h('dt', {}, t(label)), h('dd', {}, value)]));
    verifyForm.hidden = !me.pending_email;
  }

  async function save(fn, text) {
    try {
      const me = await fn();
      ctx.setMe(me);
      render(me);
      message.show('ok', text(me), { focus: true });
    } catch (error) {
      message.show('error', problemText(error), { focus: true });
    }
  }

  emailForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = email.value.trim();
    if (!value) {
      message.show('error', t('error.invalid_input', { detail: t('profile.newEmail') }), { focus: true });
      return;
    }
    save(() => ctx.api.patch('v1/me', { email: value }),
      (me) => (me.pending_email ? t('profile.emailAsked', { email: me.pending_email, current: me.email }) : t('profile.emailWithdrawn')));
  });
  verifyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    save(() => ctx.api.post('v1/me/email-verification', { token: code.value.trim() }),
      (me) => (me.pending_email ? t('profile.oneOfTwo', { email: me.pending_email }) : t('profile.verified', { email: me.email })));
  });

  put(panel, h('h2', {}, t('tabs.profile')), details, message.el, emailForm, verifyForm,
    h('p', { class: 'hint' }, t('profile.language')), dataSection(ctx));
  render(ctx.me);
  ctx.api.get('v1/me').then((me) => { ctx.setMe(me); render(me); }).catch(() => {});
  return { stop() {} };
}

/** "Your data": a button that fetches the whole document with the session's token and saves it. */
function dataSection(ctx) {
  const message = messageBox();
  const button = h('button', { type: 'button', 'aria-describedby': 'data-hint' }, t('profile.download'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const data = await ctx.api.get('v1/me/data');
      const file = `contacts-data-${data.profile.account}-${String(data.generated_at).slice(0, 10)}.json`;
      save(file, `${JSON.stringify(data, null, 2)}\n`);
      message.show('ok', t('profile.downloaded', { file }), { focus: true });
    } catch (error) {
      message.show('error', problemText(error), { focus: true });
    } finally {
      button.disabled = false;
    }
  });
  return h('section', { class: 'data', 'aria-labelledby': 'data-title' },
    h('h3', { id: 'data-title' }, t('profile.data')),
    h('p', { id: 'data-hint', class: 'hint' }, t('profile.dataHint')),
    button, message.el);
}

/** Saves `text` as the file `name`: a link to it in memory, clicked, then let go. */
function save(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const link = h('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // Long enough for the browser to have read it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
