/**
 * The sky map's typed error: names what was being read or built (a tract, a JSON document) and what was
 * wrong with it.
 */
export class SkyMapError extends Error {
  constructor(readonly source: string, readonly problem: string) {
    super(`${source}: ${problem}`);
    this.name = 'SkyMapError';
  }
}
