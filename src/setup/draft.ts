import type { GitLabCheck } from './gitlab-checks.ts';
import type { CreatedSlackApp, SlackChannel } from './slack-app.ts';

/** What the setup server keeps of the person's answers, and what it is started with (server.ts, finish.ts). */

export type SlackDraft = {
  botToken: string;
  signingSecret: string | null;
  appToken: string | null;
  /** the app's OAuth credentials when greenlight created it (Sign in with Slack needs them) */
  clientId: string | null;
  clientSecret: string | null;
  team: string;
  how: string;
};

export type Draft = {
  gitlab: { url: string; token: string | null; publicUrl: string | null; check: GitLabCheck | null };
  slack: SlackDraft | null;
  slackError: string | null;
  /** an app created and waiting for the person to allow it in Slack */
  pendingInstall: { state: string; app: CreatedSlackApp; redirectUri: string; returnTo: string } | null;
  channels: SlackChannel[] | null;
  channelError: string | null;
  finishErrors: string[];
  notice: { ok: boolean; text: string } | null;
};

export type SetupServerDeps = {
  env: Record<string, string | undefined>;
  problems: readonly string[];
  envFile: string;
  port: number;
  slackApiUrl: string;
  command: string;
  /** one line for the person at the console (not a log record) */
  print(text: string): void;
  code?: string;
};
