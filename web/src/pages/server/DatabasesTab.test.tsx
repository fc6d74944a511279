import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { configureApi, type ServerDatabase } from '../../api';
import { serverAccess } from '../../lib/access';
import { fail, json, ok, startServer } from '../../test/httpServer';
import { DatabasesTab } from './DatabasesTab';

let srv: Awaited<ReturnType<typeof startServer>>;
let databases: ServerDatabase[] = [];
let password = 'first-password';

const database = (over: Partial<ServerDatabase> = {}): ServerDatabase => ({
  id: 'd1',
  name: 's0a1b2c3d_luckperms',
  username: 'u0a1b2c3d_abcdefghij',
  engine: 'mysql',
  hostName: 'db-1',
  address: '10.0.0.5',
  port: 3306,
  remote: '%',
  maxConnections: 0,
  connectionString: 'mysql://u0a1b2c3d_abcdefghij@10.0.0.5:3306/s0a1b2c3d_luckperms',
  createdAt: '2026-12-01T03:00:00Z',
  ...over,
});

beforeAll(async () => {
  srv = await startServer((req, res, body) => {
    if (req.method === 'GET' && req.url === '/api/servers/s1/databases') return json(res, 200, ok({ databases, limit: 2 }));
    if (req.method === 'POST' && req.url === '/api/servers/s1/databases') {
      const { name } = JSON.parse(body);
      if (!/^[A-Za-z0-9_]+$/.test(name))
        return json(
          res,
          422,
          fail('VALIDATION_ERROR', 'may contain only letters, digits and underscores', {
            details: { name: ['may contain only letters, digits and underscores'] },
          }),
        );
      const created = database({ id: 'd2', name: `s0a1b2c3d_${name}` });
      databases = [...databases, created];
      return json(res, 200, ok(created));
    }
    if (req.method === 'POST' && req.url === '/api/servers/s1/databases/d1/reveal') return json(res, 200, ok({ password }));
    if (req.method === 'POST' && req.url === '/api/servers/s1/databases/d1/rotate') {
      password = 'rotated-password';
      return json(res, 200, ok(databases[0]));
    }
    if (req.method === 'DELETE' && req.url === '/api/servers/s1/databases/d1') {
      databases = databases.filter((d) => d.id !== 'd1');
      return json(res, 200, ok(null));
    }
    json(res, 404, { success: false, error: 'no such route', code: 'NOT_FOUND', requestId: 'x' });
  });
  configureApi({ baseUrl: srv.url, onUnauthorized: () => {} });
});
afterAll(() => srv.close());
beforeEach(() => {
  srv.log.length = 0;
  databases = [database()];
  password = 'first-password';
});

describe('DatabasesTab', () => {
  it('is a tab only with database:view', () => {
    expect(serverAccess({ permissions: ['server:view'] }).tabs).not.toContain('databases');
    const access = serverAccess({ permissions: ['server:view', 'database:view'] });
    expect(access.tabs).toContain('databases');
    expect(access.createDatabases).toBe(false);
    expect(access.deleteDatabases).toBe(false);
  });

  it('lists databases with their connection string and no password', async () => {
    render(<DatabasesTab serverId="s1" rights={{ create: true, remove: true }} />);
    expect((await screen.findByTestId('connection-string')).textContent).toBe(
      'mysql://u0a1b2c3d_abcdefghij@10.0.0.5:3306/s0a1b2c3d_luckperms',
    );
    expect(screen.getByTestId('database-limit').textContent).toBe('1 of 2 databases used.');
    expect(document.body.textContent).not.toContain('first-password');
  });

  it('reveals, then rotates the password', async () => {
    const user = userEvent.setup();
    render(<DatabasesTab serverId="s1" rights={{ create: true, remove: false }} />);
    await user.click(await screen.findByRole('button', { name: 'Show password' }));
    expect((await screen.findByTestId('database-password')).textContent).toBe('first-password');
    await user.click(screen.getByRole('button', { name: 'Done' }));
    await user.click(screen.getByRole('button', { name: 'Rotate password' }));
    await waitFor(() => expect(screen.getByTestId('database-password').textContent).toBe('rotated-password'));
    expect(srv.log.map((r) => `${r.method} ${r.url}`)).toContain('POST /api/servers/s1/databases/d1/rotate');
    expect(screen.queryByRole('button', { name: 'Delete' })).toBeNull();
  });

  it('creates a database and shows the field error of a bad name', async () => {
    const user = userEvent.setup();
    render(<DatabasesTab serverId="s1" rights={{ create: true, remove: true }} />);
    await user.click(await screen.findByRole('button', { name: 'New database' }));
    await user.type(screen.getByLabelText('Name'), "bad'name");
    await user.click(screen.getByRole('button', { name: 'Create' }));
    expect((await screen.findAllByText('may contain only letters, digits and underscores')).length).toBeGreaterThan(0);
    await user.clear(screen.getByLabelText('Name'));
    await user.type(screen.getByLabelText('Name'), 'maps');
    await user.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(screen.getAllByTestId('connection-string')).toHaveLength(2));
    expect(screen.getByRole('button', { name: 'New database' })).toHaveProperty('disabled', true);
  });

  it('deletes after the name is typed', async () => {
    const user = userEvent.setup();
    render(<DatabasesTab serverId="s1" rights={{ create: false, remove: true }} />);
    await user.click(await screen.findByRole('button', { name: 'Delete' }));
    const confirm = screen.getAllByRole('button', { name: 'Delete' }).at(-1)!;
    await user.type(screen.getByRole('textbox'), 's0a1b2c3d_luckperms');
    await user.click(confirm);
    await waitFor(() => expect(screen.getByText('No databases yet.')).toBeTruthy());
    expect(screen.queryByRole('button', { name: 'New database' })).toBeNull();
  });
});
