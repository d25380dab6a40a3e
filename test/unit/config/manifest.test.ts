import { describe, expect, it } from 'vitest';
import { readManifest } from '../../helpers/manifest.ts';

describe('manifest.yml', () => {
  const manifest = readManifest();

  it('creates the slash command, the Home tab, the DM tab and the app_home_opened event', () => {
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(['/deploys']);
    expect(manifest.features.slash_commands[0]!.usage_hint).toContain('mine');
    expect(manifest.features.app_home).toMatchObject({ home_tab_enabled: true, messages_tab_enabled: true });
    expect(manifest.settings.event_subscriptions.bot_events).toContain('app_home_opened');
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
  });

  it('asks for the scopes the list, the Home tab and DMs need', () => {
    // commands: the slash command; chat:write: DMs and their updates; im:write: conversations.open;
    // users:read(.email): sudo mode finds people by e-mail. views.publish needs no scope of its own.
    for (const scope of ['commands', 'chat:write', 'im:write', 'users:read', 'users:read.email'])
      expect(manifest.oauth_config.scopes.bot).toContain(scope);
  });
});
