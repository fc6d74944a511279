import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { configureApi, type Schedule } from '../../api';
import { fail, json, ok, startServer } from '../../test/httpServer';
import { SchedulesTab } from './SchedulesTab';

const nightly: Schedule = {
  id: 'sch1',
  name: 'nightly',
  active: true,
  trigger: { type: 'cron', expression: '0 4 * * *', timezone: 'Europe/Berlin' },
  onlyWhenOnline: false,
  tasks: [
    { type: 'command', command: 'say bye' },
    { type: 'power', action: 'restart' },
  ],
  deadlineSeconds: 3600,
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
};

let schedules: Schedule[] = [];
let srv: Awaited<ReturnType<typeof startServer>>;

beforeAll(async () => {
  srv = await startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/api/schedules/preview') {
      const cron = url.searchParams.get('cron');
      if (cron !== '0 4 * * *')
        return json(
          res,
          422,
          fail('VALIDATION_ERROR', 'invalid cron expression', { details: { cron: ['invalid cron expression'] } }),
        );
      const zone = url.searchParams.get('timezone');
      return json(
        res,
        200,
        ok({
          description: `every day at 04:00 ${zone}`,
          nextRuns: [
            '2026-01-02T03:00:00Z',
            '2026-01-03T03:00:00Z',
            '2026-01-04T03:00:00Z',
            '2026-01-05T03:00:00Z',
            '2026-01-06T03:00:00Z',
          ],
        }),
      );
    }
    if (url.pathname === '/api/servers/s1/schedules' && req.method === 'GET') return json(res, 200, ok(schedules));
    if (url.pathname === '/api/servers/s1/schedules' && req.method === 'POST') {
      const input = JSON.parse(body) as Schedule;
      if (input.trigger.type === 'cron' && input.trigger.timezone === 'Mars/Olympus')
        return json(
          res,
          422,
          fail('VALIDATION_ERROR', 'unknown timezone', { details: { 'trigger.timezone': ['unknown timezone "Mars/Olympus"'] } }),
        );
      return json(res, 200, ok({ ...input, id: 'sch2', createdAt: '', updatedAt: '' }));
    }
    if (url.pathname === '/api/servers/s1/schedules/sch1/run') return json(res, 200, ok({ runId: 'run9' }));
    if (url.pathname === '/api/servers/s1/schedules/sch1/runs')
      return json(
        res,
        200,
        ok({
          items: [
            {
              id: 'run1',
              trigger: 'cron',
              outcome: 'failed',
              error: 'task 2 (power) failed: server is installing',
              tasks: [
                { type: 'command', outcome: 'completed' },
                { type: 'power', outcome: 'failed', error: 'server is installing' },
              ],
              startedAt: '2026-01-02T03:00:00Z',
              endedAt: '2026-01-02T03:00:01Z',
            },
          ],
          total: 1,
          page: 1,
          perPage: 10,
        }),
      );
    json(res, 404, fail('NOT_FOUND', 'no such route'));
  });
  configureApi({ baseUrl: srv.url, onUnauthorized: () => {} });
});
afterAll(() => srv.close());

describe('SchedulesTab', () => {
  it('edits a cron schedule with a preview, orders its tasks and shows field errors', async () => {
    schedules = [];
    render(<SchedulesTab serverId="s1" />);
    await userEvent.click(await screen.findByRole('button', { name: 'Add schedule' }));
    await userEvent.type(screen.getByLabelText('Name'), 'warn and restart');
    const zone = screen.getByLabelText('Timezone');
    await userEvent.clear(zone);
    await userEvent.type(zone, 'Europe/Berlin');
    expect(await screen.findByText('every day at 04:00 Europe/Berlin')).toBeTruthy();
    expect(within(screen.getByLabelText('Next runs')).getAllByRole('listitem')).toHaveLength(5);

    // Three tasks: the first kept, a wait added, a power action added; then reordered.
    await userEvent.click(screen.getByRole('button', { name: 'Add task' }));
    await userEvent.selectOptions(screen.getByLabelText('Task 2 kind'), 'wait');
    await userEvent.click(screen.getByRole('button', { name: 'Add task' }));
    await userEvent.selectOptions(screen.getByLabelText('Task 3 kind'), 'power');
    await userEvent.click(screen.getByRole('button', { name: 'Add task' }));
    await userEvent.click(screen.getByRole('button', { name: 'Remove task 4' }));
    const downs = screen.getAllByRole('button', { name: 'Down' });
    await userEvent.click(downs[1]);

    await userEvent.clear(zone);
    await userEvent.type(zone, 'Mars/Olympus');
    await userEvent.click(screen.getByRole('button', { name: 'Save schedule' }));
    expect(await screen.findAllByText(/unknown timezone "Mars\/Olympus"/)).not.toHaveLength(0);
    expect(zone.getAttribute('aria-invalid')).toBe('true');
    const sent = JSON.parse(srv.log.filter((r) => r.method === 'POST').at(-1)!.body);
    expect(sent.name).toBe('warn and restart');
    expect(sent.tasks.map((t: { type: string }) => t.type)).toEqual(['command', 'power', 'wait']);
    expect(sent.trigger).toEqual({ type: 'cron', expression: '0 4 * * *', timezone: 'Mars/Olympus' });
  }, 30_000);

  it('runs a schedule now and shows each task of its history with the error', async () => {
    schedules = [nightly];
    render(<SchedulesTab serverId="s1" />);
    await userEvent.click(await screen.findByRole('button', { name: 'Run nightly now' }));
    expect(await screen.findByText('nightly started.')).toBeTruthy();
    expect(srv.log.some((r) => r.method === 'POST' && r.url === '/api/servers/s1/schedules/sch1/run')).toBe(true);
    const history = await screen.findByRole('region', { name: 'History of nightly' });
    expect(await within(history).findByText('task 2 (power) failed: server is installing')).toBeTruthy();
    expect(within(history).getByText(/power: failed/)).toBeTruthy();
    expect(within(history).getByText('server is installing', { exact: false, selector: 'span' })).toBeTruthy();
  });
});
