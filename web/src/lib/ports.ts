// Port lists as admins type them for a node: `25565-25570,27015`. The panel checks them
// again; this only tells how many ports a list names before it is sent.

export const MIN_PORT = 1024;
export const MAX_PORTS_PER_REQUEST = 1000;

/** How many distinct ports `spec` names, or why it is not a port list. */
export function countPorts(spec: string): { count: number } | { error: string } {
  const seen = new Set<number>();
  const parts = spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) return { error: 'Name at least one port, e.g. 25565-25570,27015.' };
  for (const part of parts) {
    const [a, b = a] = part.split('-').map((x) => x.trim());
    const start = /^\d+$/.test(a) ? Number(a) : NaN;
    const end = /^\d+$/.test(b) ? Number(b) : NaN;
    if (!(start >= MIN_PORT && end <= 65535 && end >= MIN_PORT)) {
      return { error: `${part}: ports are numbers from ${MIN_PORT} to 65535.` };
    }
    if (start > end) return { error: `${part}: a range goes from low to high.` };
    if (end - start + 1 + seen.size > MAX_PORTS_PER_REQUEST) {
      return { error: `At most ${MAX_PORTS_PER_REQUEST} ports at a time.` };
    }
    for (let port = start; port <= end; port++) seen.add(port);
  }
  return { count: seen.size };
}

/** What the Network tab says about room for more allocations. */
export function allocationRoom(held: number, allowed: number): { canAdd: boolean; text: string } {
  const canAdd = held < allowed;
  const text = canAdd
    ? `${held} of ${allowed} allocations in use.`
    : `${held} of ${allowed} allocations in use; an administrator can allow more.`;
  return { canAdd, text };
}
