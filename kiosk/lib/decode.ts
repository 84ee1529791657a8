/**
 * Decoding untrusted JSON (the configuration file, an admin request, a release manifest) into
 * typed values. Each decoder returns the value or throws a DecodeIssue that names the key and
 * the problem; the first problem stops decoding, because every caller reports exactly one.
 *
 * Why not zod: it was the largest thing a start loaded (95 modules, about 150 ms of CPU and
 * 14 MiB of RSS alone on this machine; docs/performance.md), for the dozen checks below.
 *
 * Rules the decoders share:
 * - objects are strict: an unknown key is refused (a typo such as `pulseMS` must not be
 *   silently ignored), and unknown keys are reported before bad values;
 * - a key that is missing (or undefined) takes its decoder's default, decoded like a value
 *   written in the file, so nested defaults apply and no default object is shared;
 * - nothing is coerced: "3" is not a number, 1 is not true.
 */

export type Path = readonly (string | number)[];

export type IssueKind = 'value' | 'missing' | 'unknown-key';

/** What was wrong and where. `path` ends with the offending key for every kind. */
export class DecodeIssue extends Error {
  override readonly name = 'DecodeIssue';
  constructor(
    readonly path: Path,
    readonly problem: string,
    readonly kind: IssueKind = 'value',
  ) {
    super(`${path.join('.') || '(top level)'}: ${problem}`);
  }
}

export interface Decoder<Out, In = Out> {
  decode(value: unknown, path: Path): Out;
  /** What a missing key becomes. Absent: the key is required. */
  readonly whenMissing?: (path: Path) => Out;
  /** Type-level only: what a caller may write (a defaulted key may be left out). */
  readonly input?: In;
}

export type Infer<D> = D extends Decoder<infer Out, unknown> ? Out : never;
export type Input<D> = D extends Decoder<unknown, infer In> ? In : never;

export type Result<T> = { ok: true; value: T } | { ok: false; issue: DecodeIssue };

/** Decode, turning a DecodeIssue into a result; any other error is a bug and is thrown. */
export function decode<Out>(decoder: Decoder<Out, unknown>, value: unknown): Result<Out> {
  try {
    return { ok: true, value: decodeField(decoder, value, []) };
  } catch (error) {
    if (error instanceof DecodeIssue) return { ok: false, issue: error };
    throw error;
  }
}

function decodeField<Out>(decoder: Decoder<Out, unknown>, value: unknown, path: Path): Out {
  if (value !== undefined) return decoder.decode(value, path);
  if (decoder.whenMissing) return decoder.whenMissing(path);
  throw new DecodeIssue(path, 'is required', 'missing');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export interface IntegerOptions {
  min?: number;
  max?: number;
}

/** A whole number (JSON has no other kind of number worth a setting here). */
export function integer(options: IntegerOptions = {}): Decoder<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  return {
    decode(value, path) {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new DecodeIssue(path, `must be a whole number, not ${describe(value)}${typeof value === 'number' ? ` (${value})` : ''}`);
      if (value < min) throw new DecodeIssue(path, `must be at least ${min}`);
      if (value > max) throw new DecodeIssue(path, `must be at most ${max}`);
      return value;
    },
  };
}

export interface StringOptions {
  min?: number;
  max?: number;
  /** Checked after trimming; the message says what was expected. */
  pattern?: readonly [RegExp, string];
  /** Leading and trailing white space removed before the other checks (and in the result). */
  trim?: boolean;
  /** A last check, with what to say when it fails. */
  check?: readonly [(value: string) => boolean, string];
  /** Said instead of "must be at least N characters". */
  minMessage?: string;
  maxMessage?: string;
}

export function string(options: StringOptions = {}): Decoder<string> {
  return {
    decode(value, path) {
      if (typeof value !== 'string') throw new DecodeIssue(path, `must be a string, not ${describe(value)}`);
      const text = options.trim ? value.trim() : value;
      if (options.min !== undefined && text.length < options.min) throw new DecodeIssue(path, options.minMessage ?? `must be at least ${options.min} characters`);
      if (options.max !== undefined && text.length > options.max) throw new DecodeIssue(path, options.maxMessage ?? `must be at most ${options.max} characters`);
      if (options.pattern && !options.pattern[0].test(text)) throw new DecodeIssue(path, `must be ${options.pattern[1]}`);
      if (options.check && !options.check[0](text)) throw new DecodeIssue(path, options.check[1]);
      return text;
    },
  };
}

export function boolean(): Decoder<boolean> {
  return {
    decode(value, path) {
      if (typeof value !== 'boolean') throw new DecodeIssue(path, `must be true or false, not ${describe(value)}`);
      return value;
    },
  };
}

/** Exactly one of the listed strings or numbers. */
export function oneOf<const T extends readonly (string | number)[]>(choices: T): Decoder<T[number]> {
  const listed = choices.map((choice) => JSON.stringify(choice)).join(', ');
  return {
    decode(value, path) {
      if (!choices.includes(value as T[number])) throw new DecodeIssue(path, choices.length === 1 ? `must be ${listed}` : `must be one of ${listed}`);
      return value as T[number];
    },
  };
}

export function nullable<Out, In>(inner: Decoder<Out, In>): Decoder<Out | null, In | null> {
  return {
    decode: (value, path) => (value === null ? null : inner.decode(value, path)),
    ...(inner.whenMissing ? { whenMissing: inner.whenMissing } : {}),
  };
}

/** A key that may be left out: missing, it is undefined. */
export function optional<Out, In>(inner: Decoder<Out, In>): Decoder<Out | undefined, In | undefined> {
  return { decode: (value, path) => inner.decode(value, path), whenMissing: () => undefined };
}

/**
 * A key that may be left out: missing, it is `fallback`, decoded as if it had been written
 * (so an object's own defaults fill it in: `withDefault(object({...}), {})`).
 */
export function withDefault<Out, In>(inner: Decoder<Out, In>, fallback: In): Decoder<Out, In | undefined> {
  return { decode: (value, path) => inner.decode(value, path), whenMissing: (path) => inner.decode(fallback, path) };
}

export interface ArrayOptions {
  min?: number;
  max?: number;
}

export function array<Out, In>(item: Decoder<Out, In>, options: ArrayOptions = {}): Decoder<Out[], In[]> {
  return {
    decode(value, path) {
      if (!Array.isArray(value)) throw new DecodeIssue(path, `must be a list, not ${describe(value)}`);
      if (options.min !== undefined && value.length < options.min) throw new DecodeIssue(path, `must have at least ${options.min} item${options.min === 1 ? '' : 's'}`);
      if (options.max !== undefined && value.length > options.max) throw new DecodeIssue(path, `must have at most ${options.max} items`);
      return value.map((entry, index) => item.decode(entry, [...path, index]));
    },
  };
}

function plainObject(value: unknown, path: Path): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DecodeIssue(path, `must be an object, not ${describe(value)}`);
  return value as Record<string, unknown>;
}

/** An object used as a map: every key checked by `key`, every value by `entry`. */
export function record<Out, In>(key: Decoder<string>, entry: Decoder<Out, In>): Decoder<Record<string, Out>, Record<string, In>> {
  return {
    decode(value, path) {
      const source = plainObject(value, path);
      const result: Record<string, Out> = Object.create(null) as Record<string, Out>;
      for (const [name, item] of Object.entries(source)) {
        key.decode(name, [...path, name]);
        result[name] = entry.decode(item, [...path, name]);
      }
      return result;
    },
  };
}

export type Shape = { readonly [key: string]: Decoder<unknown, unknown> };
type Flat<T> = { [K in keyof T]: T[K] } & {};
/** Keys whose decoder may yield undefined are optional properties, as a caller would write them. */
export type ShapeOut<S extends Shape> = Flat<
  { [K in keyof S as undefined extends Infer<S[K]> ? never : K]: Infer<S[K]> } & { [K in keyof S as undefined extends Infer<S[K]> ? K : never]?: Infer<S[K]> }
>;
export type ShapeIn<S extends Shape> = Flat<
  { [K in keyof S as undefined extends Input<S[K]> ? never : K]: Input<S[K]> } & { [K in keyof S as undefined extends Input<S[K]> ? K : never]?: Input<S[K]> }
>;

/** A problem between keys that are each fine alone: the key to name, and what is wrong. */
export interface CrossCheckProblem {
  key: string;
  problem: string;
}

export interface ObjectDecoder<S extends Shape> extends Decoder<ShapeOut<S>, ShapeIn<S>> {
  readonly shape: S;
}

/**
 * A strict object. `crossCheck` sees the decoded object and may name one key that is wrong
 * given the others.
 */
export function object<S extends Shape>(shape: S, crossCheck?: (value: ShapeOut<S>) => CrossCheckProblem | null): ObjectDecoder<S> {
  const known = new Set(Object.keys(shape));
  return {
    shape,
    decode(value, path) {
      const source = plainObject(value, path);
      const unknown = Object.keys(source).find((key) => !known.has(key));
      if (unknown !== undefined) throw new DecodeIssue([...path, unknown], 'is not a known key', 'unknown-key');
      const result: Record<string, unknown> = {};
      for (const [key, decoder] of Object.entries(shape)) {
        const decoded = decodeField(decoder, source[key], [...path, key]);
        if (decoded !== undefined) result[key] = decoded;
      }
      const out = result as ShapeOut<S>;
      const problem = crossCheck?.(out);
      if (problem) throw new DecodeIssue([...path, problem.key], problem.problem);
      return out;
    },
  };
}

type Variants<Tag extends string> = { readonly [name: string]: Decoder<{ readonly [K in Tag]: string }, unknown> };

/**
 * One of several objects told apart by the string at `tag` (`{"op": "open", ...}`). Each
 * variant's shape holds its own `tag` key (a oneOf of its name).
 */
export function tagged<Tag extends string, V extends Variants<Tag>>(tag: Tag, variants: V): Decoder<Infer<V[keyof V]>, Input<V[keyof V]>> {
  const names = Object.keys(variants);
  return {
    decode(value, path) {
      const source = plainObject(value, path);
      const name = source[tag];
      const variant = typeof name === 'string' && Object.hasOwn(variants, name) ? variants[name] : undefined;
      if (!variant) throw new DecodeIssue([...path, tag], `must be one of ${names.join(', ')}`);
      return variant.decode(source, path) as Infer<V[keyof V]>;
    },
  };
}
