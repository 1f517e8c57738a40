// Every error code is documented in docs/errors.md with its status, and nothing
// documented is missing from the code.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCodes } from '../server/errors.ts';

describe('error codes', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));

  it('documents every code with its status', () => {
    for (const [code, { status }] of Object.entries(errorCodes)) {
      expect(documented.get(code), `docs/errors.md: ${code}`).toBe(status);
    }
  });

  it('documents no code that does not exist', () => {
    expect([...documented.keys()].sort()).toEqual(Object.keys(errorCodes).sort());
  });
});
