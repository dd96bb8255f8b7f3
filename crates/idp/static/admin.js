// The admin console works without this file. With it, expressions (fields marked
// data-expression) are checked against the profile schema while they are typed.
'use strict';
(function () {
  const form = document.querySelector('form[data-check]');
  if (!form) return;
  const csrf = form.querySelector('input[name="csrf"]').value;
  const timers = new WeakMap();
  async function check(input) {
    const out = document.getElementById(input.getAttribute('aria-describedby'));
    if (!out) return;
    if (input.value.trim() === '') { out.textContent = ''; out.className = 'check-result'; return; }
    const body = new URLSearchParams({ csrf: csrf, expression: input.value });
    try {
      const answer = await fetch(form.dataset.check, { method: 'POST', body: body, credentials: 'same-origin' });
      const result = await answer.json();
      out.textContent = result.message;
      out.className = 'check-result ' + (result.ok ? 'ok' : 'bad');
      input.setAttribute('aria-invalid', result.ok ? 'false' : 'true');
    } catch (e) {
      out.textContent = '';
    }
  }
  form.querySelectorAll('[data-expression]').forEach(function (input) {
    input.addEventListener('input', function () {
      clearTimeout(timers.get(input));
      timers.set(input, setTimeout(function () { check(input); }, 250));
    });
    if (input.value.trim() !== '') check(input);
  });
})();
