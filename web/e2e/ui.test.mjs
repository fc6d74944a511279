// Browser suite against a real panel: login, dashboard empty state, every admin page, and
// a non-admin user who must not see any of them. Screenshots go to artifacts/screenshots/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_DIR, apiCall, assertAccessible, launchBrowser, login, screenshot, startPanel, startUi } from './support.mjs';

const ADMIN_PAGES = [
  { link: 'All servers', path: '/admin/servers', heading: 'All servers', shot: 'admin-servers' },
  { link: 'Nodes', path: '/admin/nodes', heading: 'Nodes', shot: 'admin-nodes' },
  { link: 'Templates', path: '/admin/templates', heading: 'Templates', shot: 'admin-templates' },
  { link: 'Users', path: '/admin/users', heading: 'Users', shot: 'admin-users' },
  { link: 'Monitoring', path: '/admin/monitoring', heading: 'Monitoring', shot: 'admin-monitoring' },
  { link: 'Audit log', path: '/admin/audit', heading: 'Audit log', shot: 'admin-audit' },
  { link: 'Backups', path: '/admin/backups', heading: 'Backups', shot: 'admin-backups' },
];

describe('panel web UI', () => {
  let panel;
  let ui;
  let browser;
  let page;

  before(async () => {
    panel = await startPanel();
    ui = await startUi(panel.url);
    browser = await launchBrowser();
    page = browser.page;
    console.log(`# panel ${panel.url}, UI served by ${ui.via} at ${ui.url}`);
  });

  after(async () => {
    await browser?.close();
    await ui?.stop();
    await panel?.stop();
  });

  test('an unknown address while signed out leads to the login page and back', async () => {
    await page.goto(`${ui.url}/admin/nodes`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.match(page.url(), /\/login\?next=%2Fadmin%2Fnodes$/);
    await screenshot(page, 'login');
    await assertAccessible(page, 'login');
  });

  test('a wrong password shows the error with its request id', async () => {
    await page.getByLabel('Username or email').fill(panel.username);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = await alert.innerText();
    assert.match(text, /UNAUTHORIZED/);
    assert.match(text, /request [0-9a-f-]{8,}/);
  });

  test('the admin signs in and lands where they were going', async () => {
    await page.getByLabel('Password').fill(panel.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Nodes', level: 1 }).waitFor();
    assert.match(page.url(), /\/admin\/nodes$/);
  });

  test('the dashboard explains what to do when there are no servers', async () => {
    await page.getByRole('link', { name: 'Servers', exact: true }).click();
    await page.waitForLoadState('networkidle');
    assert.deepEqual(await page.locator('.alert-error').allInnerTexts(), [], 'the dashboard shows an API error');
    const empty = page.getByTestId('empty-servers');
    await empty.waitFor();
    assert.match(await empty.innerText(), /No servers yet/);
    assert.ok(await empty.getByRole('link', { name: 'create your first server' }).isVisible());
    await screenshot(page, 'dashboard-empty');
    await assertAccessible(page, 'dashboard');
  });

  for (const p of ADMIN_PAGES) {
    test(`admin page: ${p.link}`, async () => {
      await page.getByTestId('admin-nav').getByRole('link', { name: p.link, exact: true }).click();
      await page.getByRole('heading', { name: p.heading, level: 1 }).waitFor();
      assert.ok(page.url().endsWith(p.path));
      await page.waitForLoadState('networkidle');
      const errors = await page.locator('.alert-error').allInnerTexts();
      assert.deepEqual(errors, [], `${p.path} shows an API error`);
      await screenshot(page, p.shot);
      await assertAccessible(page, p.path);
    });
  }

  test('the create-server wizard lists the built-in templates', async () => {
    await page.goto(`${ui.url}/admin/servers/new`);
    await page.getByRole('heading', { name: 'Create server' }).waitFor();
    await page.getByText('Test Game').first().waitFor();
    await screenshot(page, 'create-server');
    await assertAccessible(page, 'create server');
  });

  test('the user admin page shows the 10 × 36 permission grid', async () => {
    await page.goto(`${ui.url}/admin/users`);
    await page.getByRole('link', { name: panel.username, exact: true }).click();
    await page.getByRole('heading', { name: 'Permissions' }).waitFor();
    await page.locator('.perm-item input[type=checkbox]').nth(35).waitFor();
    assert.equal(await page.locator('.perm-category').count(), 10);
    assert.equal(await page.locator('.perm-item input[type=checkbox]').count(), 36);
    assert.equal(await page.locator('.perm-item input[type=checkbox]:checked').count(), 36);
    await screenshot(page, 'admin-user-permissions');
    await assertAccessible(page, 'user permissions');
  });

  test('adding a node shows its join command once', async () => {
    await page.goto(`${ui.url}/admin/nodes`);
    await page.getByRole('button', { name: 'Add node' }).click();
    await page.getByLabel('Name', { exact: true }).fill('berlin-1');
    await page.getByLabel('Address').fill('10.0.0.7');
    await page.getByRole('button', { name: 'Create node' }).click();
    const join = page.getByTestId('join-command');
    await join.waitFor();
    assert.match(await join.innerText(), /^cap-agent join http:\/\/\S+ \S+$/);
    await screenshot(page, 'admin-node-join-command');
    await page.getByRole('button', { name: 'Done' }).click();
    const row = page.locator('tr', { hasText: 'berlin-1' });
    await row.getByText('awaiting join').waitFor();
    assert.match(await row.innerText(), /10\.0\.0\.7:8443/);
  });

  test('an egg pasted as text imports as a new template', async () => {
    const egg = JSON.parse(readFileSync(path.join(REPO_DIR, 'crates/templates/builtin/test-game.json'), 'utf8'));
    egg.name = 'Pasted Game';
    delete egg.uuid;
    await page.goto(`${ui.url}/admin/templates`);
    await page.getByRole('button', { name: 'Import egg' }).click();
    await page.getByLabel('…or paste it here').fill(JSON.stringify(egg));
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    // The dialog says what was imported and what a native node cannot honour.
    await page.getByRole('status').getByText('Pasted Game was imported.').waitFor();
    assert.match(await page.getByRole('list', { name: 'Import notes' }).innerText(), /no Docker images/);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('cell', { name: /Pasted Game/ }).waitFor();
    // The same egg again: refused in plain words, with the way to update the template instead.
    await page.getByRole('button', { name: 'Import egg' }).click();
    await page.getByLabel('…or paste it here').fill(JSON.stringify({ ...egg, description: 'a newer egg' }));
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const refused = page.getByRole('alert');
    await refused.waitFor();
    assert.match(await refused.innerText(), /this category already has a template named "Pasted Game"/);
    await page.getByRole('button', { name: 'Update Pasted Game from this egg instead' }).click();
    await page.getByText('Pasted Game was updated from the egg; its servers keep their settings.').waitFor();
    await screenshot(page, 'admin-template-updated-from-egg');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('tr', { hasText: 'Pasted Game' }).getByText('a newer egg').waitFor();
    const row = page.locator('tr', { hasText: 'Pasted Game' });
    await row.getByRole('button', { name: 'Edit' }).click();
    const editor = page.locator('[data-testid=code-editor] .cm-content');
    await editor.waitFor();
    assert.match(await editor.innerText(), /"name": "Pasted Game"/);
    await screenshot(page, 'admin-template-editor');
    await page.getByRole('button', { name: 'Close' }).click();
    // The editor saves with PUT {template}: the document it was given, edited.
    const alts = await apiCall(page, 'GET', '/api/alts?perPage=100');
    const alt = alts.body.data.items.find((a) => a.name === 'Pasted Game');
    const saved = await apiCall(page, 'PUT', `/api/alts/${alt.id}`, { template: { ...alt.template, name: 'Renamed Game' } });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    await page.reload();
    await page.getByRole('cell', { name: /Renamed Game/ }).waitFor();
    const broken = await apiCall(page, 'POST', '/api/alts/import', { ctrlId: 'nope', egg: 'not an egg' });
    assert.ok(broken.status >= 400 && broken.status < 500, `bad egg gave ${broken.status}`);
  });

  test('account page', async () => {
    await page.goto(`${ui.url}/account`);
    await page.getByRole('heading', { name: 'Change password' }).waitFor();
    await screenshot(page, 'account');
    await assertAccessible(page, 'account');
  });

  test('account page: an SSH key is refused with the reason, added with its fingerprint, and removed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cap-e2e-key-'));
    const key = path.join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'e2e', '-f', key]);
    const publicKey = readFileSync(`${key}.pub`, 'utf8').trim();
    const fingerprint = execFileSync('ssh-keygen', ['-lf', `${key}.pub`])
      .toString()
      .split(' ')[1];
    rmSync(dir, { recursive: true, force: true });
    await page.goto(`${ui.url}/account`);
    const card = page.getByTestId('ssh-keys');
    await card.getByLabel('Key name').fill('laptop');
    await card.getByLabel('Public key').fill('not a key');
    await card.getByRole('button', { name: 'Add key' }).click();
    await card.locator('.field-error', { hasText: 'not an SSH public key' }).waitFor();
    await card.getByLabel('Public key').fill(publicKey);
    await card.getByRole('button', { name: 'Add key' }).click();
    const row = card.getByTestId('ssh-key').filter({ hasText: 'laptop' });
    await row.getByText(fingerprint, { exact: true }).waitFor();
    await screenshot(page, 'account-ssh-keys');
    await assertAccessible(page, 'account with an SSH key');
    await row.getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await row.waitFor({ state: 'detached' });
    const left = await apiCall(page, 'GET', '/api/auth/ssh-keys');
    assert.deepEqual(left.body.data, []);
  });

  test('a user without admin permissions sees no admin pages', async () => {
    const created = await apiCall(page, 'POST', '/api/users', {
      username: 'player1',
      email: 'player1@example.com',
      password: 'player-password-1',
      role: 'user',
    });
    assert.equal(created.status < 300, true, `creating the user failed: ${JSON.stringify(created.body)}`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await login(page, ui.url, 'player1', 'player-password-1');
    await page.getByTestId('empty-servers').waitFor();
    assert.match(await page.getByTestId('empty-servers').innerText(), /Ask your host or an administrator/);
    assert.equal(await page.getByTestId('admin-nav').count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Nodes' }).count(), 0);
    await screenshot(page, 'dashboard-user');
    await page.goto(`${ui.url}/admin/nodes`);
    await page.getByRole('heading', { name: 'Not available' }).waitFor();
    const forbidden = await apiCall(page, 'GET', '/api/agents');
    assert.equal(forbidden.status, 403);
  });

  test('the phone layout keeps navigation behind the menu button', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${ui.url}/`);
    const menu = page.getByRole('button', { name: 'Menu' });
    await menu.waitFor();
    assert.equal(await page.locator('#sidenav').isVisible(), false);
    await menu.click();
    assert.equal(await page.locator('#sidenav').isVisible(), true);
    await screenshot(page, 'phone-menu');
    await assertAccessible(page, 'phone menu');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test('no page errors or CSP violations happened', () => {
    assert.deepEqual(browser.problems, []);
  });
});
