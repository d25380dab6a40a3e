import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

/**
 * `helm template` for tests where helm cannot be installed: renders a chart with the subset of Go templates
 * and Sprig that greenlight's chart uses (actions with - trimming, comments, define/include, if/else if/else,
 * with, range over lists and maps, $variables, pipelines, parentheses, and the functions in FUNCTIONS).
 * Anything else is an error, so the chart cannot quietly use what this renderer (and so the test) does not
 * understand. Missing values render empty, as in Helm.
 */

type Json = unknown;
type Scope = { dot: Json; root: Json; vars: Map<string, Json> };

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: string }
  | { kind: 'assign'; name: string; pipe: string }
  | { kind: 'if'; branches: Array<{ pipe: string; body: Node[] }>; otherwise: Node[] }
  | { kind: 'with'; pipe: string; body: Node[]; otherwise: Node[] }
  | { kind: 'range'; vars: string[]; pipe: string; body: Node[]; otherwise: Node[] };

export type Release = { name: string; namespace?: string };

export function helmTemplate(
  chartDir: string,
  overrides: Record<string, unknown> = {},
  release: Release = { name: 'greenlight' },
): string {
  const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as {
    name: string;
    version: string;
    appVersion: string;
  };
  const defaults = (parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) ?? {}) as Record<string, unknown>;
  const root = {
    Values: deepMerge(defaults, overrides),
    Release: { Name: release.name, Namespace: release.namespace ?? 'default', Service: 'Helm' },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  };
  const dir = join(chartDir, 'templates');
  const files = readdirSync(dir)
    .filter((f) => /\.(ya?ml|tpl)$/.test(f))
    .sort();
  const defines = new Map<string, Node[]>();
  const bodies = files.map((f) => ({ file: f, nodes: parse(lex(readFileSync(join(dir, f), 'utf8')), defines, f) }));
  const renderer = new Renderer(defines);
  return bodies
    .filter((b) => !b.file.startsWith('_'))
    .map(
      (b) =>
        `---\n# Source: ${chart.name}/templates/${b.file}\n` +
        `${renderer.render(b.nodes, { dot: root, root, vars: new Map() })}`,
    )
    .join('\n');
}

/** Rendered manifests as objects (empty documents dropped). */
export function renderManifests(
  chartDir: string,
  overrides: Record<string, unknown> = {},
  release?: Release,
): Array<Record<string, unknown>> {
  return helmTemplate(chartDir, overrides, release)
    .split(/^---\s*$/m)
    .map((doc) => parseYaml(doc) as Record<string, unknown> | null)
    .filter((doc): doc is Record<string, unknown> => doc !== null && typeof doc === 'object');
}

// ---------- lexing: text and {{ actions }} with whitespace trimming

type Token = { kind: 'text'; text: string } | { kind: 'action'; body: string };

function lex(source: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  let trimNext = false;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    let text = source.slice(at, open < 0 ? source.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) {
      tokens.push({ kind: 'text', text });
      break;
    }
    const close = source.indexOf('}}', open);
    if (close < 0) throw new Error('unclosed {{');
    let body = source.slice(open + 2, close);
    if (body.startsWith('-') && /\s/.test(body[1] ?? '')) {
      text = text.replace(/\s+$/, '');
      body = body.slice(1);
    }
    trimNext = body.endsWith('-') && /\s/.test(body.at(-2) ?? '');
    if (trimNext) body = body.slice(0, -1);
    tokens.push({ kind: 'text', text });
    body = body.trim();
    if (!(body.startsWith('/*') && body.endsWith('*/'))) tokens.push({ kind: 'action', body });
    at = close + 2;
  }
  return tokens;
}

// ---------- parsing into blocks

function parse(tokens: Token[], defines: Map<string, Node[]>, file: string): Node[] {
  let i = 0;
  const block = (): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const t = tokens[i++]!;
      if (t.kind === 'text') {
        if (t.text) nodes.push({ kind: 'text', text: t.text });
        continue;
      }
      const [word = '', ...rest] = t.body.split(/\s+/);
      const tail = t.body.slice(word.length).trim();
      if (word === 'end' || word === 'else') return { nodes, end: t.body };
      if (word === 'define') {
        const name = JSON.parse(tail) as string;
        const inner = block();
        if (inner.end !== 'end') throw new Error(`${file}: define ${name} without end`);
        defines.set(name, inner.nodes);
      } else if (word === 'if') {
        const branches = [{ pipe: tail, body: [] as Node[] }];
        let otherwise: Node[] = [];
        for (;;) {
          const inner = block();
          branches.at(-1)!.body = inner.nodes;
          if (inner.end === 'end') break;
          if (inner.end.startsWith('else if ')) {
            branches.push({ pipe: inner.end.slice('else if '.length).trim(), body: [] });
            continue;
          }
          const last = block();
          if (last.end !== 'end') throw new Error(`${file}: if without end`);
          otherwise = last.nodes;
          break;
        }
        nodes.push({ kind: 'if', branches, otherwise });
      } else if (word === 'with' || word === 'range') {
        const inner = block();
        const otherwise = inner.end === 'else' ? block().nodes : [];
        let vars: string[] = [];
        let pipe = tail;
        const decl = /^(\$\w*)(?:\s*,\s*(\$\w*))?\s*:=\s*(.*)$/.exec(tail);
        if (decl) {
          vars = decl[2] ? [decl[1]!, decl[2]] : [decl[1]!];
          pipe = decl[3]!;
        }
        nodes.push(
          word === 'with'
            ? { kind: 'with', pipe, body: inner.nodes, otherwise }
            : { kind: 'range', vars, pipe, body: inner.nodes, otherwise },
        );
      } else if (/^\$\w*$/.test(word) && rest[0] === ':=') {
        nodes.push({ kind: 'assign', name: word, pipe: t.body.slice(t.body.indexOf(':=') + 2).trim() });
      } else {
        nodes.push({ kind: 'action', pipe: t.body });
      }
    }
    return { nodes, end: '' };
  };
  const top = block();
  if (top.end) throw new Error(`${file}: unexpected {{ ${top.end} }}`);
  return top.nodes;
}

// ---------- evaluation

class Renderer {
  private readonly defines: Map<string, Node[]>;
  constructor(defines: Map<string, Node[]>) {
    this.defines = defines;
  }

  render(nodes: Node[], scope: Scope): string {
    let out = '';
    const local: Scope = { ...scope, vars: new Map(scope.vars) };
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          out += node.text;
          break;
        case 'action':
          out += print(this.pipeline(node.pipe, local));
          break;
        case 'assign':
          local.vars.set(node.name, this.pipeline(node.pipe, local));
          break;
        case 'if': {
          const branch = node.branches.find((b) => truthy(this.pipeline(b.pipe, local)));
          out += this.render(branch ? branch.body : node.otherwise, local);
          break;
        }
        case 'with': {
          const value = this.pipeline(node.pipe, local);
          out += truthy(value) ? this.render(node.body, { ...local, dot: value }) : this.render(node.otherwise, local);
          break;
        }
        case 'range': {
          const value = this.pipeline(node.pipe, local);
          const entries: Array<[Json, Json]> = Array.isArray(value)
            ? value.map((v, k) => [k, v])
            : isMap(value)
              ? Object.keys(value)
                  .sort()
                  .map((k) => [k, value[k]])
              : [];
          if (entries.length === 0) out += this.render(node.otherwise, local);
          for (const [key, item] of entries) {
            const vars = new Map(local.vars);
            if (node.vars.length === 1) vars.set(node.vars[0]!, item);
            if (node.vars.length === 2) vars.set(node.vars[0]!, key).set(node.vars[1]!, item);
            out += this.render(node.body, { ...local, dot: item, vars });
          }
          break;
        }
      }
    }
    return out;
  }

  private pipeline(source: string, scope: Scope): Json {
    const commands = splitTop(source, '|');
    let value: Json = undefined;
    commands.forEach((command, index) => {
      value = this.command(tokenize(command), scope, index === 0 ? undefined : { value });
    });
    return value;
  }

  private command(terms: string[], scope: Scope, piped?: { value: Json }): Json {
    const [head, ...args] = terms;
    if (head === undefined) throw new Error('empty command');
    if (/^[a-zA-Z]\w*$/.test(head) && !['true', 'false', 'nil'].includes(head)) {
      const values = args.map((a) => this.term(a, scope));
      if (piped) values.push(piped.value);
      return this.call(head, values);
    }
    if (args.length > 0 || piped) throw new Error(`"${terms.join(' ')}" is not a function call`);
    return this.term(head, scope);
  }

  private term(term: string, scope: Scope): Json {
    if (term.startsWith('(')) return this.pipeline(term.slice(1, -1), scope);
    if (term.startsWith('"')) return JSON.parse(term) as string;
    if (/^-?\d+(\.\d+)?$/.test(term)) return Number(term);
    if (term === 'true' || term === 'false') return term === 'true';
    if (term === 'nil') return null;
    if (term === '.') return scope.dot;
    if (term.startsWith('.')) return path(scope.dot, term.slice(1));
    if (term.startsWith('$')) {
      const [name = '', ...rest] = term.split('.');
      const base = name === '$' ? scope.root : scope.vars.get(name);
      if (name !== '$' && !scope.vars.has(name)) throw new Error(`undefined variable ${name}`);
      return rest.length ? path(base, rest.join('.')) : base;
    }
    throw new Error(`cannot evaluate "${term}"`);
  }

  private call(name: string, args: Json[]): Json {
    if (name === 'include') {
      const [template, dot] = args as [string, Json];
      const body = this.defines.get(template);
      if (!body) throw new Error(`no template "${template}"`);
      return this.render(body, { dot, root: dot, vars: new Map() });
    }
    const fn = FUNCTIONS[name];
    if (!fn) throw new Error(`function "${name}" is not supported by the test renderer`);
    return fn(...args);
  }
}

const FUNCTIONS: Record<string, (...args: Json[]) => Json> = {
  toYaml: (v) => (v === undefined || v === null ? '' : stringifyYaml(v).replace(/\n+$/, '')),
  nindent: (n, s) => `\n${indent(Number(n), String(s ?? ''))}`,
  indent: (n, s) => indent(Number(n), String(s ?? '')),
  quote: (v) => JSON.stringify(v === undefined || v === null ? '' : String(v)),
  default: (fallback, v) => (truthy(v) ? v : fallback),
  trim: (s) => String(s ?? '').trim(),
  trunc: (n, s) => String(s).slice(0, Number(n)),
  trimSuffix: (suffix, s) =>
    String(s).endsWith(String(suffix)) ? String(s).slice(0, -String(suffix).length) : String(s),
  printf: (format, ...values) => {
    let i = 0;
    return String(format).replace(/%[sdv]/g, () => print(values[i++]));
  },
  required: (message, v) => {
    if (!truthy(v)) throw new Error(`required: ${String(message)}`);
    return v;
  },
  list: (...items) => items,
  index: (collection, key) =>
    isMap(collection) ? collection[String(key)] : Array.isArray(collection) ? collection[Number(key)] : undefined,
  not: (v) => !truthy(v),
  and: (...vs) => vs.find((v) => !truthy(v)) ?? vs.at(-1),
  or: (...vs) => vs.find((v) => truthy(v)) ?? vs.at(-1),
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  toString: (v: Json) => print(v),
  int: (v) => Math.trunc(Number(v)),
  sha256sum: (v) => createHash('sha256').update(String(v)).digest('hex'),
  // Sprig: contains SUBSTRING STRING
  contains: (substring, text) => String(text ?? '').includes(String(substring ?? '')),
  hasKey: (map, key) => isMap(map) && Object.hasOwn(map, String(key)),
  // Helm: a YAML document as a map ({} when it is not one; Helm puts an Error key there, we throw)
  fromYaml: (text) => {
    const parsed: unknown = parseYaml(String(text ?? ''));
    if (parsed === null || parsed === undefined) return {};
    if (!isMap(parsed)) throw new Error('fromYaml: not a map');
    return parsed;
  },
  fail: (message) => {
    throw new Error(`fail: ${String(message)}`);
  },
};

function print(value: Json): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') throw new Error(`cannot print ${JSON.stringify(value)} in a template; use toYaml`);
  return String(value);
}

function truthy(v: Json): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return v !== undefined && v !== null && v !== false && v !== 0 && v !== '';
}

function isMap(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function path(base: Json, dotted: string): Json {
  let value = base;
  for (const key of dotted.split('.').filter(Boolean)) value = isMap(value) ? value[key] : undefined;
  return value;
}

function indent(n: number, text: string): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

/** Splits on `sep` outside strings and parentheses. */
function splitTop(source: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (let i = 0; i < source.length; i += 1) {
    const c = source[i]!;
    if (quoted) {
      current += c;
      if (c === '\\') current += source[++i] ?? '';
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    if (c === '(') depth += 1;
    if (c === ')') depth -= 1;
    if (c === sep && depth === 0) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  parts.push(current.trim());
  return parts;
}

/** Terms of one command: strings, parenthesised pipelines, and words. */
function tokenize(command: string): string[] {
  const terms: string[] = [];
  let i = 0;
  while (i < command.length) {
    const c = command[i]!;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '"') {
      let j = i + 1;
      while (j < command.length && command[j] !== '"') j += command[j] === '\\' ? 2 : 1;
      terms.push(command.slice(i, j + 1));
      i = j + 1;
    } else if (c === '(') {
      let depth = 0;
      let j = i;
      for (; j < command.length; j += 1) {
        if (command[j] === '(') depth += 1;
        if (command[j] === ')' && --depth === 0) break;
      }
      terms.push(command.slice(i, j + 1));
      i = j + 1;
    } else {
      let j = i;
      while (j < command.length && !/\s/.test(command[j]!)) j += 1;
      terms.push(command.slice(i, j));
      i = j;
    }
  }
  return terms;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isMap(current) && isMap(value) ? deepMerge(current, value) : value;
  }
  return out;
}
