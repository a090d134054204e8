/**
 * Loads the thumbnail strip's images as they come into view, at most two at a time: a browser opens
 * only six connections to a server, and thumbnails queued on all of them would make the viewer's own
 * byte ranges (the image being opened) wait behind every thumbnail the strip shows.
 */
const IN_FLIGHT = 2;

export class ThumbnailLoader {
  private readonly queue: HTMLImageElement[] = [];
  private inFlight = 0;
  private readonly observer: IntersectionObserver;

  /** `root`: the scrolling strip; an image loads once it is within one strip width of view. */
  constructor(root: HTMLElement) {
    this.observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        const img = e.target as HTMLImageElement;
        this.observer.unobserve(img);
        this.queue.push(img);
      }
      this.pump();
    }, { root, rootMargin: '0px 100% 0px 100%' });
  }

  /** Forgets the images given before (the strip was redrawn) and watches these, whose URLs are in data-src. */
  watch(images: readonly HTMLImageElement[]): void {
    this.observer.disconnect();
    this.queue.length = 0;
    for (const img of images) this.observer.observe(img);
  }

  private pump(): void {
    while (this.inFlight < IN_FLIGHT && this.queue.length) {
      const img = this.queue.shift()!;
      if (!img.isConnected || !img.dataset.src) continue;
      this.inFlight++;
      const done = (): void => { this.inFlight--; this.pump(); };
      img.addEventListener('load', done, { once: true });
      img.addEventListener('error', done, { once: true });
      img.src = img.dataset.src;
    }
  }
}
