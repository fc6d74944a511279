import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { configureApi, type Session } from '../api';
import { StaticAuthProvider } from '../auth/AuthContext';
import { json, ok, startServer } from '../test/httpServer';
import { sampleServer } from '../test/fixtures';
import { DashboardPage } from './DashboardPage';

let srv: Awaited<ReturnType<typeof startServer>>;
let nodeCount = 0;
let servers: unknown[] = [];

const page = (items: unknown[]) => ({ items, total: items.length, page: 1, perPage: 25 });
const node = { id: 'n1', name: 'local', status: 'online', memoryMb: 4096, diskMb: 20480, serverCount: 0 };

beforeAll(async () => {
  srv = await startServer((req, res) => {
    if (req.url?.startsWith('/api/servers')) return json(res, 200, ok(page(servers)));
    if (req.url?.startsWith('/api/agents')) return json(res, 200, ok(page(nodeCount ? [node] : [])));
    json(res, 404, { success: false, error: 'no such route', code: 'NOT_FOUND', requestId: 'x' });
  });
  configureApi({ baseUrl: srv.url, onUnauthorized: () => {} });
});
afterAll(() => srv.close());

const admin: Session = {
  user: { id: 'u1', username: 'admin', email: 'a@x', role: 'admin', disabled: false, createdAt: '', lastLoginAt: null },
  permissions: ['server:view', 'server:create', 'admin:nodes'],
};

function renderDashboard() {
  return render(
    <MemoryRouter>
      <StaticAuthProvider session={admin}>
        <DashboardPage />
      </StaticAuthProvider>
    </MemoryRouter>,
  );
}

describe('the empty dashboard', () => {
  it('asks for a node only when there is none', async () => {
    nodeCount = 0;
    const { unmount } = renderDashboard();
    expect(await screen.findByText(/Add a/)).toBeTruthy();
    unmount();
  });

  it('goes straight to creating a server when a node exists', async () => {
    nodeCount = 1;
    renderDashboard();
    const empty = await screen.findByTestId('empty-servers');
    await screen.findByText(/Pick a template and node/);
    expect(empty.textContent).not.toMatch(/Add a node/);
    expect(srv.log.some((r) => r.url.startsWith('/api/agents'))).toBe(true);
  });
});

describe('the server list', () => {
  it('shows players online where the game answered its query', async () => {
    const stats = { cpuPercent: 1, memoryBytes: 1, diskBytes: 0, uptimeSeconds: 5 };
    servers = [
      { ...sampleServer({}), id: 's1', name: 'arena', stats: { ...stats, players: { online: 3, max: 12 } } },
      { ...sampleServer({}), id: 's2', name: 'quiet', stats },
    ];
    renderDashboard();
    const counts = await screen.findAllByTestId('server-players');
    expect(counts.map((c) => c.textContent)).toEqual(['3 / 12', '—']);
    servers = [];
  });
});
