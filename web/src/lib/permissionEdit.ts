// The per-user permission grid: a box is ticked when the key is effective
// (role ∪ grants − revocations). Ticking/unticking adjusts grants and revocations so
// that only the difference from the role is stored.

export interface PermissionDraft {
  rolePermissions: string[];
  grants: string[];
  revocations: string[];
}

export function effective(d: PermissionDraft): Set<string> {
  const s = new Set([...d.rolePermissions, ...d.grants]);
  for (const r of d.revocations) s.delete(r);
  return s;
}

export function toggle(d: PermissionDraft, key: string, on: boolean): PermissionDraft {
  const fromRole = d.rolePermissions.includes(key);
  const without = (list: string[]) => list.filter((k) => k !== key);
  if (fromRole) {
    return { ...d, grants: without(d.grants), revocations: on ? without(d.revocations) : [...without(d.revocations), key] };
  }
  return { ...d, revocations: without(d.revocations), grants: on ? [...without(d.grants), key] : without(d.grants) };
}
