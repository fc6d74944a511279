// Per-server databases and the database hosts they live on.
import { http } from './http';

export type DatabaseEngine = 'mysql' | 'postgres';

export interface ServerDatabase {
  id: string;
  /** Full name on the host: s<server>_<name>. */
  name: string;
  username: string;
  engine: DatabaseEngine;
  hostName: string;
  address: string;
  port: number;
  remote: string;
  maxConnections: number;
  /** Without the password. */
  connectionString: string;
  createdAt: string;
}

export interface DatabaseList {
  databases: ServerDatabase[];
  /** How many databases the server may have. */
  limit: number;
}

export interface NewDatabase {
  name: string;
  remote?: string;
  maxConnections?: number;
}

export interface DatabaseHost {
  id: string;
  name: string;
  engine: DatabaseEngine;
  address: string;
  port: number;
  username: string;
  nodeId: string | null;
  maxDatabases: number;
  createdAt: string;
  databases: number;
  healthy: boolean;
  /** The host's version when healthy, else why not. */
  health: string;
}

export interface DatabaseHostInput {
  name: string;
  engine?: DatabaseEngine;
  address: string;
  port: number;
  username: string;
  /** Required on create; left out on update to keep the stored one. */
  password?: string;
  nodeId?: string | null;
  maxDatabases: number;
}

export interface OrphanedDatabase {
  id: string;
  serverId: string;
  name: string;
  username: string;
  hostId: string;
  hostName: string | null;
  orphanedAt: string | null;
}

const base = (id: string, rest = '') => `/api/servers/${encodeURIComponent(id)}/databases${rest}`;
const one = (id: string, dbId: string, rest = '') => base(id, `/${encodeURIComponent(dbId)}${rest}`);

export const databasesApi = {
  list: (id: string) => http.get<DatabaseList>(base(id)),
  create: (id: string, body: NewDatabase) => http.post<ServerDatabase>(base(id), body),
  reveal: (id: string, dbId: string) => http.post<{ password: string }>(one(id, dbId, '/reveal')),
  rotate: (id: string, dbId: string) => http.post<ServerDatabase>(one(id, dbId, '/rotate')),
  remove: (id: string, dbId: string) => http.del<void>(one(id, dbId)),
};

export const databaseHostsApi = {
  list: () => http.get<DatabaseHost[]>('/api/database-hosts'),
  create: (body: DatabaseHostInput) => http.post<DatabaseHost>('/api/database-hosts', body),
  update: (id: string, body: DatabaseHostInput) => http.put<DatabaseHost>(`/api/database-hosts/${encodeURIComponent(id)}`, body),
  remove: (id: string) => http.del<void>(`/api/database-hosts/${encodeURIComponent(id)}`),
  orphans: () => http.get<OrphanedDatabase[]>('/api/database-orphans'),
  retryOrphan: (id: string) => http.post<void>(`/api/database-orphans/${encodeURIComponent(id)}/retry`),
};
