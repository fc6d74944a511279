import { describe, expect, it } from 'vitest';
import { normalizeStats, type Server, type Session } from '../api';
import { adminLinks, powerAllowed, serverAccess } from './access';
import { CommandHistory } from './commandHistory';
import { formatAgo, formatBytes, joinPath, parentPath } from './format';
import { LineFeed, type FeedEvent } from './lineFeed';
import { effective, toggle } from './permissionEdit';
import { allocationRoom, countPorts } from './ports';
import { checkRules, ruleOptions } from './rules';

const session = (permissions: string[], id = 'u1'): Session => ({
  user: { id, username: 'sam', email: 's@x', role: 'user', disabled: false, createdAt: '', lastLoginAt: null },
  permissions,
});
const server = (permissions: string[]): Pick<Server, 'permissions'> => ({ permissions });

describe('CommandHistory', () => {
  it('walks back and forth and restores the draft', () => {
    const h = new CommandHistory();
    h.push('list');
    h.push('say hi');
    h.push('say hi');
    expect(h.up('dra')).toBe('say hi');
    expect(h.up('say hi')).toBe('list');
    expect(h.up('list')).toBe('list');
    expect(h.down()).toBe('say hi');
    expect(h.down()).toBe('dra');
    expect(h.down()).toBe('dra');
  });

  it('keeps at most `limit` entries and ignores blanks', () => {
    const h = new CommandHistory(2);
    ['a', ' ', 'b', 'c'].forEach((c) => h.push(c));
    expect(h.up('')).toBe('c');
    expect(h.up('')).toBe('b');
    expect(h.up('')).toBe('b');
  });
});

describe('serverAccess', () => {
  it('shows only the tabs and actions the permissions allow', () => {
    const a = serverAccess(server(['server:view', 'console:view', 'file:read']));
    expect(a.tabs).toEqual(['console', 'files', 'startup']);
    expect(a).toMatchObject({
      power: false,
      sendCommand: false,
      writeFiles: false,
      deleteFiles: false,
      remove: false,
      editStartup: false,
    });
  });

  it('gives subusers and settings to holders of server:update', () => {
    const all = [
      'server:view',
      'server:update',
      'server:delete',
      'server:power',
      'console:view',
      'console:command',
      'file:read',
      'file:write',
      'file:delete',
      'file:archive',
      'file:sftp',
      'network:view',
      'network:manage',
      'backup:view',
      'backup:create',
      'backup:restore',
      'backup:delete',
      'database:view',
      'database:create',
      'database:delete',
    ];
    const a = serverAccess(server(all));
    expect(a.tabs).toEqual(['console', 'files', 'backups', 'databases', 'startup', 'network', 'subusers', 'settings']);
    expect(Object.values(a).every((v) => v !== false)).toBe(true);
  });

  it('shows the network tab with network:view and its changes with network:manage', () => {
    const viewer = serverAccess(server(['network:view']));
    expect(viewer.tabs).toEqual(['network']);
    expect(viewer.manageNetwork).toBe(false);
    expect(serverAccess(server(['network:view', 'network:manage'])).manageNetwork).toBe(true);
  });

  it('shows how to connect over SFTP only with file:sftp', () => {
    expect(serverAccess(server(['file:read'])).sftp).toBe(false);
    expect(serverAccess(server(['file:sftp'])).sftp).toBe(true);
  });

  it('hides everything for a subuser with no keys', () => {
    expect(serverAccess(server([])).tabs).toEqual([]);
  });
});

describe('adminLinks', () => {
  it('lists nothing for a plain user and everything for an admin', () => {
    expect(adminLinks(session(['server:view', 'server:power', 'file:read']))).toEqual([]);
    const all = ['server:create', 'admin:nodes', 'admin:templates', 'user:view', 'monitoring:view', 'admin:audit'];
    expect(adminLinks(session(all)).map((l) => l.label)).toEqual([
      'All servers',
      'Nodes',
      'Templates',
      'Users',
      'Monitoring',
      'Audit log',
    ]);
    expect(adminLinks(session(['monitoring:view'])).map((l) => l.to)).toEqual(['/admin/monitoring']);
  });
});

describe('powerAllowed', () => {
  it('matches the state machine', () => {
    expect(powerAllowed('offline')).toEqual({ start: true, stop: false, restart: false, kill: false });
    expect(powerAllowed('running')).toEqual({ start: false, stop: true, restart: true, kill: true });
    expect(powerAllowed('stopping')).toEqual({ start: false, stop: false, restart: false, kill: true });
    expect(powerAllowed('installing')).toEqual({ start: false, stop: false, restart: false, kill: false });
    expect(powerAllowed('crashed').start).toBe(true);
  });
});

describe('permission grid edits', () => {
  const base = { rolePermissions: ['a', 'b'], grants: [], revocations: [] };
  it('revokes a role key when unticked and restores it when ticked', () => {
    const off = toggle(base, 'a', false);
    expect(off).toMatchObject({ grants: [], revocations: ['a'] });
    expect([...effective(off)]).toEqual(['b']);
    expect(toggle(off, 'a', true)).toMatchObject({ grants: [], revocations: [] });
  });
  it('grants a non-role key and removes the grant again', () => {
    const on = toggle(base, 'c', true);
    expect(on).toMatchObject({ grants: ['c'], revocations: [] });
    expect(effective(on).has('c')).toBe(true);
    expect(toggle(on, 'c', false)).toMatchObject({ grants: [], revocations: [] });
  });
});

describe('checkRules', () => {
  it('checks required, integer and ranges', () => {
    expect(checkRules('', 'required|integer')).toEqual(['This value is required.']);
    expect(checkRules('', 'nullable|integer')).toEqual([]);
    expect(checkRules('abc', 'required|integer')).toContain('Must be a whole number.');
    expect(checkRules('80', 'required|integer|between:1024,65535')).toEqual(['Must be between 1024 and 65535.']);
    expect(checkRules('25565', 'required|integer|between:1024,65535')).toEqual([]);
    expect(checkRules('toolongname', 'string|max:5')).toEqual(['Must be at most 5 characters.']);
  });
  it('checks in: and regex: rules', () => {
    expect(checkRules('hard', 'required|in:easy,normal')).toEqual(['Must be one of: easy, normal.']);
    expect(ruleOptions('required|in:easy,normal')).toEqual(['easy', 'normal']);
    expect(ruleOptions('required|string')).toBeNull();
    expect(checkRules('1.20.4', 'regex:/^[0-9]+\\.[0-9]+(\\.[0-9]+)?$/')).toEqual([]);
    expect(checkRules('latest!', 'regex:/^[a-z0-9.]+$/')).toEqual(['Has the wrong format.']);
  });
});

describe('format helpers', () => {
  it('formats sizes, ages and paths', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GiB');
    expect(formatAgo('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:02:00Z'))).toBe('2m ago');
    expect(formatAgo(null)).toBe('never');
    expect(joinPath('/', 'a')).toBe('/a');
    expect(joinPath('/x/', '/b')).toBe('/x/b');
    expect(parentPath('/x/y')).toBe('/x');
    expect(parentPath('/x')).toBe('/');
  });
});

describe('LineFeed', () => {
  it('keeps a bounded buffer and replaces it on reset', () => {
    const f = new LineFeed(3);
    const events: FeedEvent[] = [];
    f.subscribe((e) => events.push(e));
    f.append(['1', '2']);
    f.append(['3', '4']);
    expect(f.snapshot()).toEqual(['2', '3', '4']);
    f.reset(['h1']);
    expect(f.snapshot()).toEqual(['h1']);
    expect(events.map((e) => e.kind)).toEqual(['append', 'append', 'reset']);
  });
});

describe('normalizeStats', () => {
  it('reads both wire forms of uptime and treats a missing limit as unlimited', () => {
    const base = { cpuPercent: 5, memoryBytes: 10, diskBytes: 3 };
    expect(normalizeStats({ ...base, uptimeSeconds: 7 })).toEqual({
      ...base,
      uptimeSecs: 7,
      memoryLimitBytes: null,
      players: null,
    });
    const players = { online: 1, max: 12, map: 'oa_dm1', names: ['Angelyss'] };
    expect(normalizeStats({ ...base, uptimeSecs: 9, memoryLimitBytes: 100, players })).toEqual({
      ...base,
      uptimeSecs: 9,
      memoryLimitBytes: 100,
      players,
    });
    expect(normalizeStats(null)).toBeNull();
  });
});

describe('port lists', () => {
  it('counts distinct ports in lists and ranges', () => {
    expect(countPorts('25565-25570, 27015,25566')).toEqual({ count: 7 });
    expect(countPorts('30000-30999')).toEqual({ count: 1000 });
  });

  it('explains what is wrong', () => {
    for (const bad of ['', '80', '70000', '2000-1999', 'abc', '1024-65535', '25565-']) {
      expect(countPorts(bad), bad).toHaveProperty('error');
    }
  });

  it('says whether a server has room for another allocation', () => {
    expect(allocationRoom(1, 3)).toEqual({ canAdd: true, text: '1 of 3 allocations in use.' });
    expect(allocationRoom(2, 2).canAdd).toBe(false);
    expect(allocationRoom(2, 2).text).toContain('administrator');
  });
});
