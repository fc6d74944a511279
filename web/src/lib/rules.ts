// Client-side check of a template variable against its rules string (Pterodactyl egg
// style, e.g. "required|integer|between:1024,65535"). The panel validates again; this
// only gives the user instant, inline feedback. Unknown rules are ignored.

export function checkRules(value: string, rules: string): string[] {
  const list = rules
    .split('|')
    .map((r) => r.trim())
    .filter(Boolean);
  const has = (name: string) => list.some((r) => r === name);
  const v = value;
  if (v === '') {
    return has('required') ? ['This value is required.'] : [];
  }
  const numeric = has('integer') || has('numeric');
  const errors: string[] = [];
  if (has('integer') && !/^-?\d+$/.test(v)) errors.push('Must be a whole number.');
  else if (has('numeric') && !Number.isFinite(Number(v))) errors.push('Must be a number.');
  if (has('boolean') && !['true', 'false', '1', '0'].includes(v.toLowerCase())) errors.push('Must be true or false.');
  if (has('alpha_num') && !/^[a-z0-9]+$/i.test(v)) errors.push('Only letters and digits.');
  if (has('alpha_dash') && !/^[a-z0-9_-]+$/i.test(v)) errors.push('Only letters, digits, dashes and underscores.');
  const size = numeric ? Number(v) : v.length;
  const unit = numeric ? '' : ' characters';
  for (const rule of list) {
    const [name, arg = ''] = rule.split(/:(.*)/s);
    if (name === 'min' && size < Number(arg)) errors.push(`Must be at least ${arg}${unit}.`);
    if (name === 'max' && size > Number(arg)) errors.push(`Must be at most ${arg}${unit}.`);
    if (name === 'between') {
      const [lo, hi] = arg.split(',').map(Number);
      if (size < lo || size > hi) errors.push(`Must be between ${lo} and ${hi}${unit}.`);
    }
    if (name === 'in') {
      const options = arg.split(',');
      if (!options.includes(v)) errors.push(`Must be one of: ${options.join(', ')}.`);
    }
    if (name === 'regex') {
      const m = /^\/(.*)\/([a-z]*)$/s.exec(arg);
      if (m) {
        try {
          if (!new RegExp(m[1], m[2].replace(/[^imsu]/g, '')).test(v)) errors.push('Has the wrong format.');
        } catch {
          // A pattern JavaScript cannot compile is left to the panel.
        }
      }
    }
  }
  return errors;
}

/** The options of an `in:` rule, for rendering a select instead of a text box. */
export function ruleOptions(rules: string): string[] | null {
  const r = rules.split('|').find((x) => x.trim().startsWith('in:'));
  return r ? r.trim().slice(3).split(',') : null;
}
