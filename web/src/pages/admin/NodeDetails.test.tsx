import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { configureApi, type Node } from '../../api';
import { json, ok, startServer } from '../../test/httpServer';
import { NodeDetails } from './NodeDetails';

let srv: Awaited<ReturnType<typeof startServer>>;

const node = { id: 'n1', name: 'box' } as Node;
const system = {
  hostname: 'box',
  os: 'Debian GNU/Linux 12',
  arch: 'x86_64',
  cpuCount: 2,
  memoryTotalBytes: 8 * 2 ** 30,
  memoryAvailableBytes: 6 * 2 ** 30,
  diskTotalBytes: 100 * 2 ** 30,
  diskAvailableBytes: 40 * 2 ** 30,
  agentVersion: '0.1.0',
  uptimeSeconds: 90,
  serverCount: 3,
  runtimes: ['native'],
};
let answer: unknown = null;

beforeAll(async () => {
  srv = await startServer((req, res) => {
    if (req.url === '/api/agents/n1') return json(res, 200, ok({ ...node, system: answer }));
    json(res, 404, { success: false, error: 'no such route', code: 'NOT_FOUND', requestId: 'x' });
  });
  configureApi({ baseUrl: srv.url, onUnauthorized: () => {} });
});
afterAll(() => srv.close());

describe('NodeDetails', () => {
  it('names the runtimes and the cgroup version that enforces limits', async () => {
    answer = { ...system, cgroupVersion: 'v2', isolatedUsers: true };
    render(<NodeDetails node={node} />);
    expect((await screen.findByTestId('node-runtimes')).textContent).toContain('native');
    expect(screen.getByTestId('node-limits').textContent).toContain('enforced by the kernel (cgroup v2)');
    expect(screen.getByTestId('node-users').textContent).toContain('each server as an unprivileged user');
  });

  it('says plainly when the kernel does not enforce limits', async () => {
    answer = { ...system, isolatedUsers: false, runtimes: ['native', 'docker'], dockerVersion: '20.10.24' };
    render(<NodeDetails node={node} />);
    expect((await screen.findByTestId('node-runtimes')).textContent).toBe('native, docker (engine 20.10.24)');
    expect((await screen.findByTestId('node-limits')).textContent).toContain('not enforced by the kernel');
    expect(screen.getByTestId('node-users').textContent).toContain("the agent's own user");
  });

  it('shows the SFTP port and host key the agent reports', async () => {
    const fingerprint = 'SHA256:3CwqRa2+1dOsuF0nMy0Y5mlb8pU1i8oYQ4rzvS1Fvbs';
    answer = { ...system, isolatedUsers: false, sftp: { port: 2022, hostKeyFingerprint: fingerprint, readOnly: true } };
    render(<NodeDetails node={node} />);
    const sftp = await screen.findByTestId('node-sftp');
    expect(sftp.textContent).toBe(`port 2022 (read-only), host key ${fingerprint}`);
  });

  it('says so when SFTP is turned off', async () => {
    answer = { ...system, isolatedUsers: false };
    render(<NodeDetails node={node} />);
    expect((await screen.findByTestId('node-sftp')).textContent).toBe('turned off on this node');
  });

  it('says so when the agent is not reachable', async () => {
    answer = null;
    render(<NodeDetails node={node} />);
    expect((await screen.findByTestId('node-unreachable')).textContent).toContain('not reachable');
  });
});
