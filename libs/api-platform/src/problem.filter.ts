import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { ValidationError } from 'class-validator';
import type { FastifyReply } from 'fastify';
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

/** Writes an RFC 9457 problem+json answer (also used by HTTP hooks that run before Nest's filters). */
export function sendProblem(reply: FastifyReply, status: number, code: string, detail: string, errors?: FieldError[]): FastifyReply {
  return reply
    .status(status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .send({
      type: `https://caseline.dev/problems/${code.replace(/_/g, '-')}`,
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      code,
      ...(errors ? { errors } : {}),
    });
}

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
  // The request-scoped pino logger, not Nest's static Logger: lines of the static one did not reach
  // the configured log stream (found in review; test/api/faults-logs.test.ts now checks).
  constructor(@Inject(PinoLogger) private readonly logger: PinoLogger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const problem = this.toProblem(exception);
    if (reply.sent) return;
    for (const [name, value] of Object.entries(problem.headers ?? {})) reply.header(name, value);
    sendProblem(reply, problem.status, problem.code, problem.detail, problem.errors);
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
      return { status: 503, code: 'unavailable', detail: 'the database is unavailable; retry with the same Idempotency-Key to be sure the change is recorded once', headers: { 'Retry-After': '2' } };
    }
    if (exception instanceof WrongExpectedVersionError) return { status: 409, code: 'concurrent_change', detail: exception.message };
    if (exception instanceof EventTooLargeError) return { status: 400, code: 'too_large', detail: 'the request holds more text than a record may' };
    if (exception instanceof EventStoreError) return { status: 400, code: exception.code, detail: exception.message };
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // body-parser's own errors (malformed JSON, too large, wrong charset) are client errors: 400.
      const clientStatus = status === 413 || status === 415 ? 400 : status;
      const code = status === 404 ? 'not_found' : status === 413 ? 'too_large' : status === 400 ? 'malformed_request' : `http_${status}`;
      const detail = status === 404 ? 'no such resource' : status === 413 ? 'the request body is too large' : exception.message;
      return { status: clientStatus >= 500 ? clientStatus : clientStatus, code, detail };
    }
    // Fastify's own request errors (malformed JSON, body too large, unsupported media type) carry a
    // 4xx statusCode and an FST_ code: all of them are client errors, answered 400.
    const fastify = exception as { statusCode?: number; code?: string; message?: string };
    if (typeof fastify?.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
      const tooLarge = fastify.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
      return { status: 400, code: tooLarge ? 'too_large' : 'malformed_request', detail: tooLarge ? 'the request body is too large' : 'the request body could not be read as JSON' };
    }
    this.logger.error({ err: exception instanceof Error ? { name: exception.name, message: exception.message, stack: exception.stack } : String(exception) }, 'unexpected error');
    return { status: 500, code: 'internal', detail: 'something went wrong on our side; nothing partial was recorded' };
  }
}
