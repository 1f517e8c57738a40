// Every example, mounted under /examples/ by the server that `npm start` runs.
import { include } from '../server/urls.ts';
import { agentpushUrls, type AgentpushOptions } from './agentpush.ts';
import type { CometContext } from '../server/comet-stream.ts';
import { clockUrls } from './clock.ts';
import { pollUrls } from './polls/urls.ts';

/** What the examples need from the app: publishing on the site's bus, a channel's recent messages, Comet's limits and counters. */
export interface ExampleServices extends AgentpushOptions {
  comet: CometContext;
}

export function exampleUrls(services: ExampleServices) {
  return [...clockUrls(services.comet), include('polls/', pollUrls()), ...agentpushUrls(services)];
}
