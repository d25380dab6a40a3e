import { randomBytes } from 'node:crypto';
import type { Identity, Json } from './types.ts';

/**
 * Slack apps made through the App Manifest API and installed through OAuth v2 (the path a setup page takes):
 * apps.manifest.create with a configuration token returns the app's credentials and its authorize URL;
 * /oauth/v2/authorize shows the consent page, and "Allow" redirects to the redirect URL with a one-time
 * code that oauth.v2.access exchanges for the bot token. The fake has one workspace and one bot token, so
 * an installed app's bot token is identity.botToken (and its signing secret identity.signingSecret).
 */
export interface CreatedApp {
  appId: string;
  manifest: Json;
  botScopes: string[];
  redirectUrls: string[];
  installed: boolean;
}

interface IssuedCode {
  code: string;
  clientId: string;
  redirectUri: string | undefined;
  used: boolean;
}

export class AppRegistry {
  readonly created: CreatedApp[] = [];
  private readonly codes = new Map<string, IssuedCode>();
  private readonly identity: Identity;

  constructor(identity: Identity) {
    this.identity = identity;
  }

  /** The app whose client_id this is (the fake hands out identity.clientId for every app). */
  latest(): CreatedApp | undefined {
    return this.created.at(-1);
  }

  create(manifest: Json): CreatedApp {
    const scopes = ((manifest.oauth_config as Json | undefined)?.scopes as Json | undefined)?.bot;
    const redirects = (manifest.oauth_config as Json | undefined)?.redirect_urls;
    const app: CreatedApp = {
      appId: this.created.length === 0 ? this.identity.appId : `A0NEW${String(this.created.length).padStart(5, '0')}`,
      manifest,
      botScopes: Array.isArray(scopes) ? scopes.map(String) : [],
      redirectUrls: Array.isArray(redirects) ? redirects.map(String) : [],
      installed: false,
    };
    this.created.push(app);
    return app;
  }

  /** "Allow" on the consent page: a code for this client, bound to the redirect URI it was asked with. */
  issueCode(clientId: string, redirectUri: string | undefined): string {
    const code = `${Date.now()}.${randomBytes(12).toString('hex')}`;
    this.codes.set(code, { code, clientId, redirectUri, used: false });
    return code;
  }

  /** Slack's checks of oauth.v2.access, as error codes; the code is spent either way. */
  redeem(input: { code: string; clientId: string; redirectUri: string | undefined }): IssuedCode | string {
    const issued = this.codes.get(input.code);
    if (!issued || issued.used) return 'invalid_code';
    issued.used = true;
    if (issued.clientId !== input.clientId) return 'invalid_client_id';
    if (issued.redirectUri !== undefined && issued.redirectUri !== input.redirectUri) return 'bad_redirect_uri';
    return issued;
  }
}
