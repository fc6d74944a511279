import type { Server } from '../api';

/** An offline server on an online node, as the panel returns it; `over` replaces fields. */
export const sampleServer = (over: Partial<Server> = {}): Server => ({
  id: 's1',
  name: 'Creative',
  description: '',
  ownerId: 'owner-1',
  owner: { id: 'owner-1', username: 'olivia' },
  nodeId: 'n1',
  node: { id: 'n1', name: 'berlin-1', status: 'online' },
  altId: 'a1',
  alt: { id: 'a1', name: 'Test Game' },
  state: 'offline',
  limits: { memoryMb: 1024, cpuPercent: 100, diskMb: 2048 },
  allocation: { ip: '10.0.0.7', port: 25565 },
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  permissions: [],
  ...over,
});
