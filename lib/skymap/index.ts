/**
 * Sky maps (tracts, patches, their WCS and JSON form) for the simulator and the pipeline. Import from
 * here, not from the modules.
 */
export { SkyMapError } from './errors.js';
export { overlapArea, clipPolygonToRect, polygonArea, type Point, type Rect } from './regionOverlap.js';
export {
  makeTract, makeTractCovering, tractWcsHeader, tractWcs, patchAtIndex, patchById, tractPatches, patchContaining,
  patchesOverlapping, patchesOverlappingSky, patchWcsHeader, SKYMAP_PRESETS, DEFAULT_PIXEL_SCALE_ARCSEC,
  type Tract, type TractSpec, type Patch, type PixelBox, type CoveringOptions, type SkyMapPreset,
} from './tract.js';
export { detectorSkyPolygon, regionToJson, regionFromJson, patchesOverlappingRegion, DEFAULT_REGION_MARGIN_PX } from './detectorRegion.js';
export { makeSkyMap, tractById, tractToJson, tractFromJson, skyMapToJson, skyMapFromJson, SKYMAP_FORMAT, type SkyMap } from './skyMap.js';
