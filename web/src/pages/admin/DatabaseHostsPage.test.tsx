import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { configureApi, type DatabaseHost, type OrphanedDatabase } from '../../api';
import { adminLinks } from '../../lib/access';
import { fail, json, ok, startServer } from '../../test/httpServer';
import { DatabaseHostsPage } from './DatabaseHostsPage';

let srv: Awaited<ReturnType<typeof startServer>>;
let hosts: DatabaseHost[] = [];
let orphans: OrphanedDatabase[] = [];

const host = (over: Partial<DatabaseHost> = {}): DatabaseHost => ({
  id: 'h1',
  name: 'db-1',
  engine: 'mysql',
  address: '10.0.0.5',
  port: 3306,
  username: 'panel',
  nodeId: null,
  maxDatabases: 100,
  createdAt: '2026-12-01T03:00:00Z',
  databases: 4,
  healthy: true,
  health: '10.11.19-MariaDB',
  ...over,
});

beforeAll(async () => {
  srv = await startServer((req, res, body) => {
    if (req.method === 'GET' && req.url === '/api/database-hosts') return json(res, 200, ok(hosts));
    if (req.method === 'GET' && req.url === '/api/database-orphans') return json(res, 200, ok(orphans));
    if (req.method === 'GET' && req.url?.startsWith('/api/agents'))
      return json(res, 200, ok({ items: [{ id: 'n1', name: 'node-a' }], total: 1, page: 1, perPage: 100 }));
    if (req.method === 'POST' && req.url === '/api/database-hosts') {
      const input = JSON.parse(body);
      if (input.password !== 'right')
        return json(
          res,
          422,
          fail('VALIDATION_ERROR', 'the database host refused the admin account', {
            details: { password: ['the database host refused the admin account'] },
          }),
        );
      const created = host({ id: 'h2', ...input, databases: 0, password: undefined });
      hosts = [...hosts, created];
      return json(res, 200, ok(created));
    }
    if (req.method === 'PUT' && req.url === '/api/database-hosts/h1') {
      hosts = hosts.map((h) => (h.id === 'h1' ? { ...h, ...JSON.parse(body) } : h));
      return json(res, 200, ok(hosts[0]));
    }
    if (req.method === 'POST' && req.url === '/api/database-orphans/o1/retry') {
      orphans = [];
      return json(res, 200, ok(null));
    }
    json(res, 404, { success: false, error: 'no such route', code: 'NOT_FOUND', requestId: 'x' });
  });
  configureApi({ baseUrl: srv.url, onUnauthorized: () => {} });
});
afterAll(() => srv.close());
beforeEach(() => {
  srv.log.length = 0;
  hosts = [
    host(),
    host({ id: 'h3', name: 'pg-1', engine: 'postgres', databases: 0, healthy: false, health: 'cannot be reached' }),
  ];
  orphans = [];
});

describe('DatabaseHostsPage', () => {
  it('is linked for admin:settings only', () => {
    const links = (keys: string[]) => adminLinks({ permissions: keys } as never).map((l) => l.to);
    expect(links(['admin:settings'])).toContain('/admin/database-hosts');
    expect(links(['admin:nodes'])).not.toContain('/admin/database-hosts');
  });

  it('shows each host with its health', async () => {
    render(<DatabaseHostsPage />);
    expect((await screen.findByTestId('health-db-1')).textContent).toContain('healthy');
    expect(screen.getByTestId('health-pg-1').textContent).toContain('cannot be reached');
    expect(screen.getByText('4 / 100')).toBeTruthy();
  });

  it('adds a host, showing why the host refused it first', async () => {
    const user = userEvent.setup();
    render(<DatabaseHostsPage />);
    await user.click(await screen.findByRole('button', { name: 'Add host' }));
    await user.type(screen.getByLabelText('Name'), 'db-2');
    await user.selectOptions(screen.getByLabelText('Engine'), 'postgres');
    expect(screen.getByLabelText('Port')).toHaveProperty('value', '5432');
    await user.type(screen.getByLabelText('Address'), '10.0.0.6');
    await user.type(screen.getByLabelText('Admin username'), 'panel');
    await user.type(screen.getByLabelText('Admin password'), 'wrong');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    expect((await screen.findAllByText('the database host refused the admin account')).length).toBeGreaterThan(0);
    await user.clear(screen.getByLabelText('Admin password'));
    await user.type(screen.getByLabelText('Admin password'), 'right');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.getByTestId('health-db-2')).toBeTruthy());
    const sent = JSON.parse(srv.log.filter((r) => r.method === 'POST').at(-1)!.body);
    expect(sent).toMatchObject({ name: 'db-2', engine: 'postgres', port: 5432, address: '10.0.0.6' });
  });

  it('keeps the stored password when editing without one', async () => {
    const user = userEvent.setup();
    render(<DatabaseHostsPage />);
    await user.click((await screen.findAllByRole('button', { name: 'Edit' }))[0]);
    expect(screen.getByLabelText('Engine')).toHaveProperty('disabled', true);
    await user.clear(screen.getByLabelText('Most databases'));
    await user.type(screen.getByLabelText('Most databases'), '20');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(srv.log.some((r) => r.method === 'PUT')).toBe(true));
    const sent = JSON.parse(srv.log.find((r) => r.method === 'PUT')!.body);
    expect(sent.maxDatabases).toBe(20);
    expect(sent).not.toHaveProperty('password');
    expect(sent).not.toHaveProperty('engine');
  });

  it('retries dropping an orphaned database', async () => {
    orphans = [
      {
        id: 'o1',
        serverId: 's9',
        name: 's0a1b2c3d_old',
        username: 'u0a1b2c3d_x',
        hostId: 'h1',
        hostName: 'db-1',
        orphanedAt: null,
      },
    ];
    const user = userEvent.setup();
    render(<DatabaseHostsPage />);
    await user.click(await screen.findByRole('button', { name: 'Retry drop' }));
    await waitFor(() => expect(screen.queryByTestId('orphan')).toBeNull());
  });
});
