/**
 * The FITS layer's public surface: headers, byte sources, lazy file access, pixel coding, checksums,
 * gzip, the writer and the LSST afw Exposure layout. Import from here, not from the modules.
 */
export { FitsError } from './errors.js';
export { FitsHeader, BLOCK, CARD, type Card, type CardValue } from './header.js';
export { bytesSource, readExact, syncBytesSource, type ByteSource, type SyncByteSource } from './source.js';
export {
  openFits, openFitsSync, readFitsBytes, describeHdu, FitsFile, FitsBytes,
  type HduInfo, type HduType, type FitsImage, type ReadOptions, type SectionOptions, type OpenOptions, type FitsStructure,
} from './file.js';
export {
  bytesPerPixel, cropPixels, decodePixels, decodeStored, encodePixels, gatherColumns, integerConvention, isBitpix,
  scalingFromHeader, type Bitpix, type DecodeOptions, type EncodeOptions, type EncodedPixels, type ImageArray, type Rect, type Scaling,
} from './image.js';
export {
  addSums, encodeChecksum, onesComplementSum, verifyHduChecksum, CHECKSUM_PLACEHOLDER,
  type ChecksumState, type HduChecksumResult,
} from './checksum.js';
export { crc32, fflateCodec, gunzipBytes, gzipBytes, isGzip, MAX_GUNZIP_BYTES, type GzipCodec } from './gzip.js';
export { compressImageHdu, type CompressibleArray, type TileCompression } from './compressImage.js';
export { writeFits, type HduSpec, type ImageHduSpec, type RawHduSpec, type TableHduSpec, type WriteOptions } from './writer.js';
export { readBinTable, writeBinTable, findColumn, type BinTable, type BinTableColumn, type BinTableSpec, type BinTableColumnSpec } from './bintable.js';
export {
  readExposure, writeExposure, maskPlanesFromHeader, xy0FromHeader,
  type Exposure, type ExposureComponentHdu, type WriteExposureOptions,
} from './exposure.js';
