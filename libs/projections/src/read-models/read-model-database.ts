import 'reflect-metadata';
import { DataSource, type MigrationInterface } from 'typeorm';
import type { SqlDatabase } from '@caseline/event-store';
import { sqlDatabaseDriver } from '../typeorm-driver';
import { readModelEntities } from './entities';
import { migrations } from './migrations';

/** Advisory lock key under which read-model migrations run (one process at a time). */
const MIGRATION_LOCK = 7358217;

/**
 * The read side's database: TypeORM over the same SqlDatabase as the event store (or, with
 * KurrentDB, over the app's own PostgreSQL/PGlite). Schema changes are migrations, never
 * `synchronize`.
 */
export class ReadModels {
  private constructor(
    readonly db: SqlDatabase,
    readonly dataSource: DataSource,
  ) {}

  static async open(db: SqlDatabase, options: { migrations?: (new () => MigrationInterface)[] } = {}): Promise<ReadModels> {
    // Migrations run on a data source of their own whose transactions hold the migration lock.
    // TypeORM looks at its migrations table before that transaction, so two processes starting at
    // once can both see a migration as pending: the second then fails inside the lock (the tables
    // exist), rolls back, and looks again — by then the first has recorded the migration.
    for (let attempt = 1; ; attempt++) {
      const migrator = dataSourceFor(sqlDatabaseDriver(db, { lockOnBegin: MIGRATION_LOCK }), options.migrations ?? migrations);
      await migrator.initialize();
      try {
        await migrator.runMigrations({ transaction: 'all' });
        break;
      } catch (error) {
        const code = (error as { code?: unknown; driverError?: { code?: unknown } }).code ?? (error as { driverError?: { code?: unknown } }).driverError?.code;
        // What the first to migrate has done already, met by the second: 42P07 duplicate table,
        // 23505 unique violation (two creating the migrations table), 42703 undefined column (a
        // column it dropped), 42701 duplicate column (one it added).
        if (attempt >= 3 || !['42P07', '23505', '42703', '42701'].includes(String(code))) throw error;
      } finally {
        await migrator.destroy();
      }
    }
    const dataSource = dataSourceFor(sqlDatabaseDriver(db), []);
    await dataSource.initialize();
    return new ReadModels(db, dataSource);
  }

  /** SQL that would bring the schema in line with the entities (empty when migrations are complete). */
  async pendingSchemaChanges(): Promise<string[]> {
    const log = await this.dataSource.driver.createSchemaBuilder().log();
    return log.upQueries.map((query) => query.query);
  }

  async close(): Promise<void> {
    await this.dataSource.destroy();
  }
}

function dataSourceFor(driver: object, migrationClasses: (new () => MigrationInterface)[]): DataSource {
  return new DataSource({
    type: 'postgres',
    driver,
    entities: readModelEntities,
    migrations: migrationClasses,
    migrationsTableName: 'read_model_migrations',
    synchronize: false,
    logging: false,
  });
}
