/**
 * The built-in functions of CESQL v1 (§3.5): the string functions of
 * §3.5.1, ABS of §3.5.2, and the casting functions INT, BOOL and STRING
 * that §3.7 names, plus IS_INT and IS_BOOL, which cloudevents/sdk-go
 * (`sql/v2/function/casting_functions.go`) registers beside them, so that
 * an expression Knative evaluates does not meet a MissingFunctionError here.
 * Lengths and positions count Unicode characters (code points), as §3.5.1
 * says "character".
 */
import { cast, CesqlError, type CesqlResult, type CesqlType, type CesqlValue } from './values.js';

/** A built-in: the types its arguments are cast to (`Any`: not cast), and what it returns. */
export interface CesqlFunction {
  params: Array<CesqlType | 'Any'>;
  /** The type of every argument past `params`, for a variadic function. */
  rest?: CesqlType;
  returns: CesqlType;
  run(args: CesqlValue[]): CesqlResult;
}

const chars = (s: CesqlValue) => Array.from(s as string);
const fails = (value: CesqlValue, message: string): CesqlResult => ({ value, error: new CesqlError('functionEvaluation', message) });
const text = (run: (s: string) => string): CesqlFunction => ({ params: ['String'], returns: 'String', run: ([s]) => ({ value: run(s as string) }) });
const caster = (type: CesqlType): CesqlFunction => ({ params: ['Any'], returns: type, run: ([x]) => cast(x!, type) });
// §3.5.2: |-2^31| does not fit, so ABS of it is the largest Integer and a MathError.
const absOverflow = (): CesqlResult => ({ value: 2147483647, error: new CesqlError('math', 'ABS(-2147483648) overflows') });
const tester = (type: CesqlType): CesqlFunction => ({ params: ['Any'], returns: 'Boolean', run: ([x]) => ({ value: !cast(x!, type).error }) });

/** LEFT and RIGHT: `count` characters from one end; a negative count returns `x` and an error. */
function end(name: string, take: (c: string[], count: number) => string[]): CesqlFunction {
  return {
    params: ['String', 'Integer'],
    returns: 'String',
    run: ([x, count]) => {
      const c = chars(x!);
      if ((count as number) < 0) return fails(x!, `${name} length ${count} is negative`);
      return { value: (count as number) >= c.length ? (x as string) : take(c, count as number).join('') };
    },
  };
}

/** SUBSTRING(x, pos [, len]): 1-based `pos`, counted from the end when negative, 0 giving the empty string. */
function substring(withLength: boolean): CesqlFunction {
  return {
    params: withLength ? ['String', 'Integer', 'Integer'] : ['String', 'Integer'],
    returns: 'String',
    run: ([x, pos, len]) => {
      const c = chars(x!);
      const p = pos as number;
      if (p > c.length || p < -c.length) return fails('', `SUBSTRING position ${p} is outside a string of ${c.length} characters`);
      if (withLength && (len as number) < 0) return fails('', `SUBSTRING length ${len} is negative`);
      if (p === 0) return { value: '' };
      const start = p < 0 ? c.length + p : p - 1;
      return { value: c.slice(start, withLength ? start + (len as number) : undefined).join('') };
    },
  };
}

/** Every built-in by upper-case name; a name may have one fixed-arity overload per arity and one variadic one (§3.5). */
export const BUILTINS: Readonly<Record<string, readonly CesqlFunction[]>> = {
  LENGTH: [{ params: ['String'], returns: 'Integer', run: ([x]) => ({ value: chars(x!).length }) }],
  CONCAT: [{ params: [], rest: 'String', returns: 'String', run: (args) => ({ value: args.join('') }) }],
  CONCAT_WS: [{ params: ['String'], rest: 'String', returns: 'String', run: ([sep, ...xs]) => ({ value: xs.join(sep as string) }) }],
  LOWER: [text((s) => s.toLowerCase())],
  UPPER: [text((s) => s.toUpperCase())],
  // §3.5.1: Unicode whitespace only, not every character JavaScript's trim() removes.
  TRIM: [text((s) => s.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, ''))],
  LEFT: [end('LEFT', (c, n) => c.slice(0, n))],
  RIGHT: [end('RIGHT', (c, n) => c.slice(c.length - n))],
  SUBSTRING: [substring(false), substring(true)],
  ABS: [{ params: ['Integer'], returns: 'Integer', run: ([x]) => (x === -2147483648 ? absOverflow() : { value: Math.abs(x as number) }) }],
  INT: [caster('Integer')],
  BOOL: [caster('Boolean')],
  STRING: [caster('String')],
  IS_INT: [tester('Integer')],
  IS_BOOL: [tester('Boolean')],
};

/** The overload of `name` that takes `arity` arguments: an exact fixed arity first, else the variadic one. */
export function resolveFunction(name: string, arity: number): CesqlFunction | undefined {
  const overloads = Object.hasOwn(BUILTINS, name) ? BUILTINS[name]! : [];
  return overloads.find((f) => !f.rest && f.params.length === arity) ?? overloads.find((f) => f.rest && f.params.length <= arity);
}
