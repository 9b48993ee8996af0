import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import './ops';
import { useNativeKernels, type NativeKernels } from './native-kernels';

export { useNativeKernels, type NativeKernels } from './native-kernels';

/** Backends in order of preference. `tensorflow-gpu` and `tensorflow` need the optional tfjs-node packages. */
export const BACKEND_ORDER = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
/** A backend warmstart can run on. */
export type BackendName = (typeof BACKEND_ORDER)[number];

/** What {@link initBackend} chose and why the better ones were skipped. */
export interface BackendChoice {
  name: BackendName;
  /** The tfjs backend name now active (`tf.getBackend()`). */
  tfBackend: string;
  /** Backends tried before the chosen one, with the reason each failed. */
  skipped: { name: BackendName; reason: string }[];
  /** Whether matrix products run on warmstart's native kernels (wasm and cpu only). */
  nativeKernels: NativeKernels;
}

/** Options of {@link initBackend}. */
export interface BackendOptions {
  /** Force one backend; defaults to env `WARMSTART_BACKEND`. An unavailable forced backend is an error. */
  prefer?: string;
  /** Module loader (tests inject failures); defaults to `require`. */
  load?: (moduleName: string) => unknown;
}

const MODULES: Partial<Record<BackendName, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

let current: BackendChoice | undefined;

/**
 * Picks the best TensorFlow.js backend that loads: tfjs-node-gpu, tfjs-node, wasm, then cpu
 * (`WARMSTART_BACKEND` or `options.prefer` forces one). The tfjs-node packages are optional
 * dependencies loaded with a guarded `require`, since their install downloads libtensorflow.
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendChoice> {
  const prefer = (options.prefer ?? process.env.WARMSTART_BACKEND ?? '').trim();
  // Optional native packages must be loaded lazily and guarded, so a plain require is intended here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = options.load ?? ((m: string) => require(m));
  if (prefer !== '' && !(BACKEND_ORDER as readonly string[]).includes(prefer)) {
    throw new Error(
      `WARMSTART_BACKEND: unknown backend "${prefer}" (use one of ${BACKEND_ORDER.join(', ')})`,
    );
  }
  const candidates: BackendName[] = prefer ? [prefer as BackendName] : [...BACKEND_ORDER];
  const skipped: BackendChoice['skipped'] = [];
  for (const name of candidates) {
    try {
      const mod = MODULES[name];
      if (mod) load(mod);
      const tfName = name === 'tensorflow-gpu' ? 'tensorflow' : name;
      if (!(await tf.setBackend(tfName))) throw new Error(`tf.setBackend('${tfName}') returned false`);
      await tf.ready();
      // The cpu backend prints an "install tfjs-node" banner on first use; we report the choice ourselves.
      if (name === 'cpu') (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
      const nativeKernels = useNativeKernels(tf.getBackend());
      current = { name, tfBackend: tf.getBackend(), skipped, nativeKernels };
      return current;
    } catch (err) {
      skipped.push({ name, reason: err instanceof Error ? err.message.split('\n')[0] : String(err) });
    }
  }
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  throw new Error(`WARMSTART_BACKEND: no usable TensorFlow.js backend (${why})`);
}

/** One line for logs and reports, e.g. `wasm + native matMul (2 threads)`. */
export function describeBackend(choice: BackendChoice): string {
  const k = choice.nativeKernels;
  return k.active ? `${choice.name} + native matMul (${k.threads} threads)` : choice.name;
}

/** The backend chosen by the last {@link initBackend} call, if any. */
export function currentBackend(): BackendChoice | undefined {
  return current;
}
