import { auditCommand } from './audit.ts';

/** `npm run audit -- --since 24h` (or node dist/cli/audit-main.js in the container). */
process.exitCode = await auditCommand(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
});
