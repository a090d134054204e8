/**
 * The certification panel (issue 7): for the dataset shown (a repository dataset, by UUID), the
 * checklist, a note, the reviewer's name (remembered in this browser), and the verdict buttons
 * (certified, rejected, needs work; keys c, r, w); the verdict's state (synced with the repository,
 * kept in this browser, or in conflict, with the choice to replace theirs or keep theirs); and the
 * progress of the listed datasets (certified / total). Verdicts go through web/viewer/verdictStore.ts.
 */
import { byId } from './dom.js';
import type { StoredVerdict, Verdict, VerdictKind, VerdictStore } from './verdictStore.js';

const LABEL: Record<VerdictKind, string> = { certified: 'certified', rejected: 'rejected', 'needs-work': 'needs work' };

export class CertifyPanel {
  private datasetId: string | undefined;
  private current: StoredVerdict | undefined;
  /** Called after a verdict is given or settled (to refresh the list's marks and the progress). */
  onChange: (() => void) | undefined;

  constructor(private readonly store: VerdictStore, private readonly appVersion: string) {
    const reviewer = byId<HTMLInputElement>('reviewer');
    reviewer.value = localStorage.getItem('tessera.reviewer') ?? '';
    reviewer.addEventListener('change', () => localStorage.setItem('tessera.reviewer', reviewer.value.trim()));
    for (const b of byId('verdict-buttons').querySelectorAll<HTMLButtonElement>('button[data-verdict]')) {
      b.addEventListener('click', () => void this.give(b.dataset.verdict as VerdictKind));
    }
    byId('keep-mine').addEventListener('click', () => void this.settle('mine'));
    byId('keep-theirs').addEventListener('click', () => void this.settle('theirs'));
  }

  /** Shows the panel for a repository dataset, or hides it (undefined: a local file has no UUID). */
  async show(datasetId: string | undefined): Promise<void> {
    this.datasetId = datasetId;
    byId('certify').hidden = datasetId === undefined;
    if (!datasetId) return;
    const history = await this.store.history(datasetId);
    this.current = history[history.length - 1];
    const c = this.current?.checklist;
    byId<HTMLInputElement>('chk-artifacts').checked = c?.artifactsMasked ?? false;
    byId<HTMLInputElement>('chk-trails').checked = c?.trailsAndGhostsRejected ?? false;
    byId<HTMLInputElement>('chk-background').checked = c?.backgroundNotOverSubtracted ?? false;
    byId<HTMLInputElement>('chk-other').value = c?.other ?? '';
    byId<HTMLTextAreaElement>('verdict-note').value = this.current?.note ?? '';
    this.showStatus();
  }

  /** Gives a verdict on the dataset shown, with the checklist and note as they are now. */
  async give(kind: VerdictKind): Promise<void> {
    if (!this.datasetId) return;
    const reviewer = byId<HTMLInputElement>('reviewer').value.trim();
    if (!reviewer) {
      this.status('name the reviewer first', 'conflict');
      byId('reviewer').focus();
      return;
    }
    localStorage.setItem('tessera.reviewer', reviewer);
    // The verdict this one replaces: the latest the store knows that the server has (or that is ours and pending).
    const history = await this.store.history(this.datasetId);
    const base = [...history].reverse().find((v) => v.sync === 'synced' || v.sync === 'pending' || v.sync === 'local-only');
    const verdict: Verdict = {
      id: crypto.randomUUID(), datasetId: this.datasetId, verdict: kind, reviewer, reviewedAt: new Date().toISOString(), appVersion: this.appVersion,
      checklist: {
        artifactsMasked: byId<HTMLInputElement>('chk-artifacts').checked,
        trailsAndGhostsRejected: byId<HTMLInputElement>('chk-trails').checked,
        backgroundNotOverSubtracted: byId<HTMLInputElement>('chk-background').checked,
        other: byId<HTMLInputElement>('chk-other').value.trim(),
      },
      note: byId<HTMLTextAreaElement>('verdict-note').value.trim(),
      supersedes: base?.sync === 'synced' ? base.id : base?.supersedes ?? null,
    };
    this.status(`${LABEL[kind]}: saving…`, 'pending');
    this.current = await this.store.give(verdict);
    this.showStatus();
    this.onChange?.();
  }

  private async settle(choice: 'mine' | 'theirs'): Promise<void> {
    if (!this.current) return;
    await this.store.settle(this.current.id, choice);
    await this.show(this.datasetId);
    this.onChange?.();
  }

  private showStatus(): void {
    const v = this.current;
    byId('verdict-conflict').hidden = v?.sync !== 'conflict';
    if (!v) { this.status('no verdict yet', ''); return; }
    const what = `${LABEL[v.verdict]} by ${v.reviewer} at ${v.reviewedAt.replace('T', ' ').slice(0, 19)} UTC`;
    switch (v.sync) {
      case 'synced': this.status(`${what}; recorded in the repository`, 'synced'); break;
      case 'local-only': this.status(`${what}; kept in this browser (the server records no verdicts: tessera serve --allow-certify)`, 'local-only'); break;
      case 'pending': this.status(`${what}; kept in this browser, not yet recorded${v.error ? ` (${v.error})` : ''}`, 'pending'); break;
      case 'conflict': {
        const t = v.conflictWith!;
        this.status(`${what}; NOT recorded: the repository has ${LABEL[t.verdict]} by ${t.reviewer} at ${t.reviewedAt.replace('T', ' ').slice(0, 19)} UTC${t.note ? ` (“${t.note}”)` : ''}`, 'conflict');
        break;
      }
    }
  }

  private status(text: string, sync: string): void {
    const p = byId('verdict-status');
    p.textContent = text;
    p.dataset.sync = sync;
    p.dataset.verdict = this.current?.verdict ?? '';
  }
}
