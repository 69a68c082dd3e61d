import { runCli } from '@caseline/auditor-cli';

// `npm run cli -- <command> …` (or node dist/apps/cli/src/main.js): the auditor's commands.
runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`caseline-cli: failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
