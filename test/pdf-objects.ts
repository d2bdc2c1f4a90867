/**
 * Reads a PDF's objects through its cross-reference table, for what pdfjs does not expose
 * (font dictionaries, the output intent, the trailer, attribute dictionaries). Only what
 * pdfkit writes: one classic xref section, dictionaries in plain text, streams maybe
 * Flate-compressed. Test-only.
 */
import { inflateSync } from 'node:zlib';

export interface PdfObject {
  id: number;
  /** The object's text up to `stream` or `endobj` (its dictionary, array or value). */
  body: string;
  /** The stream's bytes, inflated if they were compressed. */
  stream?: Uint8Array;
}

export interface PdfObjects {
  objects: Map<number, PdfObject>;
  trailer: string;
  /** The object a `/Key n 0 R` entry of `body` refers to. */
  resolve(body: string, key: string): PdfObject | undefined;
  /** Every object whose body has `/Type /name`. */
  ofType(name: string): PdfObject[];
  root(): PdfObject;
}

export function readObjects(bytes: Uint8Array): PdfObjects {
  const buffer = Buffer.from(bytes);
  const text = buffer.toString('latin1');
  const startxref = Number(/startxref\s+(\d+)\s+%%EOF\s*$/.exec(text)?.[1]);
  if (!Number.isFinite(startxref)) throw new Error('no startxref');
  const xref = /^xref\s+0 (\d+)\s+/.exec(text.slice(startxref));
  if (!xref) throw new Error('no xref section at startxref');
  const count = Number(xref[1]);
  let at = startxref + xref[0].length;
  const objects = new Map<number, PdfObject>();
  for (let id = 0; id < count; id++) {
    const entry = text.slice(at, at + 20);
    at += 20;
    if (id === 0 || entry[17] !== 'n') continue;
    const offset = Number(entry.slice(0, 10));
    const header = `${id} 0 obj\n`;
    if (text.slice(offset, offset + header.length) !== header) throw new Error(`object ${id} is not at its xref offset`);
    const start = offset + header.length;
    const streamAt = text.indexOf('\nstream\n', start);
    const endAt = text.indexOf('\nendobj', start);
    if (streamAt !== -1 && streamAt < endAt) {
      const body = text.slice(start, streamAt);
      const length = Number(/\/Length (\d+)/.exec(body)?.[1]);
      const raw = buffer.subarray(streamAt + 8, streamAt + 8 + length);
      objects.set(id, { id, body, stream: /\/Filter \/FlateDecode/.test(body) ? inflateSync(raw) : raw });
    } else {
      objects.set(id, { id, body: text.slice(start, endAt) });
    }
  }
  const trailer = /trailer\s+(<<[\s\S]*?>>)\s+startxref/.exec(text.slice(startxref))?.[1] ?? '';
  const resolve = (body: string, key: string) => {
    const ref = new RegExp(`/${key} (\\d+) 0 R`).exec(body);
    return ref ? objects.get(Number(ref[1])) : undefined;
  };
  return {
    objects,
    trailer,
    resolve,
    ofType: (name) => [...objects.values()].filter((o) => new RegExp(`/Type /${name}\\b`).test(o.body)),
    root: () => {
      const root = resolve(trailer, 'Root');
      if (!root) throw new Error('no /Root');
      return root;
    },
  };
}

/** A page's content, its streams concatenated (pdfkit writes one or, for a finished page and its footer, two). */
export function pageContent(objects: PdfObjects, page: PdfObject): string {
  const ids = /\/Contents \[/.test(page.body) ? refsIn(page.body, 'Contents') : [Number(/\/Contents (\d+) 0 R/.exec(page.body)?.[1])];
  return ids.map((id) => Buffer.from(objects.objects.get(id)?.stream ?? new Uint8Array()).toString('latin1')).join('\n');
}

/** The referenced object ids in an array entry `/Key [a 0 R b 0 R]`. */
export function refsIn(body: string, key: string): number[] {
  const array = new RegExp(`/${key} \\[([^\\]]*)\\]`).exec(body)?.[1] ?? '';
  return [...array.matchAll(/(\d+) 0 R/g)].map((m) => Number(m[1]));
}
