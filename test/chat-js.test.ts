// static/chat.js, the widget, is ES5 like the rest of what a forum page loads:
// no let, const, arrow functions, classes or template strings. (comet.js goes
// further, to ES3; test/comet-js.test.ts.) Its behaviour is tested in Chromium
// (test/chat-widget-browser.test.ts).
import { readFileSync } from 'node:fs';
import { parse } from 'acorn';
import { describe, expect, it } from 'vitest';

describe('chat.js', () => {
  it('is ES5', () => {
    const source = readFileSync(new URL('../static/chat.js', import.meta.url), 'utf8');
    expect(() => parse(source, { ecmaVersion: 5 })).not.toThrow();
  });

  it('would catch ES2015 syntax (the check can fail)', () => {
    expect(() => parse('var f = () => 1;', { ecmaVersion: 5 })).toThrow();
  });
});
