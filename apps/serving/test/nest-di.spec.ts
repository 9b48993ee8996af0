import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ModelState } from '../src/health/model-state';

@Injectable()
class Reporter {
  // Injected by type alone: this only works when the test runner keeps emitDecoratorMetadata.
  constructor(readonly state: ModelState) {}
}

@Module({ providers: [ModelState, Reporter] })
class TestModule {}

describe('serving test set-up', () => {
  it('resolves constructor injection from decorator metadata', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [TestModule] }).compile();
    const reporter = moduleRef.get(Reporter);
    expect(reporter.state).toBe(moduleRef.get(ModelState));
    expect(reporter.state.serving).toBe(false);
    reporter.state.set({ modelId: 'm1', version: 2 });
    expect(moduleRef.get(ModelState).get()).toEqual({ modelId: 'm1', version: 2 });
  });
});
