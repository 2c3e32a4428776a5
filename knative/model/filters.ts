/**
 * Trigger filters, checked by the webhook's rules (eventing
 * `pkg/apis/eventing/v1/trigger_validation.go`) and evaluated as the broker
 * filter does (`pkg/eventfilter/attributes/filter.go`,
 * `pkg/eventfilter/subscriptionsapi/`): the `filter` attributes (every listed
 * attribute equal; `""` asks only that it be there) and the Subscriptions API
 * `filters` (dialects `exact`, `prefix`, `suffix`, `all`, `any`, `not`,
 * `cesql`, the last by `./cesql`). A non-empty `filters` wins over `filter`.
 * A `cesql` expression that yields no Boolean throws
 * `CesqlNonBooleanResultError` where Knative's filter panics.
 */
import { compileCesqlFilter } from './cesql/index.js';
import { isRecord, type Finding } from './documents.js';

/** A context attribute value: CloudEvents' type system reduced to JSON scalars. */
export type AttributeValue = string | number | boolean;
/** Knative's three-valued filter outcome; only `fail` stops a delivery. */
export type FilterResult = 'pass' | 'fail' | 'none';
/** A compiled filter over an event's context attributes (extensions included). */
export type EventFilter = (attributes: Readonly<Record<string, AttributeValue>>) => FilterResult;

/** CloudEvents attribute names as Knative accepts them in filters. */
export const ATTRIBUTE_NAME = /^[a-z][a-z0-9]*$/;
const NEGATION: Record<FilterResult, FilterResult> = { pass: 'fail', fail: 'pass', none: 'none' };
const DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not', 'cesql'] as const;
const CORE = new Set(['specversion', 'type', 'source', 'id', 'subject', 'time', 'datacontenttype', 'datacontentencoding']);

/**
 * A context attribute as filters compare it: a string, or undefined for an extension the event
 * does not carry. Core attributes are always there (empty when unset), as in Knative.
 */
export function lookupAttribute(attributes: Readonly<Record<string, AttributeValue>>, name: string): string | undefined {
  const text = (value: unknown) => (value === undefined ? '' : String(value));
  if (CORE.has(name)) return text(attributes[name]);
  if (name === 'dataschema' || name === 'schemaurl') return text(attributes.dataschema ?? attributes.schemaurl);
  if (name === 'datamediatype') return text(attributes.datacontenttype).split(';')[0]!.trim().toLowerCase();
  return attributes[name] === undefined ? undefined : String(attributes[name]);
}

/** A compiled filter and what is wrong with it; a `noop` finding is an entry Knative accepts and skips. */
export interface CompiledFilter {
  filter: EventFilter;
  findings: (Finding & { noop?: true })[];
}

/** Compiles a Trigger's (or an EventPolicy's) `filter` / `filters` found at `at` (e.g. `spec`). */
export function compileFilters(spec: { filter?: unknown; filters?: unknown }, at: string): CompiledFilter {
  const findings: CompiledFilter['findings'] = [];
  const list = Array.isArray(spec.filters) ? spec.filters : [];
  if (spec.filters !== undefined && !Array.isArray(spec.filters)) findings.push({ path: `${at}.filters`, message: 'filters must be a list' });
  if (list.length > 0) return { filter: combine(list.map((f, i) => expression(f, `${at}.filters[${i}]`, findings)), 'fail'), findings };
  if (spec.filter === undefined || spec.filter === null) return { filter: () => 'none', findings };
  const attributes = isRecord(spec.filter) ? (spec.filter.attributes ?? {}) : undefined;
  if (!isRecord(attributes)) {
    findings.push({ path: `${at}.filter.attributes`, message: 'attributes must be a mapping of attribute name to value' });
    return { filter: () => 'none', findings };
  }
  const wanted = pairs(attributes, `${at}.filter.attributes`, findings);
  const filter: EventFilter = (event) => {
    for (const [name, value] of wanted) {
      const actual = lookupAttribute(event, name);
      if (actual === undefined || (value === '' && actual === '') || (value !== '' && value !== actual)) return 'fail';
    }
    return 'pass';
  };
  return { filter, findings };
}

function pairs(map: Record<string, unknown>, at: string, findings: Finding[]): [string, string][] {
  return Object.entries(map).map(([name, value]) => {
    if (!ATTRIBUTE_NAME.test(name)) findings.push({ path: `${at}.${name}`, message: `attribute name "${name}" must match ${ATTRIBUTE_NAME} (lowercase letters and digits)` });
    if (typeof value !== 'string') findings.push({ path: `${at}.${name}`, message: 'attribute values are strings (quote it in YAML)' });
    return [name, String(value)];
  });
}

const isSet = (value: unknown) => (Array.isArray(value) ? value.length > 0 : isRecord(value) ? Object.keys(value).length > 0 : value !== undefined && value !== null && value !== '');

/** One `filters` entry. An entry Knative cannot materialise (no dialect, an empty value) is skipped, as upstream does. */
function expression(entry: unknown, at: string, findings: CompiledFilter['findings']): EventFilter {
  const skip: EventFilter = () => 'none';
  if (!isRecord(entry)) return findings.push({ path: at, message: 'a filter must be a mapping' }), skip;
  for (const key of Object.keys(entry)) if (!(DIALECTS as readonly string[]).includes(key)) findings.push({ path: `${at}.${key}`, message: `unknown filter dialect "${key}"` });
  const set = DIALECTS.filter((d) => isSet(entry[d]) || (d === 'not' && isRecord(entry.not)));
  if (set.length > 1) findings.push({ path: at, message: `a filter uses one dialect; found ${set.join(', ')}` });
  const dialect = set[0];
  if (dialect === undefined) return findings.push({ path: at, message: 'a filter with no dialect is skipped', noop: true }), skip;
  const value = entry[dialect];
  switch (dialect) {
    case 'exact':
    case 'prefix':
    case 'suffix': {
      const found = isRecord(value) ? pairs(value, `${at}.${dialect}`, findings) : [];
      if (found.length !== 1) findings.push({ path: `${at}.${dialect}`, message: `${dialect} takes exactly one attribute: value pair` });
      const [name, wanted] = found[0] ?? ['', ''];
      if (wanted === '') return findings.push({ path: `${at}.${dialect}.${name}`, message: `an empty ${dialect} value makes Knative skip the filter`, noop: true }), skip;
      const matches = dialect === 'exact' ? (a: string) => a === wanted : dialect === 'prefix' ? (a: string) => a.startsWith(wanted) : (a: string) => a.endsWith(wanted);
      return (event) => {
        const actual = lookupAttribute(event, name);
        return actual !== undefined && matches(actual) ? 'pass' : 'fail';
      };
    }
    case 'all':
    case 'any': {
      if (!Array.isArray(value)) return findings.push({ path: `${at}.${dialect}`, message: `${dialect} must list filters` }), skip;
      const nested = value.map((f, i) => expression(f, `${at}.${dialect}[${i}]`, findings));
      return combine(nested, dialect === 'all' ? 'fail' : 'pass');
    }
    case 'not': {
      const nested = expression(value, `${at}.not`, findings);
      return (event) => NEGATION[nested(event)];
    }
    case 'cesql':
      // trigger_validation.go refuses an expression that does not parse; cesql_filter.go runs one that does.
      try {
        if (typeof value === 'string') return compileCesqlFilter(value);
        findings.push({ path: `${at}.cesql`, message: 'cesql must be an expression' });
      } catch (err) {
        findings.push({ path: `${at}.cesql`, message: `not a CESQL expression: ${(err as Error).message}` });
      }
      return skip;
  }
}

/** `all` stops at the first fail, `any` at the first pass; `none` when no filter had a say (`all_filter.go`, `any_filter.go`). */
function combine(filters: EventFilter[], decisive: FilterResult): EventFilter {
  return (event) => {
    let result: FilterResult = 'none';
    for (const filter of filters) {
      const r = filter(event);
      if (r === decisive) return r;
      if (r !== 'none') result = r;
    }
    return result;
  };
}
