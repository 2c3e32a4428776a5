/** The one ajv instance: event schemas and HTTP request schemas compile here. */
import { Ajv2020 as Ajv, type ErrorObject, type JSONSchemaType, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ValidationError } from './errors.js';

// ajv-formats ships CommonJS with a default export; unwrap it once.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

export const ajv = addFormats(
  new Ajv({ allErrors: true, strict: true, strictTypes: false, keywords: ['x-ordersaga-kind'] }),
);

/** Flattens ajv's errors into `{path, message}` pairs for problem documents. */
export function describeErrors(errors: ErrorObject[] | null | undefined): { path: string; message: string }[] {
  return (errors ?? []).map((e) => ({
    path: e.instancePath === '' ? '/' : e.instancePath,
    message:
      e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties'
        ? `unknown property '${String(e.params.additionalProperty ?? e.params.unevaluatedProperty)}'`
        : (e.message ?? 'is invalid'),
  }));
}

/** Compiles a request-body schema into a checker that throws ValidationError. */
export function bodyValidator<T>(schema: JSONSchemaType<T> | Record<string, unknown>): (body: unknown) => T {
  const validate = ajv.compile(schema) as ValidateFunction<T>;
  return (body) => {
    if (!validate(body)) throw new ValidationError('The request body is invalid', describeErrors(validate.errors));
    return body;
  };
}
