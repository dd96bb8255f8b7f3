#!/usr/bin/env node
// Seed 002's setup through the idfed admin console alone, in headless Chromium (Debian's,
// driven by playwright-core), in two phases with the AWS side done in between, as a person
// would: first create the app and download its metadata (AWS makes the SAML provider and the
// role from it), then paste the provider ARN, set the relay state, enable the API integration,
// import the roles, assign the Connect administrator, and sign in as them.
//
//   node admin_setup.js --phase create --idp URL --admin LOGIN --admin-password P
//        --person LOGIN --person-password P --acs URL --state FILE --shots DIR --name PREFIX
//   node admin_setup.js --phase finish --idp URL --state FILE --arn ARN --relay URL
//        --key ID --secret S --iam URL --person LOGIN --person-password P --shots DIR --name PREFIX
//
// Prints one JSON object: what each phase found (metadata file, notices, final page) and the
// screenshots taken.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require(path.join(__dirname, '..', 'node', 'node_modules', 'playwright-core'));

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}

async function clickAndLoad(page, locator) {
  await Promise.all([page.waitForLoadState('load'), locator.click()]);
  await page.waitForLoadState('load');
}

async function notice(page) {
  const status = page.locator('p.notice, p.error');
  return (await status.count()) > 0 ? (await status.first().innerText()).trim() : '';
}

async function expectNotice(page, words) {
  const text = await notice(page);
  if (!text.includes(words)) throw new Error(`expected "${words}" on ${page.url()}, the page says "${text}"`);
  return text;
}

async function signIn(page, idp, login, password) {
  await page.goto(`${idp}/`);
  await page.getByLabel('Username').fill(login);
  await page.getByLabel('Password').fill(password);
  await clickAndLoad(page, page.getByRole('button', { name: 'Sign in' }));
}

async function create(page, a, shot, report) {
  await signIn(page, a.idp, a.admin, a['admin-password']);
  await clickAndLoad(page, page.getByRole('link', { name: 'Admin console' }));
  await shot('people');

  // Directory → People → Add person (the Connect administrator of seed 002).
  await clickAndLoad(page, page.getByRole('link', { name: 'Add person' }));
  await page.getByLabel('First name').fill('Ada');
  await page.getByLabel('Last name').fill('Admin');
  await page.getByLabel('Username').fill(a.person);
  await page.getByLabel('Email').fill(a.person);
  await page.getByLabel('Password').fill(a['person-password']);
  await shot('add-person');
  await clickAndLoad(page, page.getByRole('button', { name: 'Save' }));
  report.person = await expectNotice(page, 'Created.');
  await shot('person');

  // Applications → AWS Account Federation.
  await clickAndLoad(page, page.getByRole('link', { name: 'Applications' }));
  await clickAndLoad(page, page.getByRole('link', { name: /^AWS Account Federation/ }));
  await page.getByLabel('Application label').fill('Amazon Connect Administrator');
  await page.getByLabel('Name', { exact: true }).fill('connect-admin');
  await shot('add-app');
  await clickAndLoad(page, page.getByRole('button', { name: 'Add' }));
  await expectNotice(page, 'Created.');

  // Sign On: the sign-in endpoint (here the sandbox's), then the metadata for IAM.
  await page.getByLabel('Environment', { exact: true }).selectOption('custom');
  await page.getByLabel(/^Sign-in URL/).fill(a.acs);
  await clickAndLoad(page, page.getByRole('button', { name: 'Save', exact: true }));
  await expectNotice(page, 'Saved.');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download metadata' }).click(),
  ]);
  report.metadata = path.join(a.shots, `${a.name}-metadata.xml`);
  await download.saveAs(report.metadata);
  await shot('sign-on-metadata');
  await page.context().storageState({ path: a.state });
}

async function finish(page, a, shot, report) {
  // Sign On: the provider ARN IAM returned, and the relay state into Connect.
  await page.goto(`${a.idp}/admin/apps/connect-admin/sign-on`);
  await page.getByLabel(/^Identity Provider ARN/).fill(a.arn);
  await page.getByLabel('Default Relay State').fill(a.relay);
  await page.getByLabel(/^Role session name/).fill('user.login');
  await page.locator('#role_session_name-check.ok').waitFor({ timeout: 5000 });
  report.expression_check = (await page.locator('#role_session_name-check').innerText()).trim();
  await shot('sign-on');
  await clickAndLoad(page, page.getByRole('button', { name: 'Save', exact: true }));
  await expectNotice(page, 'Saved.');

  // Provisioning: the API integration with okta_cli_user's keys.
  await clickAndLoad(page, page.getByRole('link', { name: 'Provisioning' }));
  await page.getByLabel('Enable API integration').check();
  await page.getByLabel('Access Key').fill(a.key);
  await page.getByLabel('Secret Key').fill(a.secret);
  await page.getByLabel(/^IAM endpoint/).fill(a.iam);
  await clickAndLoad(page, page.getByRole('button', { name: 'Test API Credentials' }));
  report.test = await expectNotice(page, 'The API credentials work');
  await clickAndLoad(page, page.getByRole('button', { name: 'Refresh roles' }));
  report.import = await expectNotice(page, 'Imported');
  await shot('provisioning');

  // Assignments: the administrator with Okta_Role.
  await clickAndLoad(page, page.getByRole('link', { name: 'Assignments' }));
  await page.locator('#who-person').fill(a.person);
  await page.locator('#role-person').selectOption({ label: 'Okta_Role' });
  await clickAndLoad(page, page.getByRole('button', { name: 'Assign person' }));
  report.assigned = await expectNotice(page, 'Assigned.');
  await shot('assignments');

  // The other pages, for the record.
  for (const [link, label] of [['Groups', 'groups'], ['Profile editor', 'profile'],
    ['Keys, sessions, MFA', 'security'], ['System log', 'log']]) {
    await clickAndLoad(page, page.getByRole('link', { name: link }));
    await shot(label);
  }
  await clickAndLoad(page, page.getByRole('button', { name: 'Sign out' }));

  // The administrator of seed 002 signs in and opens the tile: Amazon Connect's console.
  await signIn(page, a.idp, a.person, a['person-password']);
  await shot('my-apps');
  const tile = page.locator('a.tile[href="/app/connect-admin/sso"]');
  await Promise.all([page.waitForURL((u) => !u.toString().startsWith(a.idp), { timeout: 15000 }), tile.click()]);
  await page.waitForLoadState('load');
  await shot('connect');
  report.final_url = page.url();
  report.heading = ((await page.locator('h1').first().textContent().catch(() => '')) || '').trim();
  report.text = (await page.locator('body').innerText()).slice(0, 2000);
}

async function main() {
  const a = args();
  const browser = await chromium.launch({
    executablePath: process.env.IDFED_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const options = { viewport: { width: 1200, height: 800 }, acceptDownloads: true };
  if (a.phase === 'finish') options.storageState = a.state;
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const report = { shots: [] };
  let step = 0;
  report.unlabeled = [];
  // Accessibility: every control on an admin page has a name a screen reader announces.
  const audit = async () => {
    if (!page.url().includes('/admin')) return;
    const missing = await page.evaluate(() => Array.from(
      document.querySelectorAll('input:not([type=hidden]), select, textarea, button')).filter((el) => {
      const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') ||
        el.getAttribute('aria-labelledby') || (el.tagName === 'BUTTON' && el.textContent.trim() !== '');
      return !named;
    }).map((el) => `${el.tagName.toLowerCase()}[name=${el.getAttribute('name')}]`));
    for (const m of missing) report.unlabeled.push(`${new URL(page.url()).pathname}: ${m}`);
  };
  const shot = async (label) => {
    await audit();
    step += 1;
    const file = path.join(a.shots, `${a.name}-${String(step).padStart(2, '0')}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    report.shots.push(file);
  };
  try {
    fs.mkdirSync(a.shots, { recursive: true });
    if (a.phase === 'create') await create(page, a, shot, report);
    else if (a.phase === 'finish') await finish(page, a, shot, report);
    else throw new Error(`unknown phase ${a.phase}`);
    console.log(JSON.stringify(report));
  } catch (e) {
    await shot('error').catch(() => {});
    report.error = String(e);
    report.final_url = page.url();
    report.text = (await page.locator('body').innerText().catch(() => '')).slice(0, 2000);
    console.log(JSON.stringify(report));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

main();
