// End-to-end: the real appliance binary and Debian's headless Chromium. A first start prints
// a setup link; the browser follows it, creates the first Company Admin, finds every
// navigation entry, opens every page without a console error, changes the password, signs
// out and signs in again. Screenshots of every page land in tests/browser/screenshots/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NAV, launchBrowser, shots, startAppliance } from './appliance.mjs';

test('first admin, navigation, every page, password change, sign out and in', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lantern-browser-'));
  mkdirSync(shots, { recursive: true });
  const { child, url, pin, setup } = await startAppliance(join(dataDir, 'data'));
  const browser = await launchBrowser(pin);
  const problems = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()} @ ${page.url()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message} @ ${page.url()}`));
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().includes('/sign-in')) problems.push(`HTTP ${r.status()} ${r.url()}`);
    });

    // Not signed in: the portal sends us to sign in.
    await page.goto(url + '/');
    assert.match(page.url(), /\/sign-in/);
    await page.screenshot({ path: join(shots, 'sign-in.png'), fullPage: true });

    // The setup link creates the first Company Admin and signs them in.
    await page.goto(setup);
    await page.screenshot({ path: join(shots, 'setup.png'), fullPage: true });
    await page.getByLabel('Name', { exact: false }).first().fill('Ada Admin');
    await page.getByLabel('E-mail', { exact: false }).first().fill('ada@example.org');
    await page.locator('input[name=password]').fill('lamp lighter 2026');
    await page.locator('input[name=password_confirm]').fill('lamp lighter 2026');
    await Promise.all([page.waitForNavigation(), page.locator('form button[type=submit]').first().click()]);
    assert.match(page.url(), /\/getting-started$/);
    assert.ok((await page.content()).includes(pin), 'Getting Started shows the pin');

    // Every navigation entry is there, and every page opens.
    for (const [path, label] of NAV) {
      const link = page.locator(`nav a[href="${path}"]`);
      assert.equal(await link.count(), 1, `navigation entry ${path}`);
    }
    for (const [path, label] of NAV) {
      await Promise.all([page.waitForNavigation(), page.locator(`nav a[href="${path}"]`).click()]);
      assert.equal(new URL(page.url()).pathname, path);
      assert.ok((await page.locator('h1').innerText()).includes(label), `${path} title has ${label}`);
      assert.equal(await page.locator(`nav a[href="${path}"][aria-current="page"]`).count(), 1);
      await page.screenshot({ path: join(shots, path.slice(1).replaceAll('/', '_') + '.png'), fullPage: true });
    }

    // Profile: change the password.
    await page.goto(url + '/profile');
    await page.locator('input[name=current_password]').fill('lamp lighter 2026');
    await page.locator('input[name=new_password]').fill('brighter lamp 2027');
    await page.locator('input[name=new_password_confirm]').fill('brighter lamp 2027');
    await Promise.all([page.waitForNavigation(), page.locator('form[action="/profile/password"] button[type=submit]').click()]);
    assert.ok((await page.content()).includes('Your password was changed'));
    await page.screenshot({ path: join(shots, 'profile.png'), fullPage: true });

    // Sign out from the user menu, then sign in with the new password.
    await page.locator('header details summary').first().click();
    await Promise.all([page.waitForNavigation(), page.locator('form[action="/sign-out"] button').first().click()]);
    assert.match(page.url(), /\/sign-in/);
    await page.locator('input[name=email]').fill('ada@example.org');
    await page.locator('input[name=password]').fill('brighter lamp 2027');
    await Promise.all([page.waitForNavigation(), page.locator('form button[type=submit]').first().click()]);
    assert.match(page.url(), /\/getting-started$/);

    // Keyboard only: the skip link is the first stop.
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('href'));
    assert.equal(focused, '#main');
  } finally {
    await browser.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
  assert.deepEqual(problems, []);
});
