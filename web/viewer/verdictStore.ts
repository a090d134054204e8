/**
 * Science leads' verdicts in the browser (issue 7): every verdict is written to IndexedDB (idb) the
 * moment it is given, so nothing is lost on reload or offline, then sent to `tessera serve` when it
 * records verdicts (POST /api/verdicts; node/server/apiServer.ts). Each verdict names the one it
 * replaces (the latest this browser knew); the server refuses one that a newer verdict has overtaken
 * (409 with that verdict), and the store keeps it as a conflict for the reviewer to settle (replace
 * theirs with mine, or keep theirs), never overwriting either. Verdicts the server has are merged in.
 */
import { openDB, type IDBPDatabase } from 'idb';

export type VerdictKind = 'certified' | 'rejected' | 'needs-work';
export interface Checklist { artifactsMasked: boolean; trailsAndGhostsRejected: boolean; backgroundNotOverSubtracted: boolean; other: string }
export interface Verdict {
  id: string; datasetId: string; verdict: VerdictKind; checklist: Checklist; note: string; reviewer: string; reviewedAt: string; appVersion: string;
  supersedes: string | null;
}
export type SyncState = 'synced' | 'pending' | 'conflict' | 'local-only';
export interface StoredVerdict extends Verdict { sync: SyncState; conflictWith?: Verdict; error?: string }

const DB = 'tessera-viewer', STORE = 'verdicts';

export class VerdictStore {
  private constructor(private readonly db: IDBPDatabase, private readonly canSync: boolean) {}

  /** Opens the store; `canSync` when the server records verdicts. */
  static async open(canSync: boolean): Promise<VerdictStore> {
    const db = await openDB(DB, 1, {
      upgrade(d) {
        const store = d.createObjectStore(STORE, { keyPath: 'id' });
        store.createIndex('dataset', 'datasetId');
      },
    });
    return new VerdictStore(db, canSync);
  }

  /** A dataset's verdicts, oldest first (by time given). */
  async history(datasetId: string): Promise<StoredVerdict[]> {
    const all = (await this.db.getAllFromIndex(STORE, 'dataset', datasetId)) as StoredVerdict[];
    return all.sort((a, b) => (a.reviewedAt < b.reviewedAt ? -1 : a.reviewedAt > b.reviewedAt ? 1 : 0));
  }

  /** The latest verdict of each dataset in the store. */
  async latestByDataset(): Promise<Map<string, StoredVerdict>> {
    const out = new Map<string, StoredVerdict>();
    for (const v of (await this.db.getAll(STORE)) as StoredVerdict[]) {
      const best = out.get(v.datasetId);
      if (!best || v.reviewedAt > best.reviewedAt) out.set(v.datasetId, v);
    }
    return out;
  }

  /** Merges verdicts the server has (they are synced by definition). */
  async merge(server: readonly Verdict[]): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    for (const v of server) {
      const mine = (await tx.store.get(v.id)) as StoredVerdict | undefined;
      if (!mine || mine.sync !== 'synced') await tx.store.put({ ...v, sync: 'synced' } satisfies StoredVerdict);
    }
    await tx.done;
  }

  /** Stores a new verdict at once, then sends it; resolves to what became of it. */
  async give(verdict: Verdict): Promise<StoredVerdict> {
    const stored: StoredVerdict = { ...verdict, sync: this.canSync ? 'pending' : 'local-only' };
    await this.db.put(STORE, stored);
    return this.canSync ? this.send(stored) : stored;
  }

  /** Sends verdicts still pending (given offline, or before a failure). */
  async retryPending(): Promise<void> {
    if (!this.canSync) return;
    for (const v of (await this.db.getAll(STORE)) as StoredVerdict[]) if (v.sync === 'pending') await this.send(v);
  }

  /** Settles a conflict: `mine` replaces the server's latest (a new verdict superseding it), or `theirs` drops mine. */
  async settle(id: string, choice: 'mine' | 'theirs'): Promise<StoredVerdict | undefined> {
    const v = (await this.db.get(STORE, id)) as StoredVerdict | undefined;
    if (!v || v.sync !== 'conflict' || !v.conflictWith) return v;
    await this.db.delete(STORE, id);
    if (choice === 'theirs') {
      await this.merge([v.conflictWith]);
      return undefined;
    }
    const { sync: _sync, conflictWith, error: _error, ...mine } = v;
    return this.give({ ...mine, id: crypto.randomUUID(), supersedes: conflictWith.id, reviewedAt: new Date().toISOString() });
  }

  private async send(v: StoredVerdict): Promise<StoredVerdict> {
    const { sync: _sync, conflictWith: _c, error: _e, ...verdict } = v;
    let next: StoredVerdict;
    try {
      const res = await fetch('api/verdicts', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(verdict) });
      const body = (await res.json()) as { error?: string; latest?: Verdict | null };
      if (res.status === 201) next = { ...verdict, sync: 'synced' };
      else if (res.status === 409 && body.latest) {
        next = { ...verdict, sync: 'conflict', conflictWith: body.latest, error: body.error ?? 'conflict' };
        await this.merge([body.latest]);
      } else next = { ...verdict, sync: 'pending', error: body.error ?? `HTTP ${res.status}` };
    } catch (err) {
      next = { ...verdict, sync: 'pending', error: `not sent (${(err as Error).message}); kept in this browser` };
    }
    await this.db.put(STORE, next);
    return next;
  }
}
