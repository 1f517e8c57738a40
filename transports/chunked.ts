// Plain NDJSON over a chunked response, for programs (curl, fetch, SDKs).
import type { Encoder } from './encoder.ts';
import { ndjsonControl, ndjsonMessage } from './ndjson.ts';

/** chunked: application/x-ndjson, one JSON item per line, blank lines as heartbeats. */
export const chunked: Encoder = {
  name: 'chunked',
  streaming: true,
  headers: () => ({ 'content-type': 'application/x-ndjson; charset=utf-8' }),
  // Programs read bytes as they come, so no prelude is needed.
  open: () => '',
  message: ndjsonMessage,
  control: ndjsonControl,
  separator: '',
  heartbeat: () => '\n',
  close: () => '',
};
