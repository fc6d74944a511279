// Shapes of the panel's REST API (design §5). Everything the UI reads from the server
// is typed here so a contract change is a change in one place.
import type { NodeSftp } from './sftp';

export type ServerState = 'offline' | 'installing' | 'install_failed' | 'starting' | 'running' | 'stopping' | 'crashed';

export type PowerAction = 'start' | 'stop' | 'restart' | 'kill';
export type NodeStatus = 'online' | 'offline' | 'degraded' | 'unknown';
export type Role = 'admin' | 'moderator' | 'user' | (string & {});

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  perPage: number;
}

export interface ListQuery {
  page?: number;
  perPage?: number;
  name?: string;
}

export interface User {
  id: string;
  username: string;
  email: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

export interface Session {
  user: User;
  permissions: string[];
  /** The panel requires two-factor sign-in of this account and it is not on yet. */
  twoFactorSetupRequired?: boolean;
}

/** What a correct password earns when two-factor sign-in is on. */
export interface TwoFactorCheckpoint {
  twoFactorRequired: true;
  checkpointToken: string;
  expiresAt: string;
}

/** A code from the authenticator app, or a recovery code. */
export type SecondFactor = { code: string } | { recoveryCode: string };

export interface TwoFactorStatus {
  enabled: boolean;
  recoveryCodesLeft: number;
  setupRequired: boolean;
}

export interface TwoFactorSetup {
  secret: string;
  otpauthUri: string;
  qrSvg: string;
}

/** Which API a key opens: this panel's (`cap_…`) or the Pterodactyl-compatible client API (`ptlc_…`). */
export type ApiKeyFamily = 'panel' | 'pterodactyl_client';

export interface ApiKey {
  family?: ApiKeyFamily;
  id: string;
  name: string;
  prefix?: string;
  permissions: string[] | null;
  createdAt: string;
  lastUsedAt?: string | null;
  /** Present only in the response that created the key. */
  secret?: string;
}

export interface PermissionCatalogue {
  categories: { name: string; permissions: { key: string; description: string }[] }[];
  roles: { name: string; description: string; permissions: string[] }[];
  serverScoped: string[];
}

export interface Limits {
  memoryMb: number;
  cpuPercent: number;
  diskMb: number;
}

/** What the node does when the server crashes. */
export interface CrashPolicy {
  autoRestart: boolean;
  maxRestarts: number;
  windowSeconds: number;
  backoffMs: number;
  maxBackoffMs: number;
}

export interface Server {
  id: string;
  name: string;
  description: string;
  ownerId: string;
  owner: { id: string; username: string };
  nodeId: string | null;
  node: { id: string; name: string; status: NodeStatus } | null;
  altId: string;
  alt: { id: string; name: string };
  state: ServerState;
  /** Why it crashed or its installation failed, as the node reported it. */
  stateMessage?: string | null;
  /** The exit code behind a crash or failed installation. */
  exitCode?: number | null;
  /** What runs it: native, or Docker in `image`. */
  runtime?: Runtime;
  image?: string | null;
  limits: Limits;
  crashPolicy?: CrashPolicy;
  allocation: { ip: string; port: number } | null;
  /** Latest stats while the server runs. */
  stats?: RawStats | null;
  /** The system user the node runs the server as (`name (uid N)`), once reported. */
  runsAs?: string | null;
  createdAt: string;
  updatedAt: string;
  /** Keys the caller holds on this server. */
  permissions: string[];
}

export interface NewServer {
  name: string;
  description?: string;
  ownerId?: string;
  nodeId: string;
  altId: string;
  limits: Limits;
  variables: Record<string, string>;
  /** `docker` or `native`; by default Docker in the first image where the node has it. */
  runtime?: Runtime;
  /** One of the template's Docker images. */
  image?: string;
}

export type Runtime = 'native' | 'docker';

export interface ServerVariable {
  envVariable: string;
  name: string;
  description: string;
  value: string;
  defaultValue: string;
  rules: string;
  userEditable: boolean;
}

/** Who is playing, as the game's query answered (names where the protocol gives them). */
export interface Players {
  online: number;
  max: number;
  map?: string;
  version?: string;
  names?: string[];
}

/** Resource use of a running server, as the UI uses it (see `normalizeStats`). */
export interface Stats {
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number | null;
  diskBytes: number;
  uptimeSecs: number;
  /** Absent when the template declares no game query or the game did not answer. */
  players: Players | null;
}

/** Stats as the panel sends them: the REST API says `uptimeSeconds`, the console socket
 * `uptimeSecs`; limits are absent when unlimited. */
export interface RawStats {
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes?: number | null;
  diskBytes: number;
  diskLimitBytes?: number | null;
  uptimeSecs?: number;
  uptimeSeconds?: number;
  players?: Players | null;
}

/** `GET /api/servers/{id}/preview`: the startup command as it will run. */
export interface StartupPreview {
  startup: { command: string; display: string; env: Record<string, string> };
  /** The template's Docker images the server may run in, in the template's order. */
  dockerImages?: { label: string; image: string }[];
}

export interface Subuser {
  id: string;
  userId?: string;
  username: string;
  email?: string;
  permissions: string[];
  createdAt?: string;
}

export interface FileEntry {
  name: string;
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  size: number;
  modified: string;
  mode: string | number;
}

export type ArchiveFormat = 'tar.gz' | 'zip';

export interface Node {
  id: string;
  name: string;
  description: string;
  address: string;
  port: number;
  scheme: 'https' | 'http';
  certFingerprint: string | null;
  /** Created but its agent has not used the join command yet. */
  awaitingJoin: boolean;
  status: NodeStatus;
  lastSeenAt: string | null;
  memoryMb: number;
  diskMb: number;
  portRangeStart: number;
  portRangeEnd: number;
  serverCount: number;
}

/** What a node's agent reports about its machine (`GET /api/agents/{id}`, while reachable). */
export interface NodeSystem {
  hostname: string;
  os: string;
  arch: string;
  cpuCount: number;
  memoryTotalBytes: number;
  memoryAvailableBytes: number;
  diskTotalBytes: number;
  diskAvailableBytes: number;
  agentVersion: string;
  uptimeSeconds: number;
  serverCount: number;
  /** Runtimes servers can use there (`native`, …). */
  runtimes: string[];
  /** The cgroup layout used for limits; absent when the kernel does not enforce them. */
  cgroupVersion?: 'v1' | 'v2' | null;
  /** Whether servers run as unprivileged users of their own. */
  isolatedUsers: boolean;
  /** The container engine's version behind the `docker` runtime, when it answers. */
  dockerVersion?: string | null;
  /** The node's SFTP server; absent when it is turned off. */
  sftp?: NodeSftp | null;
}

export interface NodeDetail extends Node {
  system: NodeSystem | null;
}

export interface NewNode {
  name: string;
  description: string;
  address: string;
  port: number;
  scheme: 'https' | 'http';
  memoryMb: number;
  diskMb: number;
  portRangeStart: number;
  portRangeEnd: number;
}

export interface CreatedNode {
  node: Node;
  /** `cap-agent join PANEL_URL TOKEN`, shown once. */
  joinCommand?: string;
}

export interface Ctrl {
  id: string;
  name: string;
  description: string | null;
}

export interface AltVariable {
  id?: string;
  name: string;
  description: string;
  envVariable: string;
  defaultValue: string;
  rules: string;
  userViewable: boolean;
  userEditable: boolean;
  sortOrder: number;
}

export interface Alt {
  id: string;
  ctrlId: string;
  name: string;
  description: string | null;
  author: string | null;
  startup: string;
  stopCommand: string;
  donePatterns: string[];
  dockerImages?: string[];
  variables: AltVariable[];
  /** The complete template document; edited as a whole and sent back with PUT. */
  template: Record<string, unknown>;
}

export interface ImportResult {
  alt: Alt;
  warnings: string[];
}

export interface UserPermissions {
  role: Role;
  rolePermissions: string[];
  grants: string[];
  revocations: string[];
  effective: string[];
}

export interface Health {
  service: string;
  status: 'healthy' | 'degraded' | 'unhealthy';
  timestamp: string;
  details: {
    database: boolean;
    databaseLatencyMs?: number;
    agents: { online: number; offline: number; degraded: number; unknown?: number; total: number };
    uptime: number;
  };
}

/** Servers by state (`running`, `offline`, ...) with their total. */
export interface ServerCounts {
  total: number;
  states: Record<string, number>;
}

/** `GET /api/monitoring`: the panel process, every node with its servers, fleet totals. */
export interface MonitoringOverview {
  panel: {
    version: string;
    database: string;
    uptime: number;
    pid: number;
    rssBytes: number;
    virtualBytes: number;
    cpuPercent: number;
  };
  nodes: {
    id: string;
    name: string;
    status: NodeStatus;
    lastSeenAt: string | null;
    memoryMb: number;
    diskMb: number;
    servers: ServerCounts;
  }[];
  servers: ServerCounts;
  unassigned: ServerCounts;
}

export interface AuditEntry {
  id: string;
  user: { id: string; username: string } | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: unknown;
  ip: string | null;
  requestId: string | null;
  createdAt: string;
}

/** An address and port a server binds (`/api/servers/{id}/allocations`). */
export interface Allocation {
  id: string;
  /** Where players connect (the node's address when the game binds every address). */
  ip: string;
  bindIp: string;
  port: number;
  notes: string;
  primary: boolean;
  /** The template needs this port beside the primary one; it cannot be removed. */
  required: boolean;
  /** The environment variable that carries the port. */
  variable: string;
}

export interface ServerAllocations {
  items: Allocation[];
  /** The limit an administrator set. */
  limit: number;
  /** How many the server may hold (the limit, or what its template needs if more). */
  allowed: number;
}

/** An allocation of a node, free or held by a server (`/api/agents/{id}/allocations`). */
export interface NodeAllocation {
  id: string;
  ip: string;
  port: number;
  notes: string;
  server: { id: string; name: string } | null;
  createdAt: string;
}

export type BackupStatus = 'pending' | 'running' | 'completed' | 'failed';

export interface Backup {
  id: string;
  name: string;
  status: BackupStatus;
  adapter: 'local' | 's3';
  format: 'tar_zstd' | 'tar_gz';
  size: number | null;
  checksum: string | null;
  ignored: string[];
  locked: boolean;
  bytes: number;
  files: number;
  error: string | null;
  createdAt: string;
  completedAt: string | null;
}

export interface BackupPolicy {
  limit: number;
  keepLast?: number | null;
  keepDays?: number | null;
}

export interface BackupList {
  items: Backup[];
  policy: BackupPolicy;
}

export interface RestoreStatus {
  backupId: string;
  status: BackupStatus;
  files: number;
  bytes: number;
  error?: string | null;
  createdAt: string;
  finishedAt?: string | null;
}

export interface S3Settings {
  endpoint: string;
  bucket: string;
  region: string;
  pathStyle: boolean;
  accessKey: string;
  partSizeMib: number;
}

/** What starts a schedule's run (`GET /api/servers/{id}/schedules`). */
export type ScheduleTrigger =
  | { type: 'cron'; expression: string; timezone: string }
  | { type: 'started' }
  | { type: 'crashed' }
  | { type: 'stopped' }
  | { type: 'console_line'; pattern: string }
  | { type: 'backup_finished' };

/** One task of a schedule, tagged by `type`. */
export type ScheduleTaskAction =
  | { type: 'command'; command: string }
  | { type: 'power'; action: 'start' | 'stop' | 'restart' | 'kill' }
  | { type: 'backup' }
  | { type: 'wait'; seconds: number }
  | { type: 'wait_for_line'; pattern: string; timeoutSeconds: number };

export type ScheduleTask = ScheduleTaskAction & { continueOnFailure?: boolean };

export interface ScheduleInput {
  name: string;
  active: boolean;
  trigger: ScheduleTrigger;
  onlyWhenOnline: boolean;
  tasks: ScheduleTask[];
  deadlineSeconds: number;
}

export interface Schedule extends ScheduleInput {
  id: string;
  createdAt: string;
  updatedAt: string;
}

export type RunOutcome = 'running' | 'completed' | 'failed' | 'skipped' | 'interrupted';

export interface ScheduleRun {
  id: string;
  trigger: string;
  outcome: RunOutcome;
  error?: string | null;
  tasks: { type: string; outcome: RunOutcome; error?: string | null }[];
  startedAt: string;
  endedAt?: string | null;
}

export interface SchedulePreview {
  description: string;
  nextRuns: string[];
}
