import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { secureEquals } from '../lib/secure-compare.ts';

/**
 * Who may use the setup page: whoever holds the one-time code printed on greenlight's console. The code is
 * exchanged once per browser for a session cookie (HttpOnly, SameSite=Lax, gone when greenlight restarts);
 * every form carries the session's CSRF token, and cross-site posts are refused. So nobody else on the
 * network, and no other web page in the operator's browser, can drive the page.
 */
export const SESSION_COOKIE = 'greenlight_setup';
/** After this many wrong codes the page takes no more: the operator restarts greenlight for a new code. */
const MAX_WRONG_CODES = 20;

export type SetupSessions = {
  code: string;
  /** GET /setup?code=...: a valid code opens a session; answers whether it did, and why not */
  open(req: Request, res: Response): 'opened' | 'wrong' | 'locked';
  /** the session of this request, or null */
  current(req: Request): { id: string; csrf: string } | null;
  /** express middleware for POSTs: a session, its CSRF token in the form, and no cross-site request */
  guard(req: Request, res: Response, next: NextFunction): void;
};

export function createSetupSessions(opts: { onRefused(reason: string): void; code?: string }): SetupSessions {
  const code = opts.code ?? randomBytes(15).toString('base64url');
  const sessions = new Map<string, { id: string; csrf: string }>();
  let wrong = 0;

  const current = (req: Request) => {
    const id = cookie(req, SESSION_COOKIE);
    if (!id) return null;
    for (const session of sessions.values()) if (secureEquals(id, session.id)) return session;
    return null;
  };

  return {
    code,
    open(req, res) {
      if (wrong >= MAX_WRONG_CODES) return 'locked';
      const given = typeof req.query.code === 'string' ? req.query.code.trim() : '';
      if (!secureEquals(given, code)) {
        wrong += 1;
        opts.onRefused('wrong setup code');
        return wrong >= MAX_WRONG_CODES ? 'locked' : 'wrong';
      }
      const session = { id: randomBytes(24).toString('base64url'), csrf: randomBytes(24).toString('base64url') };
      sessions.set(session.id, session);
      res.append('Set-Cookie', `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Lax`);
      return 'opened';
    },
    current,
    guard(req, res, next) {
      const session = current(req);
      const site = req.get('sec-fetch-site');
      const origin = req.get('origin');
      // With Referrer-Policy no-referrer browsers send Origin: null on form posts: Sec-Fetch-Site tells then.
      const sameOrigin =
        site !== undefined
          ? site === 'same-origin'
          : !origin || origin === 'null' || (URL.canParse(origin) && new URL(origin).host === req.get('host'));
      const csrf = typeof req.body?.csrf === 'string' ? (req.body.csrf as string) : '';
      if (!session || !secureEquals(csrf, session.csrf) || !sameOrigin) {
        opts.onRefused(
          !session
            ? 'a form without a setup session'
            : `a cross-site or forged form (origin ${origin ?? 'none'}, fetch site ${site ?? 'none'})`,
        );
        res.status(403).type('text').send('This form is not valid any more: open the setup page again.');
        return;
      }
      next();
    },
  };
}

function cookie(req: Request, name: string): string | null {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}
