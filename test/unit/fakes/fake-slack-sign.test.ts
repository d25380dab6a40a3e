import { describe, expect, it } from 'vitest';
import { signSlackRequest, slackHeaders } from '../../helpers/slack-sign.ts';

// Slack's documented test vector (reference §1), also used by bolt-js's receiver specs.
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const TIMESTAMP = 1531420618;
const BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&' +
  'channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&' +
  'response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&' +
  'trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const EXPECTED = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

describe('signSlackRequest', () => {
  it('reproduces the test vector from Slack’s documentation', () => {
    expect(signSlackRequest(SECRET, TIMESTAMP, BODY)).toBe(EXPECTED);
    expect(signSlackRequest(SECRET, TIMESTAMP, Buffer.from(BODY))).toBe(EXPECTED);
  });

  it('changes with the secret, the timestamp and every byte of the body', () => {
    expect(signSlackRequest(`${SECRET}x`, TIMESTAMP, BODY)).not.toBe(EXPECTED);
    expect(signSlackRequest(SECRET, TIMESTAMP + 1, BODY)).not.toBe(EXPECTED);
    expect(signSlackRequest(SECRET, TIMESTAMP, `${BODY} `)).not.toBe(EXPECTED);
  });
});

describe('slackHeaders', () => {
  it('gives the exact form Content-Type, the timestamp and the matching signature', () => {
    expect(slackHeaders(SECRET, BODY, { timestampSeconds: TIMESTAMP })).toEqual({
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Slack-Request-Timestamp': String(TIMESTAMP),
      'X-Slack-Signature': EXPECTED,
    });
  });

  it('defaults the timestamp to now and accepts another Content-Type', () => {
    const before = Math.floor(Date.now() / 1000);
    const headers = slackHeaders('s', '{}', { contentType: 'application/json' });
    const ts = Number(headers['X-Slack-Request-Timestamp']);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(before + 1);
    expect(headers['Content-Type']).toBe('application/json');
    expect(headers['X-Slack-Signature']).toBe(signSlackRequest('s', ts, '{}'));
  });
});
