import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { streamCategories } from '@caseline/domain';
import { PostgresDatabase, SqlEventStore } from '@caseline/event-store';
import { createTestDatabase, type TestDatabase } from '@caseline/event-store/testing';
import { caseworkProjections, projectionStatus, ReadModels } from '@caseline/projections';
import { appendCaseStory, dumpTables, freshReplay, until } from '@caseline/projections/testing';

// Crash test: real projector processes (apps/projector) killed with SIGKILL at random moments,
// many times, while events keep arriving, during live projection and during a blue/green rebuild.
// Afterwards the read models must equal a fresh replay of the store, row for row.

const ROOT = join(__dirname, '..', '..');
const LIVE_KILLS = 8;
const REBUILD_KILLS = 5;

jest.setTimeout(300_000);

describe('projector killed with SIGKILL (PostgreSQL, separate processes)', () => {
  let database: TestDatabase;
  let db: PostgresDatabase;
  let store: SqlEventStore;
  let readModels: ReadModels;
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    database = await createTestDatabase('caseline_crash');
    db = new PostgresDatabase({ connectionString: database.url, max: 6 });
    store = await SqlEventStore.open(db, { categories: streamCategories });
    readModels = await ReadModels.open(db);
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await readModels.close();
    await store.close();
    await database.drop();
  });

  /** Starts `projector <args>`; resolves once it has printed `ready` (a line matching it). */
  function projector(args: string[], ready: RegExp): { child: ChildProcess; started: Promise<void>; exited: Promise<number | null>; output: () => string } {
    const child = spawn(process.execPath, ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', 'apps/projector/src/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_PROJECT: 'tsconfig.scripts.json', DATABASE_URL: database.url, PROJECTOR_LEASE_MS: '400', PROJECTOR_BATCH_SIZE: '7', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let output = '';
    const started = new Promise<void>((resolve, reject) => {
      const look = (chunk: Buffer) => {
        output += chunk.toString();
        if (ready.test(output)) resolve();
      };
      child.stdout?.on('data', look);
      child.stderr?.on('data', look);
      child.once('exit', (code) => reject(new Error(`projector exited (${code}) before it was ready:\n${output}`)));
    });
    started.catch(() => undefined);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => (children.delete(child), resolve(code))));
    return { child, started, exited, output: () => output };
  }

  const randomMs = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));

  /** The last checkpoint appended (appends are sequential: the latest is the last in delivery order). */
  let head: string | undefined;
  const story = async () => {
    head = (await appendCaseStory(store)).checkpoint;
  };

  /** Appends case stories until `stop` is set: events keep arriving while processes die. */
  function writer(): { stop: () => Promise<void> } {
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        await story();
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await loop;
      },
    };
  }

  async function caughtUp(): Promise<boolean> {
    const status = await projectionStatus(store, db, caseworkProjections.map((p) => p.name));
    return status.every((s) => s.checkpoint !== null && head !== undefined && store.compareCheckpoints(s.checkpoint, head) >= 0);
  }

  it('keeps every read model exact through kills during live projection and during rebuild', async () => {
    for (let i = 0; i < 20; i++) await story();
    const events = writer();
    // Live projection: kill a projector mid-flight, start another, again and again.
    for (let kill = 0; kill < LIVE_KILLS; kill++) {
      const run = projector([], /projecting/);
      await run.started;
      await new Promise((resolve) => setTimeout(resolve, randomMs(20, 700)));
      run.child.kill('SIGKILL');
      await run.exited;
    }
    // Rebuild: the same, with a live projector running beside it all along.
    const live = projector([], /projecting/);
    await live.started;
    for (let kill = 0; kill < REBUILD_KILLS; kill++) {
      const rebuild = projector(['rebuild', 'all'], /rebuild [\w,]+ \[/);
      await rebuild.started;
      await new Promise((resolve) => setTimeout(resolve, randomMs(0, 400)));
      rebuild.child.kill('SIGKILL');
      await rebuild.exited;
    }
    await events.stop();
    // A position handed out and never used, as by an append that failed after taking it: the
    // finishing bar must still read N/N, though the rebuild's estimate of its total was N+1.
    await db.query(`SELECT nextval(pg_get_serial_sequence('es_events', 'position'))`);
    // One rebuild allowed to finish (it resumes what the killed ones left), then the live one catches up.
    const finish = projector(['rebuild', 'all'], /rebuild [\w,]+ \[/);
    expect(await finish.exited).toBe(0);
    await until(caughtUp, 60_000);
    live.child.kill('SIGTERM');
    expect(await live.exited).toBe(0);

    const { rows: pending } = await db.query(`SELECT name FROM projection_checkpoints WHERE name LIKE '%~rebuild'`);
    expect(pending).toEqual([]);
    const { rows: letters } = await db.query(`SELECT * FROM projection_dead_letters`);
    expect(letters).toEqual([]);
    expect(await dumpTables(db, caseworkProjections)).toEqual(await freshReplay(db, store, caseworkProjections, head));
    // Each event counted once per projection: the counter moves in the batch's own transaction.
    const { rows: stored } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM es_events`);
    // The finished bar counts the events walked, not the positions handed out (one gap, above).
    const all = stored[0].n.toLocaleString('en-US');
    expect(finish.output()).toMatch(new RegExp(`rebuild people,cases,referrals,timeline \\[#{20}\\]  100\\.0%  ${all}/${all} events`));
    const status = await projectionStatus(store, db, caseworkProjections.map((p) => p.name));
    expect(status.map((s) => s.eventsProjected)).toEqual(caseworkProjections.map(() => stored[0].n));
    expect(await readModels.pendingSchemaChanges()).toEqual([]);
  });
});
