import { ValidationError } from '../errors';
import {
  checkFeatures,
  checkFiniteNumber,
  checkId,
  checkTime,
  checkUnique,
  MAX_ID_LENGTH,
  MAX_TIME,
  MIN_TIME,
} from '../validate';
import type { UserRecord } from '../types';
import type { InteractionInput, ItemRecordInput } from './inputs';

function checkArray(name: string, rows: unknown): void {
  if (!Array.isArray(rows)) throw new ValidationError(name, 'must be an array');
}

export function validateUsers(users: readonly UserRecord[]): void {
  checkArray('users', users);
  users.forEach((u, i) => {
    checkId(`users[${i}].id`, u?.id);
    checkFeatures(`users[${i}].features`, u.features);
  });
  checkUnique(
    'users',
    users.map((u) => u.id),
    'id',
  );
}

export function validateItems(items: readonly ItemRecordInput[]): void {
  checkArray('items', items);
  items.forEach((it, i) => {
    checkId(`items[${i}].id`, it?.id);
    checkFeatures(`items[${i}].features`, it.features);
    checkTime(`items[${i}].availableAt`, it.availableAt, true);
    if (it.status !== undefined && it.status !== 'active' && it.status !== 'retired') {
      throw new ValidationError(`items[${i}].status`, `"${String(it.status)}" is not active or retired`);
    }
  });
  checkUnique(
    'items',
    items.map((it) => it.id),
    'id',
  );
}

/** Whether an id passes `checkId` (without building its field name). */
function plainId(id: unknown): boolean {
  return typeof id === 'string' && id.length <= MAX_ID_LENGTH && id.trim() !== '';
}

/** Whether a time passes `checkTime` (required). */
function saneTime(time: unknown): boolean {
  if (!(time instanceof Date)) return false;
  const t = time.getTime();
  return t >= MIN_TIME && t < MAX_TIME; // false for NaN too
}

/** Whether a row passes `checkInteraction`: no strings built per row on the common path. */
function plainInteraction(r: InteractionInput, lo: number, hi: number): boolean {
  if (r === null || typeof r !== 'object') return false;
  if (!plainId(r.eventId) || !plainId(r.userId) || !plainId(r.itemId) || !saneTime(r.eventTime)) return false;
  const v = r.value;
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  const kind = r.kind ?? 'rating';
  if (kind === 'rating') return v >= lo && v <= hi;
  return kind === 'implicit' && v >= 0 && v <= 1;
}

/** Throws the ValidationError, naming the field, for a row `plainInteraction` refused. */
function checkInteraction(r: InteractionInput, i: number, lo: number, hi: number): void {
  const at = `interactions[${i}]`;
  if (r === null || typeof r !== 'object') throw new ValidationError(at, 'must be an object');
  checkId(`${at}.eventId`, r.eventId);
  checkId(`${at}.userId`, r.userId);
  checkId(`${at}.itemId`, r.itemId);
  checkTime(`${at}.eventTime`, r.eventTime);
  const kind = r.kind ?? 'rating';
  const value = checkFiniteNumber(`${at}.value`, r.value);
  if (kind === 'rating') {
    if (value < lo || value > hi)
      throw new ValidationError(`${at}.value`, `rating ${value} is outside ${lo}..${hi}`);
  } else if (kind === 'implicit') {
    if (value < 0 || value > 1)
      throw new ValidationError(`${at}.value`, `implicit value ${value} is outside 0..1`);
  } else throw new ValidationError(`${at}.kind`, `"${String(kind)}" is not rating or implicit`);
}

export function validateInteractions(
  rows: readonly InteractionInput[],
  ratingRange: readonly [number, number],
): void {
  checkArray('interactions', rows);
  const [lo, hi] = ratingRange;
  for (let i = 0; i < rows.length; i++) {
    if (!plainInteraction(rows[i], lo, hi)) checkInteraction(rows[i], i, lo, hi);
  }
}
