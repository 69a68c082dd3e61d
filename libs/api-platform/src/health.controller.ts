import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckError, HealthCheckService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { EventStore } from '@caseline/event-store';
import { caseworkProjections, projectionStatus } from '@caseline/projections';
import { Public } from './auth/auth.guard';
import { ReadSide } from './read-side';
import { EVENT_STORE } from './tokens';

const METRICS_TTL_MS = 5_000;

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private lastStatus?: { at: number; status: ReturnType<typeof projectionStatus> };

  constructor(
    private readonly health: HealthCheckService,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ReadSide) private readonly readSide: ReadSide,
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
      // Parked (dead-letter) events are reported, not fatal: the projections go on past them, and
      // taking the API out of service would hide the case records from everyone.
      async (): Promise<HealthIndicatorResult> => {
        try {
          const { rows } = await this.readSide.readModels.db.query<{ name: string; checkpoint: string | null; dead_letters: number }>(
            `SELECT c.name, c.checkpoint, (SELECT count(*)::int FROM projection_dead_letters d WHERE d.projection = c.name) AS dead_letters
               FROM projection_checkpoints c WHERE c.name NOT LIKE '%~rebuild' ORDER BY c.name`,
          );
          const deadLetters = rows.reduce((sum, row) => sum + row.dead_letters, 0);
          return {
            projections: {
              status: 'up',
              deadLetters,
              projections: Object.fromEntries(rows.map((row) => [row.name, { started: row.checkpoint !== null, deadLetters: row.dead_letters }])),
            },
          };
        } catch {
          throw new HealthCheckError('read models unavailable', { projections: { status: 'down' } });
        }
      },
    ]);
  }

  /** Projection lag, dead letters and append groups in the Prometheus text format (no personal data). */
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  @ApiOperation({ summary: 'Metrics (Prometheus text): projection events and seconds behind, events projected, dead letters; append groups' })
  async metrics(): Promise<string> {
    // Public and read off the log (up to 10,000 events per projection): at most one reading every
    // few seconds, however often it is scraped.
    if (!this.lastStatus || Date.now() - this.lastStatus.at > METRICS_TTL_MS) {
      this.lastStatus = { at: Date.now(), status: projectionStatus(this.store, this.readSide.readModels.db, caseworkProjections.map((p) => p.name)) };
      this.lastStatus.status.catch(() => (this.lastStatus = undefined));
    }
    const status = await this.lastStatus.status;
    const metric = (name: string, help: string, value: (s: (typeof status)[number]) => number) =>
      [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...status.map((s) => `${name}{projection="${s.name}"} ${value(s)}`)].join('\n');
    const groups = this.store.appendGroupCounts?.();
    const counter = (name: string, help: string, value: number) => [`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${value}`].join('\n');
    return [
      ...(groups
        ? [
            counter('caseline_append_groups_total', 'Groups of appends sent to the database together (group commit).', groups.groups),
            counter('caseline_append_groups_failed_total', 'Groups whose statement failed; each of their appends then went alone.', groups.failed),
          ]
        : []),
      metric('caseline_projection_events_behind', 'Events stored after the projection checkpoint (capped at 10000).', (s) => s.eventsBehind),
      metric('caseline_projection_seconds_behind', 'Age of the oldest event not yet projected.', (s) => s.secondsBehind),
      metric('caseline_projection_events_projected', 'Events the projection has consumed.', (s) => s.eventsProjected),
      metric('caseline_projection_dead_letters', 'Events parked because the projection could not handle them.', (s) => s.deadLetters),
    ].join('\n') + '\n';
  }
}
