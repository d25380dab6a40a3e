import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets } from '../../../src/adapters/logging/logger.ts';
import { LogCapture } from '../../helpers/app.ts';

const logged = (write: (logger: ReturnType<typeof createLogger>) => void) => {
  const capture = new LogCapture();
  write(createLogger({ level: 'debug', destination: capture, secrets: ['configured-secret-value-0001'] }));
  return capture;
};

describe('logger: secret fields never reach the log', () => {
  it('censors secret-named fields at the top, one and two levels down, and secret headers in any case', () => {
    const capture = logged((l) =>
      l.info(
        {
          token: 's-1',
          oauth: { access_token: 's-2', refresh_token: 's-3', clientSecret: 's-4', nested: { password: 's-5' } },
          headers: { Authorization: 'Bearer s-6', 'Private-Token': 's-7', accept: 'application/json' },
          request: { headers: { 'x-gitlab-token': 's-8', 'X-Slack-Signature': 's-9' } },
          list: [{ response_url: 's-10' }, 'plain'],
          projectId: 42,
        },
        'everything',
      ),
    );
    const text = capture.text();
    for (let i = 1; i <= 10; i += 1) expect(text).not.toContain(`s-${i}"`);
    const [record] = capture.records();
    expect(record).toMatchObject({
      token: '[REDACTED]',
      oauth: { access_token: '[REDACTED]', nested: { password: '[REDACTED]' } },
      headers: { Authorization: '[REDACTED]', 'Private-Token': '[REDACTED]', accept: 'application/json' },
      request: { headers: { 'x-gitlab-token': '[REDACTED]', 'X-Slack-Signature': '[REDACTED]' } },
      list: [{ response_url: '[REDACTED]' }, 'plain'],
      projectId: 42,
      msg: 'everything',
    });
  });

  it('censors child-logger bindings too', () => {
    const capture = logged((l) => l.child({ jobId: '7', secret: 's-binding' }).info({ step: 1 }, 'step'));
    expect(capture.text()).not.toContain('s-binding');
    expect(capture.records()[0]).toMatchObject({ jobId: '7', secret: '[REDACTED]', step: 1 });
  });

  it("leaves the caller's objects untouched and copies nothing when there is no secret", () => {
    const payload = { headers: { authorization: 'Bearer s-1' }, ok: true };
    logged((l) => l.info(payload, 'x'));
    expect(payload.headers.authorization).toBe('Bearer s-1');
    const clean = { event: 'Deployment Hook', nested: { projectId: 1 } };
    expect(redactSecrets(clean)).toBe(clean);
  });

  it('keeps errors readable (the serializer drops their requests) and still scrubs secret values from text', () => {
    const capture = logged((l) =>
      l.error(
        { err: Object.assign(new Error('GitLab said 401'), { code: 'gitlab_unauthorized' }) },
        'failed with configured-secret-value-0001',
      ),
    );
    const [record] = capture.records();
    expect(record).toMatchObject({ err: { type: 'Error', message: 'GitLab said 401', code: 'gitlab_unauthorized' } });
    expect(capture.text()).not.toContain('configured-secret-value-0001');
  });
});
