import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { slackHeaders, SLACK_FORM_CONTENT_TYPE, SLACK_JSON_CONTENT_TYPE } from '../helpers/slack-sign.ts';
import { startWorld, WEBHOOK_SECRET, type World } from '../helpers/world.ts';
import { jsonBody, mutated, oddValue } from './arbitraries.ts';
import { CLICK_EXAMPLE, HOOK_EXAMPLES } from './examples.ts';

const HOOK_NAMES = [
  ...Object.keys(HOOK_EXAMPLES),
  'Push Hook',
  'System Hook',
  '',
  'deployment hook',
  'Deployment Hook\u0000',
];

/**
 * Random and mutated requests against the real HTTP routes (web role: nothing is processed behind them).
 * Every answer must be a deliberate one: 2xx, or a 4xx with a reason; never a 5xx, a hang or a crash.
 */
describe('fuzz: HTTP routes answer every input deliberately', () => {
  let world: World;
  let app: TestApp;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    world = await startWorld();
    process.on('unhandledRejection', onUnhandled);
    app = await startTestApp({
      env: { ...world.env, ROLE: 'web', LOG_LEVEL: 'info' },
      name: 'fuzz-http',
      options: {
        slackAckTimeoutMs: 25,
        rateLimits: { webhooks: { perSecond: 1e6, burst: 1e6 }, slack: { perSecond: 1e6, burst: 1e6 } },
      },
    });
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await app?.stop();
    await world?.close();
  });

  it('POST /webhooks/gitlab', async () => {
    const headers = fc.record({
      event: fc.oneof(fc.constantFrom(...HOOK_NAMES), fc.string({ maxLength: 30 })),
      token: fc.oneof(
        { weight: 4, arbitrary: fc.constant(WEBHOOK_SECRET) },
        { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
      ),
      contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
      idempotencyKey: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
    });
    const body = fc.oneof(...Object.values(HOOK_EXAMPLES).map((example) => jsonBody(example)));
    await fc.assert(
      fc.asyncProperty(headers, body, async (h, raw) => {
        const res = await fetch(`${app.url}/webhooks/gitlab`, {
          method: 'POST',
          headers: {
            ...(h.contentType && { 'content-type': h.contentType }),
            ...(/^[\t\x20-\x7e]*$/.test(h.event) && { 'x-gitlab-event': h.event }),
            ...(/^[\t\x20-\x7e]*$/.test(h.token) && { 'x-gitlab-token': h.token }),
            ...(h.idempotencyKey !== undefined &&
              /^[\t\x20-\x7e]*$/.test(h.idempotencyKey) && { 'idempotency-key': h.idempotencyKey }),
          },
          body: raw,
        });
        expect([200, 202, 400, 401]).toContain(res.status);
        if (res.status >= 400) expect(((await res.json()) as { error: string }).error).toMatch(/\S/);
        else await res.arrayBuffer();
      }),
      { numRuns: 150 },
    );
    expect(app.logs.find('request failed')).toEqual([]);
    expect(unhandled).toEqual([]);
  });

  it('answers a signed Slack body Bolt cannot dispatch with 400, not 500 (found by this fuzzer)', async () => {
    const raw = JSON.stringify({
      type: 'event_callback',
      team_id: 'T0001ABCD',
      event: '',
      event_id: 'Ev1',
      event_time: 1,
    });
    const res = await fetch(`${app.url}/slack/events`, {
      method: 'POST',
      headers: slackHeaders(world.slack.signingSecret, raw, { contentType: SLACK_JSON_CONTENT_TYPE }),
      body: raw,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'unusable Slack payload' });
    expect(app.logs.find('slack request rejected: Bolt could not process it')).toHaveLength(1);
  });

  it('POST /slack/events (signed by Slack, so only the content is hostile)', async () => {
    const responseUrl = world.slack.issueResponseUrl({
      kind: 'message',
      userId: 'U0456ALICE',
      channelId: 'C0123DEPLOY',
      ts: '1759312345.000200',
    });
    const click = { ...CLICK_EXAMPLE, response_url: responseUrl };
    const actionIds = [
      'deploy_approve',
      'deploy_reject',
      'deploy_run',
      'deploy_open_gitlab',
      'gitlab_link',
      'unknown_action',
    ];
    const interaction = fc.oneof(
      fc
        .constantFrom(...actionIds)
        .chain((id) => mutated({ ...click, actions: [{ ...click.actions[0], action_id: id }] })),
      mutated({
        type: 'view_submission',
        team: { id: 'T0001ABCD' },
        user: { id: 'U0456ALICE', team_id: 'T0001ABCD' },
        trigger_id: '1.2.3',
        view: {
          id: 'V1',
          callback_id: 'deploy_reject_modal',
          private_metadata: '{"d":7,"p":1,"c":"C0123DEPLOY","ts":"1.2"}',
          state: { values: { reason: { reason_input: { type: 'plain_text_input', value: 'Smoke tests fail' } } } },
        },
      }),
      oddValue,
    );
    const command = mutated({
      command: '/deploys',
      text: 'help',
      user_id: 'U0456ALICE',
      channel_id: 'C0123DEPLOY',
      team_id: 'T0001ABCD',
      trigger_id: '1.2.3',
      response_url: responseUrl,
    });
    const body = fc.oneof(
      interaction.map((p) => ({
        type: SLACK_FORM_CONTENT_TYPE,
        raw: new URLSearchParams([['payload', JSON.stringify(p) ?? '']]).toString(),
      })),
      command.map((c) => ({
        type: SLACK_FORM_CONTENT_TYPE,
        raw: new URLSearchParams(
          c !== null && typeof c === 'object'
            ? Object.entries(c).map(([k, v]): [string, string] => [
                k,
                typeof v === 'string' ? v : (JSON.stringify(v) ?? ''),
              ])
            : [],
        ).toString(),
      })),
      jsonBody({
        type: 'event_callback',
        team_id: 'T0001ABCD',
        event: { type: 'app_home_opened', user: 'U0456ALICE', tab: 'home' },
        event_id: 'Ev1',
        event_time: 1,
      }).map((raw) => ({ type: SLACK_JSON_CONTENT_TYPE, raw })),
      fc.string().map((raw) => ({ type: SLACK_FORM_CONTENT_TYPE, raw })),
    );
    await fc.assert(
      fc.asyncProperty(body, async ({ type, raw }) => {
        const res = await fetch(`${app.url}/slack/events`, {
          method: 'POST',
          headers: slackHeaders(world.slack.signingSecret, raw, { contentType: type }),
          body: raw,
          signal: AbortSignal.timeout(5_000),
        });
        expect(res.status, `${res.status} for ${raw.slice(0, 200)}`).toBeLessThan(500);
        await res.arrayBuffer();
      }),
      { numRuns: 80 },
    );
    expect(app.logs.find(/unhandled error/i)).toEqual([]);
    expect(app.logs.find('request failed')).toEqual([]);
    expect(unhandled).toEqual([]);
  });
});
