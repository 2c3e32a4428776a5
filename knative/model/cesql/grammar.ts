/**
 * The CESQL v1 grammar for peggy, after cloudevents/spec `cesql/CESQLLexer.g4`
 * and `CESQLParser.g4` (see parse.ts). It lives in a string rather than a
 * file of its own because the esbuild bundles in dist/ carry only code.
 *
 * Start rule `Tokens` only lexes, so that a lexical error (an unterminated
 * string, an integer past 32 bits, a character outside the grammar) is found
 * first, wherever it stands, as the ANTLR lexer finds it before the parser
 * runs. Start rule `Expression` parses. Every token rule is named, so that a
 * failure counts at the start of the token that failed, never inside it:
 * peggy reports the farthest failure, and that is where the grammar goes wrong.
 */
export const GRAMMAR = String.raw`
{{
  const KEYWORDS = new Set(['AND', 'OR', 'XOR', 'NOT', 'LIKE', 'EXISTS', 'IN', 'TRUE', 'FALSE']);
  // Binding levels from the generated sdk-go parser: "* / %", then "+ -", then comparisons, and last AND/OR/XOR,
  // which share one level and group to the right (<assoc=right> in CESQLParser.g4). NOT and unary minus take an
  // operand above every infix operator, and LIKE and IN apply to such an operand.
  const LEVEL = { '*': 6, '/': 6, '%': 6, '+': 5, '-': 5, AND: 3, OR: 3, XOR: 3 };
  for (const operator of ['=', '!=', '<>', '<', '<=', '>', '>=']) LEVEL[operator] = 4;
  const bindsFirst = (held, next) => LEVEL[held] > LEVEL[next] || (LEVEL[held] === LEVEL[next] && LEVEL[next] !== 3);
  const negated = (not, node) => (not ? { kind: 'not', operand: node } : node);
}}
{
  // The operators of each Binary being parsed that still wait for their right operand, as the calls of sdk-go's
  // recursive parser do; depth counts those calls, so that nesting is refused where it is refused upstream.
  const frames = [];
  let depth = 0;
  function enter() {
    if (++depth > options.maxDepth) error('expression nested deeper than ' + options.maxDepth);
    return true;
  }
  function fold(frame) {
    const right = frame.operands.pop();
    frame.operands.push({ kind: 'binary', operator: frame.operators.pop(), left: frame.operands.pop(), right });
  }
  function hold(operator) {
    const frame = frames.at(-1);
    while (frame.operators.length > 0 && bindsFirst(frame.operators.at(-1), operator)) fold(frame);
    frame.operators.push(operator);
    depth = frame.base + frame.operators.length - 1;
    return enter();
  }
  function close() {
    const frame = frames.pop();
    while (frame.operators.length > 0) fold(frame);
    depth = frame.base;
    return frame.operands[0];
  }
}

Expression = _ Enter @Binary Leave _

Tokens = (_ Token)* _

Token = String / Integer / Word / Symbol / . { error('unexpected character ' + JSON.stringify(text())) }

// Every infix operator in one loop, folded by level as it comes, rather than a rule per level: so each level of
// nesting costs three calls on the JS stack, and the depth sdk-go allows fits. A parse that fails past an operator,
// "(" or NOT fails as a whole, so the counts need no unwinding but here.
Binary = &{ frames.push({ base: depth, operators: [], operands: [] }); return true; } (Operand / &{ frames.pop(); return false; }) Tail* {
  return close();
}

Tail = _ operator:BinaryOperator _ &{ return hold(operator); } Operand

Operand = head:Unary tail:(_ @(Like / In))* { frames.at(-1).operands.push(tail.reduce((operand, node) => node(operand), head)); }

// §3.4.3: the pattern is a string literal, never an expression.
Like = not:(NOT _ &LIKE)? LIKE _ pattern:String {
  return (operand) => negated(not, { kind: 'like', operand, pattern: options.likePattern(pattern) });
}

In = not:(NOT _ &IN)? IN _ set:Set { return (operand) => negated(not, { kind: 'in', operand, set }); }

Unary
  = "(" _ Enter @Binary Leave _ ")"
  / NOT _ Enter operand:Unary Leave { return { kind: 'not', operand }; }
  / "-" ![0-9] _ Enter operand:Unary Leave { return { kind: 'negate', operand }; }
  / TRUE { return { kind: 'literal', value: true }; }
  / FALSE { return { kind: 'literal', value: false }; }
  / value:(Integer / String) { return { kind: 'literal', value }; }
  / EXISTS _ name:AttributeName { return { kind: 'exists', name: name.toLowerCase() }; }
  / name:FunctionName &(_ "(") _ args:("(" _ ")" { return []; } / Set) { return { kind: 'call', name: name.toUpperCase(), args }; }
  // sdk-go lower-cases identifiers, so Type addresses type.
  / name:AttributeName { return { kind: 'attribute', name: name.toLowerCase() }; }

Set = "(" _ Enter head:Binary Leave tail:(_ "," _ Enter @Binary Leave)* _ ")" { return [head, ...tail]; }

Enter = &{ return enter(); }

Leave = &{ depth--; return true; }

BinaryOperator "operator" = "!=" / "<>" / "<=" / ">=" / [=<>*/%] / @$[+-] ![0-9] / operator:$(AND / OR / XOR) { return operator.toUpperCase(); }

// The lexer's longest match, with keywords before identifiers and integers
// before identifiers with digits. So a sign that touches digits belongs to
// the integer: "4 - 1" is a subtraction, while "4 -1" and "4+1" are two
// integers in a row, which the grammar refuses.
Integer "integer" = ([+-] [0-9]+ / [0-9]+ ![A-Za-z]) {
  const value = Number(text());
  if (!options.isInt32(value)) error('integer literal ' + text() + ' is outside the 32-bit signed range');
  return value | 0;
}

// A backslash escapes the next character and a doubled quote stays in the
// string (DQUOTA_STRING, SQUOTA_STRING). As sdk-go reads a literal, only the
// escaped delimiter loses its backslash.
String "string"
  = "'" value:$("\\" . / "''" / [^'])* "'" { return value.replaceAll("\\'", "'"); }
  / '"' value:$("\\" . / '""' / [^"])* '"' { return value.replaceAll('\\"', '"'); }
  / ['"] { error('unterminated string literal'); }

// IDENTIFIER and IDENTIFIER_WITH_NUMBER ([A-Za-z0-9]+) or
// FUNCTION_IDENTIFIER_WITH_UNDERSCORE ([A-Za-z][A-Za-z_]*), whichever is longer.
Word "name" = $([A-Za-z]+ ([0-9] [A-Za-z0-9]* / "_" [A-Za-z_]*)? / [0-9]+ [A-Za-z] [A-Za-z0-9]*)

AttributeName "attribute name" = @name:Word &{ return /^[A-Za-z0-9]+$/.test(name) && !KEYWORDS.has(name.toUpperCase()); }

FunctionName "function name" = @name:Word &{ return /^[A-Za-z][A-Za-z_]*$/.test(name) && !KEYWORDS.has(name.toUpperCase()); }

Symbol = "!=" / "<>" / "<=" / ">=" / [(),*/%+\-=<>]

AND = "AND"i !NameChar
OR = "OR"i !NameChar
XOR = "XOR"i !NameChar
NOT = "NOT"i !NameChar
LIKE = "LIKE"i !NameChar
IN = "IN"i !NameChar
EXISTS = "EXISTS"i !NameChar
TRUE = "TRUE"i !NameChar
FALSE = "FALSE"i !NameChar

NameChar = [A-Za-z0-9_]

_ "whitespace" = [ \t\r\n]*
`;
