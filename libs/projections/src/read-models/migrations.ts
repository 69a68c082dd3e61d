import type { MigrationInterface } from 'typeorm';
import { ReadModels1763900000000 } from './migrations/1763900000000-read-models';
import { TimelinePointsIntoTheLog1764800000000 } from './migrations/1764800000000-timeline-points-into-the-log';

/** Read-model schema changes, oldest first. Never `synchronize`: every change is a migration here. */
export const migrations: (new () => MigrationInterface)[] = [ReadModels1763900000000, TimelinePointsIntoTheLog1764800000000];
