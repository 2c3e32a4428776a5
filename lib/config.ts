/**
 * Configuration is a pure function of the environment: each option is
 * declared once (variable, default, parser) and parsed at start into a typed
 * object. A bad value fails at start with a message naming the variable.
 */

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** One configuration option: where it comes from and how it is parsed. */
export interface Option<T> {
  env: string;
  /** Used when the variable is unset or empty; absent means required. */
  default?: string;
  describe: string;
  parse(raw: string): T;
}

type Parsed<S> = { [K in keyof S]: S[K] extends Option<infer T> ? T : never };

/** Parses every option of `spec` from `env`; throws one ConfigError listing every bad value. */
export function readConfig<S extends Record<string, Option<unknown>>>(
  spec: S,
  env: NodeJS.ProcessEnv = process.env,
): Parsed<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, option] of Object.entries(spec)) {
    const given = env[option.env];
    const raw = given === undefined || given === '' ? option.default : given;
    if (raw === undefined) {
      problems.push(`${option.env} is required (${option.describe})`);
      continue;
    }
    try {
      out[key] = option.parse(raw);
    } catch (err) {
      problems.push(`${option.env}=${JSON.stringify(redact(option.env, raw))}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return out as Parsed<S>;
}

function redact(name: string, value: string): string {
  return /TOKEN|SECRET|PASSWORD|URL/.test(name) ? '<redacted>' : value;
}

/** Option builders for the value kinds the project uses. */
export const opt = {
  string(env: string, describe: string, fallback?: string): Option<string> {
    return { env, describe, default: fallback, parse: (raw) => raw };
  },
  optionalString(env: string, describe: string): Option<string | undefined> {
    return { env, describe, default: '', parse: (raw) => (raw === '' ? undefined : raw) };
  },
  int(env: string, describe: string, fallback: number, min: number, max: number): Option<number> {
    return {
      env,
      describe,
      default: String(fallback),
      parse(raw) {
        if (!/^-?\d+$/.test(raw.trim())) throw new Error('must be an integer');
        const value = Number(raw);
        if (value < min || value > max) throw new Error(`must be between ${min} and ${max}`);
        return value;
      },
    };
  },
  url(env: string, describe: string, fallback?: string): Option<string> {
    return {
      env,
      describe,
      default: fallback,
      parse(raw) {
        new URL(raw); // throws "Invalid URL" for a bad value
        return raw;
      },
    };
  },
  optionalUrl(env: string, describe: string): Option<string | undefined> {
    return {
      env,
      describe,
      default: '',
      parse(raw) {
        if (raw === '') return undefined;
        new URL(raw);
        return raw;
      },
    };
  },
  oneOf<T extends string>(env: string, describe: string, values: readonly T[], fallback: T): Option<T> {
    return {
      env,
      describe,
      default: fallback,
      parse(raw) {
        if (!(values as readonly string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}`);
        return raw as T;
      },
    };
  },
  /** As `secret`, but may be left unset (undefined). */
  optionalSecret(env: string, describe: string, minLength: number): Option<string | undefined> {
    const required = opt.secret(env, describe, minLength);
    return { env, describe, default: '', parse: (raw) => (raw === '' ? undefined : required.parse(raw)) };
  },
  secret(env: string, describe: string, minLength: number): Option<string> {
    return {
      env,
      describe,
      parse(raw) {
        if (raw.length < minLength) throw new Error(`must be at least ${minLength} characters`);
        return raw;
      },
    };
  },
};
