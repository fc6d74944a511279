/** Shell-style command history for the console input: ↑ walks back, ↓ walks forward and
 * finally returns to the line being typed. Consecutive duplicates are stored once. */
export class CommandHistory {
  private entries: string[] = [];
  private cursor = 0;
  private draft = '';
  private readonly limit: number;

  constructor(limit = 100) {
    this.limit = limit;
  }

  push(command: string): void {
    const c = command.trim();
    if (c && this.entries[this.entries.length - 1] !== c) {
      this.entries.push(c);
      if (this.entries.length > this.limit) this.entries.shift();
    }
    this.cursor = this.entries.length;
    this.draft = '';
  }

  /** The entry above; `current` is what is in the input now (kept as the draft). */
  up(current: string): string {
    if (this.cursor === this.entries.length) this.draft = current;
    if (this.cursor > 0) this.cursor -= 1;
    return this.entries[this.cursor] ?? current;
  }

  down(): string {
    if (this.cursor < this.entries.length) this.cursor += 1;
    return this.cursor === this.entries.length ? this.draft : this.entries[this.cursor];
  }
}
