/**
 * CESQL beyond the TCK: the filter as Knative runs it
 * (pkg/eventfilter/subscriptionsapi/cesql_filter.go and its test), where a
 * parse goes wrong, the grammar's lexing and precedence (cloudevents/spec
 * cesql/CESQLLexer.g4, CESQLParser.g4), and the rules of cesql/spec.md
 * that the vendored TCK files leave out (IN, EXISTS, case, casts, overflow).
 */
import { describe, expect, it } from 'vitest';
import {
  BUILTINS,
  CesqlNonBooleanResultError,
  CesqlParseError,
  compileCesqlFilter,
  evaluateCesql,
  parseCesql,
  type CesqlAttributes,
  type CesqlValue,
} from './index.js';

const EVENT: CesqlAttributes = {
  specversion: '1.0',
  id: 'order-1',
  source: '/ordersaga/gateway',
  type: 'dev.ordersaga.order.requested',
  ttl: 10,
  myext: 'myvalue',
};

/** Evaluates and flattens the outcome, so a table row states value and error kind together. */
function run(expression: string, attributes: CesqlAttributes = EVENT): { value: CesqlValue; error?: string } {
  const { value, error } = evaluateCesql(parseCesql(expression), attributes);
  return error ? { value, error: error.kind } : { value };
}

function parseError(expression: string): CesqlParseError {
  try {
    parseCesql(expression);
  } catch (e) {
    if (e instanceof CesqlParseError) return e;
    throw e;
  }
  throw new Error(`${JSON.stringify(expression)} parsed`);
}

describe('compileCesqlFilter, as Knative’s cesql filter', () => {
  // The cases of cesql_filter_test.go, on an event of type dev.ordersaga.order.requested with ttl 10.
  it.each([
    ['the wrong type fails', "type = 'wrong.type'", 'fail'],
    ['a wrong extension value fails', "myext = 'wrong.extension'", 'fail'],
    ['the matching type passes', "type = 'dev.ordersaga.order.requested'", 'pass'],
    ['a matching extension passes', "myext = 'myvalue'", 'pass'],
    ['a numeric extension compares as a number', 'ttl < 30', 'pass'],
    ['one side of an OR is enough', "(type = 'dev.ordersaga.order.requested') OR (source = 'some-other-source')", 'pass'],
    ['a missing attribute in < fails', 'missingattribute < 5', 'fail'],
    ['a missing attribute in = fails', 'missingattribute = missinsvalue', 'fail'],
  ] as const)('%s', (_name, expression, want) => {
    expect(compileCesqlFilter(expression)(EVENT)).toBe(want);
  });

  it.each([
    ['a math error', 'ttl / 0 = 0'],
    ['a failed cast', "myext < 5"],
    ['an unknown function', 'HAS_PREFIX(type, "dev.")'],
    ['a function error, even when the value is true', "LEFT(myext, -1) = 'myvalue'"],
    ['a missing attribute under NOT', 'NOT missing'],
    // Knative checks the error before the type, so these fail rather than panic.
    ['an error whose value is an Integer', 'ttl / 0'],
    ['an error whose value is a String', 'LEFT(myext, -1)'],
    ['ABS overflowing, which still returns an Integer', 'ABS(-2147483648)'],
    ['a missing attribute alone', 'missing'],
  ])('fails the event on %s', (_name, expression) => {
    expect(compileCesqlFilter(expression)(EVENT)).toBe('fail');
  });

  it('passes the same event again and again, the expression parsed once', () => {
    const filter = compileCesqlFilter("type LIKE 'dev.ordersaga.%' AND EXISTS myext");
    expect([filter(EVENT), filter(EVENT), filter({ ...EVENT, type: 'other' })]).toEqual(['pass', 'pass', 'fail']);
  });

  it.each([
    ['a String', 'myext', 'myvalue'],
    ['an Integer', 'ttl + 1', 11],
  ] as const)('throws CesqlNonBooleanResultError for %s, where Knative’s res.(bool) panics', (_name, expression, value) => {
    const filter = compileCesqlFilter(expression);
    expect(() => filter(EVENT)).toThrow(CesqlNonBooleanResultError);
    expect(() => filter(EVENT)).toThrow(expect.objectContaining({ expression, value, kind: 'generic' }));
  });

  it.each(['', '   ', "type = 'a", 'type =='])('refuses %j when compiling, before any event', (expression) => {
    expect(() => compileCesqlFilter(expression)).toThrow(CesqlParseError);
  });
});

describe('parse errors say where', () => {
  it.each([
    ['nothing at all', '', 0],
    ['an operator with no right operand', 'type =', 6],
    ['an unterminated string', "type = 'abc", 7],
    ['a string whose last quote is escaped', "'abc\\'", 0],
    ['a sign touching digits, making a second integer', '4 -1', 2],
    ['the same without spaces', '4+1', 1],
    ['a character outside the grammar', 'a # b', 2],
    ['a LIKE pattern that is not a string literal', 'x LIKE 123', 7],
    ['a LIKE pattern that is an attribute', 'x LIKE y', 7],
    ['an unclosed argument list', 'ABC(', 4],
    ['an unclosed sub-expression', '(a = b', 6],
    ['an empty IN set', 'a IN ()', 6],
    ['an IN with no set', 'a IN b', 5],
    ['EXISTS of a number', 'EXISTS 1', 7],
    ['EXISTS of a function', 'EXISTS LENGTH(a)', 13],
    ['an underscore name that is not called', 'my_ext = 1', 0],
    ['a call of a name with digits', 'a1(2)', 2],
    ['an integer literal past 32 bits', '2147483648', 0],
    ['an integer literal below 32 bits', 'a = -2147483649', 4],
    ['NOT where an operator belongs', 'a NOT b', 2],
    ['NOT with nothing after it', 'NOT', 3],
    ['a trailing comma', 'CONCAT(a,)', 9],
    ['a keyword used as an attribute', 'in = 1', 0],
    ['a bare exclamation mark', 'a ! b', 2],
  ])('%s: %j at %i', (_name, expression, position) => {
    const error = parseError(expression);
    expect({ position: error.position, kind: error.kind, expression: error.expression }).toEqual({ position, kind: 'parse', expression });
    expect(error.message).toContain(`at position ${position}`);
  });

  it('refuses nesting deeper than its limit with a parse error, not a stack overflow', () => {
    expect(parseError(`${'('.repeat(5000)}1${')'.repeat(5000)}`).message).toMatch(/nested deeper/);
    expect(parseError(`${'NOT '.repeat(5000)}TRUE`).message).toMatch(/nested deeper/);
    expect(run(`${'('.repeat(200)}1${')'.repeat(200)}`)).toEqual({ value: 1 });
  });
});

type Row = [name: string, expression: string, value: CesqlValue, error?: string, attributes?: CesqlAttributes];

function check(_name: string, expression: string, value: CesqlValue, error?: string, attributes?: CesqlAttributes): void {
  expect(run(expression, attributes)).toEqual(error ? { value, error } : { value });
}

describe('the grammar, as CESQLLexer.g4 and CESQLParser.g4 read it', () => {
  it.each<Row>([
    ['a minus between spaces subtracts', '4 - 1', 3],
    ['a minus before a space is an operator, before digits a sign', '-4 - -1', -3],
    ['AND, OR and XOR share a level and group to the right', 'FALSE AND FALSE OR TRUE', false],
    ['so OR takes the rest of the line', 'TRUE OR FALSE AND FALSE', true],
    ['XOR groups to the right too', 'TRUE XOR TRUE XOR TRUE', true],
    ['parentheses regroup', '(FALSE AND FALSE) OR TRUE', true],
    ['comparison binds tighter than AND', '1 < 2 AND 2 < 3', true],
    ['NOT binds only its operand', 'NOT TRUE = FALSE', true],
    ['unary minus binds tighter than *', '-2 * -3', 6],
    ['LIKE binds tighter than +', "1 + 2 LIKE '2'", 2],
    ['IN binds tighter than comparison', 'TRUE = 2 IN (2)', true],
    ['keywords ignore case', 'true AnD tRuE', true],
    ['function names ignore case', 'abs(-5) + Abs(5)', 10],
    ['attribute names are lower-cased, as sdk-go does', "Type = 'dev.ordersaga.order.requested'", true],
    ['an identifier may start with a digit', '1a', 'x', undefined, { '1a': 'x' }],
    ['a keyword followed by digits is an identifier', 'and1', 'y', undefined, { and1: 'y' }],
    ['whitespace may separate a function from its arguments', "LENGTH ('abc')", 3],
    ['tabs and newlines are whitespace', "\tLENGTH(\n'ab'\r\n)", 2],
    ['a doubled quote stays in the string, as sdk-go reads it', "'it''s'", "it''s"],
    ['a backslash escapes only the delimiter', "'a\\b\\'c'", "a\\b'c"],
    ['a raw newline may sit in a string', "'a\nb' LIKE 'a_b'", true],
  ])('%s: %j', check);
});

describe('IN, EXISTS and case (§3.4.4, §3.4.5, §3.4.2)', () => {
  it.each<Row>([
    ['a member', "'b' IN ('a', 'b')", true],
    ['not a member', "'c' IN ('a', 'b')", false],
    ['NOT IN', "'c' NOT IN ('a', 'b')", true],
    ['elements cast to the left operand’s type: Integer', "1 IN ('1', 2)", true],
    ['elements cast to the left operand’s type: String', "'1' IN (1)", true],
    ['elements cast to the left operand’s type: Boolean', 'TRUE IN (1)', true],
    ['an element that cannot be cast is a CastError', "1 IN ('x', 1)", false, 'cast'],
    ['the first match wins before a later bad element', "1 IN (1, 'x')", true],
    ['a missing left operand', 'missing IN (1)', false, 'missingAttribute'],
    ['a missing element', "'a' IN (missing)", false, 'missingAttribute'],
    ['NOT IN of a missing attribute is false, not true', "missing NOT IN ('a')", false, 'missingAttribute'],
    ['elements may be expressions', "'abc' IN (CONCAT('a', 'bc'))", true],
    ['EXISTS of a present extension', 'EXISTS myext', true],
    ['EXISTS of an absent one', 'EXISTS subject', false],
    ['EXISTS of a REQUIRED attribute is always true', 'EXISTS id AND EXISTS specversion AND EXISTS source AND EXISTS type', true, undefined, {}],
    ['EXISTS ignores object prototype names', 'EXISTS constructor', false],
    ['nor are they attributes', "constructor = 'x'", false, 'missingAttribute'],
    ['strings compare case-sensitively', "'abc' = 'ABC'", false],
    ['TRUE cast to String is lower-case (§3.7)', "TRUE = 'true' AND FALSE = 'false'", true],
    ['so it does not equal upper case', "TRUE = 'TRUE' OR FALSE = 'FALSE'", false],
    ['LIKE is case-sensitive', "'aBc' LIKE 'abc'", false],
  ])('%s: %j', check);
});

describe('values, casts and overflow (§3.1, §3.2, §3.7)', () => {
  it.each<Row>([
    ['a String may carry a sign', "'+5' + 0", 5],
    ['a String with spaces is no Integer', "' 5' + 0", 0, 'cast'],
    ['a String past 32 bits is no Integer', "'2147483648' + 0", 0, 'cast'],
    ['the lowest Integer as a String', "'-2147483648' + 0", -2147483648],
    ['Boolean from any case of true', "BOOL('TrUe')", true],
    ['but not from yes', "BOOL('yes')", false, 'cast'],
    ['Integer to Boolean: non-zero is true', 'NOT 0 AND 7', true],
    ['+ wraps like int32', '2147483647 + 1', -2147483648],
    ['- wraps like int32', '-2147483648 - 1', 2147483647],
    ['* wraps like int32', '65536 * 65536', 0],
    ['the one overflowing division', '-2147483648 / -1', -2147483648],
    ['negating the lowest Integer wraps', '-(-2147483648)', -2147483648],
    ['division truncates toward zero', '-7 / 2', -3],
    ['the remainder takes the dividend’s sign', '-7 % 2 = -1 AND 7 % -2 = 1', true],
    ['an Integer attribute is an Integer', 'ttl + 1', 11],
    ['a number that is no int32 is a String', "n = '1.5'", true, undefined, { n: 1.5 }],
    ['so is one past 32 bits', "n = '1099511627776'", true, undefined, { n: 2 ** 40 }],
    ['a boolean attribute is a Boolean', 'flag AND TRUE', true, undefined, { flag: true }],
    ['a string attribute casts when an operator asks', "sequence = 5 AND sequence + 1 = 6", true, undefined, { sequence: '5' }],
    ['the right operand of = decides the cast', "5 = '5.0'", false],
    ['and the left one may fail it', "'5.0' = 5", false, 'cast'],
    ['AND does not look right when the left is false', 'FALSE AND missing', false],
    ['OR does not look right when the left is true', 'TRUE OR missing', true],
    ['OR does when the left is false', 'FALSE OR missing', false, 'missingAttribute'],
    ['XOR always does', 'TRUE XOR missing', false, 'missingAttribute'],
    ['an error in the left operand stops a comparison', 'missing < 1 / 0', false, 'missingAttribute'],
  ])('%s: %j', check);
});

describe('functions (§3.5)', () => {
  it.each<Row>([
    ['LENGTH counts characters, not bytes', "LENGTH('héllo') + LENGTH('😀')", 6],
    ['LEFT keeps whole characters', "LEFT('😀x', 1)", '😀'],
    ['RIGHT of zero characters', "RIGHT('abc', 0)", ''],
    ['SUBSTRING with a length past the end', "SUBSTRING('abc', 2, 10)", 'bc'],
    ['SUBSTRING with a negative length', "SUBSTRING('abc', 1, -1)", '', 'functionEvaluation'],
    ['TRIM removes Unicode whitespace', "TRIM('\u00a0\u2003a b\u3000')", 'a b'],
    ['TRIM keeps what is not Unicode whitespace', "LENGTH(TRIM('\ufeffa'))", 2],
    ['UPPER and LOWER map beyond ASCII', "UPPER('straße') = 'STRASSE' AND LOWER('ÀB') = 'àb'", true],
    ['CONCAT casts its arguments to String', 'CONCAT(1, TRUE)', '1true'],
    ['CONCAT_WS puts the delimiter only between', "CONCAT_WS('-', 'a', 'b')", 'a-b'],
    ['IS_INT of a numeric String', "IS_INT('-12')", true],
    ['IS_INT of text', "IS_INT('x')", false],
    ['IS_BOOL of an Integer, which casts to Boolean in v1', 'IS_BOOL(2)', true],
    ['IS_BOOL of text', "IS_BOOL('no')", false],
    ['a wrong arity is a missing function', "LENGTH('a', 'b')", false, 'missingFunction'],
    ['an unknown name is a missing function', 'NOPE()', false, 'missingFunction'],
    ['a missing argument makes the zero of the return type', 'LENGTH(missing)', 0, 'missingAttribute'],
    ['as does an argument that fails its cast', "ABS('x')", 0, 'cast'],
    ['an error inside the arguments stops the call', "CONCAT('a', 1 / 0)", '', 'math'],
  ])('%s: %j', check);

  it('registers every function of §3.5 and the casting functions, by upper-case name', () => {
    expect(Object.keys(BUILTINS).sort()).toEqual(
      ['ABS', 'BOOL', 'CONCAT', 'CONCAT_WS', 'INT', 'IS_BOOL', 'IS_INT', 'LEFT', 'LENGTH', 'LOWER', 'RIGHT', 'STRING', 'SUBSTRING', 'TRIM', 'UPPER'].sort(),
    );
  });
});

describe('LIKE patterns (§3.4.3)', () => {
  it.each<Row>([
    ['regular-expression characters match themselves', "'a.c' LIKE 'a.c' AND NOT ('abc' LIKE 'a.c')", true],
    ['brackets and stars too', "'[a]*' LIKE '[a]*'", true],
    ['an escaped % is a percent sign', "'100%' LIKE '100\\%'", true],
    ['and only that', "'1000' LIKE '100\\%'", false],
    ['_ is one character, however many bytes', "'😀' LIKE '_'", true],
    ['% may match nothing', "'ab' LIKE 'a%b'", true],
    ['a backslash before anything else is a backslash', "'a\\b' LIKE 'a\\b'", true],
    ['% spans newlines', "'a\nb' LIKE 'a%'", true],
  ])('%s: %j', check);
});
