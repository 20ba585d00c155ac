/** An expected failure that the HTTP layer maps to `{ error: { code, message } }` with `status`. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    // An expected refusal (every 409 of a hot auction) needs no stack trace: capturing one is most of an Error's cost.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'AppError';
  }
}

export const notFound = (what = 'resource') => new AppError(404, 'not_found', `${what} not found`);
export const forbidden = (message = 'not allowed') => new AppError(403, 'forbidden', message);
export const unauthorized = (message = 'sign in first') => new AppError(401, 'unauthorized', message);
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(409, code, message, details);
export const badRequest = (code: string, message: string) => new AppError(400, code, message);
