// A Django-like URL table: `path('polls/<int:id>/', detail)` and
// `include('polls/', pollsUrls)`. Patterns are written without a leading slash,
// as in Django, and must match the whole path. This module is pure: it compiles
// patterns and resolves paths; server/mount-views.ts puts a table on fastify.
import type { View } from './views.ts';

/** Options a view is mounted with. */
export interface RouteOptions {
  /** A name for reverse(); optional, as in Django. */
  name?: string;
  /** Methods the view answers; HEAD follows GET. Default: GET. */
  methods?: readonly string[];
  /** A stream that yields nothing for this long is ended. Default: no limit. */
  idleTimeoutMs?: number;
  /** Largest request body, in bytes (413 beyond). Default: fastify's 1 MiB. */
  bodyLimit?: number;
}

interface Converter {
  regex: string;
  parse(raw: string): string | number;
}

// Django's built-in path converters.
const converters: Record<string, Converter> = {
  str: { regex: '[^/]+', parse: (s) => s },
  int: { regex: '[0-9]+', parse: (s) => Number(s) },
  slug: { regex: '[-a-zA-Z0-9_]+', parse: (s) => s },
  uuid: { regex: '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', parse: (s) => s },
  path: { regex: '.+', parse: (s) => s },
};

export type Params = Record<string, string | number>;

/** One entry of a table: a pattern and what it leads to. */
export type UrlEntry =
  | { kind: 'path'; pattern: string; view: View; options: RouteOptions }
  | { kind: 'include'; prefix: string; entries: readonly UrlEntry[] };

/** A view at a pattern, e.g. `path('clock', clock)`. */
export function path(pattern: string, view: View, options: RouteOptions = {}): UrlEntry {
  compilePattern(pattern); // fail at startup, not at the first request
  return { kind: 'path', pattern, view, options };
}

/** A sub-table under a prefix, e.g. `include('polls/', pollsUrls)`. */
export function include(prefix: string, entries: readonly UrlEntry[]): UrlEntry {
  compilePattern(prefix);
  return { kind: 'include', prefix, entries };
}

/** A route of a flattened table: the whole pattern and how to match it. */
export interface Route {
  pattern: string;
  view: View;
  options: RouteOptions;
  regex: RegExp;
  /** The pattern in fastify's syntax (`/polls/:id/`), for registering with it. */
  fastifyPath: string;
  /** Parses the parameters of a path that `regex` matched. */
  params(match: RegExpExecArray): Params;
}

const paramSyntax = /<(?:([a-z]+):)?([A-Za-z_][A-Za-z0-9_]*)>/g;

function compilePattern(pattern: string): { regex: string; fastifyPath: string; names: Array<[string, Converter]> } {
  if (pattern.startsWith('/')) throw new Error(`URL pattern "${pattern}" must not start with "/"`);
  let regex = '';
  let fastifyPath = '/';
  let rest = 0;
  const names: Array<[string, Converter]> = [];
  for (const m of pattern.matchAll(paramSyntax)) {
    const literal = pattern.slice(rest, m.index);
    const converter = converters[m[1] ?? 'str'];
    const name = m[2]!;
    if (!converter) throw new Error(`URL pattern "${pattern}": unknown converter "${m[1]}"`);
    if (names.some(([n]) => n === name)) throw new Error(`URL pattern "${pattern}": "${name}" appears twice`);
    regex += escapeRegex(literal) + `(${converter.regex})`;
    // Positional names, so that `<int:id>` and `<slug:name>` in one place are one fastify path.
    fastifyPath += literal.replaceAll(':', '::') + (m[1] === 'path' ? '*' : `:p${names.length}`);
    names.push([name, converter]);
    rest = m.index + m[0].length;
  }
  const tail = pattern.slice(rest);
  if (/[<>]/.test(tail)) throw new Error(`URL pattern "${pattern}": malformed parameter`);
  regex += escapeRegex(tail);
  // fastify allows nothing after a wildcard; our own regex still checks the tail.
  fastifyPath += fastifyPath.endsWith('*') ? '' : tail.replaceAll(':', '::');
  return { regex, fastifyPath, names };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Flattens a table (following includes) into routes in Django's match order. */
export function flatten(entries: readonly UrlEntry[], prefix = ''): Route[] {
  return entries.flatMap((entry) => {
    if (entry.kind === 'include') return flatten(entry.entries, prefix + entry.prefix);
    const pattern = prefix + entry.pattern;
    const { regex, fastifyPath, names } = compilePattern(pattern);
    return [{
      pattern,
      view: entry.view,
      options: entry.options,
      regex: new RegExp(`^/${regex}$`),
      fastifyPath,
      params: (match) => {
        // A loop, not Object.fromEntries(map()): this runs on every request.
        const params: Params = {};
        for (let i = 0; i < names.length; i++) params[names[i]![0]] = names[i]![1].parse(match[i + 1]!);
        return params;
      },
    }];
  });
}

/** The first route that matches a decoded path, as Django resolves, or null. */
export function resolve(routes: readonly Route[], pathname: string): { route: Route; params: Params } | null {
  for (const route of routes) {
    const match = route.regex.exec(pathname);
    if (match) return { route, params: route.params(match) };
  }
  return null;
}

/** The path of the route named `name` with `params` filled in (Django's reverse). */
export function reverse(routes: readonly Route[], name: string, params: Params = {}): string {
  const route = routes.find((r) => r.options.name === name);
  if (!route) throw new Error(`no URL named "${name}"`);
  return '/' + route.pattern.replace(paramSyntax, (_, conv: string | undefined, key: string) => {
    if (!(key in params)) throw new Error(`reverse("${name}"): missing parameter "${key}"`);
    const value = String(params[key]);
    return conv === 'path' ? encodeURI(value) : encodeURIComponent(value);
  });
}
