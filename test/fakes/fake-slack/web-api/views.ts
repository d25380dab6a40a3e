import { validateView } from '../block-kit.ts';
import type { Json, ViewRecord } from '../types.ts';
import { fail, invalidArguments } from './context.ts';
import type { Args, FakeState } from './context.ts';

function readView(args: Args, expected: 'modal' | 'home'): Json {
  const view = args.json('view');
  if (view === undefined) invalidArguments('[ERROR] missing required field: view');
  if (typeof view !== 'object' || view === null || Array.isArray(view))
    invalidArguments('[ERROR] failed to parse view [json-pointer:/view]');
  const result = validateView(view, expected);
  if (!result.ok) fail(result.error, { response_metadata: { messages: result.messages } });
  return view as Json;
}

/** Validates the view first, then consumes the trigger (a rejected view leaves the trigger usable). */
function exchangeTrigger(state: FakeState, args: Args): string {
  const triggerId = args.str('trigger_id') ?? args.str('interactivity_pointer');
  if (triggerId === undefined || triggerId === '') invalidArguments('[ERROR] missing required field: trigger_id');
  const check = state.triggers.exchange(triggerId);
  if (!check.ok) fail(check.error);
  return check.userId;
}

export function open(state: FakeState, args: Args): Json {
  const view = readView(args, 'modal');
  const userId = exchangeTrigger(state, args);
  return { view: state.views.open(userId, view).view };
}

export function push(state: FakeState, args: Args): Json {
  const view = readView(args, 'modal');
  const userId = exchangeTrigger(state, args);
  const result = state.views.push(userId, view);
  if (result === 'push_limit_reached') fail('push_limit_reached');
  if (result === 'no_open_view') fail('not_found');
  return { view: result.view };
}

export function update(state: FakeState, args: Args): Json {
  const record = findView(state, args);
  const view = readView(args, record.kind);
  const hash = args.str('hash');
  if (hash !== undefined && hash !== '' && hash !== record.view.hash) fail('hash_conflict');
  state.views.update(record, view);
  return { view: record.view };
}

export function publish(state: FakeState, args: Args): Json {
  const userId = args.required('user_id');
  const user = state.workspace.users.get(userId);
  if (!user || user.deleted || user.isBot) fail('user_not_found');
  const view = readView(args, 'home');
  const hash = args.str('hash');
  const current = state.views.home(userId);
  if (hash !== undefined && hash !== '' && current && hash !== current.view.hash) fail('hash_conflict');
  return { view: state.views.publishHome(userId, view).view };
}

function findView(state: FakeState, args: Args): ViewRecord {
  const viewId = args.str('view_id');
  const externalId = args.str('external_id');
  if (!viewId && !externalId) invalidArguments('[ERROR] view_id or external_id is required');
  const record = viewId ? state.views.records.get(viewId) : state.views.findByExternalId(externalId ?? '');
  if (!record || !record.open) fail('not_found');
  return record;
}
