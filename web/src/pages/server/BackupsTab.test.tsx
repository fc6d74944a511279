import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { configureApi, type Backup } from '../../api';
import { serverAccess } from '../../lib/access';
import { json, ok, startServer } from '../../test/httpServer';
import { BackupsTab } from './BackupsTab';

let srv: Awaited<ReturnType<typeof startServer>>;
let backups: Backup[] = [];

const backup = (over: Partial<Backup>): Backup => ({
  id: 'b1',
  name: 'nightly',
  status: 'completed',
  adapter: 'local',
  format: 'tar_zstd',
  size: 3 * 1048576,
  checksum: 'a'.repeat(64),
  ignored: [],
  locked: false,
  bytes: 5 * 1048576,
  files: 12,
  error: null,
  createdAt: '2026-12-01T03:00:00Z',
  completedAt: '2026-12-01T03:00:09Z',
  ...over,
});

beforeAll(async () => {
  srv = await startServer((req, res, body) => {
    if (req.method === 'GET' && req.url === '/api/servers/s1/backups')
      return json(res, 200, ok({ items: backups, policy: { limit: 3, keepLast: 2 } }));
    if (req.method === 'POST' && req.url === '/api/servers/s1/backups') {
      const created = backup({ id: 'b9', name: JSON.parse(body).name ?? 'Backup', status: 'running', size: null });
      backups = [created, ...backups];
      return json(res, 200, ok(created));
    }
    if (req.method === 'POST' && req.url === '/api/servers/s1/backups/b1/restore')
      return json(res, 200, ok({ backupId: 'b1', status: 'pending', files: 0, bytes: 0, createdAt: '' }));
    if (req.method === 'PATCH' && req.url === '/api/servers/s1/backups/b1') {
      backups = backups.map((b) => (b.id === 'b1' ? { ...b, locked: JSON.parse(body).locked } : b));
      return json(res, 200, ok(backups[0]));
    }
    json(res, 404, { success: false, error: 'no such route', code: 'NOT_FOUND', requestId: 'x' });
  });
  configureApi({ baseUrl: srv.url, onUnauthorized: () => {} });
});
afterAll(() => srv.close());
beforeEach(() => {
  srv.log.length = 0;
});

const ALL = ['server:view', 'backup:view', 'backup:create', 'backup:restore', 'backup:delete'];

describe('BackupsTab', () => {
  it('is a tab only with backup:view', () => {
    expect(serverAccess({ permissions: ['server:view'] }).tabs).not.toContain('backups');
    expect(serverAccess({ permissions: ['server:view', 'backup:view'] }).tabs).toContain('backups');
  });

  it('lists backups with size, status and a progress bar while one runs', async () => {
    backups = [backup({ id: 'b2', name: 'running one', status: 'running', size: null }), backup({})];
    render(<BackupsTab serverId="s1" access={serverAccess({ permissions: ALL })} />);
    const rows = await screen.findAllByTestId('backup');
    expect(rows).toHaveLength(2);
    expect(within(rows[0]).getByLabelText('Progress of running one')).toBeTruthy();
    expect(within(rows[0]).getByText(/12 files/)).toBeTruthy();
    expect(within(rows[1]).getByText('3.0 MiB')).toBeTruthy();
    const link = within(rows[1]).getByRole('link', { name: 'Download' }) as HTMLAnchorElement;
    expect(link.href).toBe(`${srv.url}/api/servers/s1/backups/b1/download`);
    expect(screen.getByTestId('backup-room').textContent).toContain('2 of 3 backups kept.');
    expect((screen.getByRole('button', { name: 'Create backup' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('restores only after confirming, with the truncate choice', async () => {
    backups = [backup({})];
    const user = userEvent.setup();
    render(<BackupsTab serverId="s1" access={serverAccess({ permissions: ALL })} />);
    await user.click(await screen.findByRole('button', { name: 'Restore' }));
    expect(srv.log.some((r) => r.url.endsWith('/restore'))).toBe(false);
    await user.click(screen.getByRole('checkbox', { name: /Delete every file/ }));
    const dialog = screen.getByRole('dialog');
    await user.click(within(dialog).getByRole('button', { name: 'Restore' }));
    await waitFor(() => expect(srv.log.some((r) => r.url.endsWith('/restore'))).toBe(true));
    const sent = srv.log.find((r) => r.url.endsWith('/restore'));
    expect(JSON.parse(sent?.body ?? '{}')).toEqual({ truncate: true });
    expect(await screen.findByText(/Restoring "nightly"/)).toBeTruthy();
  });

  it('locks a backup, and a locked one cannot be deleted', async () => {
    backups = [backup({})];
    const user = userEvent.setup();
    render(<BackupsTab serverId="s1" access={serverAccess({ permissions: ALL })} />);
    await user.click(await screen.findByRole('button', { name: 'Lock' }));
    expect(await screen.findByRole('button', { name: 'Unlock' })).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Delete' }) as HTMLButtonElement).disabled).toBe(true);
    const sent = srv.log.find((r) => r.method === 'PATCH');
    expect(JSON.parse(sent?.body ?? '{}')).toEqual({ locked: true });
  });

  it('creates a backup with a name and ignore patterns', async () => {
    backups = [];
    const user = userEvent.setup();
    render(<BackupsTab serverId="s1" access={serverAccess({ permissions: ALL })} />);
    await user.click(await screen.findByRole('button', { name: 'Create backup' }));
    await user.type(screen.getByLabelText('Name'), 'before update');
    await user.type(screen.getByLabelText('Ignored files'), 'logs/{enter}*.tmp');
    await user.click(screen.getByRole('button', { name: 'Start backup' }));
    expect(await screen.findByText('before update')).toBeTruthy();
    const sent = srv.log.find((r) => r.method === 'POST');
    expect(JSON.parse(sent?.body ?? '{}')).toEqual({ name: 'before update', ignored: ['logs/', '*.tmp'] });
  });

  it('shows no actions without their permissions', async () => {
    backups = [backup({})];
    render(<BackupsTab serverId="s1" access={serverAccess({ permissions: ['server:view', 'backup:view'] })} />);
    expect(await screen.findByRole('link', { name: 'Download' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Restore' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Lock' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Create backup' })).toBeNull();
  });
});
