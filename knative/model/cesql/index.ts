/**
 * CESQL v1, the CloudEvents SQL Expression Language (cloudevents/spec
 * `cesql/spec.md`, version 1.0.0), as a Trigger's `cesql` filter dialect
 * uses it.
 *
 * - {@link parseCesql}: expression text to a tree, or a {@link CesqlParseError}
 *   with the offset where it goes wrong (what Knative's webhook checks).
 * - {@link evaluateCesql}: a tree and an event's attributes to a value and
 *   the error that stopped it, if any.
 * - {@link compileCesqlFilter}: the filter Knative's broker runs, pass or fail.
 */
import { evaluateCesql, type CesqlAttributes } from './evaluate.js';
import { parseCesql } from './parse.js';
import { CesqlError, type CesqlValue } from './values.js';

export { evaluateCesql, type CesqlAttributes } from './evaluate.js';
export { BUILTINS, type CesqlFunction } from './functions.js';
export { parseCesql, type BinaryOperator, type CesqlExpression, type CesqlNode } from './parse.js';
export { CesqlError, CesqlParseError, type CesqlErrorKind, type CesqlResult, type CesqlType, type CesqlValue } from './values.js';

/**
 * A filter expression that evaluated, without error, to a String or an
 * Integer. Knative's filter asserts the result is a Go bool
 * (`res.(bool)` in pkg/eventfilter/subscriptionsapi/cesql_filter.go), so
 * there the broker's filter handler panics: Go's HTTP server recovers and
 * drops the connection, and the delivery attempt fails with no response.
 * The caller decides how to play that part; the event neither passes nor fails.
 */
export class CesqlNonBooleanResultError extends CesqlError {
  constructor(
    readonly expression: string,
    readonly value: CesqlValue,
  ) {
    super('generic', `cesql filter ${JSON.stringify(expression)} evaluated to ${JSON.stringify(value)}, not a Boolean`);
    this.name = 'CesqlNonBooleanResultError';
  }
}

/**
 * Compiles a `cesql` filter the way Knative's `NewCESQLFilter` does
 * (pkg/eventfilter/subscriptionsapi/cesql_filter.go, on cloudevents/sdk-go
 * `sql/v2`): the expression is parsed once, and the returned function
 * evaluates it per event. An evaluation error (a missing attribute, a failed
 * cast, a division by zero, an unknown function...) fails the event, as does
 * `false`; `true` passes it.
 *
 * Knative's webhook refuses a Trigger whose expression does not parse, and
 * should one reach the broker anyway, it logs it and skips that filter as if
 * it were not written (`MaterializeSubscriptionsAPIFilter` returns nil). An
 * empty expression is no filter at all there: the dialect counts as unset.
 * Both are the caller's to handle; this function throws for them.
 * @throws {CesqlParseError} when `expression` is not CESQL v1, the empty string included.
 * @returns a function that throws {@link CesqlNonBooleanResultError} when the expression yields no Boolean.
 */
export function compileCesqlFilter(expression: string): (attributes: CesqlAttributes) => 'pass' | 'fail' {
  const parsed = parseCesql(expression);
  return (attributes) => {
    const { value, error } = evaluateCesql(parsed, attributes);
    if (error) return 'fail';
    if (typeof value !== 'boolean') throw new CesqlNonBooleanResultError(expression, value);
    return value ? 'pass' : 'fail';
  };
}
