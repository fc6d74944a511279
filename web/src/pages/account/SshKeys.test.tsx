import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { configureApi, type SshKey } from '../../api';
import { fail, json, ok, startServer } from '../../test/httpServer';
import { SftpDetails } from '../server/SftpDetails';
import { SshKeysCard } from './SshKeysCard';

let srv: Awaited<ReturnType<typeof startServer>>;
beforeAll(async () => {
  srv = await startServer((_req, res) => json(res, 200, ok(null)));
});
afterAll(() => srv.close());
beforeEach(() => {
  srv.log.length = 0;
  configureApi({ baseUrl: srv.url, onUnauthorized: () => {} });
});

const FINGERPRINT = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

describe('SshKeysCard', () => {
  it('adds a key, shows its fingerprint, shows why a bad key is refused, and removes it', async () => {
    let keys: SshKey[] = [];
    srv.setHandler((req, res, body) => {
      if (req.url === '/api/auth/ssh-keys' && req.method === 'GET') return json(res, 200, ok(keys));
      if (req.url === '/api/auth/ssh-keys' && req.method === 'POST') {
        const sent = JSON.parse(body) as { name: string; publicKey: string };
        if (!sent.publicKey.startsWith('ssh-ed25519 ')) {
          const why = 'not an SSH public key; paste one line such as the content of ~/.ssh/id_ed25519.pub';
          return json(res, 422, fail('VALIDATION_ERROR', why, { details: { publicKey: [why] } }));
        }
        const key = {
          id: 'k1',
          name: sent.name,
          algorithm: 'ssh-ed25519',
          fingerprint: FINGERPRINT,
          publicKey: sent.publicKey,
          lastUsedAt: null,
          createdAt: new Date().toISOString(),
        };
        keys = [key];
        return json(res, 200, ok(key));
      }
      if (req.url === '/api/auth/ssh-keys/k1' && req.method === 'DELETE') {
        keys = [];
        return json(res, 200, ok(null));
      }
      json(res, 404, fail('NOT_FOUND', 'no such route'));
    });
    render(<SshKeysCard />);
    await userEvent.type(await screen.findByLabelText('Key name'), 'laptop');
    await userEvent.type(screen.getByLabelText('Public key'), 'hello');
    await userEvent.click(screen.getByRole('button', { name: 'Add key' }));
    const field = await screen.findByLabelText('Public key');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getAllByText(/not an SSH public key/).length).toBeGreaterThan(0);

    await userEvent.clear(field);
    await userEvent.type(field, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEx laptop');
    await userEvent.click(screen.getByRole('button', { name: 'Add key' }));
    const row = await screen.findByTestId('ssh-key');
    expect(row.textContent).toContain('laptop');
    expect(row.textContent).toContain(FINGERPRINT);
    expect(screen.queryByText(/not an SSH public key/)).toBeNull();

    await userEvent.click(within(row).getByRole('button', { name: 'Remove' }));
    const dialog = await screen.findByRole('dialog');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Remove' }));
    await waitFor(() => expect(screen.queryByTestId('ssh-key')).toBeNull());
    expect(srv.log.some((r) => r.method === 'DELETE' && r.url === '/api/auth/ssh-keys/k1')).toBe(true);
  }, 30_000);
});

describe('SftpDetails', () => {
  it('asks the node only when opened and shows host, port, username, host key and link', async () => {
    srv.setHandler((req, res) => {
      if (req.url === '/api/servers/s1/sftp')
        return json(
          res,
          200,
          ok({
            host: 'node.example.com',
            port: 2022,
            username: 'alice.0a1b2c3d',
            hostKeyFingerprint: FINGERPRINT,
            readOnly: false,
            url: 'sftp://alice.0a1b2c3d@node.example.com:2022',
          }),
        );
      json(res, 404, fail('NOT_FOUND', 'no such route'));
    });
    render(
      <MemoryRouter>
        <SftpDetails serverId="s1" />
      </MemoryRouter>,
    );
    expect(srv.log).toHaveLength(0);
    await userEvent.click(screen.getByText('Connect over SFTP'));
    expect((await screen.findByTestId('sftp-username')).textContent).toBe('alice.0a1b2c3d');
    expect(screen.getByTestId('sftp-host').textContent).toBe('node.example.com');
    expect(screen.getByTestId('sftp-port').textContent).toBe('2022');
    expect(screen.getByTestId('sftp-fingerprint').textContent).toBe(FINGERPRINT);
    expect(screen.getByTestId('sftp-link').getAttribute('href')).toBe('sftp://alice.0a1b2c3d@node.example.com:2022');
  });

  it('says why when the node cannot tell', async () => {
    srv.setHandler((_req, res) =>
      json(res, 503, fail('AGENT_UNAVAILABLE', 'node box is offline; try again when it is back online')),
    );
    render(
      <MemoryRouter>
        <SftpDetails serverId="s1" />
      </MemoryRouter>,
    );
    await userEvent.click(screen.getByText('Connect over SFTP'));
    expect((await screen.findByRole('alert')).textContent).toContain('node box is offline');
  });
});
