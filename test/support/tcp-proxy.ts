import { createServer, connect, type Server, type Socket } from 'node:net';

export interface ProxyTarget {
  host: string;
  port: number;
}

interface CutRule {
  marker: Buffer;
  /** Forward the matching bytes first (the database sees them; its answer is lost) or drop them. */
  forward: boolean;
  delayMs: number;
  done: () => void;
}

/**
 * A tiny TCP proxy on 127.0.0.1 for fault injection: `stop()` drops every connection and refuses
 * new ones (the database "goes away"); `start()` brings it back on the same port. `cutWhen…`
 * arms a one-shot outage that strikes the moment a client sends certain bytes (e.g. mid-append).
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private rule?: CutRule;
  port = 0;

  constructor(private readonly target: ProxyTarget) {}

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Listens (again) on 127.0.0.1, on the same port as before once one was assigned. */
  async start(): Promise<number> {
    if (this.server) return this.port;
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  /** Refuses new connections and drops every open one, in both directions, at once. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.rule = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * One-shot: when a client next sends bytes containing `marker`, the proxy goes down — at once
   * without forwarding them (`forward: false`), or after forwarding them and swallowing the
   * database's answer for `delayMs` (`forward: true`: the work is done, the reply is lost).
   * Resolves once the proxy is down.
   */
  cutWhenClientSends(marker: string, options: { forward: boolean; delayMs?: number }): Promise<void> {
    return new Promise((done) => {
      this.rule = { marker: Buffer.from(marker), forward: options.forward, delayMs: options.delayMs ?? 0, done };
    });
  }

  /** Forgets an armed cut that never struck. */
  disarm(): void {
    this.rule = undefined;
  }

  private accept(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    let answerLost = false;
    this.sockets.add(client);
    this.sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    upstream.on('data', (chunk) => {
      if (!answerLost) client.write(chunk);
    });
    client.on('data', (chunk) => {
      const rule = this.rule;
      if (rule && chunk.includes(rule.marker)) {
        this.rule = undefined;
        if (rule.forward) {
          answerLost = true;
          upstream.write(chunk);
          setTimeout(() => void this.stop().then(rule.done), rule.delayMs);
        } else {
          void this.stop().then(rule.done);
        }
        return;
      }
      upstream.write(chunk);
    });
  }
}
