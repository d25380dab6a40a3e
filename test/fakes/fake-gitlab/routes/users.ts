// /version, /user, /users, /users/:id, /personal_access_tokens/self.
import { personalTokenEntity, userDetails } from '../entities.ts';
import type { UserRec } from '../model.ts';
import { json, message } from '../http/types.ts';
import { paged, stringParam, type ApiCall, type ApiRoute } from './common.ts';

const READ_USER = ['api', 'read_api', 'read_user'] as const;

function searchUsers(call: ApiCall, users: UserRec[]): UserRec[] {
  const username = stringParam(call, 'username');
  if (username !== undefined) return users.filter((u) => u.username.toLowerCase() === username.toLowerCase());
  const search = stringParam(call, 'search');
  if (search === undefined || search === '') return users;
  const q = search.toLowerCase();
  return users.filter(
    (u) =>
      u.name.toLowerCase().includes(q) ||
      u.username.toLowerCase().includes(q) ||
      (u.publicEmail !== null && u.publicEmail.toLowerCase() === q) ||
      (call.user.admin && u.email.toLowerCase() === q),
  );
}

export const userRoutes: ApiRoute[] = [
  {
    method: 'GET',
    pattern: '/version',
    scopes: READ_USER,
    handle: ({ ctx }) =>
      json(200, {
        version: ctx.version,
        revision: '6a1e3c2b9f0',
        kas: { enabled: false, externalUrl: null, version: null },
        enterprise: ctx.version.endsWith('-ee') && ctx.licensePlan !== null,
      }),
  },
  {
    // doc/api/license.md: administrators only; the EE licence of the instance (absent on Community Edition).
    method: 'GET',
    pattern: '/license',
    handle: ({ ctx, user }) => {
      if (!user.admin) return message(403, '403 Forbidden');
      // Community Edition has no such route; Enterprise Edition without a licence has no current licence.
      if (ctx.licensePlan === null || ctx.licensePlan === 'free') return message(404, '404 Not Found');
      return json(200, {
        id: 2,
        plan: ctx.licensePlan,
        created_at: '2026-01-27T23:21:58.674Z',
        starts_at: '2026-01-27',
        expires_at: '2027-01-27',
        historical_max: 300,
        maximum_user_count: 300,
        expired: false,
        overage: 0,
        user_limit: 300,
        active_users: 42,
        licensee: { Name: 'Acme Admin', Email: 'admin@acme.test', Company: 'Acme' },
        add_ons: {},
      });
    },
  },
  {
    method: 'GET',
    pattern: '/user',
    scopes: READ_USER,
    handle: ({ ctx, user }) => json(200, userDetails(ctx, user, user)),
  },
  {
    // Newer GitLab lists every address of the current user, the primary one included (issue 25077).
    method: 'GET',
    pattern: '/user/emails',
    scopes: READ_USER,
    handle: ({ user }) =>
      json(200, [{ id: user.id * 10, email: user.email, confirmed_at: '2024-01-01T00:00:00.000Z' }]),
  },
  {
    method: 'GET',
    pattern: '/users',
    scopes: READ_USER,
    handle: (call) => {
      const visible = [...call.ctx.state.users.values()].filter((u) => call.user.admin || u.state === 'active');
      return paged(call, searchUsers(call, visible), (u) => userDetails(call.ctx, u, call.user));
    },
  },
  {
    method: 'GET',
    pattern: '/users/:user_id',
    scopes: READ_USER,
    handle: (call) => {
      const id = call.params.user_id ?? '';
      if (!/^\d+$/.test(id)) return json(400, { error: 'id is invalid' });
      const found = call.ctx.state.users.get(Number(id));
      if (!found) return message(404, '404 User Not Found');
      return json(200, userDetails(call.ctx, found, call.user));
    },
  },
  {
    method: 'GET',
    pattern: '/personal_access_tokens/self',
    handle: ({ ctx, token }) =>
      token.kind === 'personal'
        ? json(200, personalTokenEntity(token, ctx.clock.now()))
        : message(404, '404 Not Found'),
  },
];
