// Undo/redo over immutable snapshots. The editor's boxes are immutable objects in an array, so a
// snapshot is a shallow copy of the array: cheap even with hundreds of boxes.

export class History<T> {
  private undos: T[] = [];
  private redos: T[] = [];

  constructor(private readonly limit = 500) {}

  /** Records the state before a change; a new change clears the redo stack. */
  push(before: T): void {
    this.undos.push(before);
    if (this.undos.length > this.limit) this.undos.shift();
    this.redos = [];
  }

  /** Returns the state to go back to, given the current one, or null when there is nothing to undo. */
  undo(current: T): T | null {
    const prev = this.undos.pop();
    if (prev === undefined) return null;
    this.redos.push(current);
    return prev;
  }

  redo(current: T): T | null {
    const next = this.redos.pop();
    if (next === undefined) return null;
    this.undos.push(current);
    return next;
  }

  get canUndo(): boolean {
    return this.undos.length > 0;
  }

  get canRedo(): boolean {
    return this.redos.length > 0;
  }

  clear(): void {
    this.undos = [];
    this.redos = [];
  }
}
