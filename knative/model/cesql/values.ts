/**
 * CESQL's values, its error kinds and its casts (cloudevents/spec
 * cesql/spec.md v1.0.0, sections 3.1, 3.3 and 3.7).
 */

/** A CESQL value: a String, an Integer (always a 32-bit signed integer here) or a Boolean (§3.1). */
export type CesqlValue = string | number | boolean;

/** The three primitive types of §3.1. */
export type CesqlType = 'String' | 'Integer' | 'Boolean';

/** The error kinds of §3.3, spelled as the TCK spells them; `generic` is its GenericError. */
export type CesqlErrorKind = 'parse' | 'math' | 'cast' | 'missingAttribute' | 'missingFunction' | 'functionEvaluation' | 'generic';

/** An error CESQL defines (§3.3); evaluation returns these, parsing throws {@link CesqlParseError}. */
export class CesqlError extends Error {
  constructor(
    readonly kind: CesqlErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'CesqlError';
  }
}

/** An expression that is not CESQL v1; `position` is the 0-based offset of the offending character. */
export class CesqlParseError extends CesqlError {
  constructor(
    readonly expression: string,
    readonly position: number,
    detail: string,
  ) {
    super('parse', `${detail} at position ${position} of ${JSON.stringify(expression)}`);
    this.name = 'CesqlParseError';
  }
}

/**
 * What evaluating an expression (or any part of it) gives: a value, and the
 * error that stopped it, if any. An operator or function that meets an error
 * still returns a value, the zero value of its return type (§3.3).
 */
export interface CesqlResult {
  value: CesqlValue;
  error?: CesqlError;
}

/** The zero values of §3.1. */
export const ZERO: Readonly<Record<CesqlType, CesqlValue>> = { String: '', Integer: 0, Boolean: false };

// `| 0` truncates and wraps to 32 bits, so only a 32-bit signed integer comes through it unchanged.
export const isInt32 = (n: number): boolean => (n | 0) === n;

export function typeOf(value: CesqlValue): CesqlType {
  if (typeof value === 'string') return 'String';
  return typeof value === 'number' ? 'Integer' : 'Boolean';
}

/** The zero value of `type`, with `error`: what an operator returns when something under it failed. */
export const failed = (type: CesqlType, error: CesqlError): CesqlResult => ({ value: ZERO[type], error });

/** Casts `value` to `type` by the table of §3.7; a failed cast is the zero value and a CastError. */
export function cast(value: CesqlValue, type: CesqlType): CesqlResult {
  const from = typeOf(value);
  if (from === type) return { value };
  const refused = () => failed(type, new CesqlError('cast', `cannot cast ${from} ${JSON.stringify(value)} to ${type}`));
  switch (type) {
    case 'String':
      return { value: String(value) };
    case 'Boolean':
      if (from === 'Integer') return { value: value !== 0 };
      // Exactly "true" or "false" once lower-cased, nothing around them.
      if (String(value).toLowerCase() === 'true') return { value: true };
      return String(value).toLowerCase() === 'false' ? { value: false } : refused();
    case 'Integer': {
      if (from === 'Boolean') return { value: value ? 1 : 0 };
      // Base 10 with an optional sign; anything else, or overflow, is refused.
      const text = String(value);
      const n = /^[+-]?[0-9]+$/.test(text) ? Number(text) : NaN;
      return isInt32(n) ? { value: n | 0 } : refused();
    }
  }
}
