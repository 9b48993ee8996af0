import { Injectable } from '@nestjs/common';

/** Which model version (if any) this replica serves; read by health checks and replies. */
@Injectable()
export class ModelState {
  private current: { modelId: string; version: number } | undefined;

  set(model: { modelId: string; version: number } | undefined): void {
    this.current = model;
  }

  get(): { modelId: string; version: number } | undefined {
    return this.current;
  }

  get serving(): boolean {
    return this.current !== undefined;
  }
}
