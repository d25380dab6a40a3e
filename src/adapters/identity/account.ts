import type { Identity, IdentityPort, SlackUser } from '../../core/ports.ts';

/** What `/deploys whoami` reports: who greenlight acts as for someone, and whether GitLab accepts it now. */
export type AccountStatus =
  | { kind: 'unlinked' }
  | { kind: 'broken'; reason: string }
  | { kind: 'works'; identity: Identity }
  | { kind: 'failing'; identity: Identity; reason: string };

/** An identity mode as the composition root and the slash command see it. */
export type IdentityAdapter = IdentityPort & {
  /** One cheap GET /user as the person (their token, or Sudo). */
  check(user: SlackUser): Promise<AccountStatus>;
};
