// @ts-check
// Errors. Everything siglip-web throws, rejects with or reports is a real Error whose `name`
// says what failed (NetworkError, ImageError, AbortError, ...; index.d.ts lists them). An error
// crosses from the worker to the page as a plain `{name, message}`: plainError there, toError here.

/** @typedef {import('./protocol.js').PlainError} PlainError */

/**
 * An Error with a stable `name`; `cause`: the error it wraps, if any.
 * @param {string} name
 * @param {string} message
 * @param {unknown} [cause]
 */
export function namedError(name, message, cause) {
  const err = new Error(message, cause ? { cause } : undefined);
  err.name = name;
  return err;
}

/**
 * A real Error from whatever was thrown or received: an Error as it is; anything else (the
 * worker's `{name, message}`, a string) rebuilt with its name and message.
 * @param {any} e
 * @returns {Error}
 */
export function toError(e) {
  if (e instanceof Error) return e;
  const message = e?.message ?? (e == null || typeof e === 'object' ? 'unknown error' : e);
  return namedError(e?.name ?? 'Error', String(message));
}

/**
 * What the worker posts for an error it caught.
 * @param {any} err
 * @returns {PlainError}
 */
export function plainError(err) {
  return { name: err?.name ?? 'Error', message: err?.message ?? String(err) };
}

/**
 * The AbortError of a call whose AbortSignal fired; `cause` is the signal's reason (a
 * DOMException AbortError, or what `controller.abort(reason)` was given).
 * @param {AbortSignal} signal
 */
export function aborted(signal) {
  return namedError('AbortError', 'the call was cancelled (its AbortSignal fired)', signal.reason);
}
