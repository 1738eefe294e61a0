// End-to-end: Settings › Identity and Access Management › Users in Debian's headless Chromium
// against the real binary. The first admin creates a user with an activation link, the new
// user activates in another browser and sees only what a Developer may, the admin disables
// them (through the confirmation) and their open page falls back to sign-in. No console
// errors, no unexpected 4xx/5xx. Screenshots land in tests/browser/screenshots/users-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, shots, startAppliance } from './appliance.mjs';



function watch(page, problems, allowed) {
  page.on('console', (m) => {
    // The browser logs the expected refusals (403 for a developer) as console errors too.
    const expected = m.text().startsWith('Failed to load resource') && allowed.some((a) => page.url().includes(a));
    if (m.type() === 'error' && !expected) problems.push(`console: ${m.text()} @ ${page.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message} @ ${page.url()}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && !allowed.some((a) => r.url().includes(a))) problems.push(`HTTP ${r.status()} ${r.url()}`);
  });
}

test('create with an activation link, activate, disable', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lantern-browser-users-'));
  mkdirSync(shots, { recursive: true });
  const { child, url, pin, setup } = await startAppliance(join(dataDir, 'data'));
  const browser = await launchBrowser(pin);
  const problems = [];
  try {
    const admin = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    watch(admin, problems, []);
    admin.on('dialog', (d) => d.accept());
    await admin.goto(setup);
    await admin.getByLabel('Name', { exact: false }).first().fill('Ada Admin');
    await admin.getByLabel('E-mail', { exact: false }).first().fill('ada@example.org');
    await admin.locator('input[name=password]').fill('lamp lighter 2026');
    await admin.locator('input[name=password_confirm]').fill('lamp lighter 2026');
    await Promise.all([admin.waitForNavigation(), admin.locator('form button[type=submit]').first().click()]);

    await Promise.all([admin.waitForNavigation(), admin.locator('nav a[href="/settings/iam/users"]').click()]);
    await admin.screenshot({ path: join(shots, 'users-list-one.png'), fullPage: true });
    await Promise.all([admin.waitForNavigation(), admin.getByRole('link', { name: 'Create user' }).first().click()]);
    await admin.locator('input[name=name]').fill('Nia Newcomer');
    await admin.locator('input[name=email]').fill('nia@example.org');
    assert.ok(await admin.locator('input[name=role][value=developer]').isChecked(), 'Developer preselected');
    await admin.screenshot({ path: join(shots, 'users-new.png'), fullPage: true });
    await Promise.all([admin.waitForNavigation(), admin.locator('form[action="/settings/iam/users"] button[type=submit]').click()]);
    const link = (await admin.locator('.secret-once .copyable-value').innerText()).trim();
    assert.match(link, /\/activate\?token=/);
    assert.ok(await admin.locator('.secret-once .copy-button').isVisible(), 'the copy button is revealed by lantern.js');
    await admin.screenshot({ path: join(shots, 'users-created-link.png'), fullPage: true });

    // The new user, in a browser of their own.
    const nia = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    watch(nia, problems, ['/settings/iam/users', '/sign-in']);
    await nia.goto(link);
    await nia.screenshot({ path: join(shots, 'users-activate.png'), fullPage: true });
    await nia.locator('input[name=password]').fill('quiet harbour 1987');
    await nia.locator('input[name=password_confirm]').fill('quiet harbour 1987');
    await Promise.all([nia.waitForNavigation(), nia.locator('form button[type=submit]').click()]);
    assert.match(nia.url(), /\/getting-started$/);
    assert.equal(await nia.locator('nav a[href="/settings/iam/users"]').count(), 0, 'no Users entry for a developer');
    const forbidden = await nia.goto(url + '/settings/iam/users');
    assert.equal(forbidden.status(), 403);
    await nia.goto(url + '/getting-started');

    // The admin disables her through the confirmation panel.
    await admin.goto(url + '/settings/iam/users');
    await admin.screenshot({ path: join(shots, 'users-list.png'), fullPage: true });
    await Promise.all([admin.waitForNavigation(), admin.getByRole('link', { name: 'Nia Newcomer' }).click()]);
    await admin.locator('summary', { hasText: 'Disable user' }).click();
    await admin.screenshot({ path: join(shots, 'users-detail-confirm.png'), fullPage: true });
    await Promise.all([admin.waitForNavigation(), admin.getByRole('button', { name: 'Disable now' }).click()]);
    assert.ok((await admin.content()).includes('signed out everywhere'));
    await admin.screenshot({ path: join(shots, 'users-detail-disabled.png'), fullPage: true });

    await nia.reload();
    assert.match(nia.url(), /\/sign-in/);
  } finally {
    await browser.close();
    child.kill('SIGTERM');
  }
  assert.deepEqual(problems, []);
});
