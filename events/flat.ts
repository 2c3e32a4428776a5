/**
 * An event type's schema with what it refers to written in: one object
 * schema that lists every member under `properties` and refuses the others
 * with `additionalProperties: false`. It reads the same in JSON Schema
 * draft-07 as the schema does in 2020-12, for readers that follow no
 * `$ref` or know no `unevaluatedProperties`: the AsyncAPI document (whose
 * schema format is draft-07's) and, through it, the console's catalogue and
 * send form; and tests that need the list of an event's members.
 *
 * It knows only the two ways the schemas refer to a definition (a whole
 * one in `allOf`, one member by its pointer) and throws on anything else,
 * so a schema written another way cannot be flattened wrongly.
 */
import type { EventName } from './index.js';
import { definitions, schemas } from './schemas.js';

type Schema = Record<string, unknown>;

/** An event type's schema, flattened. */
export interface FlatSchema {
  $id: string;
  title: string;
  description: string;
  'x-ordersaga-kind': 'command' | 'fact';
  type: 'object';
  additionalProperties: false;
  properties: Record<string, Schema>;
  required: string[];
}

/** The definition `ref` points at: `<$id of a definition>#<JSON pointer>`. */
function resolve(ref: string): Schema {
  const [id = '', pointer = ''] = ref.split('#');
  let target: unknown = definitions[id];
  if (target === undefined) throw new Error(`$ref ${ref} names no definition of events/schemas/terms`);
  for (const token of pointer.split('/').slice(1)) {
    target = (target as Schema)[token.replaceAll('~1', '/').replaceAll('~0', '~')];
    if (target === undefined) throw new Error(`$ref ${ref} points at nothing`);
  }
  return target as Schema;
}

/** `schema` itself, or what it points at when it is only a `$ref`. */
function inline(schema: Schema): Schema {
  if (!('$ref' in schema)) return schema;
  if (Object.keys(schema).length !== 1) throw new Error(`a $ref with other keywords beside it cannot be flattened: ${JSON.stringify(schema)}`);
  return inline(resolve(String(schema.$ref)));
}

/** The members a part brings, from `properties` and `required`; a part with other constraints cannot be flattened. */
function membersOf(part: Schema, where: string): { properties: Record<string, Schema>; required: string[] } {
  const { $schema: _dialect, $id: _id, $defs: _defs, title: _title, description: _description, type, properties = {}, required = [], ...other } = part;
  if ((type ?? 'object') !== 'object' || Object.keys(other).length > 0) throw new Error(`${where} has keywords that cannot be flattened: ${Object.keys(other).join(', ') || `type ${String(type)}`}`);
  return { properties: properties as Record<string, Schema>, required: required as string[] };
}

/** The schema of `name` flattened. */
export function flatSchemaOf(name: EventName): FlatSchema {
  return flatten(schemas[name], name);
}

/** `schema` flattened: the members of its `allOf` first, then its own, every `$ref` written in; `where` names it in errors. */
export function flatten(schema: Schema, where: string): FlatSchema {
  const { $schema: _dialect, $id, title, description, 'x-ordersaga-kind': kind, type, allOf = [], additionalProperties, unevaluatedProperties, ...own } = schema;
  if (additionalProperties !== false && unevaluatedProperties !== false) throw new Error(`${where} does not refuse members it does not declare`);
  // The classic trap: additionalProperties sees only the properties beside it, and would refuse every member allOf brings.
  if ((allOf as Schema[]).length > 0 && additionalProperties !== undefined) throw new Error(`${where} has additionalProperties beside allOf; refuse other members with unevaluatedProperties`);
  const parts = [...(allOf as Schema[]).map((member, i) => membersOf(inline(member), `${where} allOf[${i}]`)), membersOf({ type, ...own }, where)];
  const members = parts.flatMap((part) => Object.entries(part.properties));
  const twice = members.map(([member]) => member).filter((member, i, all) => all.indexOf(member) !== i);
  // Both definitions of such a member apply; a flat schema can keep only one.
  if (twice.length > 0) throw new Error(`${where} declares ${twice.join(', ')} more than once`);
  const flat: FlatSchema = {
    $id: String($id),
    title: String(title),
    description: String(description),
    'x-ordersaga-kind': kind as FlatSchema['x-ordersaga-kind'],
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(members.map(([member, memberSchema]) => [member, inline(memberSchema)])),
    required: parts.flatMap((part) => part.required),
  };
  if (JSON.stringify(flat).includes('"$ref"')) throw new Error(`${where} has a $ref deeper than a member; it cannot be flattened`);
  return flat;
}
