// The one-line JSON item format shared by the line- and part-framed transports
// (xhr-stream, chunked, multipart, longpoll). Not an encoder itself.
import type { Control, WireMessage } from './encoder.ts';
import { oneLineJson } from './escape.ts';

/** A message as one line of JSON, `{"id":…,"data":…}` (`{"data":…}` without an id), no newline. */
export function jsonItem(message: WireMessage): string {
  // The id goes through JSON.stringify, which escapes CR and LF, and the data through
  // oneLineJson, so the item never holds a raw line break and one line frames it.
  const data = oneLineJson(message.json);
  return message.id === undefined ? `{"data":${data}}` : `{"id":${JSON.stringify(message.id)},"data":${data}}`;
}

/** A message as one NDJSON line: jsonItem() followed by `\n`. */
export function ndjsonMessage(message: WireMessage): string {
  return `${jsonItem(message)}\n`;
}

/** A control frame as one NDJSON line: `JSON.stringify(control)` followed by `\n`. */
export function ndjsonControl(control: Control): string {
  return `${JSON.stringify(control)}\n`;
}
