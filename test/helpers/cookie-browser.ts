/**
 * A person's browser, as far as the link flow needs one: a cookie jar per origin, redirects followed by hand, and
 * greenlight's PUBLIC_URL mapped to the app under test. Being "signed in" to Slack or GitLab is a cookie on that
 * fake's origin (the fakes' authorize endpoints read it), so two Browser objects are two people's machines.
 */
export type Visit = {
  status: number;
  /** the last URL fetched (after PUBLIC_URL was mapped) */
  url: URL;
  /** every URL fetched, in order */
  hops: URL[];
  headers: Headers;
  html: string;
};

type Cookie = { value: string; path: string };

export class Browser {
  private readonly jar = new Map<string, Map<string, Cookie>>();
  private readonly publicOrigin: string;
  private appUrl: string;

  constructor(opts: { publicUrl: string; appUrl: string }) {
    this.publicOrigin = new URL(opts.publicUrl).origin;
    this.appUrl = opts.appUrl;
  }

  /** The app moved (restarted on another port). */
  setAppUrl(appUrl: string): void {
    this.appUrl = appUrl;
  }

  setCookie(origin: string, name: string, value: string, path = '/'): void {
    const key = new URL(origin).origin;
    const cookies = this.jar.get(key) ?? new Map<string, Cookie>();
    cookies.set(name, { value, path });
    this.jar.set(key, cookies);
  }

  cookies(origin: string): Record<string, string> {
    const cookies = this.jar.get(new URL(this.map(origin)).origin) ?? new Map<string, Cookie>();
    return Object.fromEntries([...cookies].map(([k, c]) => [k, c.value]));
  }

  clearCookies(origin: string): void {
    this.jar.delete(new URL(this.map(origin)).origin);
  }

  /** Opens `url` and follows redirects (up to 10), sending and keeping cookies per origin. */
  async open(url: string, opts: { follow?: boolean } = {}): Promise<Visit> {
    const hops: URL[] = [];
    let next = new URL(this.map(url));
    for (let i = 0; i < 10; i += 1) {
      hops.push(next);
      const response = await fetch(next, { redirect: 'manual', headers: this.cookieHeader(next) });
      this.keep(next, response.headers.getSetCookie());
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location && opts.follow !== false) {
        await response.arrayBuffer();
        next = new URL(this.map(new URL(location, next).toString()));
        continue;
      }
      return { status: response.status, url: next, hops, headers: response.headers, html: await response.text() };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  private map(url: string): string {
    const u = new URL(url);
    if (u.origin !== this.publicOrigin) return url;
    return `${this.appUrl}${u.pathname}${u.search}`;
  }

  private cookieHeader(url: URL): Record<string, string> {
    const cookies = [...(this.jar.get(url.origin) ?? new Map<string, Cookie>())].filter(([, c]) =>
      url.pathname.startsWith(c.path),
    );
    return cookies.length ? { cookie: cookies.map(([k, c]) => `${k}=${c.value}`).join('; ') } : {};
  }

  private keep(url: URL, setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';').map((p) => p.trim());
      const at = pair!.indexOf('=');
      if (at <= 0) continue;
      const name = pair!.slice(0, at);
      const value = pair!.slice(at + 1);
      const attr = Object.fromEntries(
        attributes.map((a) => {
          const [k, ...v] = a.split('=');
          return [k!.toLowerCase(), v.join('=')];
        }),
      );
      const cookies = this.jar.get(url.origin) ?? new Map<string, Cookie>();
      const expired = attr['max-age'] !== undefined && Number(attr['max-age']) <= 0;
      if (expired || value === '') cookies.delete(name);
      else cookies.set(name, { value, path: attr.path || '/' });
      this.jar.set(url.origin, cookies);
    }
  }
}
