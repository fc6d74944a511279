import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router';
import { configureApi, type Session } from '../../api';
import { AuthProvider, StaticAuthProvider } from '../../auth/AuthContext';
import { RequireAuth } from '../../auth/RequireAuth';
import { fail, json, ok, startServer } from '../../test/httpServer';
import { LoginPage } from '../LoginPage';
import { TwoFactorCard } from './TwoFactorCard';

let srv: Awaited<ReturnType<typeof startServer>>;
beforeAll(async () => {
  srv = await startServer((_req, res) => json(res, 200, ok(null)));
});
afterAll(() => srv.close());
beforeEach(() => {
  srv.log.length = 0;
  configureApi({ baseUrl: srv.url, onUnauthorized: () => {} });
});

const session = (extra: Partial<Session> = {}): Session => ({
  user: { id: 'u1', username: 'admin', email: 'a@x', role: 'admin', disabled: false, createdAt: '', lastLoginAt: null },
  permissions: ['server:view'],
  ...extra,
});

function app(initial: string) {
  return (
    <MemoryRouter initialEntries={[initial]}>
      <AuthProvider>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          <Route
            path="*"
            element={
              <RequireAuth>
                <p>signed in</p>
              </RequireAuth>
            }
          />
        </Routes>
      </AuthProvider>
    </MemoryRouter>
  );
}

describe('two-factor login', () => {
  it('asks for the code after the password and sends it with the checkpoint token', async () => {
    let signedIn = false;
    srv.setHandler((req, res, body) => {
      if (req.url === '/api/auth/login')
        return json(res, 200, ok({ twoFactorRequired: true, checkpointToken: 'cp-1', expiresAt: new Date().toISOString() }));
      if (req.url === '/api/auth/login/two-factor') {
        const sent = JSON.parse(body) as { checkpointToken: string; code?: string; recoveryCode?: string };
        if (sent.checkpointToken === 'cp-1' && sent.recoveryCode === 'abcde-fghjk') {
          signedIn = true;
          return json(res, 200, ok(session()));
        }
        return json(
          res,
          422,
          fail('VALIDATION_ERROR', 'Invalid input', { details: { code: ['is not the current code of your authenticator app'] } }),
        );
      }
      if (req.url === '/api/auth/me' && signedIn) return json(res, 200, ok(session()));
      json(res, 401, fail('UNAUTHORIZED', 'Not signed in'));
    });
    render(app('/servers'));
    await userEvent.type(await screen.findByLabelText('Username or email'), 'admin');
    await userEvent.type(screen.getByLabelText('Password'), 'pass');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await userEvent.type(await screen.findByLabelText('Code'), '123456');
    await userEvent.click(screen.getByRole('button', { name: 'Verify' }));
    expect(await screen.findByText('is not the current code of your authenticator app')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Use a recovery code' }));
    await userEvent.type(screen.getByLabelText('Recovery code'), 'abcde-fghjk');
    await userEvent.click(screen.getByRole('button', { name: 'Verify' }));
    expect(await screen.findByText('signed in')).toBeTruthy();
    const sent = srv.log.filter((r) => r.url === '/api/auth/login/two-factor').map((r) => JSON.parse(r.body) as object);
    expect(sent).toEqual([
      { checkpointToken: 'cp-1', code: '123456' },
      { checkpointToken: 'cp-1', recoveryCode: 'abcde-fghjk' },
    ]);
  });

  it('sends an admin who must set up two-factor sign-in to the account page', async () => {
    srv.setHandler((req, res) => {
      if (req.url === '/api/auth/me') return json(res, 200, ok(session({ twoFactorSetupRequired: true })));
      json(res, 403, fail('FORBIDDEN', 'administrators must turn on two-factor sign-in first'));
    });
    render(
      <MemoryRouter initialEntries={['/servers']}>
        <AuthProvider>
          <Routes>
            <Route path="/account" element={<p>account page</p>} />
            <Route
              path="*"
              element={
                <RequireAuth>
                  <p>servers</p>
                </RequireAuth>
              }
            />
          </Routes>
        </AuthProvider>
      </MemoryRouter>,
    );
    expect(await screen.findByText('account page')).toBeTruthy();
  });
});

describe('TwoFactorCard', () => {
  it('sets up, confirms with password and code, and shows the recovery codes once', async () => {
    let enabled = false;
    srv.setHandler((req, res, body) => {
      if (req.url === '/api/auth/two-factor')
        return json(res, 200, ok({ enabled, recoveryCodesLeft: enabled ? 10 : 0, setupRequired: false }));
      if (req.url === '/api/auth/two-factor/setup')
        return json(res, 200, ok({ secret: 'JBSWY3DPEHPK3PXP', otpauthUri: 'otpauth://totp/x', qrSvg: '<svg></svg>' }));
      if (req.url === '/api/auth/two-factor/enable') {
        expect(JSON.parse(body)).toEqual({ password: 'pw', code: '654321' });
        enabled = true;
        return json(res, 200, ok({ recoveryCodes: ['aaaaa-bbbbb', 'ccccc-ddddd'] }));
      }
      json(res, 200, ok(session()));
    });
    render(
      <StaticAuthProvider session={session()}>
        <TwoFactorCard />
      </StaticAuthProvider>,
    );
    await userEvent.click(await screen.findByRole('button', { name: 'Set up two-factor sign-in' }));
    expect((await screen.findByTestId('two-factor-secret')).textContent).toBe('JBSWY3DPEHPK3PXP');
    await userEvent.type(screen.getByLabelText('Your password'), 'pw');
    await userEvent.type(screen.getByLabelText('Code from the app'), '654321');
    await userEvent.click(screen.getByRole('button', { name: 'Turn on' }));
    expect((await screen.findByTestId('recovery-codes')).textContent).toContain('ccccc-ddddd');
    await userEvent.click(screen.getByRole('button', { name: 'I stored them' }));
    expect(await screen.findByText(/10 recovery codes left/)).toBeTruthy();
    expect(screen.queryByTestId('recovery-codes')).toBeNull();
  });
});
