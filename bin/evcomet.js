#!/usr/bin/env node
// The `evcomet` command (server/cli.ts). In a checkout it runs the TypeScript
// through tsx, so it is never staler than the source; where only the compiled
// dist/ is installed (npm install --omit=dev, after npm run build), it runs that.
const source = new URL('../server/cli.ts', import.meta.url);
let tsx = null;
try {
  tsx = await import('tsx/esm/api');
} catch {
  // not installed: run the compiled CLI
}
if (tsx) {
  tsx.register();
  await import(source.href);
} else {
  await import(new URL('../dist/server/cli.js', import.meta.url).href);
}
