import { GitbeakerRequestError } from '@gitbeaker/requester-utils';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/adapters/logging/logger.ts';
import { LogCapture } from '../../helpers/app.ts';

const GITLAB_TOKEN = 'glpat-unit-logger-secret-0001';
const WEBHOOK_SECRET = 'webhook-secret-for-logger-unit';

describe('logger: redaction and scrubbing (defence in depth behind "never log a secret")', () => {
  const logged = (write: (logger: ReturnType<typeof createLogger>) => void) => {
    const capture = new LogCapture();
    write(createLogger({ level: 'debug', destination: capture, secrets: [GITLAB_TOKEN, WEBHOOK_SECRET] }));
    return capture.text();
  };

  it('redacts secret-named fields wherever they sit', () => {
    const text = logged((l) =>
      l.info(
        {
          token: 'x-secret-1',
          oauth: { access_token: 'x-secret-2', refresh_token: 'x-secret-3', clientSecret: 'x-secret-4' },
          headers: {
            authorization: 'Bearer x-secret-5',
            'private-token': 'x-secret-6',
            'x-gitlab-token': 'x-secret-7',
          },
          response_url: 'https://hooks.example/x-secret-8',
        },
        'everything',
      ),
    );
    expect(text).toContain('[REDACTED]');
    for (let i = 1; i <= 8; i += 1) expect(text).not.toContain(`x-secret-${i}`);
  });

  it('never serialises the request an SDK error carries (its headers hold tokens no pattern recognises)', () => {
    // A user's GitLab OAuth access token is plain hex: only keeping requests out of error logs protects it.
    const userToken = 'a3f1c9e07b5d4e2f8a6b1c3d5e7f9a0b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f';
    const request = new Request('https://gitlab.example/api/v4/projects/1', {
      headers: { Authorization: `Bearer ${userToken}` },
    });
    const response = new Response('{"message":"401 Unauthorized"}', { status: 401 });
    const error = Object.assign(
      new GitbeakerRequestError('401 Unauthorized', { cause: { description: '401 Unauthorized', request, response } }),
      {
        config: { headers: { Authorization: `Bearer ${userToken}` } },
      },
    );
    const text = logged((l) => l.error({ err: error }, 'GitLab failed'));
    expect(text).toContain('401 Unauthorized');
    expect(text).not.toContain(userToken);
  });

  it('scrubs known token shapes and the configured secrets out of free text', () => {
    const text = logged((l) =>
      l.warn(
        {
          detail:
            'tried xoxb-1234-5678-abcdef, xapp-1-A0-99-zz, glpat-abcDEF_123 ' +
            `and ${WEBHOOK_SECRET} at https://hooks.slack.com/actions/T0/1/abc`,
        },
        `message with ${GITLAB_TOKEN}`,
      ),
    );
    for (const leaked of [
      'xoxb-1234',
      'xapp-1-A0',
      'glpat-abcDEF',
      WEBHOOK_SECRET,
      GITLAB_TOKEN,
      'hooks.slack.com/actions',
    ])
      expect(text).not.toContain(leaked);
  });
});
