// A project's repository as far as deployments need it: a commit graph, branch heads, merged merge requests.
// Commits ranges (`a..b`) are walked like `git log a..b`: reachable from b, not from a.
import { createHash } from 'node:crypto';
import type { Ctx } from '../context.ts';
import { lookup } from '../entities.ts';
import {
  nextId,
  nextIid,
  type MergeMethod,
  type MergeRequestRec,
  type ProjectRec,
  type RepoCommitRec,
  type State,
} from '../model.ts';

export interface CommitInput {
  title: string;
  /** Full message; default the title and a newline. */
  message?: string;
  /** Default: "Example User" <user@example.com> (the docs' example author). */
  author?: { name: string; email: string };
  /** Explicit sha (40 hex); default derived from the project and a sequence. */
  sha?: string;
}

export interface MergeMergeRequestInput {
  title: string;
  authorId: number;
  /** Who pressed Merge; default the author. */
  mergedById?: number;
  description?: string;
  /** Default the project's default branch. */
  targetBranch?: string;
  /** Default `feature-<iid>`. */
  sourceBranch?: string;
  /** The source branch's commits (default: one commit titled like the merge request), authored by the author. */
  commits?: Array<Omit<CommitInput, 'sha'>>;
  /**
   * GitLab's merge methods: `merge` (a merge commit, GitLab's default), `squash` (the squash commit only, as
   * with fast-forward + squash), `ff` (the source commits are put on the target as they are).
   */
  method?: MergeMethod;
}

const key = (projectId: number, name: string): string => `${projectId}:${name}`;

export function findCommit(state: State, projectId: number, sha: string): RepoCommitRec | undefined {
  const exact = state.commits.get(key(projectId, sha));
  if (exact || sha.length >= 40) return exact;
  // short shas, as git accepts them
  if (sha.length < 7 || !/^[0-9a-f]+$/.test(sha)) return undefined;
  return [...state.commits.values()].find((c) => c.projectId === projectId && c.sha.startsWith(sha));
}

export function branchHead(state: State, projectId: number, branch: string): string | undefined {
  return state.branches.get(key(projectId, branch));
}

/** A branch name or a sha (full or short) -> the commit; undefined when the repository has no such ref. */
export function resolveRef(state: State, projectId: number, ref: string): RepoCommitRec | undefined {
  const head = branchHead(state, projectId, ref);
  return head !== undefined ? findCommit(state, projectId, head) : findCommit(state, projectId, ref);
}

/** Stores one commit on top of `parents` (no branch moves). */
export function addCommit(
  ctx: Ctx,
  project: ProjectRec,
  input: CommitInput,
  parents: string[],
  fallbackAuthor: { name: string; email: string },
): RepoCommitRec {
  const { state } = ctx;
  const seq = nextId(state, 'commit');
  const sha = input.sha ?? createHash('sha1').update(`${project.id}:commit:${seq}:${input.title}`).digest('hex');
  const author = input.author ?? fallbackAuthor;
  const commit: RepoCommitRec = {
    sha,
    title: input.title,
    message: input.message ?? `${input.title}\n`,
    authorName: author.name,
    authorEmail: author.email,
    createdAt: ctx.clock.now(),
    projectId: project.id,
    parentIds: parents,
    seq,
  };
  state.commits.set(key(project.id, sha), commit);
  return commit;
}

const PLACEHOLDER_AUTHOR = { name: 'Example User', email: 'user@example.com' };

/** Appends commits to a branch (created at the last of them when new); returns them oldest first. */
export function pushCommits(
  ctx: Ctx,
  projectId: number,
  input: { branch?: string; commits: CommitInput[] },
): RepoCommitRec[] {
  const project = lookup(ctx.state.projects, projectId, 'project');
  const branch = input.branch ?? project.defaultBranch;
  const pushed: RepoCommitRec[] = [];
  for (const commit of input.commits) {
    const head = branchHead(ctx.state, projectId, branch);
    const added = addCommit(ctx, project, commit, head === undefined ? [] : [head], PLACEHOLDER_AUTHOR);
    ctx.state.branches.set(key(projectId, branch), added.sha);
    pushed.push(added);
  }
  return pushed;
}

/**
 * A merge request opened from the target's head and merged at once, the way GitLab writes it into the target
 * branch (merge commit message per GitLab's default template).
 */
export function mergeMergeRequest(ctx: Ctx, projectId: number, input: MergeMergeRequestInput): MergeRequestRec {
  const { state } = ctx;
  const project = lookup(state.projects, projectId, 'project');
  const author = lookup(state.users, input.authorId, 'user');
  const mergedBy = lookup(state.users, input.mergedById ?? input.authorId, 'user');
  const iid = nextIid(state, projectId, 'merge_request');
  const target = input.targetBranch ?? project.defaultBranch;
  const source = input.sourceBranch ?? `feature-${iid}`;
  const method = input.method ?? 'merge';
  const authored = { name: author.name, email: author.email };
  const base = branchHead(state, projectId, target);
  let tip = base;
  for (const c of input.commits ?? [{ title: input.title }]) {
    tip = addCommit(ctx, project, c, tip === undefined ? [] : [tip], authored).sha;
  }
  const sha = tip!;
  let mergeCommitSha: string | null = null;
  let squashCommitSha: string | null = null;
  let newHead = sha;
  const reference = `${project.pathWithNamespace}!${iid}`;
  if (method === 'merge') {
    const merge = addCommit(
      ctx,
      project,
      {
        title: `Merge branch '${source}' into '${target}'`,
        message: `Merge branch '${source}' into '${target}'\n\n${input.title}\n\nSee merge request ${reference}`,
      },
      base === undefined ? [sha] : [base, sha],
      { name: mergedBy.name, email: mergedBy.email },
    );
    mergeCommitSha = merge.sha;
    newHead = merge.sha;
  } else if (method === 'squash') {
    const squash = addCommit(ctx, project, { title: input.title }, base === undefined ? [] : [base], authored);
    squashCommitSha = squash.sha;
    newHead = squash.sha;
  }
  state.branches.set(key(projectId, target), newHead);
  state.branches.set(key(projectId, source), sha);
  const now = ctx.clock.now();
  const mr: MergeRequestRec = {
    id: nextId(state, 'mergeRequest'),
    iid,
    projectId,
    title: input.title,
    description: input.description ?? '',
    authorId: author.id,
    mergedById: mergedBy.id,
    sourceBranch: source,
    targetBranch: target,
    sha,
    mergeCommitSha,
    squashCommitSha,
    createdAt: now,
    updatedAt: now,
    mergedAt: now,
  };
  state.mergeRequests.set(mr.id, mr);
  return mr;
}

/** A commit's ancestors never change (its parents are fixed): the last few walks are kept (the bench asks 1,000s). */
const walks = new WeakMap<State, Map<string, Set<string>>>();
const KEPT_WALKS = 64;

function ancestors(state: State, projectId: number, from: RepoCommitRec | undefined): Set<string> {
  if (!from) return new Set();
  const kept = walks.get(state) ?? new Map<string, Set<string>>();
  walks.set(state, kept);
  const id = key(projectId, from.sha);
  const hit = kept.get(id);
  if (hit) {
    kept.delete(id);
    kept.set(id, hit);
    return hit;
  }
  const seen = walk(state, projectId, from);
  kept.set(id, seen);
  if (kept.size > KEPT_WALKS) kept.delete(kept.keys().next().value!);
  return seen;
}

function walk(state: State, projectId: number, from: RepoCommitRec): Set<string> {
  const seen = new Set<string>();
  const stack = [from.sha];
  while (stack.length > 0) {
    const sha = stack.pop()!;
    if (seen.has(sha)) continue;
    seen.add(sha);
    const commit = state.commits.get(key(projectId, sha));
    if (commit) stack.push(...commit.parentIds);
  }
  return seen;
}

/**
 * `git log <ref>` or `git log <a>..<b>` (`a...b`: the symmetric difference), newest first; null when a ref
 * does not resolve.
 */
export function logCommits(state: State, projectId: number, refName: string): RepoCommitRec[] | null {
  const symmetric = refName.split('...');
  const range = refName.split('..');
  let included: Set<string>;
  if (symmetric.length === 2) {
    const [a, b] = symmetric.map((r) => resolveRef(state, projectId, r));
    if (!a || !b) return null;
    const left = ancestors(state, projectId, a);
    const right = ancestors(state, projectId, b);
    included = new Set([...left, ...right].filter((sha) => !(left.has(sha) && right.has(sha))));
  } else if (range.length === 2) {
    const [a, b] = range.map((r) => resolveRef(state, projectId, r));
    if (!a || !b) return null;
    const excluded = ancestors(state, projectId, a);
    included = new Set([...ancestors(state, projectId, b)].filter((sha) => !excluded.has(sha)));
  } else {
    const tip = resolveRef(state, projectId, refName);
    if (!tip) return null;
    included = ancestors(state, projectId, tip);
  }
  return [...included]
    .map((sha) => state.commits.get(key(projectId, sha)))
    .filter((c): c is RepoCommitRec => c !== undefined)
    .sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq);
}
