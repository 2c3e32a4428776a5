/**
 * The CESQL v1 parser: a hand-written lexer and Pratt parser for the grammar
 * of cloudevents/spec `cesql/CESQLLexer.g4` and `CESQLParser.g4`, the one
 * cloudevents/sdk-go `sql/v2` generates its parser from (and so the one
 * Knative's webhook and broker filter accept). Where the prose of
 * `cesql/spec.md` and the grammar could be read two ways, the grammar wins,
 * so that an expression routes here as it does upstream.
 */
import { CesqlParseError, isInt32, type CesqlValue } from './values.js';

/** The binary operators of §2.3, by their canonical spelling. */
export type BinaryOperator = 'AND' | 'OR' | 'XOR' | '*' | '/' | '%' | '+' | '-' | '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=';

/** A node of a parsed expression. Attribute names are lower-cased, function names upper-cased. */
export type CesqlNode =
  | { kind: 'literal'; value: CesqlValue }
  | { kind: 'attribute'; name: string }
  | { kind: 'exists'; name: string }
  | { kind: 'not' | 'negate'; operand: CesqlNode }
  | { kind: 'binary'; operator: BinaryOperator; left: CesqlNode; right: CesqlNode }
  | { kind: 'like'; operand: CesqlNode; pattern: RegExp }
  | { kind: 'in'; operand: CesqlNode; set: CesqlNode[] }
  | { kind: 'call'; name: string; args: CesqlNode[] };

/** A parsed CESQL expression: its source text and its tree. */
export interface CesqlExpression {
  readonly source: string;
  readonly root: CesqlNode;
}

type Token =
  | { kind: 'integer'; at: number; text: string; value: number }
  | { kind: 'string'; at: number; text: string; value: string }
  | { kind: 'keyword' | 'name' | 'symbol' | 'end'; at: number; text: string };

const KEYWORDS = new Set(['AND', 'OR', 'XOR', 'NOT', 'LIKE', 'EXISTS', 'IN', 'TRUE', 'FALSE']);
const SYMBOLS = ['!=', '<>', '<=', '>=', '(', ')', ',', '*', '/', '%', '+', '-', '=', '<', '>'];
const VALUE_NAME = /^[A-Za-z0-9]+$/; // identifier: IDENTIFIER | IDENTIFIER_WITH_NUMBER
const FUNCTION_NAME = /^[A-Za-z][A-Za-z_]*$/; // functionIdentifier: IDENTIFIER | FUNCTION_IDENTIFIER_WITH_UNDERSCORE
const MAX_DEPTH = 1000;
const INTEGER = /[+-]?[0-9]+/y; // INTEGER_LITERAL
const WORD = /[A-Za-z0-9]+/y; // IDENTIFIER, IDENTIFIER_WITH_NUMBER and the keywords
const UNDERSCORED = /[A-Za-z][A-Za-z_]*/y; // FUNCTION_IDENTIFIER_WITH_UNDERSCORE

/**
 * Splits `source` into tokens the way the ANTLR lexer does: the longest
 * match wins, and on a tie the rule listed first (keywords before
 * identifiers, integers before identifiers with digits). So a sign that
 * touches digits belongs to the integer: `4 - 1` is a subtraction, while
 * `4 -1` and `4+1` are two integers in a row, which the grammar refuses.
 */
function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const refuse = (at: number, detail: string): never => {
    throw new CesqlParseError(source, at, detail);
  };
  const run = (re: RegExp, at: number) => {
    re.lastIndex = at;
    return re.exec(source)?.[0] ?? '';
  };
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (' \t\r\n'.includes(c)) {
      i++;
      continue;
    }
    const at = i;
    const number = run(INTEGER, i);
    const word = run(WORD, i);
    const underscored = run(UNDERSCORED, i);
    if (c === "'" || c === '"') {
      // A backslash escapes the next character and a doubled quote stays in the string (DQUOTA_STRING, SQUOTA_STRING).
      let j = i + 1;
      while (j < source.length && !(source[j] === c && source[j + 1] !== c)) j += source[j] === '\\' || source[j] === c ? 2 : 1;
      if (j >= source.length) refuse(at, 'unterminated string literal');
      const text = source.slice(i, j + 1);
      // As sdk-go reads a literal: only the escaped delimiter loses its backslash.
      tokens.push({ kind: 'string', at, text, value: text.slice(1, -1).replaceAll(`\\${c}`, c) });
      i = j + 1;
    } else if (number.length > 0 && number.length >= word.length) {
      const value = Number(number);
      if (!isInt32(value)) refuse(at, `integer literal ${number} is outside the 32-bit signed range`);
      tokens.push({ kind: 'integer', at, text: number, value: value | 0 });
      i += number.length;
    } else if (word.length > 0 || underscored.length > 0) {
      const text = underscored.length > word.length ? underscored : word;
      tokens.push({ kind: KEYWORDS.has(text.toUpperCase()) ? 'keyword' : 'name', at, text });
      i += text.length;
    } else {
      const symbol = SYMBOLS.find((s) => source.startsWith(s, i)) ?? refuse(at, `unexpected character ${JSON.stringify(c)}`);
      tokens.push({ kind: 'symbol', at, text: symbol });
      i += symbol.length;
    }
  }
  tokens.push({ kind: 'end', at: source.length, text: '' });
  return tokens;
}

/**
 * Binding levels from the generated sdk-go parser (higher binds tighter):
 * NOT and unary minus take an operand above every infix operator, then
 * LIKE, IN, `* / %`, `+ -`, comparisons, and last AND/OR/XOR, which share
 * one level and group to the right (`<assoc=right>` in CESQLParser.g4).
 */
const LEVEL = { not: 11, negate: 10, like: 9, in: 7, product: 6, sum: 5, comparison: 4, logic: 3 } as const;
const INFIX: Record<string, [level: number, rightAssociative: boolean]> = {
  '*': [LEVEL.product, false],
  '/': [LEVEL.product, false],
  '%': [LEVEL.product, false],
  '+': [LEVEL.sum, false],
  '-': [LEVEL.sum, false],
  AND: [LEVEL.logic, true],
  OR: [LEVEL.logic, true],
  XOR: [LEVEL.logic, true],
};
for (const op of ['=', '!=', '<>', '<', '<=', '>', '>=']) INFIX[op] = [LEVEL.comparison, false];

/**
 * Parses a CESQL v1 expression.
 * @throws {CesqlParseError} when `source` is not an expression of the grammar, with the offset where it goes wrong.
 */
export function parseCesql(source: string): CesqlExpression {
  const tokens = tokenize(source);
  let next = 0;
  let depth = 0;
  const peek = (ahead = 0) => tokens[Math.min(next + ahead, tokens.length - 1)]!;
  const take = () => tokens[next++]!;
  const is = (token: Token, kind: Token['kind'], text?: string) =>
    token.kind === kind && (text === undefined || token.text.toUpperCase() === text);
  const refuse = (token: Token, wanted: string): never => {
    const found = token.kind === 'end' ? 'the end of the expression' : JSON.stringify(token.text);
    throw new CesqlParseError(source, token.at, `expected ${wanted}, found ${found}`);
  };
  const expect = (kind: Token['kind'], text: string, wanted = `"${text}"`) => (is(peek(), kind, text) ? take() : refuse(peek(), wanted));

  /** `( expression (, expression)* )`, the empty list allowed only for function arguments. */
  function list(allowEmpty: boolean): CesqlNode[] {
    expect('symbol', '(');
    const items: CesqlNode[] = [];
    if (allowEmpty && is(peek(), 'symbol', ')')) {
      take();
      return items;
    }
    items.push(expression(0));
    while (is(peek(), 'symbol', ',')) {
      take();
      items.push(expression(0));
    }
    expect('symbol', ')', '"," or ")"');
    return items;
  }

  function primary(): CesqlNode {
    const token = take();
    if (is(token, 'symbol', '(')) {
      const inner = expression(0);
      expect('symbol', ')');
      return inner;
    }
    if (is(token, 'keyword', 'NOT')) return { kind: 'not', operand: expression(LEVEL.not) };
    if (is(token, 'symbol', '-')) return { kind: 'negate', operand: expression(LEVEL.negate) };
    if (is(token, 'keyword', 'TRUE') || is(token, 'keyword', 'FALSE')) return { kind: 'literal', value: is(token, 'keyword', 'TRUE') };
    if (token.kind === 'integer' || token.kind === 'string') return { kind: 'literal', value: token.value };
    if (is(token, 'keyword', 'EXISTS')) {
      const name = peek();
      if (name.kind !== 'name' || !VALUE_NAME.test(name.text)) refuse(name, 'an attribute name after EXISTS');
      return { kind: 'exists', name: take().text.toLowerCase() };
    }
    if (token.kind === 'name' && FUNCTION_NAME.test(token.text) && is(peek(), 'symbol', '(')) {
      return { kind: 'call', name: token.text.toUpperCase(), args: list(true) };
    }
    // sdk-go lower-cases identifiers, so `Type` addresses `type`.
    if (token.kind === 'name' && VALUE_NAME.test(token.text)) return { kind: 'attribute', name: token.text.toLowerCase() };
    return refuse(token, 'an expression');
  }

  function expression(minLevel: number): CesqlNode {
    if (++depth > MAX_DEPTH) throw new CesqlParseError(source, peek().at, `expression nested deeper than ${MAX_DEPTH}`);
    let left = primary();
    for (;;) {
      const token = peek();
      const negated = is(token, 'keyword', 'NOT') && (is(peek(1), 'keyword', 'LIKE') || is(peek(1), 'keyword', 'IN'));
      const operator = negated ? peek(1) : token;
      let node: CesqlNode;
      if (is(operator, 'keyword', 'LIKE') && LEVEL.like >= minLevel) {
        next += negated ? 2 : 1;
        // §3.4.3: the pattern is a string literal, never an expression.
        const pattern = peek().kind === 'string' ? (take() as { value: string }).value : refuse(peek(), 'a string literal pattern after LIKE');
        node = { kind: 'like', operand: left, pattern: likePattern(pattern) };
      } else if (is(operator, 'keyword', 'IN') && LEVEL.in >= minLevel) {
        next += negated ? 2 : 1;
        node = { kind: 'in', operand: left, set: list(false) };
      } else {
        const key = token.kind === 'symbol' || token.kind === 'keyword' ? token.text.toUpperCase() : '';
        const infix = INFIX[key];
        if (negated || !infix || infix[0] < minLevel) break;
        take();
        const right = expression(infix[1] ? infix[0] : infix[0] + 1);
        node = { kind: 'binary', operator: key as BinaryOperator, left, right };
      }
      left = negated ? { kind: 'not', operand: node } : node;
    }
    depth--;
    return left;
  }

  const root = expression(0);
  if (peek().kind !== 'end') refuse(peek(), 'an operator or the end of the expression');
  return Object.freeze({ source, root });
}

/** §3.4.3: `%` is any run of characters, `_` one character, `\%` and `\_` themselves; all else matches literally. */
function likePattern(pattern: string): RegExp {
  let re = '';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\' && (chars[i + 1] === '%' || chars[i + 1] === '_')) re += chars[++i];
    else if (c === '%') re += '.*';
    else if (c === '_') re += '.';
    else re += c.replace(/[\\^$.*+?()[\]{}|/]/, '\\$&');
  }
  return new RegExp(`^${re}$`, 'su');
}
