/**
 * The "pipeline in this page" panel (issue 7, outreach): a seed, a visit and a detector of the tiny
 * survey; the worker simulates that CCD and runs single-frame processing on it (lib/pipeline/
 * simulatedCcd.ts), each step listed with its time as it finishes and a progress bar; then links to
 * save every dataset it made, and `onDone` with the answer (the app shows the calexp with the src
 * markers). Errors (an unknown visit or detector, a failed task) are shown in the panel.
 */
import { proxy, type Remote } from 'comlink';
import type { KernelWorkerApi, SimulatedCcdAnswer } from '../kernelWorker.js';
import type { SimulatedCcdProgress } from '../../lib/pipeline/simulatedCcd.js';
import { byId, element } from './dom.js';

export class SimulatePanel {
  private readonly links: string[] = [];
  /** Called with each finished run. */
  onDone: ((answer: SimulatedCcdAnswer) => Promise<void>) | undefined;

  constructor(private readonly worker: Remote<KernelWorkerApi>) {
    byId('sim-run').addEventListener('click', () => void this.run());
  }

  private async run(): Promise<void> {
    const button = byId<HTMLButtonElement>('sim-run'), bar = byId<HTMLProgressElement>('sim-progress');
    const steps = byId<HTMLOListElement>('sim-steps'), result = byId('sim-result');
    const number = (id: string): number => Number(byId<HTMLInputElement>(id).value);
    button.disabled = true;
    steps.replaceChildren();
    for (const url of this.links.splice(0)) URL.revokeObjectURL(url);
    result.replaceChildren();
    result.dataset.state = 'running';
    bar.value = 0;
    let current: HTMLLIElement | undefined;
    const started = performance.now();
    const onProgress = (p: SimulatedCcdProgress): void => {
      if (current && p.previousMs !== undefined) current.textContent = `${current.dataset.step}: ${Math.round(p.previousMs)} ms`;
      current = element('li', `${p.step}…`);
      current.dataset.step = p.step;
      steps.append(current);
      bar.value = p.index;
    };
    try {
      const answer = await this.worker.simulateCcd({ seed: number('sim-seed'), visit: number('sim-visit'), detector: number('sim-detector') }, proxy(onProgress));
      if (current) current.textContent = `${current.dataset.step}: ${Math.round(answer.timings.calibrate)} ms`;
      bar.value = bar.max;
      const saves = answer.datasets.map((d) => {
        const a = element('a', d.type);
        a.href = URL.createObjectURL(new Blob([d.bytes as Uint8Array<ArrayBuffer>], { type: 'application/fits' }));
        a.download = d.name;
        a.dataset.type = d.type;
        this.links.push(a.href);
        return a;
      });
      result.replaceChildren(`done in ${((performance.now() - started) / 1000).toFixed(1)} s; save: `, ...saves.flatMap((a, k) => (k ? [' · ', a] : [a])));
      result.dataset.state = 'done';
      await this.onDone?.(answer);
    } catch (err) {
      result.textContent = (err as Error).message;
      result.dataset.state = 'error';
    } finally {
      button.disabled = false;
    }
  }
}
