import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { configureApi, type Session } from '../../api';
import { StaticAuthProvider } from '../../auth/AuthContext';
import { json, ok, startServer } from '../../test/httpServer';
import { CreateServerPage } from './CreateServerPage';

let srv: Awaited<ReturnType<typeof startServer>>;

const page = (items: unknown[]) => ({ items, total: items.length, page: 1, perPage: 100 });
const alt = {
  id: 'a1',
  ctrlId: 'c1',
  name: 'Test Game',
  description: null,
  author: null,
  startup: 'cap-testgame',
  stopCommand: 'stop',
  donePatterns: [],
  dockerImages: ['ghcr.io/cap-test/yolks:busybox', 'ghcr.io/cap-test/yolks:other'],
  variables: [],
  template: {},
};
const node = { id: 'n1', name: 'local', status: 'online', memoryMb: 4096, diskMb: 20480, serverCount: 0 };

beforeAll(async () => {
  srv = await startServer((req, res) => {
    if (req.url?.startsWith('/api/ctrls')) return json(res, 200, ok(page([{ id: 'c1', name: 'Games', description: null }])));
    if (req.url?.startsWith('/api/alts')) return json(res, 200, ok(page([alt])));
    if (req.url?.startsWith('/api/agents')) return json(res, 200, ok(page([node])));
    if (req.method === 'POST' && req.url === '/api/servers') return json(res, 200, ok({ id: 's1' }));
    json(res, 404, { success: false, error: 'no such route', code: 'NOT_FOUND', requestId: 'x' });
  });
  configureApi({ baseUrl: srv.url, onUnauthorized: () => {} });
});
afterAll(() => srv.close());

const admin: Session = {
  user: { id: 'u1', username: 'admin', email: 'a@x', role: 'admin', disabled: false, createdAt: '', lastLoginAt: null },
  permissions: ['server:create'],
};

/** Opens the wizard, picks the template and goes on to the node step. */
async function pickTemplate() {
  render(
    <MemoryRouter>
      <StaticAuthProvider session={admin}>
        <CreateServerPage />
      </StaticAuthProvider>
    </MemoryRouter>,
  );
  await userEvent.click(await screen.findByRole('radio', { name: /Test Game/ }));
  await userEvent.click(screen.getByRole('button', { name: 'Next' }));
}

describe('the create-server wizard', () => {
  it('preselects the only node', async () => {
    await pickTemplate();
    const choice = (await screen.findByRole('radio', { name: /local/ })) as HTMLInputElement;
    expect(choice.checked).toBe(true);
    expect((screen.getByRole('button', { name: 'Next' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it("sends the runtime and image chosen among the template's Docker images", async () => {
    await pickTemplate();
    await screen.findByRole('radio', { name: /local/ });
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await userEvent.type(screen.getByLabelText(/Server name/), 'boxed');
    await userEvent.selectOptions(screen.getByLabelText('Runtime'), 'ghcr.io/cap-test/yolks:other');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await userEvent.click(screen.getByRole('button', { name: 'Create server' }));
    await waitFor(() => expect(srv.log.some((r) => r.method === 'POST' && r.url === '/api/servers')).toBe(true));
    const sent = JSON.parse(srv.log.find((r) => r.method === 'POST' && r.url === '/api/servers')!.body);
    expect(sent.runtime).toBe('docker');
    expect(sent.image).toBe('ghcr.io/cap-test/yolks:other');
  });
});
