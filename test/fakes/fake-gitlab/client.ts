// A minimal HTTP client for tests that talk to the fake directly (real fetch, no SDK).
export interface CallOptions {
  token?: string;
  bearer?: string;
  sudo?: string;
  json?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  headers: Headers;
  /** Parsed JSON when the response is JSON, else the text. */
  body: unknown;
}

export async function call(baseUrl: string, method: string, path: string, opts: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers['PRIVATE-TOKEN'] = opts.token;
  if (opts.bearer !== undefined) headers.Authorization = `Bearer ${opts.bearer}`;
  if (opts.sudo !== undefined) headers.Sudo = opts.sudo;
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  }
  const url =
    path.startsWith('/oauth/') || path.startsWith('http') ? new URL(path, baseUrl) : new URL(`/api/v4${path}`, baseUrl);
  const response = await fetch(url, { method, headers, body, redirect: 'manual' });
  const text = await response.text();
  const isJson = (response.headers.get('content-type') ?? '').includes('application/json');
  return {
    status: response.status,
    headers: response.headers,
    body: isJson && text !== '' ? (JSON.parse(text) as unknown) : text,
  };
}
