import { ValidationError } from '../errors';
import { checkFeatures, checkFiniteNumber, checkId, checkTime, checkUnique } from '../validate';
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

export function validateInteractions(
  rows: readonly InteractionInput[],
  ratingRange: readonly [number, number],
): void {
  checkArray('interactions', rows);
  const [lo, hi] = ratingRange;
  rows.forEach((r, i) => {
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
  });
}
