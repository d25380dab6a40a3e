import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Every test file gets its own Redis key prefix (test/helpers/redis.ts), so files may run in parallel.
    fileParallelism: true,
    restoreMocks: true,
    unstubEnvs: true,
    reporters: ['default'],
  },
});
