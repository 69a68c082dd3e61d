import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckError, HealthCheckService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { EventStore } from '@caseline/event-store';
import { Public } from './auth/auth.guard';
import { EVENT_STORE } from './tokens';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  /** The process is up (no dependencies checked). */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** The process can serve: its database answers. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      async (): Promise<HealthIndicatorResult> => {
        try {
          await this.store.ping();
          return { eventStore: { status: 'up', adapter: this.store.adapterName } };
        } catch {
          throw new HealthCheckError('event store unavailable', { eventStore: { status: 'down' } });
        }
      },
    ]);
  }
}
