import { randomUUID } from 'node:crypto';
import { type BeforeApplicationShutdown, type DynamicModule, Inject, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { levels } from 'pino';
import type { EventStore } from '@caseline/event-store';
import type { Projector } from '@caseline/projections';
import { AccessLog, PersonalData, type AppConfig } from '@caseline/platform';
import { AuthGuard } from './auth/auth.guard';
import { AuthService } from './auth/auth.service';
import { DevTokenController } from './auth/dev-token.controller';
import { correlationIdOf } from './command-context';
import { CommandRunner } from './command-runner';
import { HealthController } from './health.controller';
import { ProblemDetailsFilter } from './problem.filter';
import { ReadSide } from './read-side';
import { RateLimiter } from './rate-limit';
import { StreamStateCache } from './stream-state-cache';
import { APP_CONFIG, EVENT_STORE, PROJECTOR } from './tokens';

export interface PlatformOptions {
  config: AppConfig;
  store: EventStore;
  auth: AuthService;
  personalData: PersonalData;
  accessLog: AccessLog;
  readSide: ReadSide;
  /** The projector this process runs (PROJECTOR=inline), started with the app and stopped before the store closes. */
  projector?: Projector;
  /** Where structured logs go (stdout by default; tests capture them). */
  logStream?: NodeJS.WritableStream;
}

/**
 * Starts the in-process projector with the app; on shutdown (SIGTERM, app.close()) stops it first,
 * then, once the HTTP server has drained, stops listening for erasures and closes the stores.
 */
class StoreLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PROJECTOR) private readonly projector: Projector | null,
    @Inject(ReadSide) private readonly readSide: ReadSide,
    @Inject(PersonalData) private readonly personalData: PersonalData,
  ) {}
  onApplicationBootstrap(): void {
    this.projector?.start();
  }
  async beforeApplicationShutdown(): Promise<void> {
    await this.projector?.stop();
  }
  async onApplicationShutdown(): Promise<void> {
    await this.personalData.close();
    await this.readSide.readModels.close();
    await this.store.close();
  }
}

/**
 * What every Caseline HTTP surface stands on: configuration, the event store, authentication,
 * the problem+json filter, structured logs with a correlation id per request, health.
 */
@Module({})
export class PlatformModule {
  static forRoot(options: PlatformOptions): DynamicModule {
    const { config } = options;
    // A request's line is an info line. Why decide it once here: pino-http builds each response's
    // line (and a child logger for it) before the level drops it; told 'silent', it skips both.
    const requestLines = levels.values[config.logLevel] > levels.values.info ? 'silent' : 'info';
    return {
      module: PlatformModule,
      global: true,
      imports: [
        CqrsModule.forRoot(),
        TerminusModule.forRoot({ errorLogStyle: 'json', logger: false }),
        LoggerModule.forRoot({
          pinoHttp: [
            {
              level: config.logLevel,
              genReqId: (request, response) => {
                // Fastify has already chosen the id (from X-Correlation-Id when well-formed).
                const id = String((request as { id?: unknown }).id ?? correlationIdOf(request as never) ?? randomUUID());
                response.setHeader('X-Correlation-Id', id);
                return id;
              },
              // Privacy: no bodies, no tokens, no query strings in logs — only what identifies the request.
              serializers: {
                req: (request: { id: string; method: string; url: string }) => ({ id: request.id, method: request.method, path: request.url.split('?')[0] }),
                res: (response: { statusCode: number }) => ({ status: response.statusCode }),
              },
              redact: ['req.headers', 'res.headers'],
              customLogLevel: () => requestLines,
              // Only once there is an actor (after authentication): pino-http makes a child logger
              // for any object this returns, an empty one included, and none for undefined (which
              // its types do not admit).
              customProps: (request) => {
                const actor = (request as { actor?: { id: string } }).actor;
                return (actor ? { actor: actor.id } : undefined) as object;
              },
            },
            options.logStream ?? process.stdout,
          ],
        }),
      ],
      controllers: [HealthController, ...(config.auth.mode === 'dev' ? [DevTokenController] : [])],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: EVENT_STORE, useValue: options.store },
        { provide: AuthService, useValue: options.auth },
        { provide: PersonalData, useValue: options.personalData },
        { provide: AccessLog, useValue: options.accessLog },
        { provide: ReadSide, useValue: options.readSide },
        { provide: PROJECTOR, useValue: options.projector ?? null },
        { provide: RateLimiter, useValue: new RateLimiter(config.rateLimit) },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        StreamStateCache,
        CommandRunner,
        StoreLifecycle,
      ],
      exports: [APP_CONFIG, EVENT_STORE, PROJECTOR, AuthService, PersonalData, AccessLog, ReadSide, StreamStateCache, CommandRunner, CqrsModule],
    };
  }
}
