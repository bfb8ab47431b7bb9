import type { ServerResponse } from "node:http";

/** Answers larger than this are written a slice at a time (endInSlices). */
export const WRITE_SLICE_BYTES = 64 * 1024;

/**
 * Ends `res` with `pieces`, its headers already written with their total length. A small answer goes in one write. A
 * larger one goes a slice of at most WRITE_SLICE_BYTES per write, the next slice once the previous one reached the
 * kernel: a socket write is synchronous for as much as the kernel takes, and on loopback the kernel passes a whole
 * megabyte on inside that one writev (profile of bench:abuse, formats (email): 10–25 ms per 1 MB answer on the
 * loaded 2-core machine), so ten such answers finishing in one event-loop turn held it for their sum. Slices bound
 * each turn's share; no piece is copied (`subarray`). A client gone mid-answer stops the writing.
 */
export function endInSlices(res: ServerResponse, pieces: readonly Buffer[]): void {
  const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
  if (total <= WRITE_SLICE_BYTES) {
    res.end(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, total));
    return;
  }
  let index = 0;
  let offset = 0;
  const next = (error?: Error | null): void => {
    if (error || res.destroyed) return;
    const piece = pieces[index]!;
    const slice = piece.subarray(offset, offset + WRITE_SLICE_BYTES);
    offset += slice.length;
    if (offset >= piece.length) {
      index++;
      offset = 0;
    }
    if (index >= pieces.length) res.end(slice);
    else res.write(slice, next);
  };
  next();
}
