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

export const bool = () =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'true or false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .trim()
    .pipe(z.enum(values, { error: `one of ${values.join(', ')}` }));

export const url = (protocols: readonly string[]) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        return protocols.includes(new URL(v).protocol.replace(':', ''));
      } catch {
        return false;
      }
    }, `a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`);

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
  z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    );
