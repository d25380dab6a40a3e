import { auditCommand } from './audit.ts';
import { processIo } from './io.ts';

/** `npm run audit -- --since 24h` (the same as `greenlight audit --since 24h`). */
process.exitCode = await auditCommand(process.argv.slice(2), processIo());
