// End-to-end live debugging from the portal, in Debian's headless Chromium against the real
// binary and a real Java program: the Java agent is downloaded from the appliance itself, a
// small program (compiled here with javac) runs under it, and the user places a snapshot
// through Entities › Actions › New action by typing into the form (the inline validation
// reacts to a bad line and a bad condition), waits on the action's page until the agent
// reports it installed and hit, and opens the hit in the Data Explorer: the stack and a local
// variable in the tree. Skipped, saying why, only when javac is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, shots, startAppliance } from './appliance.mjs';

const hasJavac = spawnSync('javac', ['-version']).status === 0;

// A method with a local, called every 200 ms; the snapshot goes on the marked line, where
// `total` is in scope.
const PROGRAM = `public class Loop {
    static int work(int n) {
        int total = n * 3;
        return total; // probe here
    }

    public static void main(String[] args) throws Exception {
        for (int n = 1; ; n++) {
            work(n);
            Thread.sleep(200);
        }
    }
}
`;
const PROBE_LINE = PROGRAM.split('\n').findIndex((l) => l.includes('probe here')) + 1;

test('places a snapshot from the portal, triggers it, and opens the result',
  { skip: !hasJavac && 'javac is missing: install a JDK (17) to run the live debugging browser test' },
  async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lantern-browser-actions-'));
    mkdirSync(shots, { recursive: true });
    const { child, url, pin, setup } = await startAppliance(join(dataDir, 'data'));
    const browser = await launchBrowser(pin);
    const problems = [];
    let program = null;
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ignoreHTTPSErrors: true });
      const page = await context.newPage();
      page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()} @ ${page.url()}`); });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message} @ ${page.url()}`));
      page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
      const submit = (label) => Promise.all([page.waitForNavigation(), page.getByRole('button', { name: label }).click()]);
      const go = (path) => Promise.all([page.waitForNavigation(), page.locator(`nav a[href="${path}"]`).click()]);

      await page.goto(setup);
      await page.locator('input[name=name]').fill('Ada Admin');
      await page.locator('input[name=email]').fill('ada@example.org');
      await page.locator('input[name=password]').fill('lamp lighter 2026');
      await page.locator('input[name=password_confirm]').fill('lamp lighter 2026');
      await Promise.all([page.waitForNavigation(), page.locator('form button[type=submit]').first().click()]);

      // A key for the Default pool, and the Java agent from the appliance itself.
      await page.goto(url + '/settings/iam/agent-pools/default');
      await submit('Make a key');
      const key = (await page.locator('.secret-once .copyable-value').innerText()).trim();
      const jarAnswer = await context.request.get(url + '/downloads/lantern-agent.jar');
      assert.equal(jarAnswer.status(), 200, 'the appliance serves the Java agent (built with a JDK)');
      const jar = join(dataDir, 'lantern-agent.jar');
      writeFileSync(jar, await jarAnswer.body());

      // The program, compiled with -g so the agent sees the locals' names, run under the agent.
      const src = join(dataDir, 'Loop.java');
      writeFileSync(src, PROGRAM);
      const classes = join(dataDir, 'classes');
      const javac = spawnSync('javac', ['--release', '17', '-g', '-d', classes, src], { encoding: 'utf8' });
      assert.equal(javac.status, 0, javac.stderr);
      const port = new URL(url).port;
      program = spawn('java', [
        `-javaagent:${jar}=server=wss://127.0.0.1:${port}/agent/v1,pin=sha256/${pin},name=loop-demo`,
        '-Xshare:auto', '-cp', classes, 'Loop',
      ], { env: { ...process.env, LANTERN_KEY: key }, stdio: ['ignore', 'ignore', 'ignore'] });

      // The agent appears in Entities › Agents.
      await go('/entities/agents');
      await page.getByRole('link', { name: 'loop-demo' }).waitFor({ timeout: 90_000 });

      // Entities › Actions › New action.
      await go('/entities/actions');
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'New action' }).first().click()]);
      await page.getByLabel('Type').selectOption('snapshot');
      const target = page.getByLabel('Target');
      const option = await target.locator('option', { hasText: 'Agent loop-demo' }).getAttribute('value');
      await target.selectOption(option);
      await page.getByLabel('File', { exact: true }).pressSequentially('Loop.java');
      // A line that is not a number: the field says so while typing, before any submit.
      const line = page.getByLabel('Line', { exact: true });
      await line.pressSequentially('4x');
      const lineError = page.locator('#f-line-error');
      await lineError.waitFor({ timeout: 10_000 });
      assert.match(await lineError.innerText(), /whole number/);
      await line.fill('');
      await line.pressSequentially(String(PROBE_LINE));
      await lineError.waitFor({ state: 'detached', timeout: 10_000 });
      // A condition with `=` for `==`: the position is given.
      const condition = page.getByLabel('Condition');
      await condition.pressSequentially('total = 3');
      const conditionError = page.locator('#f-condition-error');
      await conditionError.waitFor({ timeout: 10_000 });
      assert.match(await conditionError.innerText(), /at character 7/);
      await page.screenshot({ path: join(shots, 'action-form-errors.png'), fullPage: true });
      await condition.fill('');
      await condition.pressSequentially('total > 0');
      await conditionError.waitFor({ state: 'detached', timeout: 10_000 });
      assert.ok(await page.getByLabel('Log message').isHidden(), 'the log fields are hidden for a snapshot');
      await page.screenshot({ path: join(shots, 'action-form.png'), fullPage: true });
      await submit('Create action');
      assert.match(new URL(page.url()).pathname, /^\/entities\/actions\/a[0-9a-f]+$/);

      // The action's page: installed at the line, and hit once (the portal's default).
      const deadline = Date.now() + 60_000;
      let body = '';
      for (;;) {
        body = await page.content();
        if (body.includes(`Installed in Loop.work at line ${PROBE_LINE}`) || body.includes('Completed: it reached its cap')) {
          if (body.includes('1 snapshot')) { break; }
        }
        assert.ok(Date.now() < deadline, `no installed status and hit in time:\n${await page.locator('main').innerText()}`);
        await new Promise((r) => setTimeout(r, 500));
        await page.reload();
      }
      await page.screenshot({ path: join(shots, 'action-page.png'), fullPage: true });

      // The hit in the Data Explorer: the stack as a list, `total` in the variables tree.
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Snapshots of this action' }).click()]);
      await page.screenshot({ path: join(shots, 'data-explorer.png'), fullPage: true });
      await Promise.all([page.waitForNavigation(), page.locator('table tbody tr th a').first().click()]);
      assert.match(new URL(page.url()).pathname, /^\/data-explorer\/snapshots\/a[0-9a-f]+\/1$/);
      const stack = await page.locator('ol.stack').innerText();
      assert.ok(stack.includes(`Loop.work (Loop.java:${PROBE_LINE})`), stack);
      assert.ok(stack.includes('Loop.main'), stack);
      const local = page.locator('.var-tree li', { has: page.locator('.var-name', { hasText: /^total$/ }) }).first();
      const text = await local.innerText();
      assert.match(text, /total = \d+ int/, text);
      await page.screenshot({ path: join(shots, 'snapshot-hit.png'), fullPage: true });

      // A log from the agent's page, while another tab follows the Logs tab: the lines arrive
      // there without a reload.
      const logsTab = await context.newPage();
      logsTab.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()} @ ${logsTab.url()}`); });
      logsTab.on('pageerror', (e) => problems.push(`page error: ${e.message} @ ${logsTab.url()}`));
      await logsTab.goto(url + '/data-explorer/logs');
      assert.ok((await logsTab.content()).includes('No log lines match'));
      await logsTab.locator('[data-live-indicator]', { hasText: 'Live' }).waitFor({ timeout: 10_000 });
      await go('/entities/agents');
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'loop-demo' }).click()]);
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'New action' }).click()]);
      assert.ok((await target.locator('option[selected]').innerText()).includes('loop-demo'), 'the agent is the target');
      await page.getByLabel('Type').selectOption('log');
      assert.ok(await page.getByLabel('Watch expressions').isHidden());
      await page.getByLabel('File', { exact: true }).fill('Loop.java');
      await page.getByLabel('Line', { exact: true }).fill(String(PROBE_LINE));
      await page.getByLabel('Log message').pressSequentially('total is {total}');
      await submit('Create action');
      await logsTab.locator('[data-live] td.log-line', { hasText: /^total is \d+$/ }).first().waitFor({ timeout: 60_000 });
      assert.equal(new URL(logsTab.url()).pathname, '/data-explorer/logs', 'no reload or navigation');
      await logsTab.screenshot({ path: join(shots, 'data-explorer-logs.png'), fullPage: true });
    } finally {
      if (program) {
        program.kill('SIGKILL');
        await new Promise((r) => program.once('exit', r));
      }
      await browser.close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    }
    assert.deepEqual(problems, []);
  });
