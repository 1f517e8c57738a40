// Reading query parameters with bounds; a bad value is the client's mistake and
// answers 400 `bad_parameter` naming the parameter.
import { httpError } from './errors.ts';

/** An integer query parameter in [min, max], or `fallback` when absent. */
export function intParam(query: URLSearchParams, name: string, bounds: { min: number; max: number; fallback: number }): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return bounds.fallback;
  const value = /^-?[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < bounds.min || value > bounds.max) {
    throw httpError('bad_parameter', `"${name}" must be an integer from ${bounds.min} to ${bounds.max}`, { parameter: name });
  }
  return value;
}
