#!/usr/bin/env node
// One person's way through the browser, in headless Chromium (Debian's, driven by
// playwright-core): sign in at the idfed IdP, open an app tile, pick a role when AWS asks, and
// report where the browser ended, what the page says, and the screenshots taken on the way.
//
//   node flow.js --idp URL --user LOGIN --password P --app NAME [--role ARN] --shots DIR --name PREFIX
//   node flow.js --open URL --shots DIR --name PREFIX          (just open a page, e.g. Connect directly)
//
// Prints one JSON object: {final_url, title, heading, text, shots: [...]}.
'use strict';
const path = require('path');
const { chromium } = require(path.join(__dirname, '..', 'node', 'node_modules', 'playwright-core'));

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}

async function main() {
  const a = args();
  const browser = await chromium.launch({
    executablePath: process.env.IDFED_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  page.setDefaultTimeout(15000);
  const shots = [];
  let step = 0;
  const shot = async (label) => {
    step += 1;
    const file = path.join(a.shots, `${a.name}-${String(step).padStart(2, '0')}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    shots.push(file);
  };
  try {
    if (a.open) {
      await page.goto(a.open);
      await shot('page');
    } else {
      await page.goto(`${a.idp}/`);
      await page.getByLabel('Username').fill(a.user);
      await page.getByLabel('Password').fill(a.password);
      await shot('sign-in');
      await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Sign in' }).click()]);
      await shot('my-apps');
      const link = page.locator(`a.tile[href="/app/${a.app}/sso"]`);
      await Promise.all([page.waitForURL((u) => !u.toString().startsWith(a.idp), { timeout: 15000 }), link.click()]);
      await page.waitForLoadState('load');
      if (await page.locator('input[name="roleIndex"]').count() > 0) {
        await shot('role-picker');
        const choice = a.role || await page.locator('input[name="roleIndex"]').first().getAttribute('value');
        await page.locator(`input[name="roleIndex"][value="${choice}"]`).check();
        await Promise.all([page.waitForLoadState('load'), page.locator('#signin_button').click()]);
        await page.waitForLoadState('load');
      }
      await shot('landed');
    }
    const heading = (await page.locator('h1').first().textContent().catch(() => '')) || '';
    const text = (await page.locator('body').innerText()).slice(0, 2000);
    console.log(JSON.stringify({ final_url: page.url(), title: await page.title(), heading: heading.trim(), text, shots }));
  } catch (e) {
    await shot('error').catch(() => {});
    console.log(JSON.stringify({ error: String(e), final_url: page.url(), shots }));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

main();
