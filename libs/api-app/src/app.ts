import { randomUUID } from 'node:crypto';
import { type ArgumentMetadata, Module, ValidationPipe, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import type { EventStore, SqlDatabase } from '@caseline/event-store';
import {
  AccessLog,
  auditSigningKeyOf,
  AuthService,
  devSecretFile,
  correlationIdOf,
  flattenValidationErrors,
  masterKeyOf,
  newDevSecret,
  openEventStore,
  openSideDatabase,
  PersonalData,
  PersonalDataKeys,
  PlatformModule,
  ReadSide,
  RequestValidationError,
  sendProblem,
  type FieldError,
  type AppConfig,
} from '@caseline/api-platform';
import { AuditModule, AuditServices, DIGEST_BODY_LIMIT } from '@caseline/api-audit';
import { CaseReplay, CaseSnapshots, DigestSigner } from '@caseline/audit';
import { caseworkProjections, Projector, ReadModels } from '@caseline/projections';
import { CaseworkModule } from '@caseline/api-casework';
import { DocsController } from './docs.controller';

export interface AppOptions {
  /** An already open store (tests); otherwise the configured one is opened. */
  store?: EventStore;
  /** HS256 secret for dev tokens; read from (or written to) DATA_DIR when not given. */
  devSecret?: Uint8Array;
  /** Master key (32 bytes) when MASTER_KEY is not configured; dev mode otherwise keeps one in DATA_DIR. */
  masterKey?: Buffer;
  /** Where the per-person data keys live; the event store's own database when it is SQL. */
  keyDatabase?: SqlDatabase;
  logStream?: NodeJS.WritableStream;
}

/** Validation at the edge: unknown properties refused, every field problem reported at once. */
class BodyValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => new RequestValidationError(flattenValidationErrors(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata) {
    if (metadata.type === 'body') {
      // No body at all is an empty object (commands whose fields are all optional).
      if (value === undefined) value = {};
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new RequestValidationError([{ field: '', code: 'isObject', message: 'the body must be a JSON object' }]);
      }
    }
    return super.transform(value, metadata);
  }
}

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_DEPTH = 16;

/**
 * One iterative pass over a body (no recursion: a deeply nested body must be a 400, not a stack
 * overflow): keys named like Object.prototype members (`__proto__`, `constructor`, `toString`…),
 * which slip past class-transformer's whitelist; text no record may hold (NUL, lone surrogates);
 * and nesting deeper than any of our bodies has.
 */
function bodyProblems(body: object): FieldError[] {
  const problems: FieldError[] = [];
  const pending: [unknown, string, number][] = [[body, '', 0]];
  while (pending.length) {
    const [value, path, depth] = pending.pop() as [unknown, string, number];
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) problems.push({ field: path, code: 'isText', message: `${path} holds a NUL character or a lone surrogate` });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_DEPTH) {
      problems.push({ field: path, code: 'tooDeep', message: `${path || 'the body'} is nested too deeply` });
      continue;
    }
    for (const key of Object.keys(value)) {
      const field = path ? `${path}.${key}` : key;
      if (key === '__proto__' || key === 'prototype' || key in Object.prototype) {
        problems.push({ field, code: 'whitelistValidation', message: `property ${field} should not exist` });
      } else pending.push([(value as Record<string, unknown>)[key], field, depth + 1]);
    }
  }
  return problems;
}

function isUtf8Json(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [type, ...parameters] = contentType.toLowerCase().split(';').map((part) => part.trim());
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) return false;
  const charset = parameters.find((parameter) => parameter.startsWith('charset='));
  return !charset || /^charset="?utf-8"?$/.test(charset);
}

/** Builds the Caseline HTTP application (not yet listening): the composition apps/api serves and tests drive. */
export async function createApp(config: AppConfig, options: AppOptions = {}): Promise<NestFastifyApplication> {
  const store = options.store ?? (await openEventStore(config));
  const devSecret =
    config.auth.mode === 'dev' ? (options.devSecret ?? Buffer.from((await devSecretFile(config, 'dev-token-secret', newDevSecret)) as string, 'base64')) : new Uint8Array();
  // MASTER_KEY is required outside dev mode (config validation); dev mode keeps its own in DATA_DIR.
  const masterKey = config.masterKey ? (await masterKeyOf(config, false)) : (options.masterKey ?? (await masterKeyOf(config, true)));
  const keyDatabase = options.keyDatabase ?? (await openSideDatabase(config, store));
  const personalData = new PersonalData(await PersonalDataKeys.open(keyDatabase, masterKey as Buffer));
  const accessLog = await AccessLog.open(keyDatabase);
  // The read models live beside the events (PostgreSQL or the embedded PGlite), or with KurrentDB
  // in the app's own database.
  const readModels = await ReadModels.open(keyDatabase);
  const projectorLog: { target?: (level: 'info' | 'warn' | 'error', message: string, details?: Record<string, unknown>) => void } = {};
  const projector =
    config.projector === 'inline'
      ? new Projector({ store, db: keyDatabase, projections: caseworkProjections, log: (level, message, details) => projectorLog.target?.(level, message, details) })
      : undefined;
  const readSide = new ReadSide(readModels, store, config.consistencyWaitMs, projector);
  // AUDIT_SIGNING_KEY likewise; dev mode generates an Ed25519 key into DATA_DIR once.
  const signer = new DigestSigner(await auditSigningKeyOf(config));
  const audit = new AuditServices(signer, [signer.publicKey], new CaseReplay(store, personalData, await CaseSnapshots.open(keyDatabase)));
  const auth = await AuthService.create(config, devSecret);

  @Module({})
  class AppModule {
    static register(): DynamicModule {
      return {
        module: AppModule,
        imports: [PlatformModule.forRoot({ config, store, auth, personalData, accessLog, readSide, projector, logStream: options.logStream }), CaseworkModule, AuditModule.register(audit)],
        controllers: [DocsController],
      };
    }
  }

  // Fastify, not Express: on this project's 2-core machine a minimal Nest app served 10,380 req/s
  // on Fastify against 1,254 on Express (autocannon, 32 connections, same run).
  const adapter = new FastifyAdapter({
    bodyLimit: 1024 * 1024,
    // Bodies are parsed with plain JSON.parse semantics (a "__proto__" key stays an own property and
    // pollutes nothing); the validation pipe then refuses such keys by name, with field errors.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    // The request id is the caller's X-Correlation-Id when it is well-formed; it is kept on the raw
    // request too, where the request logger reads it.
    genReqId: (request: { headers: Record<string, string | string[] | undefined> }) => {
      const id = correlationIdOf(request as never) ?? randomUUID();
      (request as { id?: string }).id = id;
      return id;
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(), adapter, { bufferLogs: true });
  const logger = app.get(Logger);
  app.useLogger(logger);
  projectorLog.target = (level, message, details) => (level === 'info' ? logger.log : level === 'warn' ? logger.warn : logger.error).call(logger, { ...details, msg: message }, 'Projector');
  // Security headers on every answer, refusals by the hooks below included (so this hook comes
  // first). One helmet middleware, built here: @fastify/helmet built a new one for every request,
  // parsing the policy again each time.
  const securityHeaders = helmet({ contentSecurityPolicy: { directives: { 'script-src': ["'self'", "'unsafe-inline'"], 'style-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:'] } } });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => securityHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined)));
  // A digest handed back for verification holds every stream head: the one body allowed past 1 MiB.
  // (Routes are registered at init, after this hook.)
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      if (route.url === '/api/audit/digest/verification') route.bodyLimit = DIGEST_BODY_LIMIT;
    });
  // Before any parsing: echo the correlation id, and accept request bodies only as UTF-8 JSON (no
  // form or text bodies that a parser might turn into something the validators accept).
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', async (request, reply) => {
      void reply.header('X-Correlation-Id', request.id);
      const hasBody = Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
      if (hasBody && !isUtf8Json(request.headers['content-type'])) {
        return sendProblem(reply, 400, 'unsupported_media_type', 'send the body as JSON: Content-Type application/json (UTF-8)');
      }
    })
    // Right after parsing, before anything walks the body recursively (hashing, validation).
    .addHook('preValidation', async (request, reply) => {
      if (request.body === null || typeof request.body !== 'object') return;
      const problems = bodyProblems(request.body);
      if (problems.length) return sendProblem(reply, 400, 'invalid_request', 'the request is invalid; see errors', problems);
    });
  app.useGlobalPipes(new BodyValidationPipe());
  app.enableShutdownHooks();

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Caseline API')
      .setDescription('Event-sourced case and referral management for community-caretaking programs. Errors are application/problem+json (RFC 9457).')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  // The JSON document only; the page is DocsController.
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json', ui: false, raw: ['json'] });
  return app;
}
