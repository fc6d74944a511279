// What the signed-in user may see. Hiding is a courtesy: the API enforces every rule.
import type { Server, Session } from '../api';

export type ServerTab =
  'console' | 'files' | 'backups' | 'databases' | 'startup' | 'network' | 'schedules' | 'subusers' | 'settings';

export interface ServerAccess {
  tabs: ServerTab[];
  power: boolean;
  sendCommand: boolean;
  writeFiles: boolean;
  deleteFiles: boolean;
  archiveFiles: boolean;
  /** Connect over SFTP (the server page shows how). */
  sftp: boolean;
  editStartup: boolean;
  manageNetwork: boolean;
  createBackups: boolean;
  restoreBackups: boolean;
  deleteBackups: boolean;
  createDatabases: boolean;
  deleteDatabases: boolean;
  rename: boolean;
  reinstall: boolean;
  remove: boolean;
}

const has = (keys: readonly string[], key: string) => keys.includes(key);

/** What the caller may do on one server, from the keys the panel lists for it
 * (`server.permissions`: the owner's and admins' own keys, or a subuser's grant). */
export function serverAccess(server: Pick<Server, 'permissions'>): ServerAccess {
  const p = server.permissions;
  const update = has(p, 'server:update');
  const remove = has(p, 'server:delete');
  const tabs: ServerTab[] = [];
  if (has(p, 'console:view')) tabs.push('console');
  if (has(p, 'file:read')) tabs.push('files');
  if (has(p, 'backup:view')) tabs.push('backups');
  if (has(p, 'database:view')) tabs.push('databases');
  if (has(p, 'server:view')) tabs.push('startup');
  if (has(p, 'network:view')) tabs.push('network');
  if (has(p, 'server:schedule')) tabs.push('schedules');
  if (update) tabs.push('subusers');
  if (update || remove) tabs.push('settings');
  return {
    tabs,
    power: has(p, 'server:power'),
    sendCommand: has(p, 'console:command'),
    writeFiles: has(p, 'file:write'),
    deleteFiles: has(p, 'file:delete'),
    archiveFiles: has(p, 'file:archive'),
    sftp: has(p, 'file:sftp'),
    editStartup: update,
    manageNetwork: has(p, 'network:manage'),
    createBackups: has(p, 'backup:create'),
    restoreBackups: has(p, 'backup:restore'),
    deleteBackups: has(p, 'backup:delete'),
    createDatabases: has(p, 'database:create'),
    deleteDatabases: has(p, 'database:delete'),
    rename: update,
    reinstall: update,
    remove,
  };
}

export interface AdminLink {
  to: string;
  label: string;
  permission: string;
}

export const ADMIN_LINKS: AdminLink[] = [
  { to: '/admin/servers', label: 'All servers', permission: 'server:create' },
  { to: '/admin/nodes', label: 'Nodes', permission: 'admin:nodes' },
  { to: '/admin/templates', label: 'Templates', permission: 'admin:templates' },
  { to: '/admin/users', label: 'Users', permission: 'user:view' },
  { to: '/admin/monitoring', label: 'Monitoring', permission: 'monitoring:view' },
  { to: '/admin/audit', label: 'Audit log', permission: 'admin:audit' },
  { to: '/admin/database-hosts', label: 'Database hosts', permission: 'admin:settings' },
  { to: '/admin/backups', label: 'Backups', permission: 'admin:settings' },
];

export function adminLinks(session: Session | null): AdminLink[] {
  const keys = session?.permissions ?? [];
  return ADMIN_LINKS.filter((l) => keys.includes(l.permission));
}

/** Which power buttons make sense in a state (the server decides for real). */
export function powerAllowed(state: Server['state']): Record<'start' | 'stop' | 'restart' | 'kill', boolean> {
  const stopped = state === 'offline' || state === 'crashed';
  const busy = state === 'installing';
  return {
    start: stopped,
    stop: state === 'running' || state === 'starting',
    restart: state === 'running' || state === 'starting' || state === 'crashed',
    kill: !stopped && !busy && state !== 'install_failed',
  };
}
