import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  CaseReplay,
  CaseSnapshots,
  DigestSigner,
  exportCaseHistory,
  exportDigest,
  parseDigest,
  ProgressBar,
  verifyDigest,
  type ProgressOutput,
  type SealedValues,
} from '@caseline/audit';
import { caseStream } from '@caseline/domain';
import { measureStore, SqlEventStore, StoreUnavailableError, verifyStore, verifyStream, type EventStore, type SqlDatabase } from '@caseline/event-store';
import {
  AccessLog,
  auditSigningKeyOf,
  ConfigError,
  loadConfig,
  markOrigins,
  masterKeyOf,
  openEventStore,
  openSideDatabase,
  PersonalData,
  PersonalDataKeys,
  type AppConfig,
  type AuthenticatedActor,
} from '@caseline/platform';

/** Where the CLI writes and what it reads; the real process's, or a test's. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: ProgressOutput;
  env: NodeJS.ProcessEnv;
}

/** Exit codes (sysexits where one fits): a check that found tampering is 1. */
export const EXIT = { ok: 0, tampered: 1, usage: 64, badInput: 65, notFound: 66, unavailable: 69, config: 78 } as const;

export const USAGE = `Caseline auditor CLI — reads the store configured as the service's (DATABASE_URL, or DATA_DIR/pglite).

  replay --case <id> [--as-of <ISO instant> | --version <n>] --actor-id <id> --actor-name <name>
      the case as it stood then, replayed through the domain's evolve (JSON on stdout)
  verify [--stream <streamId>]
      walk the hash chains of one stream or the whole store (progress on stderr)
  export --case <id> --actor-id <id> --actor-name <name> [--out <file>]
      the case's full history: its events, its person's and its referrals', each with metadata,
      version, position and links. Personal data opened when the master key is available
      (MASTER_KEY, or dev mode's key in DATA_DIR), sealed otherwise; stored data always included.
  digest [--out <file>]
      every stream head, their root hash and an Ed25519 signature (AUDIT_SIGNING_KEY)
  verify-digest <file> [--public-key <PEM file>]
      check an earlier digest: signature, and every head still a prefix of its stream

Reads of case content are written to the access log as the given actor (role auditor,
--actor-team, default "audit"). With the embedded PGlite store, stop the service first: one
process at a time may open DATA_DIR/pglite.
Exit: 0 ok, 1 tampering found, 64 usage, 65 bad input, 66 not found, 69 database unavailable, 78 configuration.`;

class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const STREAM = /^(person|case|referral)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/;

const OPTIONS = {
  case: { type: 'string' },
  'as-of': { type: 'string' },
  version: { type: 'string' },
  stream: { type: 'string' },
  out: { type: 'string' },
  'public-key': { type: 'string' },
  'actor-id': { type: 'string' },
  'actor-name': { type: 'string' },
  'actor-team': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Options = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** Runs one CLI command; answers the exit code. Everything it prints goes through `io`. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let command: string | undefined;
  let values: Options;
  let rest: string[];
  try {
    const parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    values = parsed.values as Options;
    [command, ...rest] = parsed.positionals;
  } catch (error) {
    io.stderr.write(`caseline-cli: ${(error as Error).message}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (values.help || command === undefined || command === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return command === undefined && !values.help ? EXIT.usage : EXIT.ok;
  }
  let config: AppConfig;
  try {
    config = loadConfig(io.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr.write(`caseline-cli: configuration error: ${error.message}\n`);
    return EXIT.config;
  }
  try {
    const run = COMMANDS[command];
    if (!run) throw new CliError(EXIT.usage, `unknown command "${command}"\n\n${USAGE}`);
    return await run({ config, io, options: values, positionals: rest });
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`caseline-cli: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof StoreUnavailableError) {
      io.stderr.write(`caseline-cli: the database is unavailable: ${error.message}\n`);
      return EXIT.unavailable;
    }
    throw error;
  }
}

interface CommandInput {
  config: AppConfig;
  io: CliIo;
  options: Options;
  positionals: string[];
}

const COMMANDS: Record<string, (input: CommandInput) => Promise<number>> = {
  replay: async ({ config, io, options }) => {
    const caseId = requireCaseId(options);
    const actor = requireActor(options);
    if (options['as-of'] !== undefined && options.version !== undefined) throw new CliError(EXIT.usage, 'give --as-of or --version, not both');
    const asOf = options['as-of'];
    if (asOf !== undefined && (!INSTANT.test(asOf) || Number.isNaN(Date.parse(asOf)))) throw new CliError(EXIT.usage, '--as-of must be an ISO-8601 instant with offset');
    if (options.version !== undefined && !/^\d{1,9}$/.test(options.version)) throw new CliError(EXIT.usage, '--version must be a whole number');
    return withStore(config, async ({ store, side, personalData }) => {
      const team = await caseTeam(store, caseId);
      // Accountable first: the read is logged before anything of the case is shown.
      await (await AccessLog.open(side)).record(actor, { recordType: 'case', recordId: caseId, recordTeam: team, caseId, endpoint: 'cli replay' });
      const replay = new CaseReplay(store, personalData ?? sealedOnly, await CaseSnapshots.open(side));
      const at = await replay.stateAt(caseId, { asOf, version: options.version === undefined ? undefined : Number(options.version) });
      io.stdout.write(`${JSON.stringify({ ...at, asOf: asOf ?? null, personalData: personalData ? 'opened' : 'sealed' }, null, 2)}\n`);
      return EXIT.ok;
    });
  },

  verify: async ({ config, io, options }) => {
    const streamId = options.stream;
    if (streamId !== undefined && !STREAM.test(streamId)) throw new CliError(EXIT.usage, '--stream must be a stream name: person-, case- or referral-<uuid>');
    return withStore(config, async ({ store }) => {
      if (streamId !== undefined) {
        const result = await verifyStream(store, streamId);
        io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return result.ok ? EXIT.ok : EXIT.tampered;
      }
      const totals = await measureStore(store);
      const bar = new ProgressBar(io.stderr, 'verify', totals.events);
      bar.update(0);
      const result = await verifyStore(store, { onProgress: ({ checkedEvents }) => bar.update(checkedEvents) });
      bar.finish(result.checkedEvents);
      io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return result.ok ? EXIT.ok : EXIT.tampered;
    });
  },

  export: async ({ config, io, options }) => {
    const caseId = requireCaseId(options);
    const actor = requireActor(options);
    return withStore(config, async ({ store, side, personalData }) => {
      const history = await exportCaseHistory(store, caseId, { personalData });
      if (!history) throw new CliError(EXIT.notFound, `no case ${caseId}`);
      // Every record in the export is a read: all logged before the export leaves this process.
      const accessLog = await AccessLog.open(side);
      for (const { streamId, role, events } of history.streams) {
        const first = events[0];
        const team = role === 'person' ? first.metadata.actor.team : String((first.data as { team?: unknown }).team);
        await accessLog.record(actor, { recordType: role, recordId: streamId.slice(streamId.indexOf('-') + 1), recordTeam: team, caseId, endpoint: 'cli export' });
      }
      const text = `${JSON.stringify(history)}\n`;
      // Owner-only: the file may hold opened personal data.
      if (options.out) await writeFile(options.out, text, { mode: 0o600 });
      else io.stdout.write(text);
      io.stderr.write(`exported ${history.streams.length} streams, ${history.streams.reduce((n, s) => n + s.events.length, 0)} events (personal data ${history.personalData})\n`);
      return EXIT.ok;
    });
  },

  digest: async ({ config, io, options }) =>
    withStore(config, async ({ store }) => {
      const signer = new DigestSigner(await auditSigningKeyOf(config));
      const digest = await exportDigest(store, signer, { onProgress: (streams) => io.stderr.isTTY && io.stderr.write(`\rdigest: ${streams.toLocaleString('en-US')} stream heads`) });
      if (io.stderr.isTTY) io.stderr.write('\n');
      const text = `${JSON.stringify(digest)}\n`;
      if (options.out) await writeFile(options.out, text);
      else io.stdout.write(text);
      io.stderr.write(`digest of ${digest.streams} streams, ${digest.events} events, root ${digest.rootHash}, signed by ${digest.signature.keyId}\n`);
      return EXIT.ok;
    }),

  'verify-digest': async ({ config, io, options, positionals }) => {
    const [file] = positionals;
    if (!file) throw new CliError(EXIT.usage, 'verify-digest needs the digest file');
    let body: unknown;
    try {
      body = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw new CliError(EXIT.badInput, `cannot read a digest from ${file}: ${(error as Error).message}`);
    }
    const parsed = parseDigest(body);
    if ('errors' in parsed) throw new CliError(EXIT.badInput, `${file} is not a digest: ${parsed.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
    const trusted: KeyObject[] = [new DigestSigner(await auditSigningKeyOf(config)).publicKey];
    if (options['public-key']) {
      try {
        trusted.push(createPublicKey(await readFile(options['public-key'], 'utf8')));
      } catch (error) {
        throw new CliError(EXIT.badInput, `cannot read a public key from ${options['public-key']}: ${(error as Error).message}`);
      }
    }
    return withStore(config, async ({ store }) => {
      const bar = new ProgressBar(io.stderr, 'verify-digest', parsed.digest.events);
      const result = await verifyDigest(store, parsed.digest, trusted, { onProgress: ({ checkedEvents }) => bar.update(checkedEvents) });
      bar.finish(result.checkedEvents);
      io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return result.ok ? EXIT.ok : EXIT.tampered;
    });
  },
};

/** Without the master key a state is folded and shown sealed (marked with where each value was sealed). */
const sealedOnly: SealedValues = { markOrigins, openMarked: async (value) => value };

function requireCaseId(options: Options): string {
  const caseId = options.case?.toLowerCase();
  if (!caseId || !UUID.test(caseId)) throw new CliError(EXIT.usage, '--case must be a case id (uuid)');
  return caseId;
}

function requireActor(options: Options): AuthenticatedActor {
  const id = options['actor-id']?.trim();
  const name = options['actor-name']?.trim();
  const team = options['actor-team']?.trim() || 'audit';
  if (!id || !name || id.length > 200 || name.length > 200 || team.length > 200) {
    throw new CliError(EXIT.usage, 'reads of case content are logged: give --actor-id and --actor-name (1 to 200 characters)');
  }
  return { id, name, role: 'auditor', team };
}

/** The team owning a case, from its opening event; a case that does not exist is an error. */
async function caseTeam(store: EventStore, caseId: string): Promise<string> {
  const [opened] = await store.readStream(caseStream(caseId), { maxCount: 1 });
  if (!opened) throw new CliError(EXIT.notFound, `no case ${caseId}`);
  return String((opened.data as { team?: unknown }).team);
}

interface OpenStore {
  store: EventStore;
  /** Where keys, the access log and snapshots live. */
  side: SqlDatabase;
  /** Undefined without the master key: personal data stays sealed. */
  personalData?: PersonalData;
}

async function withStore<T>(config: AppConfig, work: (open: OpenStore) => Promise<T>): Promise<T> {
  const store = await openEventStore(config);
  let side: SqlDatabase | undefined;
  try {
    side = await openSideDatabase(config, store);
    const masterKey = await masterKeyOf(config, false);
    const personalData = masterKey ? new PersonalData(await PersonalDataKeys.open(side, masterKey)) : undefined;
    return await work({ store, side, personalData });
  } finally {
    if (side && !(store instanceof SqlEventStore && store.db === side)) await side.close().catch(() => undefined);
    await store.close();
  }
}
