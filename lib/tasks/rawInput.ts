/**
 * The raw frames tasks receive, and what they need from their headers. A raw is one detector's pixels
 * as the camera wrote them (uint16 ADU, all amplifiers with prescans and overscans, row-major
 * rawHeight x rawWidth; a FITS file's BZERO 32768 integers read as a Uint16Array) and its header.
 * Header keywords are the camera description's `headerKeys` (lib/sim/camera.ts): detector id, exposure
 * id, image type, physical filter, exposure time (s), MJD-OBS; the dark time is DARKTIME when present
 * (LSST VisitInfo's darkTime), else the exposure time. Problems are BadInputErrors naming the connection,
 * the item and (through the context) the dataset's data ID and file.
 */
import { FitsHeader } from '../fits/header.js';
import type { Camera, Detector } from '../sim/camera.js';
import { badInput, type TaskContext } from '../pipeline/task.js';

export interface RawFrameInput {
  /** ADU, row-major, rawHeight x rawWidth. */
  data: Uint16Array;
  header: FitsHeader;
}

/** What a task reads from a raw's header. */
export interface RawInfo {
  detector: Detector;
  exposureId: number | string | undefined;
  imageType: string | undefined;
  physicalFilter: string | undefined;
  /** Seconds. */
  exposureTime: number;
  /** Seconds of dark current accumulated (DARKTIME, else the exposure time). */
  darkTime: number;
  mjd: number;
}

/**
 * Resolves and checks one raw: its detector (header keyword, else the quantum's data ID), its size
 * against the camera description, its times. `index` is the item of a multiple connection.
 */
export function readRawInfo(task: { name: string }, context: TaskContext, connection: string, camera: Camera, raw: RawFrameInput, index?: number): RawInfo {
  const fail = (problem: string): never => {
    throw badInput(task, context, connection, problem, index);
  };
  if (!(raw.data instanceof Uint16Array)) fail(`the raw pixels must be a Uint16Array (uint16 ADU), got ${(raw.data as object)?.constructor?.name ?? typeof raw.data}`);
  const keys = camera.headerKeys;
  const headerId = raw.header.getInteger(keys.detector);
  const quantumId = context.refs?.quantum?.['detector'];
  const id = headerId ?? (typeof quantumId === 'number' ? quantumId : quantumId !== undefined ? Number(quantumId) : undefined);
  if (id === undefined || !Number.isInteger(id)) fail(`no detector id: header keyword ${keys.detector} is missing and the quantum has no detector`);
  if (headerId !== undefined && quantumId !== undefined && Number(quantumId) !== headerId) fail(`the header says detector ${headerId} but the quantum is for detector ${quantumId}`);
  const detector = camera.detectors.find((d) => d.id === id);
  if (!detector) fail(`camera ${camera.name} has no detector ${id}`);
  const d = detector!;
  if (raw.data.length !== d.rawWidth * d.rawHeight) fail(`detector ${d.id} raws are ${d.rawWidth}x${d.rawHeight} = ${d.rawWidth * d.rawHeight} px, this one has ${raw.data.length}`);
  const naxis1 = raw.header.getInteger('NAXIS1'), naxis2 = raw.header.getInteger('NAXIS2');
  if (naxis1 !== undefined && naxis2 !== undefined && (naxis1 !== d.rawWidth || naxis2 !== d.rawHeight)) fail(`the header's NAXIS1 x NAXIS2 = ${naxis1}x${naxis2} is not detector ${d.id}'s raw size ${d.rawWidth}x${d.rawHeight}`);
  const exposureTime = raw.header.getNumber(keys.exposureTime);
  if (exposureTime === undefined || !(exposureTime >= 0)) fail(`header keyword ${keys.exposureTime} (exposure time, s) is ${exposureTime === undefined ? 'missing' : `${exposureTime}`}`);
  const darkTime = raw.header.getNumber('DARKTIME') ?? exposureTime!;
  if (!(darkTime >= 0)) fail(`DARKTIME is ${darkTime}`);
  const mjd = raw.header.getNumber(keys.mjd);
  if (mjd === undefined || !Number.isFinite(mjd)) fail(`header keyword ${keys.mjd} (MJD of the exposure start) is missing`);
  const exposureValue = raw.header.get(keys.exposureId);
  return {
    detector: d,
    exposureId: typeof exposureValue === 'number' || typeof exposureValue === 'string' ? exposureValue : undefined,
    imageType: raw.header.getString(keys.imageType)?.trim(),
    physicalFilter: raw.header.getString(keys.filter)?.trim(),
    exposureTime: exposureTime!,
    darkTime,
    mjd: mjd!,
  };
}

/** Throws a BadInputError when the raw's image type is given and is not one of `accepted` (case-insensitive). */
export function checkImageType(task: { name: string }, context: TaskContext, connection: string, info: RawInfo, accepted: readonly string[], index?: number): void {
  if (info.imageType === undefined) return;
  if (!accepted.includes(info.imageType.toUpperCase())) {
    throw badInput(task, context, connection, `image type '${info.imageType}' is not ${accepted.join(' or ')}`, index);
  }
}

/** Header keywords that describe a raw file's structure or checksum rather than the exposure. */
const STRUCTURAL = /^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|BZERO|BSCALE|BLANK|PCOUNT|GCOUNT|XTENSION|EXTNAME|CHECKSUM|DATASUM|INHERIT)$/;

/** Primary-WCS keywords (FITS WCS Papers I-II, SIP, TPV); alternates ('A'...) are not carried. */
const WCS_KEY = /^(WCSAXES|CTYPE\d|CUNIT\d|CRVAL\d|CRPIX\d|CDELT\d|CROTA\d|CD\d_\d|PC\d_\d|PV\d_\d+|PS\d_\d+|LONPOLE|LATPOLE|RADESYS|RADECSYS|EQUINOX|EPOCH|WCSNAME|(A|B|AP|BP)_ORDER|(A|B|AP|BP)_\d+_\d+|(A|B)_DMAX)$/;

/** Amplifier-layout keywords of a raw (they describe raw pixels, which a processed image no longer has). */
const AMPLIFIER_KEY = /^(DATASEC|TRIMSEC|BIASSEC|PRESEC|POVSEC|DETSEC|AMPNAME|GAIN|RDNOISE|SATURAT)\d+$/;

/** The raw header's WCS cards (the nominal WCS), for an Exposure's wcsHeader. */
export function wcsCards(header: FitsHeader): FitsHeader {
  return new FitsHeader(header.cards.filter((c) => !c.commentary && WCS_KEY.test(c.key)).map((c) => ({ ...c })));
}

/** The raw header without structure, checksum, WCS and amplifier-layout cards: the exposure's metadata. */
export function exposureMetadata(header: FitsHeader): FitsHeader {
  return new FitsHeader(header.cards.filter((c) => c.commentary || !(STRUCTURAL.test(c.key) || WCS_KEY.test(c.key) || AMPLIFIER_KEY.test(c.key))).map((c) => ({ ...c })));
}
