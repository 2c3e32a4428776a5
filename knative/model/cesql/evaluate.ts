/**
 * The CESQL v1 evaluator, in the fail-fast mode of §4.1 that §1.2 asks of a
 * filter: the first error stops the evaluation, and every operator or
 * function above it returns the zero value of its own return type with that
 * error (§3.2, §3.3). AND and OR short-circuit (§3.4.2).
 */
import { resolveFunction } from './functions.js';
import type { CesqlExpression, CesqlNode } from './parse.js';
import { cast, CesqlError, failed, isInt32, typeOf, type CesqlResult, type CesqlType, type CesqlValue } from './values.js';

/**
 * An event's context attributes and extensions by name (no `data`: CESQL v1
 * does not reach it). A 32-bit integer is an Integer, a boolean a Boolean,
 * anything else a String (§3.2).
 */
export type CesqlAttributes = Readonly<Record<string, string | number | boolean>>;

// §3.4.4: an event is assumed valid, so its REQUIRED attributes always exist.
const REQUIRED = new Set(['specversion', 'id', 'source', 'type']);

/** Evaluates `expression` against an event's attributes; see {@link CesqlResult} for how errors come back. */
export function evaluateCesql(expression: CesqlExpression, attributes: CesqlAttributes): CesqlResult {
  return evaluate(expression.root, attributes);
}

/** Evaluates `node` and casts its value to `type`, keeping the first error. */
function evaluateAs(node: CesqlNode, attributes: CesqlAttributes, type: CesqlType): CesqlResult {
  const result = evaluate(node, attributes);
  return result.error ? result : cast(result.value, type);
}

function evaluate(node: CesqlNode, attributes: CesqlAttributes): CesqlResult {
  switch (node.kind) {
    case 'literal':
      return { value: node.value };
    case 'attribute': {
      // §3.2: the zero value of whatever is above, Boolean when nothing is.
      if (!Object.hasOwn(attributes, node.name)) return failed('Boolean', new CesqlError('missingAttribute', `no attribute "${node.name}"`));
      const value = attributes[node.name]!;
      return { value: typeof value === 'number' && !isInt32(value) ? String(value) : value };
    }
    case 'exists':
      return { value: REQUIRED.has(node.name) || Object.hasOwn(attributes, node.name) };
    case 'not': {
      const operand = evaluateAs(node.operand, attributes, 'Boolean');
      return operand.error ? failed('Boolean', operand.error) : { value: !operand.value };
    }
    case 'negate': {
      const operand = evaluateAs(node.operand, attributes, 'Integer');
      return operand.error ? failed('Integer', operand.error) : { value: -(operand.value as number) | 0 };
    }
    case 'like': {
      const operand = evaluateAs(node.operand, attributes, 'String');
      return operand.error ? failed('Boolean', operand.error) : { value: node.pattern.test(operand.value as string) };
    }
    case 'in':
      return evaluateIn(node, attributes);
    case 'call':
      return evaluateCall(node, attributes);
    case 'binary':
      return evaluateBinary(node, attributes);
  }
}

/** §3.4.5: each element is cast to the type of the left operand and compared as `=` does; the first match wins. */
function evaluateIn(node: Extract<CesqlNode, { kind: 'in' }>, attributes: CesqlAttributes): CesqlResult {
  const left = evaluate(node.operand, attributes);
  if (left.error) return failed('Boolean', left.error);
  for (const element of node.set) {
    const right = evaluateAs(element, attributes, typeOf(left.value));
    if (right.error) return failed('Boolean', right.error);
    if (right.value === left.value) return { value: true };
  }
  return { value: false };
}

/** §3.5: an invocation that cannot be dispatched is `false` with a MissingFunctionError; arguments are cast to the parameter types (§3.7). */
function evaluateCall(node: Extract<CesqlNode, { kind: 'call' }>, attributes: CesqlAttributes): CesqlResult {
  const fn = resolveFunction(node.name, node.args.length);
  if (!fn) return failed('Boolean', new CesqlError('missingFunction', `no function ${node.name} taking ${node.args.length} argument(s)`));
  const args = [];
  for (const [i, arg] of node.args.entries()) {
    const type = fn.params[i] ?? fn.rest!;
    const value = type === 'Any' ? evaluate(arg, attributes) : evaluateAs(arg, attributes, type);
    if (value.error) return failed(fn.returns, value.error);
    args.push(value.value);
  }
  return fn.run(args);
}

const ON_INTEGERS: Record<string, (x: number, y: number) => CesqlValue> = {
  '+': (x, y) => (x + y) | 0,
  '-': (x, y) => (x - y) | 0,
  '*': Math.imul,
  '/': (x, y) => Math.trunc(x / y) | 0,
  '%': (x, y) => x % y | 0,
  '<': (x, y) => x < y,
  '<=': (x, y) => x <= y,
  '>': (x, y) => x > y,
  '>=': (x, y) => x >= y,
};

/**
 * §3.4.2 and §3.7. Integers wrap on overflow, as sdk-go's int32 arithmetic
 * does; `/` truncates toward zero and `%` keeps the dividend's sign.
 */
function evaluateBinary(node: Extract<CesqlNode, { kind: 'binary' }>, attributes: CesqlAttributes): CesqlResult {
  const { operator } = node;
  if (operator === 'AND' || operator === 'OR' || operator === 'XOR') {
    const left = evaluateAs(node.left, attributes, 'Boolean');
    if (left.error) return failed('Boolean', left.error);
    if (operator === 'AND' && !left.value) return { value: false };
    if (operator === 'OR' && left.value) return { value: true };
    const right = evaluateAs(node.right, attributes, 'Boolean');
    if (right.error) return failed('Boolean', right.error);
    return { value: operator === 'XOR' ? left.value !== right.value : right.value };
  }
  if (operator === '=' || operator === '!=' || operator === '<>') {
    // `=` is ambiguous (§3.7 rule 2.2): the right operand's type decides what the left one is cast to.
    const left = evaluate(node.left, attributes);
    if (left.error) return failed('Boolean', left.error);
    const right = evaluate(node.right, attributes);
    if (right.error) return failed('Boolean', right.error);
    const converted = cast(left.value, typeOf(right.value));
    if (converted.error) return failed('Boolean', converted.error);
    return { value: (converted.value === right.value) === (operator === '=') };
  }
  const returns = ['<', '<=', '>', '>='].includes(operator) ? 'Boolean' : 'Integer';
  const left = evaluateAs(node.left, attributes, 'Integer');
  if (left.error) return failed(returns, left.error);
  const right = evaluateAs(node.right, attributes, 'Integer');
  if (right.error) return failed(returns, right.error);
  const [x, y] = [left.value as number, right.value as number];
  if ((operator === '/' || operator === '%') && y === 0) return failed('Integer', new CesqlError('math', `${x} ${operator} 0: division by zero`));
  return { value: ON_INTEGERS[operator]!(x, y) };
}
