// Every error evcomet answers with is made here, so that its code, HTTP status
// and wording live in one table. The wire shape is always
//   { "error": "<code>", "message": "<text for a person>", ...details }
// Codes are stable: clients branch on them. docs/errors.md lists them and a
// test keeps that list and this table in step.

export const errorCodes = {
  bad_request: { status: 400, message: 'The request is malformed.' },
  bad_parameter: { status: 400, message: 'A parameter has a bad value.' },
  bad_json: { status: 400, message: 'The body is not valid JSON.' },
  bad_channel: { status: 400, message: 'A channel name is 1 to 64 of letters, digits and _ . : - (starting with a letter, digit or _).' },
  bad_transport: { status: 400, message: 'No such transport.' },
  bad_callback: { status: 400, message: 'A callback name matches [A-Za-z_$][A-Za-z0-9_$.]* and has at most 64 characters.' },
  bad_event: { status: 400, message: 'A forum event is a JSON object with string "type" and "who".' },
  bad_since: { status: 400, message: 'The id to resume from is not a message id.' },
  bad_room: { status: 400, message: 'A room name is 1 to 32 of letters, digits, _ and - (starting with a letter, digit or _).' },
  bad_line: { status: 400, message: 'A line is JSON { "text": "…", "key": "…" }: non-empty text, and an optional key of 1 to 128 printable ASCII characters.' },
  bad_nick: { status: 400, message: 'A nick is 1 to 24 letters, digits, _ . and -.' },
  not_signed_in: { status: 401, message: 'Sign in to post.' },
  bad_csrf: { status: 403, message: 'The request did not come from the chat page.' },
  not_moderator: { status: 403, message: 'Only moderators may delete lines.' },
  nick_taken: { status: 409, message: 'Someone else is using this nick.' },
  unauthorized: { status: 401, message: 'Publishing needs the bearer token.' },
  forbidden: { status: 403, message: 'Publishing without a token is allowed from this machine only, not through a proxy.' },
  not_found: { status: 404, message: 'No such path.' },
  method_not_allowed: { status: 405, message: 'The path does not answer this method.' },
  payload_too_large: { status: 413, message: 'The body is too large.' },
  line_too_long: { status: 413, message: 'The line is longer than the limit.' },
  unsupported_media_type: { status: 415, message: 'The body has a content type this path does not take.' },
  too_many_subscribers: { status: 429, message: 'Too many open subscriptions from this address.' },
  rate_limited: { status: 429, message: 'Too many lines; wait a little (see Retry-After).' },
  internal: { status: 500, message: 'The server failed to answer.' },
  bus_unavailable: { status: 503, message: 'The message bus cannot take messages now; retry shortly.' },
  store_unavailable: { status: 503, message: 'The chat history cannot be reached now; nothing was posted, so retry shortly.' },
  shutting_down: { status: 503, message: 'The server is shutting down.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** An error that knows how to answer: its code, status and JSON body. */
export interface HttpError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: Record<string, unknown>;
}

/** Makes the error for `code`; `message` and `details` refine the table's. */
export function httpError(code: ErrorCode, message?: string, details: Record<string, unknown> = {}): HttpError {
  const entry = errorCodes[code];
  return Object.assign(new Error(message ?? entry.message), { code, statusCode: entry.status, details });
}

export function isHttpError(err: unknown): err is HttpError {
  return err instanceof Error && typeof (err as Partial<HttpError>).code === 'string'
    && (err as Partial<HttpError>).code! in errorCodes;
}

// fastify's own client errors, in our codes.
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_BAD_URL: 'bad_request',
  FST_ERR_MAX_PARAM_LENGTH: 'bad_parameter',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_json',
  FST_ERR_VALIDATION: 'bad_request',
};

/** The status and JSON body for any error; an unknown one is an opaque 500. */
export function errorBody(err: unknown): { status: number; body: Record<string, unknown> } {
  if (isHttpError(err)) {
    return { status: err.statusCode, body: { error: err.code, message: err.message, ...err.details } };
  }
  const { code, statusCode } = (err ?? {}) as { code?: string; statusCode?: number };
  const ours = code && fastifyCodes[code];
  if (ours) return { status: errorCodes[ours].status, body: { error: ours, message: errorCodes[ours].message } };
  // @fastify/static's client errors (http-errors): a directory or a missing file is not there.
  if ((err as { expose?: boolean }).expose === true && statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    const code = statusCode === 403 || statusCode === 404 ? 'not_found' : 'bad_request';
    return { status: errorCodes[code].status, body: { error: code, message: errorCodes[code].message } };
  }
  // A body that fails JSON.parse reaches us as a SyntaxError with a 400 on it.
  if (err instanceof SyntaxError && statusCode === 400) {
    return { status: 400, body: { error: 'bad_json', message: errorCodes.bad_json.message } };
  }
  return { status: 500, body: { error: 'internal', message: errorCodes.internal.message } };
}

/** What an error's answer says in headers beyond its JSON type: a wait it names (rate limits), the standard way. */
export function errorHeaders(body: Record<string, unknown>): Record<string, string> {
  return typeof body.retryAfter === 'number' ? { 'retry-after': String(body.retryAfter) } : {};
}
