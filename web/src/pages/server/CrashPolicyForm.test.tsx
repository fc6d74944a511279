import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { configureApi, type Server } from '../../api';
import { sampleServer } from '../../test/fixtures';
import { fail, json, ok, startServer } from '../../test/httpServer';
import { CrashPolicyForm } from './CrashPolicyForm';

const server = sampleServer({
  crashPolicy: { autoRestart: true, maxRestarts: 3, windowSeconds: 600, backoffMs: 2000, maxBackoffMs: 60000 },
  permissions: ['server:view', 'server:update'],
});

let srv: Awaited<ReturnType<typeof startServer>>;

beforeAll(async () => {
  srv = await startServer((req, res, body) => {
    if (req.method !== 'PATCH' || req.url !== '/api/servers/s1') return json(res, 404, fail('NOT_FOUND', 'no such route'));
    const { crashPolicy } = JSON.parse(body) as { crashPolicy: Server['crashPolicy'] };
    if (crashPolicy && crashPolicy.maxBackoffMs < crashPolicy.backoffMs)
      return json(
        res,
        422,
        fail('VALIDATION_ERROR', 'must be at least the first back-off (backoffMs)', {
          details: { 'crashPolicy.maxBackoffMs': ['must be at least the first back-off (backoffMs)'] },
        }),
      );
    json(res, 200, ok({ ...server, crashPolicy }));
  });
  configureApi({ baseUrl: srv.url, onUnauthorized: () => {} });
});
afterAll(() => srv.close());

describe('CrashPolicyForm', () => {
  it('sends the whole policy and shows field errors from the panel', async () => {
    let saved: Server | null = null;
    render(<CrashPolicyForm server={server} onSaved={(s) => (saved = s)} />);
    await userEvent.click(screen.getByLabelText('Restart automatically after a crash'));
    const restarts = screen.getByLabelText('Max restarts');
    await userEvent.clear(restarts);
    await userEvent.type(restarts, '5');
    await userEvent.click(screen.getByRole('button', { name: 'Save crash policy' }));
    await screen.findByText('Crash policy saved.');
    expect(JSON.parse(srv.log.at(-1)!.body)).toEqual({
      crashPolicy: { autoRestart: false, maxRestarts: 5, windowSeconds: 600, backoffMs: 2000, maxBackoffMs: 60000 },
    });
    expect(saved!.crashPolicy?.autoRestart).toBe(false);

    const ceiling = screen.getByLabelText('Longest back-off (ms)');
    await userEvent.clear(ceiling);
    await userEvent.type(ceiling, '1000');
    await userEvent.click(screen.getByRole('button', { name: 'Save crash policy' }));
    expect(await screen.findAllByText(/must be at least the first back-off/)).not.toHaveLength(0);
    expect(ceiling.getAttribute('aria-invalid')).toBe('true');
  });
});
