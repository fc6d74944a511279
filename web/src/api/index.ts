// Typed calls for every panel endpoint the UI uses. Pages import `api` and nothing else
// from the network layer.
import { apiUrl, http } from './http';
import { databaseHostsApi, databasesApi } from './databases';
import { sftpApi, sshKeysApi } from './sftp';
import { uploadFiles, type UploadProgress } from './upload';
import type {
  Alt,
  ApiKey,
  ApiKeyFamily,
  ArchiveFormat,
  AuditEntry,
  Backup,
  BackupList,
  CreatedNode,
  Ctrl,
  FileEntry,
  Health,
  ImportResult,
  ListQuery,
  CrashPolicy,
  Limits,
  NodeAllocation,
  ServerAllocations,
  NewNode,
  NewServer,
  Node,
  NodeDetail,
  MonitoringOverview,
  Page,
  PermissionCatalogue,
  PowerAction,
  RawStats,
  RestoreStatus,
  Runtime,
  S3Settings,
  SecondFactor,
  Server,
  ServerVariable,
  Session,
  StartupPreview,
  Stats,
  Subuser,
  TwoFactorCheckpoint,
  TwoFactorSetup,
  TwoFactorStatus,
  Schedule,
  ScheduleInput,
  SchedulePreview,
  ScheduleRun,
  User,
  UserPermissions,
} from './types';

export * from './types';
export * from './databases';
export * from './sftp';
export { ApiError, configureApi } from './http';
export type { UploadProgress };

const q = (query?: ListQuery) => ({ query: { ...query } });
const enc = encodeURIComponent;

function srv(id: string, rest = '') {
  return `/api/servers/${enc(id)}${rest}`;
}

export const api = {
  auth: {
    login: (login: string, password: string) =>
      http.post<Session | TwoFactorCheckpoint>('/api/auth/login', { login, password }, { noRefresh: true }),
    /** The second login step, with the checkpoint token the password step answered. */
    loginSecondFactor: (checkpointToken: string, factor: SecondFactor) =>
      http.post<Session>('/api/auth/login/two-factor', { checkpointToken, ...factor }, { noRefresh: true }),
    logout: () => http.post<void>('/api/auth/logout', undefined, { noRefresh: true }),
    /** The current session, or an UNAUTHORIZED error (no redirect: the caller decides). */
    me: () => http.get<Session>('/api/auth/me', { noRedirect: true }),
    changePassword: (currentPassword: string, newPassword: string) =>
      http.post<void>('/api/auth/password', { currentPassword, newPassword }),
    apiKeys: () => http.get<ApiKey[] | Page<ApiKey>>('/api/auth/api-keys'),
    createApiKey: (name: string, family?: ApiKeyFamily, permissions?: string[]) =>
      http.post<ApiKey>('/api/auth/api-keys', { name, permissions, family }),
    deleteApiKey: (id: string) => http.del<void>(`/api/auth/api-keys/${enc(id)}`),
    twoFactor: () => http.get<TwoFactorStatus>('/api/auth/two-factor'),
    twoFactorSetup: () => http.post<TwoFactorSetup>('/api/auth/two-factor/setup'),
    twoFactorEnable: (password: string, code: string) =>
      http.post<{ recoveryCodes: string[] }>('/api/auth/two-factor/enable', { password, code }),
    twoFactorDisable: (password: string, factor: SecondFactor) =>
      http.post<void>('/api/auth/two-factor/disable', { password, ...factor }),
  },

  twoFactorAdmin: {
    userStatus: (userId: string) => http.get<{ enabled: boolean }>(`/api/users/${enc(userId)}/two-factor`),
    reset: (userId: string) => http.del<void>(`/api/users/${enc(userId)}/two-factor`),
    settings: () => http.get<{ requiredForAdmins: boolean }>('/api/settings/two-factor'),
    saveSettings: (requiredForAdmins: boolean) =>
      http.put<{ requiredForAdmins: boolean }>('/api/settings/two-factor', { requiredForAdmins }),
  },

  permissions: () => http.get<PermissionCatalogue>('/api/permissions'),
  schedulePreview: (cron: string, timezone: string) =>
    http.get<SchedulePreview>('/api/schedules/preview', { query: { cron, timezone } }),

  servers: {
    list: (query?: ListQuery) => http.get<Page<Server>>('/api/servers', q(query)),
    get: (id: string) => http.get<Server>(srv(id)),
    create: (body: NewServer) => http.post<Server>('/api/servers', body),
    update: (
      id: string,
      body: {
        name?: string;
        description?: string;
        limits?: Limits;
        crashPolicy?: CrashPolicy;
        runtime?: Runtime;
        image?: string;
      },
    ) => http.patch<Server>(srv(id), body),
    remove: (id: string) => http.del<void>(srv(id)),
    power: (id: string, action: PowerAction) => http.post<void>(srv(id, '/power'), { action }),
    reinstall: (id: string) => http.post<void>(srv(id, '/reinstall')),
    /** Latest stats, or null while the server is not running. */
    preview: (id: string) => http.get<StartupPreview>(srv(id, '/preview')),
    stats: async (id: string) => normalizeStats(await http.get<RawStats | null>(srv(id, '/stats'))),
    variables: (id: string) => http.get<ServerVariable[]>(srv(id, '/variables')),
    setVariables: (id: string, variables: Record<string, string>) => http.put<unknown>(srv(id, '/variables'), { variables }),
    schedules: (id: string) => http.get<Schedule[]>(srv(id, '/schedules')),
    createSchedule: (id: string, input: ScheduleInput) => http.post<Schedule>(srv(id, '/schedules'), input),
    updateSchedule: (id: string, scheduleId: string, input: ScheduleInput) =>
      http.put<Schedule>(srv(id, `/schedules/${enc(scheduleId)}`), input),
    removeSchedule: (id: string, scheduleId: string) => http.del<void>(srv(id, `/schedules/${enc(scheduleId)}`)),
    runSchedule: (id: string, scheduleId: string) => http.post<{ runId: string }>(srv(id, `/schedules/${enc(scheduleId)}/run`)),
    scheduleRuns: (id: string, scheduleId: string, page = 1) =>
      http.get<Page<ScheduleRun>>(srv(id, `/schedules/${enc(scheduleId)}/runs`), { query: { page, perPage: 10 } }),
    subusers: (id: string) => http.get<Subuser[] | Page<Subuser>>(srv(id, '/subusers')),
    addSubuser: (id: string, username: string, permissions: string[]) =>
      http.post<Subuser>(srv(id, '/subusers'), { username, permissions }),
    updateSubuser: (id: string, subuserId: string, permissions: string[]) =>
      http.patch<Subuser>(srv(id, `/subusers/${enc(subuserId)}`), { permissions }),
    removeSubuser: (id: string, subuserId: string) => http.del<void>(srv(id, `/subusers/${enc(subuserId)}`)),
    allocations: (id: string) => http.get<ServerAllocations>(srv(id, '/allocations')),
    addAllocation: (id: string, notes = '') => http.post<ServerAllocations>(srv(id, '/allocations'), { notes }),
    setAllocationNotes: (id: string, allocationId: string, notes: string) =>
      http.patch<ServerAllocations>(srv(id, `/allocations/${enc(allocationId)}`), { notes }),
    makePrimary: (id: string, allocationId: string) =>
      http.post<ServerAllocations>(srv(id, `/allocations/${enc(allocationId)}/primary`)),
    removeAllocation: (id: string, allocationId: string) =>
      http.del<ServerAllocations>(srv(id, `/allocations/${enc(allocationId)}`)),
    setAllocationLimit: (id: string, limit: number) => http.put<ServerAllocations>(srv(id, '/allocation-limit'), { limit }),
    /** WebSocket URL of the live console (same origin; the cookie authenticates). */
    consoleUrl: (id: string) => {
      const { protocol, host } = window.location;
      return `${protocol === 'https:' ? 'wss' : 'ws'}://${host}${srv(id, '/console')}`;
    },
  },

  backups: {
    list: (id: string) => http.get<BackupList>(srv(id, '/backups')),
    create: (id: string, body: { name?: string; ignored?: string[]; locked?: boolean }) =>
      http.post<Backup>(srv(id, '/backups'), body),
    setLocked: (id: string, backupId: string, locked: boolean) =>
      http.patch<Backup>(srv(id, `/backups/${enc(backupId)}`), { locked }),
    remove: (id: string, backupId: string) => http.del<void>(srv(id, `/backups/${enc(backupId)}`)),
    restore: (id: string, backupId: string, truncate: boolean) =>
      http.post<RestoreStatus>(srv(id, `/backups/${enc(backupId)}/restore`), { truncate }),
    lastRestore: (id: string) => http.get<RestoreStatus>(srv(id, '/backups/restore')),
    downloadUrl: (id: string, backupId: string) => apiUrl(srv(id, `/backups/${enc(backupId)}/download`)),
  },

  databases: databasesApi,
  databaseHosts: databaseHostsApi,
  sshKeys: sshKeysApi,
  sftp: sftpApi,

  settings: {
    s3: () => http.get<S3Settings | null>('/api/settings/backups/s3'),
    setS3: (body: S3Settings & { secretKey?: string }) => http.put<S3Settings>('/api/settings/backups/s3', body),
    clearS3: () => http.del<void>('/api/settings/backups/s3'),
  },

  files: {
    list: (id: string, path: string) => http.get<FileEntry[]>(srv(id, '/files/list'), { query: { path } }),
    read: (id: string, path: string) => http.get<string>(srv(id, '/files/contents'), { query: { path }, text: true }),
    write: (id: string, path: string, contents: string) =>
      http.put<void>(srv(id, '/files/contents'), new Blob([contents], { type: 'text/plain' }), { query: { path } }),
    downloadUrl: (id: string, path: string) => apiUrl(srv(id, '/files/download'), { path }),
    upload: (id: string, dir: string, files: File[], onProgress: (p: UploadProgress) => void, signal?: AbortSignal) =>
      uploadFiles(srv(id, '/files/upload'), { path: dir }, files, onProgress, signal),
    mkdir: (id: string, path: string) => http.post<void>(srv(id, '/files/mkdir'), { path }),
    rename: (id: string, from: string, to: string) => http.post<void>(srv(id, '/files/rename'), { from, to }),
    remove: (id: string, paths: string[]) => http.post<void>(srv(id, '/files/delete'), { paths }),
    compress: (id: string, paths: string[], destination: string, format: ArchiveFormat) =>
      http.post<void>(srv(id, '/files/compress'), { paths, destination, format }),
    decompress: (id: string, path: string, destination: string) =>
      http.post<void>(srv(id, '/files/decompress'), { path, destination }),
  },

  nodes: {
    list: (query?: ListQuery) => http.get<Page<Node>>('/api/agents', q(query)),
    get: (id: string) => http.get<NodeDetail>(`/api/agents/${enc(id)}`),
    create: (body: NewNode) => http.post<CreatedNode>('/api/agents', body),
    update: (id: string, body: Partial<NewNode>) => http.patch<Node>(`/api/agents/${enc(id)}`, body),
    remove: (id: string) => http.del<void>(`/api/agents/${enc(id)}`),
    allocations: (id: string, query?: ListQuery) =>
      http.get<Page<NodeAllocation>>(`/api/agents/${enc(id)}/allocations`, q(query)),
    addAllocations: (id: string, ip: string, ports: string, notes = '') =>
      http.post<{ ip: string; requested: number; added: number }>(`/api/agents/${enc(id)}/allocations`, { ip, ports, notes }),
    removeAllocations: (id: string, ids: string[]) =>
      http.post<{ removed: number }>(`/api/agents/${enc(id)}/allocations/remove`, { ids }),
  },

  ctrls: {
    list: (query?: ListQuery) => http.get<Page<Ctrl>>('/api/ctrls', q({ perPage: 100, ...query })),
    create: (body: { name: string; description?: string }) => http.post<Ctrl>('/api/ctrls', body),
    update: (id: string, body: { name?: string; description?: string }) => http.patch<Ctrl>(`/api/ctrls/${enc(id)}`, body),
    remove: (id: string) => http.del<void>(`/api/ctrls/${enc(id)}`),
  },

  alts: {
    list: (ctrlId?: string) => http.get<Page<Alt> | Alt[]>('/api/alts', { query: { ctrlId, perPage: 100 } }),
    get: (id: string) => http.get<Alt>(`/api/alts/${enc(id)}`),
    /** Replaces the whole template document. */
    replace: (id: string, template: Record<string, unknown>) => http.put<Alt>(`/api/alts/${enc(id)}`, { template }),
    remove: (id: string) => http.del<void>(`/api/alts/${enc(id)}`),
    import: (ctrlId: string, egg: unknown) => http.post<ImportResult>('/api/alts/import', { ctrlId, egg }),
    /** Replaces a template from an egg, keeping its name, category and servers. */
    updateFromEgg: (id: string, egg: unknown) => http.post<ImportResult>(`/api/alts/${enc(id)}/import`, { egg }),
    export: (id: string) => http.get<unknown>(`/api/alts/${enc(id)}/export`),
  },

  users: {
    list: (query?: ListQuery) => http.get<Page<User>>('/api/users', q(query)),
    get: (id: string) => http.get<User>(`/api/users/${enc(id)}`),
    create: (body: { username: string; email: string; password: string; role: string }) => http.post<User>('/api/users', body),
    update: (id: string, body: { email?: string; role?: string; disabled?: boolean; password?: string }) =>
      http.patch<User>(`/api/users/${enc(id)}`, body),
    remove: (id: string) => http.del<void>(`/api/users/${enc(id)}`),
    permissions: (id: string) => http.get<UserPermissions>(`/api/users/${enc(id)}/permissions`),
    setPermissions: (id: string, grants: string[], revocations: string[]) =>
      http.put<UserPermissions>(`/api/users/${enc(id)}/permissions`, { grants, revocations }),
  },

  monitoring: {
    health: () => http.get<Health>('/api/monitoring/health'),
    overview: () => http.get<MonitoringOverview>('/api/monitoring'),
  },

  audit: (query?: ListQuery) => http.get<Page<AuditEntry>>('/api/audit', q(query)),
};

/** Accepts either a bare array or a paginated page and returns the items. */
export function itemsOf<T>(data: T[] | Page<T> | null | undefined): T[] {
  if (!data) return [];
  return Array.isArray(data) ? data : (data.items ?? []);
}

/** One Stats shape from either wire form (REST or console socket). */
export function normalizeStats(raw: RawStats | null | undefined): Stats | null {
  if (!raw) return null;
  return {
    cpuPercent: raw.cpuPercent,
    memoryBytes: raw.memoryBytes,
    memoryLimitBytes: raw.memoryLimitBytes ?? null,
    diskBytes: raw.diskBytes,
    uptimeSecs: raw.uptimeSecs ?? raw.uptimeSeconds ?? 0,
    players: raw.players ?? null,
  };
}
