import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ArtifactError } from '../errors';
import { FeatureSpec, type FeatureSpecJSON } from '../features/spec';
import type { ModelConfig } from '../model/config';
import { RecommenderModel, type AdaptDefaults, type TrainingInfo } from '../model/model';
import * as tf from '@tensorflow/tfjs-core';

/** Artifact format identifier and version written to every manifest. */
export const ARTIFACT_FORMAT = 'warmstart-model';
export const ARTIFACT_VERSION = 1;

/** Extra facts stored with a model. */
export interface ArtifactMeta {
  /** Latest event time of the training data (point-in-time snapshot). */
  watermark?: Date | string;
  /** Evaluation metrics, e.g. `{ 'new_user.mae': 0.81 }`. */
  metrics?: Record<string, number>;
  /** Free-form labels (model id, git commit, ...). */
  labels?: Record<string, string>;
}

interface WeightEntry {
  name: string;
  shape: number[];
  /** Offset and length in float32 values. */
  offset: number;
  length: number;
}

interface FileEntry {
  bytes: number;
  sha256: string;
}

/** The manifest.json of an artifact directory. */
export interface Manifest {
  format: typeof ARTIFACT_FORMAT;
  formatVersion: number;
  createdAt: string;
  config: Omit<ModelConfig, 'idEmbeddings'> & { idEmbeddings: { dim?: number; coldRate?: number } | null };
  spec: FeatureSpecJSON;
  globalMean: number;
  /** `ridge` (closed-form head penalty) is absent in artifacts written before it existed. */
  adaptDefaults: AdaptDefaults;
  training: TrainingInfo | null;
  watermark: string | null;
  metrics: Record<string, number>;
  labels: Record<string, string>;
  /** float32 little-endian tensors in weights.bin; Meta-SGD rates are named `lr/<param>`. */
  weights: WeightEntry[];
  /** Checksums of every other file (weights.bin, ids.json). */
  files: Record<string, FileEntry>;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Writes the model to `dir` (manifest.json, weights.bin, ids.json) atomically: everything goes to a
 * temporary sibling directory that is renamed into place. An existing `dir` is replaced only with
 * `overwrite`.
 */
export async function saveModel(
  model: RecommenderModel,
  dir: string,
  meta: ArtifactMeta = {},
  options: { overwrite?: boolean } = {},
): Promise<Manifest> {
  const tensors: [string, tf.Tensor][] = [
    ...Object.entries(model.params),
    ...Object.entries(model.innerLrs ?? {}).map(([n, v]): [string, tf.Tensor] => [`lr/${n}`, v]),
  ];
  const total = tensors.reduce((s, [, t]) => s + t.size, 0);
  const values = new Float32Array(total);
  const weights: WeightEntry[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    values.set(t.dataSync() as Float32Array, offset);
    weights.push({ name, shape: t.shape, offset, length: t.size });
    offset += t.size;
  }
  const weightBytes = new Uint8Array(values.buffer);
  const ids = Buffer.from(JSON.stringify(model.config.idEmbeddings?.itemIds ?? []));
  const { idEmbeddings, ...rest } = model.config;
  const manifest: Manifest = {
    format: ARTIFACT_FORMAT,
    formatVersion: ARTIFACT_VERSION,
    createdAt: new Date().toISOString(),
    config: {
      ...rest,
      idEmbeddings: idEmbeddings ? { dim: idEmbeddings.dim, coldRate: idEmbeddings.coldRate } : null,
    },
    spec: model.spec.toJSON(),
    globalMean: model.globalMean,
    adaptDefaults: model.adaptDefaults,
    training: model.training,
    watermark: meta.watermark === undefined ? null : new Date(meta.watermark).toISOString(),
    metrics: meta.metrics ?? {},
    labels: meta.labels ?? {},
    weights,
    files: {
      'weights.bin': { bytes: weightBytes.length, sha256: sha256(weightBytes) },
      'ids.json': { bytes: ids.length, sha256: sha256(ids) },
    },
  };
  const exists = await stat(dir).then(
    () => true,
    () => false,
  );
  if (exists && !options.overwrite)
    throw new ArtifactError(`artifact ${dir} already exists (pass overwrite)`);
  await mkdir(dirname(dir), { recursive: true });
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(tmp);
    await writeFile(join(tmp, 'weights.bin'), weightBytes);
    await writeFile(join(tmp, 'ids.json'), ids);
    await writeFile(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    if (exists) {
      const old = `${tmp}.old`;
      await rename(dir, old);
      await rename(tmp, dir);
      await rm(old, { recursive: true, force: true });
    } else await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return manifest;
}

async function readChecked(dir: string, file: string, entry: FileEntry | undefined): Promise<Buffer> {
  if (!entry) throw new ArtifactError(`artifact ${dir}: manifest lists no checksum for ${file}`);
  const data = await readFile(join(dir, file)).catch(() => {
    throw new ArtifactError(`artifact ${dir}: ${file} is missing`);
  });
  if (data.length !== entry.bytes) {
    throw new ArtifactError(
      `artifact ${dir}: ${file} is ${data.length} bytes, manifest says ${entry.bytes} (truncated?)`,
    );
  }
  if (sha256(data) !== entry.sha256)
    throw new ArtifactError(`artifact ${dir}: ${file} checksum mismatch (corrupt)`);
  return data;
}

/** Reads the manifest of an artifact directory without loading weights. */
export async function readManifest(dir: string): Promise<Manifest> {
  const text = await readFile(join(dir, 'manifest.json'), 'utf8').catch(() => {
    throw new ArtifactError(`artifact ${dir}: manifest.json is missing`);
  });
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new ArtifactError(`artifact ${dir}: manifest.json is not valid JSON (corrupt or truncated)`);
  }
  if (m?.format !== ARTIFACT_FORMAT)
    throw new ArtifactError(`artifact ${dir}: not a ${ARTIFACT_FORMAT} artifact`);
  if (m.formatVersion !== ARTIFACT_VERSION) {
    throw new ArtifactError(
      `artifact ${dir}: format version ${m.formatVersion} is not supported (${ARTIFACT_VERSION})`,
    );
  }
  return m;
}

/** Loads and verifies (sizes, sha256) a model saved by {@link saveModel}; fails before creating any tensor. */
export async function loadModel(dir: string): Promise<RecommenderModel> {
  const m = await readManifest(dir);
  const bin = await readChecked(dir, 'weights.bin', m.files?.['weights.bin']);
  const idsRaw = await readChecked(dir, 'ids.json', m.files?.['ids.json']);
  const values = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  const byName = new Map<string, Float32Array>();
  for (const w of m.weights) {
    if (w.offset + w.length > values.length)
      throw new ArtifactError(`artifact ${dir}: weight ${w.name} out of range`);
    byName.set(w.name, values.subarray(w.offset, w.offset + w.length));
  }
  const itemIds = JSON.parse(idsRaw.toString('utf8')) as string[];
  const config: ModelConfig = {
    ...m.config,
    idEmbeddings: m.config.idEmbeddings ? { ...m.config.idEmbeddings, itemIds } : null,
  };
  const ridge = m.adaptDefaults?.ridge ?? null;
  const headOnly = config.localGroups.length === 1 && config.localGroups[0] === 'output';
  if (ridge !== null && !(Number.isFinite(ridge) && ridge > 0 && headOnly && config.task === 'rating')) {
    throw new ArtifactError(
      `artifact ${dir}: adaptDefaults.ridge must be null or a penalty > 0 on a head-only rating model`,
    );
  }
  let model: RecommenderModel;
  try {
    model = new RecommenderModel(FeatureSpec.fromJSON(m.spec), config, byName);
  } catch (err) {
    throw new ArtifactError(
      `artifact ${dir}: weights do not match the architecture (${(err as Error).message})`,
    );
  }
  const lrs = m.weights.filter((w) => w.name.startsWith('lr/'));
  if (lrs.length > 0) {
    model.innerLrs = {};
    for (const w of lrs) {
      const name = w.name.slice(3);
      model.innerLrs[name] = tf.variable(
        tf.tensor(byName.get(w.name)!, w.shape),
        true,
        `${model.uid}/lr/${name}`,
      );
    }
  }
  model.globalMean = m.globalMean;
  model.meanFitted = true;
  model.adaptDefaults = { ...m.adaptDefaults };
  model.training = m.training;
  return model;
}
