/**
 * Trigger filters, as Knative's broker filter evaluates them: the `filter`
 * attributes (exact match of every listed attribute, `""` meaning "present
 * with any value") and the Subscriptions API `filters` (dialects `exact`,
 * `prefix`, `suffix`, `all`, `any`, `not`). When a Trigger has a non-empty
 * `filters`, Knative applies it and ignores `filter`.
 *
 * Filters are checked when the Broker is built, the way Knative's webhook
 * checks them on `kubectl apply`; a `cesql` expression is refused, since the
 * stand-in does not evaluate CloudEvents SQL.
 */
import { BrokerConfigError } from './errors.js';
import { mediaType, type BrokerEvent } from './events.js';

/** Knative's three-valued filter outcome; only `fail` stops a delivery. */
export type FilterResult = 'pass' | 'fail' | 'none';

/** A compiled filter. */
export type EventFilter = (event: BrokerEvent) => FilterResult;

const ATTRIBUTE_NAME = /^[a-z][a-z0-9]*$/;
const DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not', 'cesql'] as const;

/**
 * The value of a context attribute as filters compare it: a string, or
 * undefined for an extension the event does not carry. Core attributes are
 * always present (empty when unset), as in Knative.
 */
export function lookupAttribute(event: BrokerEvent, name: string): string | undefined {
  const attributes = event.attributes;
  const text = (value: unknown) => (value === undefined ? '' : String(value));
  switch (name) {
    case 'specversion':
    case 'type':
    case 'source':
    case 'id':
    case 'subject':
    case 'time':
    case 'datacontenttype':
    case 'datacontentencoding':
      return text(attributes[name]);
    case 'dataschema':
    case 'schemaurl':
      return text(attributes.dataschema ?? attributes.schemaurl);
    case 'datamediatype':
      return mediaType(attributes.datacontenttype === undefined ? undefined : String(attributes.datacontenttype));
    default:
      return attributes[name] === undefined ? undefined : String(attributes[name]);
  }
}

/**
 * Compiles a Trigger's `filter` / `filters`.
 * @param owner names the Trigger in error messages, e.g. `Trigger ordersaga/notify`.
 * @throws {BrokerConfigError} for a filter Knative's webhook would refuse, or a `cesql` one.
 */
export function compileTriggerFilter(spec: { filter?: unknown; filters?: unknown }, owner: string): EventFilter {
  if (spec.filters !== undefined && spec.filters !== null && !Array.isArray(spec.filters)) {
    throw new BrokerConfigError(`${owner}: spec.filters must be a list of filter expressions`);
  }
  const filters = (spec.filters ?? []) as unknown[];
  const attributes = spec.filter === undefined || spec.filter === null ? undefined : compileAttributesFilter(spec.filter, `${owner}: spec.filter`);
  if (filters.length > 0) return all(filters.map((f, i) => compileExpression(f, `${owner}: spec.filters[${i}]`)));
  return attributes ?? (() => 'none');
}

function compileAttributesFilter(filter: unknown, where: string): EventFilter {
  if (!isObject(filter)) throw new BrokerConfigError(`${where} must be an object with attributes`);
  const unknown = Object.keys(filter).filter((k) => k !== 'attributes');
  if (unknown.length > 0) throw new BrokerConfigError(`${where} has unknown field(s) ${unknown.join(', ')}; only attributes is allowed`);
  const attributes = filter.attributes ?? {};
  if (!isObject(attributes)) throw new BrokerConfigError(`${where}.attributes must be a map of attribute name to value`);
  const wanted = Object.entries(attributes).map(([name, value]) => {
    if (!ATTRIBUTE_NAME.test(name))
      throw new BrokerConfigError(`${where}.attributes: "${name}" is not a valid attribute name (lower-case letters and digits, starting with a letter)`);
    if (typeof value !== 'string') throw new BrokerConfigError(`${where}.attributes.${name} must be a string (quote it in YAML)`);
    return [name, value] as const;
  });
  return (event) => {
    for (const [name, value] of wanted) {
      const actual = lookupAttribute(event, name);
      // An empty filter value asks only that the attribute be there and set.
      if (actual === undefined || (value === '' && actual === '')) return 'fail';
      if (value !== '' && value !== actual) return 'fail';
    }
    return 'pass';
  };
}

function compileExpression(expression: unknown, where: string): EventFilter {
  if (!isObject(expression)) throw new BrokerConfigError(`${where} must be an object with one dialect (${DIALECTS.join(', ')})`);
  const unknown = Object.keys(expression).filter((k) => !(DIALECTS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new BrokerConfigError(`${where} has unknown dialect(s) ${unknown.join(', ')}; known: ${DIALECTS.join(', ')}`);
  const set = DIALECTS.filter((d) => isSet(expression[d]));
  if (set.length !== 1) {
    throw new BrokerConfigError(`${where} must use exactly one dialect, found ${set.length === 0 ? 'none' : set.join(', ')}`);
  }
  const dialect = set[0]!;
  const value = expression[dialect];
  switch (dialect) {
    case 'exact':
      return compileMatch(value, `${where}.exact`, (actual, wanted) => actual === wanted);
    case 'prefix':
      return compileMatch(value, `${where}.prefix`, (actual, wanted) => actual.startsWith(wanted));
    case 'suffix':
      return compileMatch(value, `${where}.suffix`, (actual, wanted) => actual.endsWith(wanted));
    case 'all':
    case 'any': {
      if (!Array.isArray(value)) throw new BrokerConfigError(`${where}.${dialect} must be a list of filter expressions`);
      const nested = value.map((f, i) => compileExpression(f, `${where}.${dialect}[${i}]`));
      return dialect === 'all' ? all(nested) : any(nested);
    }
    case 'not':
      return not(compileExpression(value, `${where}.not`));
    case 'cesql':
      throw new BrokerConfigError(
        `${where} uses the cesql dialect, which the local Broker does not evaluate; express it with exact, prefix, suffix, all, any and not`,
      );
  }
}

function compileMatch(value: unknown, where: string, matches: (actual: string, wanted: string) => boolean): EventFilter {
  if (!isObject(value)) throw new BrokerConfigError(`${where} must be a map of one attribute to a value`);
  const entries = Object.entries(value);
  if (entries.length !== 1) throw new BrokerConfigError(`${where} must hold exactly one attribute, found ${entries.length}`);
  const [name, wanted] = entries[0]!;
  if (!ATTRIBUTE_NAME.test(name))
    throw new BrokerConfigError(`${where}: "${name}" is not a valid attribute name (lower-case letters and digits, starting with a letter)`);
  if (typeof wanted !== 'string' || wanted === '') throw new BrokerConfigError(`${where}.${name} must be a non-empty string`);
  return (event) => {
    const actual = lookupAttribute(event, name);
    return actual !== undefined && matches(actual, wanted) ? 'pass' : 'fail';
  };
}

function all(filters: EventFilter[]): EventFilter {
  return (event) => {
    let result: FilterResult = 'none';
    for (const filter of filters) {
      const r = filter(event);
      if (r === 'fail') return 'fail';
      if (r === 'pass') result = 'pass';
    }
    return result;
  };
}

function any(filters: EventFilter[]): EventFilter {
  return (event) => {
    let result: FilterResult = 'none';
    for (const filter of filters) {
      const r = filter(event);
      if (r === 'pass') return 'pass';
      if (r === 'fail') result = 'fail';
    }
    return result;
  };
}

function not(filter: EventFilter): EventFilter {
  return (event) => {
    const r = filter(event);
    return r === 'pass' ? 'fail' : r === 'fail' ? 'pass' : 'none';
  };
}

function isSet(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'string') return value !== '';
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
