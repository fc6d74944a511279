import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { configureApi, type Server, type Session } from '../../api';
import { StaticAuthProvider } from '../../auth/AuthContext';
import { sampleServer } from '../../test/fixtures';
import { json, ok, startServer } from '../../test/httpServer';
import { ServerPage } from './ServerPage';

let srv: Awaited<ReturnType<typeof startServer>>;
let permissions: string[] = [];
let failure: Partial<Server> = {};

const server = (): Server => sampleServer({ permissions, ...failure });

beforeAll(async () => {
  srv = await startServer((req, res) => {
    if (req.url === '/api/servers/s1') return json(res, 200, ok(server()));
    if (req.url?.startsWith('/api/servers/s1/stats'))
      return json(
        res,
        200,
        ok({
          cpuPercent: 12.5,
          memoryBytes: 256 * 1048576,
          memoryLimitBytes: 1073741824,
          diskBytes: 0,
          uptimeSeconds: 90,
          processCount: 1,
          players: { online: 1, max: 12, map: 'oa_dm1', version: 'ioq3 1.36', names: ['Angelyss'] },
        }),
      );
    if (req.url?.startsWith('/api/servers/s1/files/list')) return json(res, 200, ok([]));
    if (req.url === '/api/servers/s1/variables') return json(res, 200, ok([]));
    json(res, 404, { success: false, error: 'no such route', code: 'NOT_FOUND', requestId: 'x' });
  });
  configureApi({ baseUrl: srv.url, onUnauthorized: () => {} });
});
afterAll(() => srv.close());

const session: Session = {
  user: { id: 'sub-1', username: 'sam', email: 's@x', role: 'user', disabled: false, createdAt: '', lastLoginAt: null },
  permissions: ['server:view'],
};

function renderAt(path: string) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <StaticAuthProvider session={session}>
        <Routes>
          <Route path="/servers/:id/*" element={<ServerPage />} />
        </Routes>
      </StaticAuthProvider>
    </MemoryRouter>,
  );
}

describe('ServerPage permission-based hiding', () => {
  it('a subuser with file access only sees Files and Startup, no power or console', async () => {
    permissions = ['server:view', 'file:read'];
    renderAt('/servers/s1');
    const tabs = await screen.findByRole('navigation', { name: 'Server sections' });
    expect(
      within(tabs)
        .getAllByRole('link')
        .map((l) => l.textContent),
    ).toEqual(['Files', 'Startup']);
    expect(screen.queryByRole('button', { name: 'Start' })).toBeNull();
    expect(await screen.findByText(/This folder is empty/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Upload' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'New folder' })).toBeNull();
    const cpu = await screen.findByTestId('stat-cpu');
    await screen.findByText(/^13%/, { selector: '[data-testid=stat-cpu]' });
    expect(cpu.textContent).toBe('13% / 100%');
    expect(screen.getByText('1m 30s')).toBeTruthy();
    expect(screen.getByTestId('stat-players').textContent).toBe('1 / 12');
    expect(screen.getByTestId('stat-map').textContent).toBe('Map oa_dm1 · ioq3 1.36');
    expect(screen.getByTestId('stat-player-names').textContent).toBe('Angelyss');
  });

  it('power and write actions appear with their permissions', async () => {
    permissions = ['server:view', 'server:power', 'file:read', 'file:write'];
    renderAt('/servers/s1/files');
    expect(await screen.findByRole('button', { name: 'Start' })).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Stop' }) as HTMLButtonElement).disabled).toBe(true);
    expect(await screen.findByRole('button', { name: 'New folder' })).toBeTruthy();
  });

  it('a failed installation says why, with the exit code', async () => {
    permissions = ['server:view', 'server:power'];
    failure = {
      state: 'install_failed',
      stateMessage: 'install script exited with code 7',
      exitCode: 7,
    };
    try {
      renderAt('/servers/s1');
      const reason = await screen.findByTestId('state-reason');
      expect(reason.textContent).toContain('The installation failed');
      expect(reason.textContent).toContain('install script exited with code 7');
      expect(reason.textContent).toContain('(exit code 7)');
      expect(reason.textContent).toContain('Reinstall');
    } finally {
      failure = {};
    }
  });

  it('a section the user may not open says so instead of breaking', async () => {
    permissions = ['server:view', 'file:read'];
    renderAt('/servers/s1/settings');
    expect(await screen.findByText('This section is not available to you.')).toBeTruthy();
  });
});
