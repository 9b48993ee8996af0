import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ArtifactError, ValidationError } from '../errors';
import { FeatureSpec, type FeatureSpecJSON } from '../features/spec';
import type { AdaptSettings } from '../model/adapt-settings';
import { groupOf, resolveConfig, type ModelConfig, type ParamGroup } from '../model/config';
import { supportsClosedFormHead } from '../model/head-only';
import { layoutOf } from '../model/layout';
import { RecommenderModel, type TrainingInfo } from '../model/model';
import { paramShapes } from '../model/params';
import { NegativePool, type NegativePoolJSON } from '../negatives/pool';
import { ItemNeighbours } from '../neighbours/item-neighbours';
import type { Neighbourhood } from '../neighbours/neighbourhood';
import type { ContentNeighbourhood } from '../neighbours/content';
import { checkWarmUpOptions, type WarmUpOptions } from '../item-warmup';
import type { UserBase } from '../item-fold-in';
import { userBaseFromJSON, userBaseToJSON } from '../item-fold-in-histories';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Artifact format identifier and version written to every manifest. Version 2 adds
 * `manifest.sha256` (the checksum of manifest.json itself); version 1 artifacts (written before)
 * still load, without that check.
 */
export const ARTIFACT_FORMAT = 'warmstart-model';
export const ARTIFACT_VERSION = 2;
/** Format versions `loadModel` / `readManifest` accept. */
export const SUPPORTED_ARTIFACT_VERSIONS: readonly number[] = [1, 2];
/** File holding the sha256 of manifest.json, in `sha256sum` format (`sha256sum -c manifest.sha256`). */
export const MANIFEST_CHECKSUM_FILE = 'manifest.sha256';

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
  /**
   * The config without the ID lists: item ids are in ids.json; `idEmbeddings.userIds: true` means
   * the model has warm-user ID embeddings, their user ids in user-ids.json (absent: none, as in
   * every artifact written before user IDs existed).
   */
  config: Omit<ModelConfig, 'idEmbeddings'> & {
    idEmbeddings: { dim?: number; coldRate?: number; userIds?: true; userColdRate?: number } | null;
  };
  spec: FeatureSpecJSON;
  globalMean: number;
  /** `ridge` (closed-form head penalty) is absent in artifacts written before it existed. */
  adaptDefaults: Omit<AdaptSettings, 'ridge'> & Partial<Pick<AdaptSettings, 'ridge'>>;
  training: TrainingInfo | null;
  watermark: string | null;
  metrics: Record<string, number>;
  labels: Record<string, string>;
  /** float32 little-endian tensors in weights.bin; Meta-SGD rates are named `lr/<param>`. */
  weights: WeightEntry[];
  /**
   * Checksums of every other file (weights.bin, ids.json, user-ids.json with user IDs, and
   * negatives.json for implicit models with sampled negatives: the pool negatives are drawn from;
   * fold-in-base.json for models whose new items fold in: `model.foldInBase`; with a ranker, `ranker/manifest.json`, which checks the ranker's own files in turn).
   */
  files: Record<string, FileEntry>;
  /**
   * The sub-directory holding the model's ranker (model/ranker.ts), an artifact of its own;
   * absent: no ranker (as in every artifact written before rankers existed).
   */
  ranker?: string;
  /**
   * With a ranker: the lowest rating of a new item's evidence the ranker takes as a positive
   * interaction, lower ones negative (`model.rankerEvidenceMin`, model/ranker.ts). Absent: every
   * rating positive.
   */
  rankerEvidenceMin?: number;
  /** The model's item warm-up settings (`model.itemWarmUp`, item-warmup.ts). Absent: the defaults. */
  itemWarmUp?: WarmUpOptions;
  /**
   * The item neighbourhood of a ranking model (neighbours/neighbourhood.ts): the term's weight and
   * the shape of neighbours.bin (int32 ptr[size + 1], int32 items[entries], float32
   * sims[entries]). Absent: none (as in every artifact written before neighbourhoods existed).
   */
  neighbourhood?: { weight: number; size: number; entries: number };
  /**
   * The content neighbourhood of a ranking model (neighbours/content.ts): the term's weight and the
   * width of content-idf.bin (float32, one IDF weight per item-row column). Absent: none.
   */
  contentNeighbourhood?: { weight: number; width: number };
}

/** Where a model's ranker is stored inside its artifact. */
const RANKER_DIR = 'ranker';
/** The user base new items fold in against (`model.foldInBase`), when the model has one. */
const FOLD_IN_BASE_FILE = 'fold-in-base.json';
/** The neighbour lists of `model.neighbourhood`, when the model has one. */
const NEIGHBOURS_FILE = 'neighbours.bin';
/** The column weights of `model.contentNeighbourhood`, when the model has one. */
const CONTENT_IDF_FILE = 'content-idf.bin';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Writes a file and flushes it to disk, so a rename that publishes it never exposes a torn file. */
async function writeDurable(path: string, bytes: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a directory's entries (the renames in it); not every platform allows it, hence best effort. */
async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close();
}

/**
 * Writes the model to `dir` (manifest.json, manifest.sha256, weights.bin, ids.json) atomically:
 * everything goes to a temporary sibling directory, flushed to disk, that is renamed into place.
 * An existing `dir` is replaced only with `overwrite` (readers may briefly find it absent then).
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
  const userIds = idEmbeddings?.userIds ? Buffer.from(JSON.stringify(idEmbeddings.userIds)) : null;
  const negatives = model.negativePool ? Buffer.from(JSON.stringify(model.negativePool.toJSON())) : null;
  const foldInBase = model.foldInBase ? Buffer.from(JSON.stringify(userBaseToJSON(model.foldInBase))) : null;
  const neighbours = model.neighbourhood ? model.neighbourhood.neighbours.toBytes() : null;
  const cn = model.contentNeighbourhood;
  const contentIdf = cn
    ? new Uint8Array(cn.idf.buffer.slice(cn.idf.byteOffset, cn.idf.byteOffset + cn.idf.byteLength))
    : null;
  const manifest: Manifest = {
    format: ARTIFACT_FORMAT,
    formatVersion: ARTIFACT_VERSION,
    createdAt: new Date().toISOString(),
    config: {
      ...rest,
      idEmbeddings: idEmbeddings
        ? {
            dim: idEmbeddings.dim,
            coldRate: idEmbeddings.coldRate,
            ...(userIds && { userIds: true as const, userColdRate: idEmbeddings.userColdRate }),
          }
        : null,
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
      ...(userIds && { 'user-ids.json': { bytes: userIds.length, sha256: sha256(userIds) } }),
      ...(negatives && { 'negatives.json': { bytes: negatives.length, sha256: sha256(negatives) } }),
      ...(foldInBase && { [FOLD_IN_BASE_FILE]: { bytes: foldInBase.length, sha256: sha256(foldInBase) } }),
      ...(neighbours && {
        [NEIGHBOURS_FILE]: { bytes: neighbours.bytes.length, sha256: sha256(neighbours.bytes) },
      }),
      ...(contentIdf && { [CONTENT_IDF_FILE]: { bytes: contentIdf.length, sha256: sha256(contentIdf) } }),
    },
    ...(cn && { contentNeighbourhood: { weight: cn.weight, width: cn.idf.length } }),
    ...(Object.keys(model.itemWarmUp).length > 0 && { itemWarmUp: { ...model.itemWarmUp } }),
    ...(neighbours && {
      neighbourhood: {
        weight: model.neighbourhood!.weight,
        size: neighbours.size,
        entries: neighbours.entries,
      },
    }),
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
    await writeDurable(join(tmp, 'weights.bin'), weightBytes);
    await writeDurable(join(tmp, 'ids.json'), ids);
    if (userIds) await writeDurable(join(tmp, 'user-ids.json'), userIds);
    if (negatives) await writeDurable(join(tmp, 'negatives.json'), negatives);
    if (foldInBase) await writeDurable(join(tmp, FOLD_IN_BASE_FILE), foldInBase);
    if (neighbours) await writeDurable(join(tmp, NEIGHBOURS_FILE), neighbours.bytes);
    if (contentIdf) await writeDurable(join(tmp, CONTENT_IDF_FILE), contentIdf);
    if (model.ranker) {
      // The ranker is an artifact of its own; this manifest pins its manifest by checksum.
      await saveModel(model.ranker, join(tmp, RANKER_DIR));
      const rankerManifest = await readFile(join(tmp, RANKER_DIR, 'manifest.json'));
      manifest.ranker = RANKER_DIR;
      if (model.rankerEvidenceMin !== null) manifest.rankerEvidenceMin = model.rankerEvidenceMin;
      manifest.files[`${RANKER_DIR}/manifest.json`] = {
        bytes: rankerManifest.length,
        sha256: sha256(rankerManifest),
      };
    }
    const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
    await writeDurable(join(tmp, 'manifest.json'), manifestBytes);
    await writeDurable(join(tmp, MANIFEST_CHECKSUM_FILE), `${sha256(manifestBytes)}  manifest.json\n`);
    await syncDir(tmp);
    if (exists) {
      // Directories cannot be swapped atomically: between these renames `dir` is briefly absent,
      // and a reader then gets a clear "not found" (never a mix of old and new files).
      const old = `${tmp}.old`;
      await rename(dir, old);
      await rename(tmp, dir);
      await rm(old, { recursive: true, force: true });
    } else await rename(tmp, dir);
    await syncDir(dirname(dir));
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return manifest;
}

async function readChecked(dir: string, file: string, entry: FileEntry): Promise<Buffer> {
  const data = await readFile(join(dir, file)).catch(() => {
    throw new ArtifactError(`artifact ${dir}: ${file} is missing`, file);
  });
  if (data.length !== entry.bytes) {
    throw new ArtifactError(
      `artifact ${dir}: ${file} is ${data.length} bytes, manifest says ${entry.bytes} (truncated?)`,
      file,
    );
  }
  if (sha256(data) !== entry.sha256)
    throw new ArtifactError(`artifact ${dir}: ${file} checksum mismatch (corrupt)`, file);
  return data;
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;

/**
 * Checks the structure of a parsed manifest (every field `loadModel` reads), throwing an
 * ArtifactError whose `field` names the first bad one, e.g. `manifest.config.localGroups`.
 * Creates no tensor. The config and the feature spec go through the same validation as
 * `createModel` and `FeatureSpec.fromJSON`.
 */
function checkManifest(dir: string, m: Record<string, unknown>): void {
  const fail = (field: string, msg: string): never => {
    throw new ArtifactError(`artifact ${dir}: manifest.${field} ${msg}`, `manifest.${field}`);
  };
  if (typeof m.createdAt !== 'string') fail('createdAt', 'must be a string');
  // config: required keys first (resolveConfig would fill a missing one with its default).
  const c = m.config;
  if (!isObject(c)) return fail('config', 'is missing or not an object');
  for (const k of ['task', 'ratingRange', 'embeddingDim', 'hidden', 'localGroups', 'seed', 'idEmbeddings']) {
    if (!(k in c)) fail(`config.${k}`, 'is missing');
  }
  if (!Array.isArray(c.ratingRange) || c.ratingRange.length !== 2)
    fail('config.ratingRange', 'must be [min, max]');
  if (!Array.isArray(c.localGroups) || c.localGroups.some((g) => typeof g !== 'string'))
    fail('config.localGroups', 'must be an array of group names');
  const ids = c.idEmbeddings;
  if (ids !== null && !isObject(ids)) fail('config.idEmbeddings', 'must be null or an object');
  const withUsers = isObject(ids) && ids.userIds !== undefined;
  if (withUsers && ids.userIds !== true)
    fail('config.idEmbeddings.userIds', 'must be true (user ids in user-ids.json) or absent');
  try {
    resolveConfig({
      ...(c as Partial<ModelConfig>),
      // The id lists are checked when loaded (ids.json, user-ids.json); placeholders here.
      idEmbeddings: ids ? { ...ids, itemIds: [], userIds: withUsers ? ['user'] : undefined } : null,
    });
  } catch (err) {
    if (err instanceof ValidationError) fail(err.field, err.message.slice(err.field.length + 2));
    throw err;
  }
  try {
    FeatureSpec.fromJSON(m.spec as FeatureSpecJSON);
  } catch (err) {
    if (err instanceof ValidationError) fail(err.field, err.message.slice(err.field.length + 2));
    fail('spec', `is invalid (${(err as Error).message})`);
  }
  if (!Number.isFinite(m.globalMean)) fail('globalMean', 'must be a finite number');
  const a = m.adaptDefaults;
  if (!isObject(a)) return fail('adaptDefaults', 'is missing or not an object');
  if (!isCount(a.steps)) fail('adaptDefaults.steps', 'must be an integer >= 0');
  if (!(Number.isFinite(a.lr) && (a.lr as number) >= 0))
    fail('adaptDefaults.lr', 'must be a finite number >= 0');
  const ridge = a.ridge ?? null;
  // resolveConfig (above) accepted the groups.
  const headOnly = supportsClosedFormHead(c.localGroups as ParamGroup[]);
  if (ridge !== null && !(Number.isFinite(ridge) && (ridge as number) > 0 && headOnly)) {
    fail('adaptDefaults.ridge', 'must be null or a penalty > 0 on a head-only model');
  }
  // Absent in artifacts written before the setting existed: a constant lift.
  if (
    a.evidenceGrowth !== undefined &&
    !(Number.isFinite(a.evidenceGrowth) && (a.evidenceGrowth as number) >= 0)
  )
    fail('adaptDefaults.evidenceGrowth', 'must be a finite number >= 0');
  if (m.training !== null && !(isObject(m.training) && typeof m.training.algorithm === 'string'))
    fail('training', 'must be null or an object with an algorithm');
  if (m.watermark !== null && typeof m.watermark !== 'string') fail('watermark', 'must be null or a string');
  // JSON writes a NaN metric as null.
  if (!isObject(m.metrics) || Object.values(m.metrics).some((v) => v !== null && typeof v !== 'number'))
    fail('metrics', 'must be an object of numbers');
  if (!isObject(m.labels) || Object.values(m.labels).some((v) => typeof v !== 'string'))
    fail('labels', 'must be an object of strings');
  if (!Array.isArray(m.weights)) return fail('weights', 'must be an array');
  const names = new Set<string>();
  m.weights.forEach((w: unknown, i) => {
    if (!isObject(w) || typeof w.name !== 'string') return fail(`weights[${i}].name`, 'is required');
    if (names.has(w.name)) fail(`weights[${i}].name`, `duplicate weight "${w.name}"`);
    names.add(w.name);
    if (!Array.isArray(w.shape) || !w.shape.every(isCount))
      fail(`weights[${i}].shape`, 'must be an array of integers >= 0');
    if (!isCount(w.offset)) fail(`weights[${i}].offset`, 'must be an integer >= 0');
    const size = (w.shape as number[]).reduce((x, y) => x * y, 1);
    if (w.length !== size) fail(`weights[${i}].length`, `must be ${size} (the size of its shape)`);
  });
  if (!isObject(m.files)) return fail('files', 'is missing or not an object');
  const pooled = 'negatives.json' in m.files;
  const based = FOLD_IN_BASE_FILE in m.files;
  const cn = m.contentNeighbourhood;
  if (cn !== undefined) {
    if (!isObject(cn)) fail('contentNeighbourhood', 'must be an object');
    else {
      if (!(Number.isFinite(cn.weight) && (cn.weight as number) >= 0))
        fail('contentNeighbourhood.weight', 'must be a finite number >= 0');
      if (!isCount(cn.width)) fail('contentNeighbourhood.width', 'must be an integer >= 0');
    }
  }
  if (m.itemWarmUp !== undefined) {
    if (!isObject(m.itemWarmUp)) fail('itemWarmUp', 'must be an object');
    try {
      checkWarmUpOptions(m.itemWarmUp as WarmUpOptions);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      // checkWarmUpOptions names `options.<key>`.
      fail(`itemWarmUp${err.field.slice('options'.length)}`, err.message.slice(err.field.length + 2));
    }
  }
  if (m.rankerEvidenceMin !== undefined) {
    if (m.ranker === undefined) fail('rankerEvidenceMin', 'needs a ranker');
    if (!Number.isFinite(m.rankerEvidenceMin)) fail('rankerEvidenceMin', 'must be a finite number');
  }
  const nb = m.neighbourhood;
  if (nb !== undefined) {
    if (!isObject(nb)) fail('neighbourhood', 'must be an object');
    else {
      if (!(Number.isFinite(nb.weight) && (nb.weight as number) >= 0))
        fail('neighbourhood.weight', 'must be a finite number >= 0');
      if (!isCount(nb.size)) fail('neighbourhood.size', 'must be an integer >= 0');
      if (!isCount(nb.entries)) fail('neighbourhood.entries', 'must be an integer >= 0');
    }
  }
  for (const file of [
    'weights.bin',
    'ids.json',
    ...(withUsers ? ['user-ids.json'] : []),
    ...(pooled ? ['negatives.json'] : []),
    ...(based ? [FOLD_IN_BASE_FILE] : []),
    ...(nb !== undefined ? [NEIGHBOURS_FILE] : []),
    ...(cn !== undefined ? [CONTENT_IDF_FILE] : []),
  ]) {
    const e = m.files[file];
    if (!isObject(e)) fail(`files["${file}"]`, 'is missing (no checksum)');
    else {
      if (!isCount(e.bytes)) fail(`files["${file}"].bytes`, 'must be an integer >= 0');
      if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256))
        fail(`files["${file}"].sha256`, 'must be a sha256 hex digest');
    }
  }
}

/**
 * Reads the manifest of an artifact directory without loading weights: checks the format and
 * version, the manifest's own checksum (`manifest.sha256`, format 2) and its whole structure.
 */
export async function readManifest(dir: string): Promise<Manifest> {
  const raw = await readFile(join(dir, 'manifest.json')).catch(() => {
    throw new ArtifactError(`artifact ${dir}: manifest.json is missing`, 'manifest.json');
  });
  let m: Manifest;
  try {
    m = JSON.parse(raw.toString('utf8')) as Manifest;
  } catch {
    throw new ArtifactError(
      `artifact ${dir}: manifest.json is not valid JSON (corrupt or truncated)`,
      'manifest.json',
    );
  }
  if (!isObject(m) || m.format !== ARTIFACT_FORMAT)
    throw new ArtifactError(`artifact ${dir}: not a ${ARTIFACT_FORMAT} artifact`, 'manifest.format');
  if (!SUPPORTED_ARTIFACT_VERSIONS.includes(m.formatVersion)) {
    throw new ArtifactError(
      `artifact ${dir}: format version ${m.formatVersion} is not supported (${SUPPORTED_ARTIFACT_VERSIONS.join(', ')})`,
      'manifest.formatVersion',
    );
  }
  if (m.formatVersion >= 2) {
    const sum = await readFile(join(dir, MANIFEST_CHECKSUM_FILE), 'utf8').catch(() => {
      throw new ArtifactError(
        `artifact ${dir}: ${MANIFEST_CHECKSUM_FILE} is missing (format ${m.formatVersion} needs it)`,
        MANIFEST_CHECKSUM_FILE,
      );
    });
    const expected = /^([0-9a-f]{64})\s/.exec(sum)?.[1];
    if (!expected)
      throw new ArtifactError(
        `artifact ${dir}: ${MANIFEST_CHECKSUM_FILE} is malformed`,
        MANIFEST_CHECKSUM_FILE,
      );
    if (sha256(raw) !== expected) {
      throw new ArtifactError(
        `artifact ${dir}: manifest.json checksum mismatch (corrupt or edited)`,
        MANIFEST_CHECKSUM_FILE,
      );
    }
  }
  checkManifest(dir, m as unknown as Record<string, unknown>);
  return m;
}

/**
 * Loads a model saved by {@link saveModel}. Everything is verified before any tensor exists: the
 * manifest (checksum and structure, see {@link readManifest}), sizes and sha256 of the other
 * files, and every weight entry, Meta-SGD `lr/*` rates included, against the parameter names and
 * shapes the config and spec imply. Failures are ArtifactErrors naming what is wrong; if creating
 * the tensors fails anyway, the ones already created are disposed.
 */
export async function loadModel(dir: string): Promise<RecommenderModel> {
  const m = await readManifest(dir);
  const fail = (field: string, msg: string): never => {
    throw new ArtifactError(`artifact ${dir}: ${field} ${msg}`, field);
  };
  const bin = await readChecked(dir, 'weights.bin', m.files['weights.bin']);
  const idsRaw = await readChecked(dir, 'ids.json', m.files['ids.json']);
  if (bin.length % 4 !== 0) fail('weights.bin', 'size is not a multiple of 4 bytes (float32)');
  const values = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  let itemIds: unknown;
  try {
    itemIds = JSON.parse(idsRaw.toString('utf8'));
  } catch {
    fail('ids.json', 'is not valid JSON');
  }
  if (!Array.isArray(itemIds) || itemIds.some((id) => typeof id !== 'string'))
    return fail('ids.json', 'must be an array of item ids');
  if (new Set(itemIds).size !== itemIds.length) fail('ids.json', 'has duplicate item ids');
  const { idEmbeddings, ...rest } = m.config;
  let userIds: string[] | undefined;
  if (idEmbeddings?.userIds === true) {
    const raw = await readChecked(dir, 'user-ids.json', m.files['user-ids.json']);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      fail('user-ids.json', 'is not valid JSON');
    }
    if (!Array.isArray(parsed) || parsed.some((id) => typeof id !== 'string' || id === ''))
      return fail('user-ids.json', 'must be an array of user ids');
    if (new Set(parsed).size !== parsed.length) fail('user-ids.json', 'has duplicate user ids');
    userIds = parsed as string[];
  }
  const config = resolveConfig({
    ...rest,
    idEmbeddings: idEmbeddings ? { ...idEmbeddings, itemIds: itemIds as string[], userIds } : null,
  });
  if (config.idEmbeddings && config.idEmbeddings.userIds === undefined) delete config.idEmbeddings.userIds;
  const spec = FeatureSpec.fromJSON(m.spec);
  // Expected weights: the parameters of this architecture and, for Meta-SGD, one rate per local one.
  const shapes = new Map(paramShapes(layoutOf(spec, config), itemIds.length, userIds?.length ?? 0));
  const byName = new Map<string, Float32Array>();
  const lrs = new Map<string, number[]>();
  for (const w of m.weights) {
    const field = `weights.${w.name}`;
    const base = w.name.startsWith('lr/') ? w.name.slice(3) : null;
    const expected = shapes.get(base ?? w.name);
    if (!expected) fail(field, 'is not a parameter of this architecture');
    if (base !== null && !config.localGroups.includes(groupOf(base)))
      fail(field, `is a Meta-SGD rate for ${base}, which is not adapted per user`);
    if (w.shape.length !== expected!.length || w.shape.some((d, i) => d !== expected![i]))
      fail(field, `has shape [${w.shape}], expected [${expected}]`);
    if (w.offset + w.length > values.length) fail(field, 'is out of range of weights.bin');
    byName.set(w.name, values.subarray(w.offset, w.offset + w.length));
    if (base !== null) lrs.set(base, w.shape);
  }
  for (const name of shapes.keys()) if (!byName.has(name)) fail(`weights.${name}`, 'is missing');
  if (lrs.size > 0) {
    for (const [name] of shapes) {
      if (config.localGroups.includes(groupOf(name)) && !lrs.has(name))
        fail(`weights.lr/${name}`, 'is missing (Meta-SGD needs a rate for every local parameter)');
    }
  }
  // The negative pool (implicit models with sampled negatives), checked before any tensor exists.
  let pool: NegativePool | null = null;
  if (m.files['negatives.json']) {
    const raw = await readChecked(dir, 'negatives.json', m.files['negatives.json']);
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      fail('negatives.json', 'is not valid JSON');
    }
    try {
      pool = NegativePool.fromJSON(json as NegativePoolJSON, layoutOf(spec, config).di);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      fail(`negatives.json ${err.field}`, err.message.slice(err.field.length + 2));
    }
  }
  // The fold-in user base, checked (like the pool) before any tensor exists.
  let foldInBase: UserBase | null = null;
  if (m.files[FOLD_IN_BASE_FILE]) {
    const raw = await readChecked(dir, FOLD_IN_BASE_FILE, m.files[FOLD_IN_BASE_FILE]);
    const layout = layoutOf(spec, config);
    try {
      foldInBase = userBaseFromJSON(
        JSON.parse(raw.toString('utf8')),
        layout.hidden[layout.hidden.length - 1] + 1,
      );
    } catch (err) {
      if (err instanceof SyntaxError) fail(FOLD_IN_BASE_FILE, 'is not valid JSON');
      if (!(err instanceof ValidationError)) throw err;
      fail(`${FOLD_IN_BASE_FILE} ${err.field}`, err.message.slice(err.field.length + 2));
    }
  }
  const neighbourhood = m.neighbourhood ? await readNeighbourhood(dir, m, itemIds.length) : null;
  const content = m.contentNeighbourhood ? await readContentNeighbourhood(dir, m, spec.item.width) : null;
  let model: RecommenderModel | undefined;
  try {
    model = new RecommenderModel(spec, config, byName);
    if (lrs.size > 0) {
      model.innerLrs = {};
      for (const [name, shape] of lrs) {
        model.innerLrs[name] = tf.tidy(() =>
          tf.variable(tf.tensor(byName.get(`lr/${name}`)!, shape), true, `${model!.uid}/lr/${name}`),
        );
      }
    }
  } catch (err) {
    model?.dispose();
    throw new ArtifactError(
      `artifact ${dir}: could not create the model's tensors (${(err as Error).message})`,
      'weights',
    );
  }
  model.negativePool = pool;
  model.foldInBase = foldInBase;
  model.neighbourhood = neighbourhood;
  model.contentNeighbourhood = content;
  model.itemWarmUp = { ...m.itemWarmUp };
  model.globalMean = m.globalMean;
  model.meanFitted = true;
  model.adaptDefaults = { ...m.adaptDefaults, ridge: m.adaptDefaults.ridge ?? null };
  model.training = m.training;
  if (m.ranker !== undefined) {
    try {
      model.ranker = await loadRanker(dir, m);
      model.rankerEvidenceMin = m.rankerEvidenceMin ?? null;
    } catch (err) {
      model.dispose();
      throw err;
    }
  }
  return model;
}

/** The neighbourhood of a ranking model's artifact: neighbours.bin checked and read, its weight. */
async function readNeighbourhood(dir: string, m: Manifest, items: number): Promise<Neighbourhood> {
  const { weight, size, entries } = m.neighbourhood!;
  const fail = (msg: string): never => {
    throw new ArtifactError(`artifact ${dir}: ${NEIGHBOURS_FILE} ${msg}`, NEIGHBOURS_FILE);
  };
  if (m.config.task !== 'implicit' || !m.config.negatives)
    fail('is only valid on a ranking model (implicit, config.negatives)');
  if (size !== items + 1) fail(`indexes ${size} items, the model has ${items} item ID rows plus row 0`);
  const raw = await readChecked(dir, NEIGHBOURS_FILE, m.files[NEIGHBOURS_FILE]);
  try {
    return { neighbours: ItemNeighbours.fromBytes(raw, size, entries), weight };
  } catch (err) {
    return fail((err as Error).message);
  }
}

/** The content neighbourhood of a ranking model's artifact: content-idf.bin checked and read, its weight. */
async function readContentNeighbourhood(
  dir: string,
  m: Manifest,
  width: number,
): Promise<ContentNeighbourhood> {
  const { weight, width: stored } = m.contentNeighbourhood!;
  const fail = (msg: string): never => {
    throw new ArtifactError(`artifact ${dir}: ${CONTENT_IDF_FILE} ${msg}`, CONTENT_IDF_FILE);
  };
  if (m.config.task !== 'implicit' || !m.config.negatives)
    fail('is only valid on a ranking model (implicit, config.negatives)');
  if (stored !== width) fail(`holds ${stored} weights, the item rows have ${width} columns`);
  const raw = await readChecked(dir, CONTENT_IDF_FILE, m.files[CONTENT_IDF_FILE]);
  if (raw.length !== 4 * width) fail(`is ${raw.length} bytes, expected ${4 * width}`);
  const idf = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  if (!idf.every((v) => Number.isFinite(v) && v >= 0)) fail('must hold finite weights >= 0');
  return { idf, weight };
}

/** The ranker of a rating model's artifact, its manifest checked against the parent's checksum. */
async function loadRanker(dir: string, m: Manifest): Promise<RecommenderModel> {
  const fail = (msg: string): never => {
    throw new ArtifactError(`artifact ${dir}: ranker ${msg}`, 'ranker');
  };
  if (m.ranker !== RANKER_DIR) fail(`must be "${RANKER_DIR}"`);
  if (m.config.task !== 'rating') fail('is only valid on a rating model');
  const entry = m.files[`${RANKER_DIR}/manifest.json`];
  if (!entry) fail(`has no checksum (files["${RANKER_DIR}/manifest.json"])`);
  await readChecked(dir, `${RANKER_DIR}/manifest.json`, entry);
  const ranker = await loadModel(join(dir, RANKER_DIR));
  if (ranker.config.task !== 'implicit' || ranker.ranker) {
    ranker.dispose();
    fail('must be an implicit model without a ranker of its own');
  }
  return ranker;
}
