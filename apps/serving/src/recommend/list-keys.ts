/**
 * Keys of decoded candidate id lists, set by the Recommend request decoder from the bytes the
 * list was decoded from (their length and hash: equal bytes decode to equal lists), so the
 * catalog can tell a repeated list without hashing its 1,000 id strings again. A key is only a
 * hint: the catalog compares the ids on a hit, and a list without one is fingerprinted as usual.
 */
export const decodedListKeys = new WeakMap<readonly string[], string>();
