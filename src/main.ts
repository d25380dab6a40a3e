import { ConfigError } from './config/load.ts';
import { createGreenlight } from './app.ts';
import { startupConfig, type Startup } from './setup/startup.ts';

/** Process entry: read configuration once, start, and shut down gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  // The configuration, checked (tokens too); with GREENLIGHT_SETUP=on the setup page first, when it does not work.
  let startup: Startup;
  try {
    startup = await startupConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const { config } = startup;
  const app = await createGreenlight(config);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      app.logger.error({}, 'shutdown took longer than 25 s; exiting');
      process.exit(1);
    }, 25_000);
    force.unref();
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        app.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (reason) => app.logger.error({ err: reason }, 'unhandled rejection'));
  await app.start();
  await startup.afterStart();
}

main().catch((error: unknown) => {
  console.error('greenlight failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
