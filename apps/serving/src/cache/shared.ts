/**
 * Reference counting for values that own native memory (tfjs tensors): a cached adapted user
 * can be evicted while a request is still scoring with it, so it is disposed only when the
 * last holder releases it.
 */
export class Shared<T extends { dispose(): void }> {
  private refs = 1;

  constructor(readonly value: T) {}

  retain(): this {
    if (this.refs <= 0) throw new Error('retain after dispose');
    this.refs += 1;
    return this;
  }

  release(): void {
    this.refs -= 1;
    if (this.refs === 0) this.value.dispose();
  }

  get disposed(): boolean {
    return this.refs <= 0;
  }
}
