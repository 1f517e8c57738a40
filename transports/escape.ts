// Pure checks and escapes for untrusted text placed into a transport's frame.

/**
 * JSON text made safe to place inside a <script> element or a JavaScript
 * program run by an old engine: `<`, `>` and `&` become \u escapes (so neither
 * `</script>` nor `<!--` can appear), and so do U+2028 and U+2029 (line
 * terminators inside strings for engines before ES2019). Raw CR and LF can only
 * be whitespace between JSON tokens, and become spaces. The result parses to the
 * same value.
 */
export function scriptSafeJson(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).replace(/[\r\n]/g, ' ');
}

/**
 * JSON text on one line: raw CR and LF in valid JSON can only be whitespace
 * between tokens (inside strings they must be escaped), so turning them into
 * spaces keeps the value and keeps line-framed transports (SSE, NDJSON,
 * multipart parts) intact.
 */
export function oneLineJson(json: string): string {
  return /[\r\n]/.test(json) ? json.replace(/[\r\n]/g, ' ') : json;
}

// Each dotted part an identifier: `a.1b` or `new` would be a syntax error (or
// worse, `import(...)`) in the client, not just an ugly name.
const callbackPattern = /^[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*$/;
const reservedWords = new Set(('break case catch class const continue debugger default delete do else enum export extends '
  + 'false finally for function if implements import in instanceof interface let new null package private protected public '
  + 'return static super switch this throw true try typeof var void while with yield await').split(' '));

/** A JSONP (or forever-frame) callback name: a dotted path of identifiers, at most 64 characters. */
export function isValidCallback(name: string): boolean {
  return name.length <= 64 && callbackPattern.test(name) && !name.split('.').some((part) => reservedWords.has(part));
}
