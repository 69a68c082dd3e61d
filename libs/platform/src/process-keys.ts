import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { PgliteDatabase, PostgresDatabase, SqlEventStore, type EventStore, type SqlDatabase } from '@caseline/event-store';
import { parseAuditSigningKey, type AppConfig } from './config';

// The keys and the side database a Caseline process (the service or the CLI) works with, taken
// from configuration, or in dev mode from files the service keeps in DATA_DIR.

/**
 * A secret kept in DATA_DIR (dev mode only), readable by the owner only. `create` makes it on first
 * use; without it a missing file is undefined (the CLI never mints the service's secrets).
 */
export async function devSecretFile(config: AppConfig, name: string, create?: () => string): Promise<string | undefined> {
  const path = join(config.dataDir, name);
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !create) return undefined;
    const secret = create();
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(path, secret, { mode: 0o600 });
    await chmod(path, 0o600);
    return secret;
  }
}

export const newDevSecret = () => randomBytes(32).toString('base64');

/** MASTER_KEY, or the dev master key in DATA_DIR (created when `create`), or undefined. */
export async function masterKeyOf(config: AppConfig, create: boolean): Promise<Buffer | undefined> {
  if (config.masterKey) return Buffer.from(config.masterKey, 'base64');
  if (config.auth.mode !== 'dev') return undefined;
  const secret = await devSecretFile(config, 'dev-master-key', create ? newDevSecret : undefined);
  return secret === undefined ? undefined : Buffer.from(secret, 'base64');
}

/** AUDIT_SIGNING_KEY, or in dev mode an Ed25519 key generated once into DATA_DIR. */
export async function auditSigningKeyOf(config: AppConfig): Promise<KeyObject> {
  if (config.auditSigningKey) return parseAuditSigningKey(config.auditSigningKey);
  if (config.auth.mode !== 'dev') throw new Error('AUDIT_SIGNING_KEY is required outside dev mode');
  const pem = await devSecretFile(config, 'dev-audit-signing-key', () =>
    generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  );
  return parseAuditSigningKey(pem as string);
}

/**
 * Where per-person data keys, the access log and case snapshots live: the event store's own
 * database when it is SQL, otherwise DATABASE_URL or a PGlite folder in DATA_DIR.
 */
export async function openSideDatabase(config: AppConfig, store: EventStore): Promise<SqlDatabase> {
  if (store instanceof SqlEventStore) return store.db;
  if (config.databaseUrl) return new PostgresDatabase({ connectionString: config.databaseUrl, max: 4 });
  return PgliteDatabase.open(join(config.dataDir, 'keys'));
}
