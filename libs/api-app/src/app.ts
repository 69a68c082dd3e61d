import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ArgumentMetadata, type INestApplication, Module, ValidationPipe, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { json } from 'express';
import type { EventStore } from '@caseline/event-store';
import {
  AuthService,
  flattenValidationErrors,
  openEventStore,
  PlatformModule,
  RequestValidationError,
  type AppConfig,
} from '@caseline/api-platform';
import { CaseworkModule } from '@caseline/api-casework';

export interface AppOptions {
  /** An already open store (tests); otherwise the configured one is opened. */
  store?: EventStore;
  /** HS256 secret for dev tokens; read from (or written to) DATA_DIR when not given. */
  devSecret?: Uint8Array;
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
    if (metadata.type === 'body' && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new RequestValidationError([{ field: '', code: 'isObject', message: 'the body must be a JSON object' }]);
    }
    return super.transform(value, metadata);
  }
}

async function devTokenSecret(config: AppConfig): Promise<Uint8Array> {
  // Persisted so that dev tokens survive a restart; readable by the service's user only.
  const path = join(config.dataDir, 'dev-token-secret');
  try {
    return Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
  } catch {
    const secret = randomBytes(32);
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(path, secret.toString('base64'), { mode: 0o600 });
    await chmod(path, 0o600);
    return secret;
  }
}

/** Builds the Caseline HTTP application (not yet listening): the composition apps/api serves and tests drive. */
export async function createApp(config: AppConfig, options: AppOptions = {}): Promise<INestApplication> {
  const store = options.store ?? (await openEventStore(config));
  const devSecret = config.auth.mode === 'dev' ? (options.devSecret ?? (await devTokenSecret(config))) : new Uint8Array();
  const auth = await AuthService.create(config, devSecret);

  @Module({})
  class AppModule {
    static register(): DynamicModule {
      return { module: AppModule, imports: [PlatformModule.forRoot({ config, store, auth, logStream: options.logStream }), CaseworkModule] };
    }
  }

  const app = await NestFactory.create(AppModule.register(), { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  app.use(helmet({ contentSecurityPolicy: { directives: { 'script-src': ["'self'", "'unsafe-inline'"] } } }));
  app.use(json({ limit: '1mb', strict: true, type: ['application/json', 'application/*+json'] }));
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
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
  return app;
}
