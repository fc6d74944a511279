/** Console lines kept in memory (bounded) and pushed to whoever displays them. A `reset`
 * (the history sent on every (re)connect) replaces everything, so reconnecting never
 * duplicates output. */
export type FeedEvent = { kind: 'reset'; lines: string[] } | { kind: 'append'; lines: string[] };

export class LineFeed {
  private lines: string[] = [];
  private listeners = new Set<(e: FeedEvent) => void>();
  private readonly limit: number;

  constructor(limit = 2000) {
    this.limit = limit;
  }

  snapshot(): string[] {
    return this.lines.slice();
  }

  reset(lines: string[]): void {
    this.lines = lines.slice(-this.limit);
    this.emit({ kind: 'reset', lines: this.lines.slice() });
  }

  append(lines: string[]): void {
    if (lines.length === 0) return;
    this.lines.push(...lines);
    if (this.lines.length > this.limit) this.lines.splice(0, this.lines.length - this.limit);
    this.emit({ kind: 'append', lines });
  }

  subscribe(fn: (e: FeedEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: FeedEvent) {
    for (const l of this.listeners) l(e);
  }
}
