/**
 * The demo's load generator: keep-alive connections on loopback, each
 * owning a set of shop users, adding items, reading carts and asking for
 * slow reports, and checking every response against what that response's
 * code version must answer. A response that disagrees with its own version
 * is a consistency violation.
 */
import http from 'node:http';

export type Version = 'v1' | 'fix-1' | 'fix-2';

const PRICES: Record<string, number> = { book: 12, pen: 2, lamp: 30 };
const SKUS = Object.keys(PRICES);

/** What each code version computes: the checker's model of the shop. */
const MODEL: Record<Version, { total(subtotal: number): number; acceptsNegative: boolean }> = {
  'v1': { total: (s) => Math.round(s * 0.9 * 0.9 * 100) / 100, acceptsNegative: true },
  'fix-1': { total: (s) => Math.round(s * 0.9 * 100) / 100, acceptsNegative: true },
  'fix-2': { total: (s) => Math.round(s * 0.9 * 100) / 100, acceptsNegative: false },
};

export interface PhaseStats {
  requests: number;
  failed: number;
  versions: Record<string, number>;
  /** Slow report requests answered in this phase. */
  reports: number;
  /** The longest a shopper waited between two successful responses, in ms. */
  longestGapMs: number;
}

interface Cart { items: Map<string, number> }

/** A shopper: one user of the shop after another, one request at a time. */
interface Shopper { lastSuccess: number }

/**
 * One GET answered with JSON, over node:http: the global fetch would load
 * its HTTP client on first use and hold the load generator's event loop
 * for tens of milliseconds, which it would then count as a gap.
 */
export function getJson(port: number, path: string, agent?: http.Agent): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(JSON.parse(text)));
    }).on('error', reject);
  });
}

export interface LoadOptions {
  port: number;
  connections: number;
  /** Users per connection; each is only ever touched by its connection. */
  usersPerConnection: number;
  /** Concurrent slow report requests kept in flight. */
  reports: number;
  /** Each connection's pause between requests, in ms: the load a service runs at, below saturation. */
  pauseMs: number;
  /** Lost state is expected (a restart): resynchronize instead of reporting violations. */
  expectStateLoss?: boolean;
}

export class LoadGenerator {
  readonly phases = new Map<string, PhaseStats>();
  readonly violations: string[] = [];
  readonly failures: string[] = [];
  /** Carts found emptier than this generator made them (state a restart lost). */
  lostCarts = new Set<string>();
  /** When a response of each code version was first seen (ms since the epoch). */
  readonly firstSeen = new Map<string, number>();
  private phase = 'start';
  private running = false;
  private readonly watches = new Set<{ longestMs: number }>();
  private readonly carts = new Map<string, Cart>();
  private readonly agent: http.Agent;
  private loops: Promise<void>[] = [];

  constructor(private readonly options: LoadOptions) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.connections + options.reports });
  }

  /**
   * Starts measuring the longest a shopper waits between two successful
   * responses (a failed request, a reconnection, a held event loop all
   * lengthen it); the function it returns stops and answers it, in ms.
   * The demo watches the
   * switch to the new code: from the load command to its completed
   * transition, from the reload signal to the old worker's exit.
   */
  watchGaps(): () => number {
    const watch = { longestMs: 0 };
    this.watches.add(watch);
    return () => {
      this.watches.delete(watch);
      return watch.longestMs;
    };
  }

  /** Starts counting responses under a new phase label. */
  enter(phase: string): void {
    this.phase = phase;
    if (!this.phases.has(phase)) this.phases.set(phase, { requests: 0, failed: 0, versions: {}, reports: 0, longestGapMs: 0 });
  }

  start(): void {
    this.running = true;
    this.enter(this.phase);
    for (let c = 0; c < this.options.connections; c++) this.loops.push(this.shopper(c));
    for (let r = 0; r < this.options.reports; r++) this.loops.push(this.reporter(r));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.agent.destroy();
  }

  /** Users this generator made and the items each must have. */
  expectedState(): { carts: number; items: number } {
    let items = 0;
    for (const cart of this.carts.values()) for (const qty of cart.items.values()) items += qty;
    return { carts: this.carts.size, items };
  }

  /** After `stop`: reads every cart this generator made and counts those the server still has as made. */
  async verifyCarts(): Promise<{ kept: number; total: number }> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    let kept = 0;
    await Promise.all([...this.carts].map(async ([user, cart]) => {
      const body = await getJson(this.options.port, `/cart/${user}`, agent);
      if (body.items === this.count(cart)) kept++;
    }));
    agent.destroy();
    return { kept, total: this.carts.size };
  }

  private stats(): PhaseStats {
    return this.phases.get(this.phase)!;
  }

  private request(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: this.options.port, path, agent: this.agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          } catch {
            reject(new Error(`${path}: not JSON: ${text.slice(0, 80)}`));
          }
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error(`${path}: timed out`)));
    });
  }

  /** One request, counted in the current phase; undefined when it failed. A shopper's waits are measured. */
  private async call(path: string, shopper?: Shopper) {
    const stats = this.stats();
    stats.requests++;
    try {
      const response = await this.request(path);
      // Counted as a failed request by the catch below; it never leaves the load generator.
      if (response.status >= 500) throw new Error(`${path}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
      const now = Date.now();
      if (shopper) {
        stats.longestGapMs = Math.max(stats.longestGapMs, now - shopper.lastSuccess);
        for (const watch of this.watches) watch.longestMs = Math.max(watch.longestMs, now - shopper.lastSuccess);
        shopper.lastSuccess = now;
      }
      const version = String(response.body.version ?? 'none');
      stats.versions[version] = (stats.versions[version] ?? 0) + 1;
      if (!this.firstSeen.has(version)) this.firstSeen.set(version, now);
      return response;
    } catch (err) {
      stats.failed++;
      if (this.failures.length < 20) this.failures.push(`[${this.phase}] ${(err as Error).message}`);
      return undefined;
    }
  }

  private subtotal(cart: Cart): number {
    let sum = 0;
    for (const [sku, qty] of cart.items) sum += PRICES[sku] * qty;
    return sum;
  }

  private count(cart: Cart): number {
    let n = 0;
    for (const qty of cart.items.values()) n += qty;
    return n;
  }

  private violation(text: string): void {
    if (this.violations.length < 50) this.violations.push(`[${this.phase}] ${text}`);
  }

  private async shopper(c: number): Promise<void> {
    const users = Array.from({ length: this.options.usersPerConnection }, (_, u) => `user-${c}-${u}`);
    const shopper: Shopper = { lastSuccess: Date.now() };
    for (let step = 0; this.running; step++) {
      if (step > 0) await new Promise((resolve) => setTimeout(resolve, this.options.pauseMs));
      const user = users[step % users.length];
      // The server makes a cart on the first accepted add; so does the model.
      const cart = this.carts.get(user) ?? { items: new Map<string, number>() };
      if (step % 3 === 2) {
        const r = await this.call(`/cart/${user}`, shopper);
        if (r) this.checkCart(user, cart, r.body);
        continue;
      }
      // Now and then a negative quantity: the bug fix-2 closes.
      const sku = SKUS[step % SKUS.length];
      const qty = step % 17 === 0 ? -1 : 1 + (step % 3);
      const r = await this.call(`/add/${user}?sku=${sku}&qty=${qty}`, shopper);
      if (!r) continue;
      const version = r.body.version as Version;
      const model = MODEL[version];
      if (!model) {
        this.violation(`unknown code version ${version}`);
        continue;
      }
      const accepted = r.status === 200;
      if (accepted !== (qty > 0 || model.acceptsNegative)) {
        this.violation(`add ${qty} ${sku} answered ${r.status} under ${version}`);
      }
      if (accepted) {
        this.carts.set(user, cart);
        cart.items.set(sku, (cart.items.get(sku) ?? 0) + qty);
        if (r.body.items !== this.count(cart)) this.stateMismatch(user, cart, `add: server has ${r.body.items} items, expected ${this.count(cart)}`);
      }
    }
  }

  private checkCart(user: string, cart: Cart, body: Record<string, unknown>): void {
    const version = body.version as Version;
    if (!MODEL[version]) return this.violation(`unknown code version ${version}`);
    // The hotfix note comes from cartSummary, the version from codeVersion:
    // both are in fix-1, so a request sees both or neither.
    if ((body.note !== undefined) !== (version === 'fix-1')) this.violation(`cart of ${user}: note ${JSON.stringify(body.note)} under ${version}`);
    if (body.items !== this.count(cart)) return this.stateMismatch(user, cart, `cart: server has ${body.items} items, expected ${this.count(cart)}`);
    const want = MODEL[version].total(this.subtotal(cart));
    if (body.total !== want) this.violation(`cart of ${user}: total ${body.total} under ${version}, which computes ${want}`);
  }

  /** Carts the server forgot: a violation under livepatch, lost state under a restart. */
  private stateMismatch(user: string, cart: Cart, text: string): void {
    if (!this.options.expectStateLoss) return this.violation(`${user}: ${text}`);
    this.lostCarts.add(user);
    cart.items.clear();
  }

  /** Keeps one slow report in flight, for a user whose cart never changes. */
  private async reporter(r: number): Promise<void> {
    const user = `reporter-${r}`;
    const cart: Cart = { items: new Map([['lamp', 1], ['book', r + 1]]) };
    for (const [sku, qty] of cart.items) await this.call(`/add/${user}?sku=${sku}&qty=${qty}`);
    this.carts.set(user, cart);
    while (this.running) {
      const response = await this.call(`/report/${user}`);
      if (!response) continue;
      this.stats().reports++;
      const { version, finishedWith, total, items } = response.body as { version: Version; finishedWith: Version; total: number; items: number };
      if (version !== finishedWith) this.violation(`report started on ${version} and finished on ${finishedWith}`);
      else if (items === this.count(cart) && total !== MODEL[version]?.total(this.subtotal(cart))) {
        this.violation(`report total ${total} under ${version}`);
      }
    }
  }
}
