import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router';
import { ApiError, configureApi, type Server, type Session } from '../api';
import { AuthProvider, StaticAuthProvider } from '../auth/AuthContext';
import { RequireAuth } from '../auth/RequireAuth';
import { CommandInput } from '../pages/server/ConsoleTab';
import { LoginPage, safeNext } from '../pages/LoginPage';
import { fail, json, ok, startServer } from '../test/httpServer';
import { ConfirmDialog } from './Dialog';
import { ErrorMessage } from './ErrorMessage';
import { Layout } from './Layout';
import { PowerButtons } from './PowerButtons';
import { VariableFields } from './VariableFields';

let srv: Awaited<ReturnType<typeof startServer>>;
beforeAll(async () => {
  srv = await startServer((_req, res) => json(res, 200, ok(null)));
});
afterAll(() => srv.close());
beforeEach(() => {
  srv.log.length = 0;
  configureApi({ baseUrl: srv.url, onUnauthorized: () => {} });
});

const user = (role: string, permissions: string[]): Session => ({
  user: {
    id: 'u1',
    username: role === 'admin' ? 'admin' : 'player',
    email: 'p@x',
    role,
    disabled: false,
    createdAt: '',
    lastLoginAt: null,
  },
  permissions,
});
const ADMIN_KEYS = [
  'server:view',
  'server:create',
  'admin:nodes',
  'admin:templates',
  'user:view',
  'monitoring:view',
  'admin:audit',
];

function renderLayout(session: Session) {
  return render(
    <MemoryRouter>
      <StaticAuthProvider session={session}>
        <Layout />
      </StaticAuthProvider>
    </MemoryRouter>,
  );
}

describe('Layout', () => {
  it('shows the administration links to an admin', () => {
    renderLayout(user('admin', ADMIN_KEYS));
    expect(screen.getByTestId('admin-nav')).toBeTruthy();
    for (const label of ['All servers', 'Nodes', 'Templates', 'Users', 'Monitoring', 'Audit log']) {
      expect(screen.getByRole('link', { name: label })).toBeTruthy();
    }
  });

  it('hides them from a user without admin permissions', () => {
    renderLayout(user('user', ['server:view', 'server:power', 'console:view']));
    expect(screen.queryByTestId('admin-nav')).toBeNull();
    expect(screen.queryByRole('link', { name: 'Nodes' })).toBeNull();
    expect(screen.getByRole('link', { name: 'Servers' })).toBeTruthy();
  });
});

const srvFixture = (state: Server['state'], permissions: string[]) => ({ id: 's1', name: 'Survival', state, permissions });

describe('PowerButtons', () => {
  it('is absent without server:power', () => {
    render(<PowerButtons server={srvFixture('offline', ['server:view'])} />);
    expect(screen.queryByRole('button', { name: 'Start' })).toBeNull();
  });

  it('enables only what the state allows and sends the action', async () => {
    let done = '';
    render(<PowerButtons server={srvFixture('offline', ['server:power'])} onDone={(a) => (done = a)} />);
    const start = screen.getByRole('button', { name: 'Start' }) as HTMLButtonElement;
    expect(start.disabled).toBe(false);
    expect((screen.getByRole('button', { name: 'Stop' }) as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole('button', { name: 'Kill' }) as HTMLButtonElement).disabled).toBe(true);
    await userEvent.click(start);
    await waitFor(() => expect(done).toBe('start'));
    expect(srv.log[0]).toMatchObject({ method: 'POST', url: '/api/servers/s1/power', body: '{"action":"start"}' });
  });

  it('shows the API error with its request id', async () => {
    srv.setHandler((_req, res) => json(res, 503, fail('AGENT_UNAVAILABLE', 'The node is offline')));
    render(<PowerButtons server={srvFixture('offline', ['server:power'])} />);
    await userEvent.click(screen.getByRole('button', { name: 'Start' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('The node is offline');
    expect(alert.textContent).toContain('req-fail');
    srv.setHandler((_req, res) => json(res, 200, ok(null)));
  });
});

describe('ErrorMessage', () => {
  it('lists field errors, the code and the request id', () => {
    const e = new ApiError('Invalid input', {
      status: 422,
      code: 'VALIDATION_ERROR',
      requestId: 'r-42',
      details: { name: ['is taken'] },
    });
    render(<ErrorMessage error={e} />);
    const text = screen.getByRole('alert').textContent ?? '';
    expect(text).toContain('Invalid input');
    expect(text).toContain('name: is taken');
    expect(text).toContain('VALIDATION_ERROR');
    expect(text).toContain('r-42');
  });
});

describe('CommandInput', () => {
  it('sends commands and recalls them with the arrow keys', async () => {
    const sent: string[] = [];
    render(<CommandInput disabled={false} onSend={(c) => (sent.push(c), true)} />);
    const input = screen.getByLabelText('Console command') as HTMLInputElement;
    await userEvent.type(input, 'say one{Enter}');
    await userEvent.type(input, 'list{Enter}');
    expect(sent).toEqual(['say one', 'list']);
    expect(input.value).toBe('');
    await userEvent.type(input, 'dra');
    await userEvent.keyboard('{ArrowUp}');
    expect(input.value).toBe('list');
    await userEvent.keyboard('{ArrowUp}');
    expect(input.value).toBe('say one');
    await userEvent.keyboard('{ArrowDown}{ArrowDown}');
    expect(input.value).toBe('dra');
  });

  it('keeps the text when the socket is not open', async () => {
    render(<CommandInput disabled={false} onSend={() => false} />);
    const input = screen.getByLabelText('Console command') as HTMLInputElement;
    await userEvent.type(input, 'stop{Enter}');
    expect(input.value).toBe('stop');
    expect(input.getAttribute('aria-invalid')).toBe('true');
  });
});

describe('VariableFields', () => {
  it('shows rule errors inline and the panel errors for the field', async () => {
    const values: Record<string, string> = { SERVER_PORT: '80' };
    render(
      <VariableFields
        specs={[
          {
            envVariable: 'SERVER_PORT',
            name: 'Port',
            description: 'Game port',
            rules: 'required|integer|between:1024,65535',
            defaultValue: '25565',
            editable: true,
          },
        ]}
        values={values}
        onChange={() => {}}
        serverErrors={(env) => (env === 'SERVER_PORT' ? ['Port is in use.'] : [])}
      />,
    );
    const input = screen.getByLabelText('Port');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText(/Must be between 1024 and 65535\. Port is in use\./)).toBeTruthy();
  });
});

describe('ConfirmDialog', () => {
  it('requires the confirmation word before confirming', async () => {
    let confirmed = 0;
    render(
      <ConfirmDialog
        open
        title="Delete server"
        message="Sure?"
        confirmLabel="Delete server"
        confirmWord="Survival"
        onConfirm={() => confirmed++}
        onClose={() => {}}
      />,
    );
    const button = screen.getByRole('button', { name: 'Delete server', hidden: true });
    await userEvent.click(button);
    expect(confirmed).toBe(0);
    await userEvent.type(screen.getByLabelText(/Type/, { selector: 'input' }), 'Survival');
    await userEvent.click(button);
    expect(confirmed).toBe(1);
  });
});

describe('login flow', () => {
  it('accepts only same-site next paths', () => {
    expect(safeNext('/servers/1')).toBe('/servers/1');
    expect(safeNext('//evil.example')).toBe('/');
    expect(safeNext('https://evil.example')).toBe('/');
    expect(safeNext('/login')).toBe('/');
    expect(safeNext(null)).toBe('/');
  });

  it('sends a signed-out visitor to login and back to the page they wanted', async () => {
    let signedIn = false;
    const session = user('user', ['server:view']);
    srv.setHandler((req, res, body) => {
      if (req.url === '/api/auth/login') {
        const { login, password } = JSON.parse(body) as { login: string; password: string };
        if (login === 'player' && password === 'secret-pass') {
          signedIn = true;
          return json(res, 200, ok(session));
        }
        return json(res, 401, fail('UNAUTHORIZED', 'Wrong username or password'));
      }
      if (req.url === '/api/auth/me' && signedIn) return json(res, 200, ok(session));
      json(res, 401, fail('UNAUTHORIZED', 'Not signed in'));
    });
    render(
      <MemoryRouter initialEntries={['/servers/s1']}>
        <AuthProvider>
          <Routes>
            <Route path="/login" element={<LoginPage />} />
            <Route
              path="/servers/:id"
              element={
                <RequireAuth>
                  <p>server page</p>
                </RequireAuth>
              }
            />
          </Routes>
        </AuthProvider>
      </MemoryRouter>,
    );
    const name = await screen.findByLabelText('Username or email');
    await userEvent.type(name, 'player');
    await userEvent.type(screen.getByLabelText('Password'), 'wrong');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toContain('Wrong username or password');
    await userEvent.clear(screen.getByLabelText('Password'));
    await userEvent.type(screen.getByLabelText('Password'), 'secret-pass');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('server page')).toBeTruthy();
    srv.setHandler((_req, res) => json(res, 200, ok(null)));
  });
});
