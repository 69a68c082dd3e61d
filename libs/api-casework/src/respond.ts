import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { consistencyToken, notFound, type CommandOutcome } from '@caseline/api-platform';

/** Sets what every command answers besides its body: ETag and X-Consistency-Token. */
export function answer<Body extends object>(response: FastifyReply, outcome: CommandOutcome, body: Body): Body & { version: number } {
  response.header('ETag', `"${outcome.version}"`);
  if (outcome.checkpoint) response.header('X-Consistency-Token', consistencyToken(outcome.checkpoint));
  if (outcome.replayed) response.header('Idempotent-Replayed', 'true');
  return { ...body, version: outcome.version };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Path ids: anything that is not a uuid names no record, so it is a 404 like any unknown id. */
@Injectable()
export class RecordIdPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    if (typeof value !== 'string' || !UUID.test(value)) throw notFound(metadata.data ?? 'record');
    return value.toLowerCase();
  }
}
