import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { ValidationError } from 'class-validator';
import type { Response } from 'express';
import { DomainError } from '@caseline/domain';
import { EventStoreError, EventTooLargeError, StoreUnavailableError, WrongExpectedVersionError } from '@caseline/event-store';
import { ApiError } from './errors';

/** One field-level problem in a 400. */
export interface FieldError {
  field: string;
  code: string;
  message: string;
}

/** A 400 from request validation, carrying every field-level problem at once. */
export class RequestValidationError extends Error {
  constructor(readonly errors: FieldError[]) {
    super('the request is invalid');
  }
}

export function flattenValidationErrors(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([code, message]) => ({ field, code, message }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
}

/**
 * The one place where errors become responses: RFC 9457 problem+json with a stable `type` per
 * reason. A client error is never a 500; an unexpected error is logged (without request bodies,
 * which may hold personal data) and answered with a bare 500.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const problem = this.toProblem(exception);
    if (response.headersSent) return;
    for (const [name, value] of Object.entries(problem.headers ?? {})) response.setHeader(name, value);
    response
      .status(problem.status)
      .type('application/problem+json')
      .json({
        type: `https://caseline.dev/problems/${problem.code.replace(/_/g, '-')}`,
        title: TITLES[problem.status] ?? 'Error',
        status: problem.status,
        detail: problem.detail,
        code: problem.code,
        ...(problem.errors ? { errors: problem.errors } : {}),
      });
  }

  private toProblem(exception: unknown): Problem {
    if (exception instanceof RequestValidationError) {
      return { status: 400, code: 'invalid_request', detail: 'the request is invalid; see errors', errors: exception.errors };
    }
    if (exception instanceof ApiError) return { status: exception.status, code: exception.code, detail: exception.message, headers: exception.headers };
    if (exception instanceof DomainError) {
      const status = exception.kind === 'conflict' ? 409 : exception.kind === 'not_found' ? 404 : 400;
      const errors = exception.kind === 'invalid' && exception.field ? [{ field: exception.field, code: exception.code, message: exception.message }] : undefined;
      return { status, code: exception.code, detail: exception.message, errors };
    }
    if (exception instanceof StoreUnavailableError) {
      return { status: 503, code: 'unavailable', detail: 'the database is unavailable; nothing was changed', headers: { 'Retry-After': '2' } };
    }
    if (exception instanceof WrongExpectedVersionError) return { status: 409, code: 'concurrent_change', detail: exception.message };
    if (exception instanceof EventTooLargeError) return { status: 400, code: 'too_large', detail: 'the request holds more text than a record may' };
    if (exception instanceof EventStoreError) return { status: 400, code: exception.code, detail: exception.message };
    if (exception instanceof ThrottlerException) {
      return { status: 429, code: 'rate_limited', detail: 'too many requests; slow down', headers: { 'Retry-After': '1' } };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // body-parser's own errors (malformed JSON, too large, wrong charset) are client errors: 400.
      const clientStatus = status === 413 || status === 415 ? 400 : status;
      const code = status === 404 ? 'not_found' : status === 413 ? 'too_large' : status === 400 ? 'malformed_request' : `http_${status}`;
      const detail = status === 404 ? 'no such resource' : status === 413 ? 'the request body is too large' : exception.message;
      return { status: clientStatus >= 500 ? clientStatus : clientStatus, code, detail };
    }
    const bodyParser = exception as { type?: string; status?: number; expose?: boolean };
    if (typeof bodyParser?.status === 'number' && bodyParser.status >= 400 && bodyParser.status < 500) {
      return { status: 400, code: 'malformed_request', detail: bodyParser.expose ? String((exception as Error).message) : 'the request body could not be read' };
    }
    this.logger.error({ err: exception instanceof Error ? { name: exception.name, message: exception.message, stack: exception.stack } : String(exception) }, 'unexpected error');
    return { status: 500, code: 'internal', detail: 'something went wrong on our side; nothing partial was recorded' };
  }
}
