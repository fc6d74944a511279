// SFTP: the caller's SSH keys and a server's connection details.
import { http } from './http';

/** How a node's agent serves SFTP (part of the node's system report). */
export interface NodeSftp {
  port: number;
  /** `SHA256:…`, as OpenSSH and FileZilla show it. */
  hostKeyFingerprint: string;
  readOnly: boolean;
}

/** What an SFTP client needs to reach one server as the caller. */
export interface SftpConnection {
  host: string;
  port: number;
  /** `<panel username>.<server short id>`. */
  username: string;
  hostKeyFingerprint: string;
  readOnly: boolean;
  /** `sftp://username@host:port`. */
  url: string;
}

export interface SshKey {
  id: string;
  name: string;
  algorithm: string;
  fingerprint: string;
  publicKey: string;
  lastUsedAt: string | null;
  createdAt: string;
}

export const sshKeysApi = {
  list: () => http.get<SshKey[]>('/api/auth/ssh-keys'),
  add: (name: string, publicKey: string) => http.post<SshKey>('/api/auth/ssh-keys', { name, publicKey }),
  remove: (id: string) => http.del<void>(`/api/auth/ssh-keys/${encodeURIComponent(id)}`),
};

export const sftpApi = {
  connection: (serverId: string) => http.get<SftpConnection>(`/api/servers/${encodeURIComponent(serverId)}/sftp`),
};
