import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { configureApi, type Server } from '../../api';
import { fail, json, ok, startServer } from '../../test/httpServer';
import { RuntimeForm } from './RuntimeForm';

let srv: Awaited<ReturnType<typeof startServer>>;
let refuse = false;

beforeAll(async () => {
  srv = await startServer((req, res) => {
    if (req.method === 'PATCH' && req.url === '/api/servers/s1') {
      if (refuse)
        return json(
          res,
          422,
          fail('VALIDATION_ERROR', 'runtime: the node has no Docker engine that answers', {
            details: { runtime: ['the node has no Docker engine that answers'] },
          }),
        );
      return json(res, 200, ok({ id: 's1' }));
    }
    json(res, 404, { success: false, error: 'no such route', code: 'NOT_FOUND', requestId: 'x' });
  });
  configureApi({ baseUrl: srv.url, onUnauthorized: () => {} });
});
afterAll(() => srv.close());

const server = { id: 's1', runtime: 'native', image: null } as unknown as Server;
const images = [
  { label: 'Java 21', image: 'ghcr.io/pterodactyl/yolks:java_21' },
  { label: 'Java 17', image: 'ghcr.io/pterodactyl/yolks:java_17' },
];

describe('RuntimeForm', () => {
  it('moves a native server into one of its template images', async () => {
    let saved = 0;
    render(<RuntimeForm server={server} images={images} onSaved={() => saved++} />);
    const change = screen.getByRole('button', { name: 'Change runtime' }) as HTMLButtonElement;
    expect(change.disabled).toBe(true);
    await userEvent.selectOptions(screen.getByLabelText('Runtime'), 'ghcr.io/pterodactyl/yolks:java_17');
    await userEvent.click(change);
    await screen.findByText(/from its next start/);
    const sent = JSON.parse(srv.log.filter((r) => r.method === 'PATCH').at(-1)!.body);
    expect(sent).toEqual({ runtime: 'docker', image: 'ghcr.io/pterodactyl/yolks:java_17' });
    expect(saved).toBe(1);
  });

  it('shows why the node refused the change', async () => {
    refuse = true;
    render(<RuntimeForm server={server} images={images} onSaved={() => {}} />);
    await userEvent.selectOptions(screen.getAllByLabelText('Runtime').at(-1)!, 'ghcr.io/pterodactyl/yolks:java_21');
    await userEvent.click(screen.getAllByRole('button', { name: 'Change runtime' }).at(-1)!);
    expect((await screen.findAllByText(/no Docker engine that answers/)).length).toBeGreaterThan(0);
    expect(screen.queryAllByText(/from its next start/)).toHaveLength(0);
  });
});
