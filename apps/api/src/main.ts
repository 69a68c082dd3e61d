import 'reflect-metadata';
import { ConfigError, loadConfig } from '@caseline/api-platform';
import { createApp } from '@caseline/api-app';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`caseline: configuration error: ${error.message}`);
      process.exit(78);
    }
    throw error;
  }
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  const where = config.databaseUrl ? 'PostgreSQL' : `PGlite in ${config.dataDir}`;
  console.error(`caseline: listening on http://${config.host}:${config.port} (events on ${config.eventStore === 'kurrentdb' ? 'KurrentDB' : where}, auth ${config.auth.mode}); API docs at /api/docs`);
}

main().catch((error: unknown) => {
  console.error(`caseline: failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
