// `npm start`: builds when the compiled service is missing or older than any source file, then
// runs it. Defaults to the embedded database (PGlite in ./data) and dev auth.
// `node scripts/start.mjs <app> [args…]` does the same for another app (projector, cli).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const [app = 'api', ...args] = process.argv.slice(2);
const entry = `dist/apps/${app}/src/main.js`;

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const stale = !existsSync(entry) || Math.max(newestSource('apps'), newestSource('libs')) > statSync(entry).mtimeMs;
if (stale) {
  console.error('building Caseline…');
  const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
// Each app's V8 flags (why: see the file).
const nodeFlags = JSON.parse(readFileSync(new URL('./node-flags.json', import.meta.url), 'utf8'))[app] ?? [];
const service = spawn(process.execPath, [...nodeFlags, '--enable-source-maps', entry, ...args], { stdio: 'inherit' });
// SIGTERM/SIGINT go to the service, which drains in-flight requests before it exits.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => service.kill(signal));
service.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1)));
