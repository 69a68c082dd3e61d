import { hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { canonicalJsonOfJsonbText, canonicalJsonSource } from '../canonical-json';

/**
 * Content hashes of events given as jsonb text (SHA-256 of their canonical JSON), computed in
 * worker threads. Why threads: whole-store verification is bound by this one CPU-heavy step; while
 * workers hash pages, this thread reads and links the others. Should a worker fail to start or
 * die, hashing goes on in this thread: slower, never wrong.
 */
export class ContentHashers {
  private readonly hashers: ContentHasher[];
  private turn = 0;

  constructor(threads = 2) {
    this.hashers = Array.from({ length: Math.max(1, threads) }, () => new ContentHasher());
  }

  /** Pages go to the workers in turn. */
  hashAll(texts: string[]): Promise<string[]> {
    return this.hashers[this.turn++ % this.hashers.length].hashAll(texts);
  }

  threadIds(): Promise<number[]> {
    return Promise.all(this.hashers.map((hasher) => hasher.threadId()));
  }

  async close(): Promise<void> {
    await Promise.all(this.hashers.map((hasher) => hasher.close()));
  }
}

/** How long an idle worker is kept before it is stopped (started again on the next page). */
const IDLE_MS = 1000;

class ContentHasher {
  private worker?: Worker;
  private broken = false;
  private next = 0;
  private idle?: NodeJS.Timeout;
  private readonly pending = new Map<number, { resolve(hashes: string[]): void; reject(error: Error): void }>();

  /** Hex SHA-256 of the canonical JSON of each text, in order. */
  async hashAll(texts: string[]): Promise<string[]> {
    const worker = this.start();
    if (!worker) return texts.map(hashInThread);
    clearTimeout(this.idle);
    const id = this.next++;
    try {
      return await new Promise<string[]>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        worker.postMessage({ id, texts });
      });
    } catch {
      return texts.map(hashInThread);
    } finally {
      // A walk keeps it busy; between walks no thread is left running (nor holding a process open).
      if (this.pending.size === 0) this.idle = setTimeout(() => void this.stop(), IDLE_MS).unref();
    }
  }

  /** The worker's thread id (0 when hashing runs in this thread): for tests. */
  async threadId(): Promise<number> {
    const worker = this.start();
    return worker ? worker.threadId : 0;
  }

  async close(): Promise<void> {
    this.broken = true;
    await this.stop();
  }

  private async stop(): Promise<void> {
    clearTimeout(this.idle);
    const worker = this.worker;
    if (!worker || this.pending.size > 0) return;
    this.worker = undefined;
    await worker.terminate();
  }

  private start(): Worker | undefined {
    if (this.worker || this.broken) return this.worker;
    try {
      const worker = new Worker(`${canonicalJsonSource()}\n${WORKER_MAIN}`, { eval: true });
      // An idle worker must not keep a process alive (a CLI that has finished).
      worker.unref();
      worker.on('message', ({ id, hashes }: { id: number; hashes: string[] }) => {
        const waiting = this.pending.get(id);
        this.pending.delete(id);
        waiting?.resolve(hashes);
      });
      worker.on('error', (error) => this.fail(worker, error));
      worker.on('exit', () => this.fail(worker, new Error('the hashing worker exited')));
      this.worker = worker;
      return worker;
    } catch {
      this.broken = true;
      return undefined;
    }
  }

  /** A worker that died on its own (not one stopped while idle): hash in this thread from now on. */
  private fail(worker: Worker, error: Error): void {
    if (worker !== this.worker) return;
    this.broken = true;
    this.worker = undefined;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}

const WORKER_MAIN = `
const { parentPort } = require('node:worker_threads');
const { hash } = require('node:crypto');
parentPort.on('message', ({ id, texts }) => {
  parentPort.postMessage({ id, hashes: texts.map((text) => hash('sha256', canonicalJsonOfJsonbText(text), 'hex')) });
});`;

const hashInThread = (text: string): string => hash('sha256', canonicalJsonOfJsonbText(text), 'hex');
