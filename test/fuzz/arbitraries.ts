import fc from 'fast-check';

/** Every path (array of keys) inside a JSON-like value, the root included. */
function paths(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

type Op = { kind: 'replace' | 'delete' | 'add'; at: number; value: unknown; key: string };

function apply(base: unknown, ops: Op[]): unknown {
  let root: unknown = structuredClone(base);
  for (const op of ops) {
    const all = paths(root);
    const path = all[op.at % all.length]!;
    if (path.length === 0) {
      if (op.kind === 'replace') root = op.value;
      continue;
    }
    const parent = path
      .slice(0, -1)
      .reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root) as Record<
      string | number,
      unknown
    >;
    const last = path.at(-1)!;
    if (op.kind === 'replace') parent[last] = op.value;
    else if (op.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (parent[last] !== null && typeof parent[last] === 'object' && !Array.isArray(parent[last]))
      (parent[last] as Record<string, unknown>)[op.key] = op.value;
  }
  return root;
}

/** Odd values that break naive parsers: wrong types, huge and negative numbers, prototype keys, deep nesting. */
export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  fc.constantFrom(
    null,
    '',
    0,
    -1,
    1.5,
    2 ** 53,
    -(2 ** 31),
    Number.MAX_VALUE,
    true,
    [],
    {},
    '__proto__',
    'constructor',
    'x'.repeat(5000),
    '\u0000',
    '🚀',
  ),
  fc.string(),
  fc.integer(),
);

/** `base` with a few random replacements, deletions and additions anywhere inside it. */
export function mutated(base: unknown): fc.Arbitrary<unknown> {
  const op = fc.record({
    kind: fc.constantFrom('replace', 'delete', 'add'),
    at: fc.nat(),
    value: oddValue,
    key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype')),
  }) as fc.Arbitrary<Op>;
  return fc.array(op, { minLength: 1, maxLength: 4 }).map((ops) => apply(base, ops));
}

/** Unrelated JSON, mutated versions of a real example, or bytes that are not JSON at all. */
export function jsonBody(example: unknown): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: mutated(example).map((v) => JSON.stringify(v) ?? 'undefined') },
    { weight: 2, arbitrary: fc.json() },
    { weight: 1, arbitrary: fc.string() },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')) },
  );
}
