import { z } from 'zod';
import { gitlabApi, type GitLabApi } from '../cli/http.ts';
import { fail, ok, warn, type Finding } from '../cli/doctor/report.ts';
import { mapLimit } from '../lib/map-limit.ts';

/**
 * Step 1 of the setup page: one GitLab URL and one token, checked at once for everything deployment
 * approvals need: the token works (scopes, expiry), the GitLab edition and licence (approvals are Premium
 * and Ultimate), and whether any protected environment requires approvals yet. Each finding says what to
 * do when it is not so. The projects and groups found are what step 5 offers for webhooks.
 */

const Version = z.object({ version: z.string(), enterprise: z.boolean().optional() });
const TokenSelf = z.object({ scopes: z.array(z.string()), expires_at: z.string().nullable().optional() });
const User = z.object({ id: z.number(), username: z.string(), is_admin: z.boolean().optional() });
const License = z.object({ plan: z.string().nullable().optional(), expired: z.boolean().optional() });
const Namespace = z.object({ full_path: z.string(), kind: z.string().optional(), plan: z.string().optional() });
const Project = z.object({ id: z.number(), path_with_namespace: z.string(), archived: z.boolean().optional() });
const Group = z.object({ id: z.number(), full_path: z.string() });
const ProtectedEnv = z.object({
  name: z.string(),
  approval_rules: z.array(z.object({ required_approvals: z.number().optional() })).optional(),
});

export type HookTarget = {
  kind: 'project' | 'group';
  id: number;
  path: string;
  /** protected environments of this project or group that require approvals, with how many */
  approvals: Array<{ environment: string; required: number }>;
};

export type GitLabCheck = {
  findings: Finding[];
  /** nothing failed: greenlight can work with this GitLab and token */
  ok: boolean;
  version: string | null;
  username: string | null;
  isAdmin: boolean;
  scopes: string[];
  /** GitLab.com has no administrators of yours: only oauth mode works there */
  isGitLabCom: boolean;
  /** where webhooks can be installed with this token (Maintainer projects, Owner groups) */
  targets: HookTarget[];
};

/** Plans with deployment approvals; silver and gold are the names Premium and Ultimate had before 2021. */
const APPROVAL_PLANS = new Set(['premium', 'ultimate', 'silver', 'gold', 'ultimate_trial', 'premium_trial']);
/** At most this many projects are read for protected environments (the first page of the newest). */
const MAX_PROJECTS = 100;

export async function checkGitLabSetup(input: { url: string; token: string }): Promise<GitLabCheck> {
  const url = input.url.replace(/\/+$/, '');
  const api = gitlabApi(url, input.token);
  const isGitLabCom = /^https:\/\/gitlab\.com$/i.test(url);
  const result: GitLabCheck = {
    findings: [],
    ok: false,
    version: null,
    username: null,
    isAdmin: false,
    scopes: [],
    isGitLabCom,
    targets: [],
  };
  const version = await api.get('version', Version);
  if (!version.ok) {
    result.findings.push(versionFailure(url, version.status, version.message));
    return result;
  }
  result.version = version.data.version;
  if (version.data.enterprise === false) {
    result.findings.push(
      fail(
        `GitLab ${version.data.version} at ${url} is the Community Edition: it has no deployment approvals`,
        'deployment approvals need GitLab Premium or Ultimate (Enterprise Edition with a licence, or GitLab.com)',
      ),
    );
    return result;
  }
  result.findings.push(ok(`GitLab ${version.data.version} at ${url} accepts the token`));

  const [self, user] = await Promise.all([api.get('personal_access_tokens/self', TokenSelf), api.get('user', User)]);
  if (user.ok) {
    result.username = user.data.username;
    result.isAdmin = user.data.is_admin === true;
  }
  result.findings.push(...tokenFindings(self, result));
  result.findings.push(...(await licenceFindings(api, result)));
  const targets = await listTargets(api, result.isAdmin);
  result.targets = targets.targets;
  result.findings.push(...targets.findings);
  result.ok = !result.findings.some((f) => f.level === 'fail');
  return result;
}

function versionFailure(url: string, status: number | string, message: string): Finding {
  if (status === 401)
    return fail(
      `GitLab at ${url} refuses the token (401: ${message})`,
      'the token is wrong, expired or revoked: create a new one (User settings > Access tokens)',
    );
  if (status === 404)
    return fail(`${url}/api/v4/version answers 404`, 'give the base URL of GitLab, without /api/v4 or a project path');
  if (typeof status !== 'number')
    return fail(
      `GitLab at ${url} cannot be reached (${message})`,
      'check the URL and that greenlight can reach it from this machine (proxy, VPN, firewall)',
    );
  return fail(`GitLab at ${url} answered ${status} (${message})`, 'check the URL and the token');
}

function tokenFindings(self: Awaited<ReturnType<GitLabApi['get']>>, result: GitLabCheck): Finding[] {
  if (!self.ok)
    return [
      warn(
        `cannot read the token's scopes (personal_access_tokens/self answered ${self.status})`,
        'use a personal access token with the scope api (sudo mode also sudo), so that the page can check it',
      ),
    ];
  const data = self.data as z.infer<typeof TokenSelf>;
  result.scopes = data.scopes;
  const findings: Finding[] = [];
  const scopes = new Set(data.scopes);
  if (scopes.has('api') && scopes.has('sudo') && result.isAdmin)
    findings.push(
      ok(`the token of administrator @${result.username} has api and sudo: sudo mode works, webhooks can be installed`),
    );
  else if (scopes.has('api'))
    findings.push(ok(`the token of @${result.username ?? '?'} has api: it reads, and installs webhooks`));
  else if (scopes.has('read_api'))
    findings.push(
      warn(
        `the token of @${result.username ?? '?'} only has read_api: enough for greenlight, not to install webhooks`,
        'step 5 then asks for a token with api once (not saved), or install webhooks later with the CLI',
      ),
    );
  else
    findings.push(
      fail(
        `the token has the scopes ${data.scopes.join(', ') || 'none'}, not read_api or api`,
        'create a personal access token with the scope api (User settings > Access tokens)',
      ),
    );
  if (data.expires_at) {
    const days = Math.ceil((Date.parse(data.expires_at) - Date.now()) / 86_400_000);
    if (days < 30)
      findings.push(
        warn(
          `the token expires on ${data.expires_at} (in ${Math.max(days, 0)} days)`,
          'create one that lives longer; greenlight stops reading GitLab the day it expires',
        ),
      );
  }
  return findings;
}

async function licenceFindings(api: GitLabApi, result: GitLabCheck): Promise<Finding[]> {
  const need =
    'deployment approvals need GitLab Premium or Ultimate; without them protected environments have no ' +
    'approval rules and nothing ever waits for approval';
  if (result.isAdmin) {
    const licence = await api.get('license', License);
    if (!licence.ok) return [fail(`this GitLab has no licence (GET /license answered ${licence.status})`, need)];
    const plan = (licence.data.plan ?? '').toLowerCase();
    if (licence.data.expired) return [fail(`the ${plan} licence of this GitLab has expired`, need)];
    return APPROVAL_PLANS.has(plan)
      ? [ok(`the instance licence is ${plan}: deployment approvals are available`)]
      : [fail(`the instance licence is ${plan || 'unknown'}`, need)];
  }
  if (result.isGitLabCom) {
    const namespaces = await api.get('namespaces?top_level_only=true&per_page=100', z.array(Namespace));
    if (namespaces.ok) {
      const paid = namespaces.data.filter((n) => APPROVAL_PLANS.has((n.plan ?? '').toLowerCase()));
      if (paid.length > 0)
        return [ok(`Premium or Ultimate on GitLab.com: ${paid.map((n) => `${n.full_path} (${n.plan})`).join(', ')}`)];
      return [fail('none of your GitLab.com groups is on Premium or Ultimate', need)];
    }
  }
  return [
    warn(
      'cannot read the licence with this token (only an administrator can)',
      `make sure this GitLab has Premium or Ultimate: ${need}`,
    ),
  ];
}

/**
 * Projects the token may add webhooks to (Maintainer), and groups (Owner), each with the protected
 * environments that require approvals. An administrator's token lists every project.
 */
async function listTargets(api: GitLabApi, isAdmin: boolean): Promise<{ targets: HookTarget[]; findings: Finding[] }> {
  const projectQuery = isAdmin ? 'projects?archived=false' : 'projects?min_access_level=40&archived=false';
  const groupQuery = isAdmin ? 'groups?all_available=true' : 'groups?min_access_level=50';
  const [projects, groups] = await Promise.all([
    api.get(`${projectQuery}&order_by=last_activity_at&per_page=${MAX_PROJECTS}`, z.array(Project)),
    api.get(`${groupQuery}&per_page=100`, z.array(Group)),
  ]);
  const targets: HookTarget[] = [];
  const approvalsOf = async (path: string) => {
    const list = await api.get(`${path}/protected_environments?per_page=100`, z.array(ProtectedEnv));
    if (!list.ok) return [];
    return list.data
      .map((env) => ({
        environment: env.name,
        required: (env.approval_rules ?? []).reduce((n, r) => n + (r.required_approvals ?? 0), 0),
      }))
      .filter((e) => e.required > 0);
  };
  if (groups.ok)
    for (const g of await mapLimit(groups.data, 4, async (g) => ({
      g,
      approvals: await approvalsOf(`groups/${g.id}`),
    })))
      targets.push({ kind: 'group', id: g.g.id, path: g.g.full_path, approvals: g.approvals });
  if (projects.ok) {
    const live = projects.data.filter((p) => !p.archived);
    for (const p of await mapLimit(live, 4, async (p) => ({ p, approvals: await approvalsOf(`projects/${p.id}`) })))
      targets.push({ kind: 'project', id: p.p.id, path: p.p.path_with_namespace, approvals: p.approvals });
  }
  const findings: Finding[] = [];
  const withApprovals = targets.filter((t) => t.approvals.length > 0);
  if (!projects.ok && !groups.ok)
    findings.push(warn(`cannot list projects (${projects.message})`, 'name projects in step 5 by path'));
  else if (withApprovals.length === 0)
    findings.push(
      fail(
        `none of the ${targets.length} projects and groups this token manages has a protected environment ` +
          'that requires approvals',
        'in GitLab: Settings > CI/CD > Protected environments: protect the environment (e.g. production) and ' +
          'add an approval rule (Required approvals: 1 or more), then check again',
      ),
    );
  else
    findings.push(
      ok(
        `approvals are required in ${withApprovals
          .slice(0, 5)
          .map((t) => `${t.path} (${t.approvals.map((a) => `${a.environment}: ${a.required}`).join(', ')})`)
          .join('; ')}${withApprovals.length > 5 ? ` and ${withApprovals.length - 5} more` : ''}`,
      ),
    );
  return { targets, findings };
}
