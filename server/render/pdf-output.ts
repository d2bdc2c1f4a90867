/**
 * A rendered PDF's bytes: pdfkit's output stream collected as it is produced, with the
 * page and byte limits checked while the document grows, so an oversized render stops at
 * the first page too many instead of after building the whole document.
 */
import { once } from 'node:events';
import type PDFDocument from 'pdfkit';
import { ContentTooLargeError } from './errors.js';

type Doc = InstanceType<typeof PDFDocument>;

export interface OutputLimits {
  maxPages?: number | undefined;
  maxBytes?: number | undefined;
}

export class PdfOutput {
  private readonly sink = new ByteSink();
  private byteCount = 0;
  private pages = 0;
  private previousPage: unknown;

  private constructor(
    private readonly doc: Doc,
    private readonly limits: OutputLimits,
  ) {}

  /** Starts collecting `doc`'s output. Call before anything is drawn; resolves once its stream flows. */
  static async of(doc: Doc, limits: OutputLimits = {}): Promise<PdfOutput> {
    const output = new PdfOutput(doc, limits);
    const { maxPages, maxBytes } = limits;
    doc.on('data', (chunk: Uint8Array) => {
      output.byteCount += chunk.length;
      // Past the limit the output is going to be rejected: stop holding on to it.
      if (maxBytes === undefined || output.byteCount <= maxBytes) output.sink.write(chunk);
    });

    // Let the stream start flowing before rendering, which never yields: until Readable has
    // run its first read, every chunk pdfkit pushes is queued inside the stream instead of
    // reaching the sink, and the whole uncompacted output would sit there until the end.
    await new Promise<void>((resolve) => setImmediate(resolve));

    doc.on('pageAdded', () => {
      output.pages++;
      // Thrown from inside doc.addPage(), so rendering stops at the first page too many.
      if (maxPages !== undefined && output.pages > maxPages) throw new ContentTooLargeError('pages', maxPages);
      // Finished pages are written out as we go (see sealPageContent), so bytes can stop us early too.
      if (maxBytes !== undefined && output.byteCount > maxBytes) throw new ContentTooLargeError('bytes', maxBytes);
      if (output.previousPage) sealPageContent(doc, output.previousPage);
      output.previousPage = doc.page;
    });
    return output;
  }

  /** Pages added so far. */
  get pageCount(): number {
    return this.pages;
  }

  /** Ends the document and returns its bytes, unless they came to more than the byte limit. */
  async finish(): Promise<Uint8Array> {
    const { maxBytes } = this.limits;
    const ended = once(this.doc, 'end');
    this.doc.end();
    await ended;
    if (maxBytes !== undefined && this.byteCount > maxBytes) throw new ContentTooLargeError('bytes', maxBytes);
    return this.sink.toBytes();
  }
}

/**
 * Collects pdfkit's output. Its chunks are tiny (one per PDF line) or views that pin far
 * larger buffers (zlib.deflateSync hands back a slice of a 16 KiB block for every page
 * stream), so holding on to them costs many times the PDF's size. Copy them into big
 * segments instead, and join once at the end into an exactly-sized buffer of our own
 * (Buffer.concat may return a slice of Node's shared pool, which must not be transferred
 * out of a worker).
 */
class ByteSink {
  private static readonly SEGMENT = 1 << 20;
  private readonly segments: Uint8Array[] = [];
  private current = new Uint8Array(0);
  private used = 0;
  private total = 0;

  write(chunk: Uint8Array): void {
    this.total += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.used === this.current.length) {
        if (this.current.length > 0) this.segments.push(this.current);
        this.current = new Uint8Array(Math.max(ByteSink.SEGMENT, chunk.length - offset));
        this.used = 0;
      }
      const n = Math.min(chunk.length - offset, this.current.length - this.used);
      this.current.set(chunk.subarray(offset, offset + n), this.used);
      this.used += n;
      offset += n;
    }
  }

  toBytes(): Uint8Array {
    const out = new Uint8Array(this.total);
    let offset = 0;
    for (const segment of this.segments) {
      out.set(segment, offset);
      offset += segment.length;
    }
    out.set(this.current.subarray(0, this.used), offset);
    return out;
  }
}

/**
 * With bufferPages, pdfkit holds every page's content stream (as one small Uint8Array per
 * operator) until the end, which at thousands of pages costs hundreds of MB. Once we have
 * moved past a page, end its stream now (pdfkit deflates and writes it out) and give the
 * page a second, empty stream for the footer; a page's /Contents may be an array of
 * streams, read as their concatenation. pdfkit internals: if they ever change shape, skip.
 */
function sealPageContent(doc: Doc, page: unknown): void {
  const internals = page as { content?: { end?: unknown }; dictionary?: { data?: { Contents?: unknown } } };
  const sealed = internals.content;
  const data = internals.dictionary?.data;
  if (!sealed || typeof sealed.end !== 'function' || !data || data.Contents !== sealed) return;
  const footer = doc.ref({});
  (sealed.end as () => void)();
  internals.content = footer as typeof sealed;
  data.Contents = [sealed, footer];
}
