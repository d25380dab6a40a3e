import { existsSync } from 'node:fs';
import { runCli } from './cli.ts';
import { processIo } from './io.ts';

/** `greenlight <command>`: the operator's CLI (bin/greenlight.js, npm run cli). Reads .env like npm start. */
const envFile = existsSync('.env') ? '.env' : undefined;
if (envFile) process.loadEnvFile(envFile);
process.exitCode = await runCli(process.argv.slice(2), processIo(envFile));
