import { z } from 'zod';

/** Reusable zod field builders; each carries the "accepted form" shown in error messages. */

const intFrom = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, `an integer between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `an integer between ${min} and ${max}`).max(max, `an integer between ${min} and ${max}`));

export const port = () => intFrom(1, 65535);
export const portOrZero = () => intFrom(0, 65535);
export const int = (min: number, max: number) => intFrom(min, max);

export const number = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+(\.\d+)?$/, `a number between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().min(min, `a number between ${min} and ${max}`).max(max, `a number between ${min} and ${max}`));

/** The words bool() reads as true and as false. */
const TRUE_WORDS = ['true', '1', 'yes'];
const BOOL_WORDS = [...TRUE_WORDS, 'false', '0', 'no'];

export const bool = () =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => BOOL_WORDS.includes(v), 'true or false')
    .transform((v) => TRUE_WORDS.includes(v));

/** `auto`, or a boolean as bool() reads it. */
export const boolOrAuto = () =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => v === 'auto' || BOOL_WORDS.includes(v), 'auto, true or false')
    .transform((v): boolean | 'auto' => (v === 'auto' ? 'auto' : TRUE_WORDS.includes(v)));

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .trim()
    .pipe(z.enum(values, { error: `one of ${values.join(', ')}` }));

export const url = (protocols: readonly string[]) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return protocols.includes(new URL(v).protocol.replace(':', ''));
        } catch {
          return false;
        }
      },
      `a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`,
    );

/** Empty string means "not set" for optional values, so `.env` files can blank a default. */
export const optional = <T extends z.ZodType<unknown, string>>(inner: T) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v))
    .pipe(z.union([z.undefined(), inner]));

export const text = () => z.string();
export const host = () => z.string().trim().min(1, 'a host name or IP address');
export const list = () =>
  z.string().transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

/**
 * A shared secret clients present (e.g. a bearer token): unset or empty = not set; otherwise at
 * least `minLength` visible ASCII characters. Blank or padded values are refused rather than
 * silently meaning "no token".
 */
export const token = (minLength: number) => {
  const accepted = `a token of at least ${minLength} visible characters, no spaces (e.g. from \`openssl rand -hex 24\`), or empty for none`;
  return z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? undefined : v))
    .pipe(
      z.union([
        z.undefined(),
        z
          .string()
          .regex(/^[\x21-\x7e]+$/, accepted)
          .min(minLength, accepted),
      ]),
    );
};

/**
 * True for names that always mean this machine: `localhost`, 127.0.0.0/8, ::1 (bracketed or not)
 * and IPv4-mapped loopback. The unspecified addresses (0.0.0.0, ::) and every other name are not.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  if (h === 'localhost') return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** A file name inside a models folder: no folders, no leading dot (so never outside it). */
export const modelFile = () =>
  z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,199}$/, 'a file name in MODELS_DIR (letters, digits, `_.+-`, no folders)');
