import { ownBuffer } from './unpooled.js';

// HELP texts are the same for every target of a fleet with the same intervals, yet each target
// builds its own, as a rope of template pieces: a thousand targets kept ≈ 6 MB of copies. One
// flat copy per distinct text is kept here instead; texts are few (metrics × intervals in use),
// so the table stays small without eviction.
const texts = new Map<string, string>();

/** The one shared copy of `text`. */
export function sharedText(text: string): string {
  const known = texts.get(text);
  if (known !== undefined) return known;
  texts.set(text, text);
  return text;
}

const bytes = new Map<string, Buffer>();

/** The one shared buffer of `text` (UTF-8), for headers every target writes alike. */
export function sharedBytes(text: string): Buffer {
  let known = bytes.get(text);
  if (!known) {
    known = ownBuffer(text);
    bytes.set(text, known);
  }
  return known;
}
