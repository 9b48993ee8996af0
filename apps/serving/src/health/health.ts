import { SERVICE_NAMES } from '@warmstart/contracts';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';

/**
 * grpc.health.v1 statuses: the overall server ("") and each service. The recommender is
 * NOT_SERVING until a model is loaded, verified and the active catalog encoded for it (its first
 * calls then cost what later ones do); the feature store and registry serve from the start (data
 * can be ingested before any model exists).
 */
export class HealthState {
  readonly implementation = new HealthImplementation({
    '': 'SERVING',
    [SERVICE_NAMES.featureStore]: 'SERVING',
    [SERVICE_NAMES.modelRegistry]: 'SERVING',
    [SERVICE_NAMES.recommender]: 'NOT_SERVING',
  });

  setModelLoaded(loaded: boolean): void {
    this.implementation.setStatus(SERVICE_NAMES.recommender, loaded ? 'SERVING' : 'NOT_SERVING');
  }

  /** On shutdown every service reports NOT_SERVING so load balancers move away first. */
  shutdown(): void {
    for (const name of ['', ...Object.values(SERVICE_NAMES)]) this.set(name, 'NOT_SERVING');
  }

  private set(name: string, status: ServingStatus): void {
    this.implementation.setStatus(name, status);
  }
}
