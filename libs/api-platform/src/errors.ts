/** Errors the edge raises itself; the problem filter maps each to its status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);
export const forbidden = (capability: string) => new ApiError(403, 'forbidden', `your role may not ${capability.replace(/[._]/g, ' ')}`);
export const unauthorized = (detail = 'a valid bearer token is required') => new ApiError(401, 'unauthorized', detail);
