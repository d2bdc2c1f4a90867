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
  private readonly sink: ByteSink;
  private byteCount = 0;
  private pages = 0;
  private previousPage: unknown;

  private constructor(
    private readonly doc: Doc,
    private readonly limits: OutputLimits,
  ) {
    this.sink = new ByteSink(limits.maxBytes);
  }

  /** Starts collecting `doc`'s output. Call before anything is drawn; resolves once its stream flows. */
  static async of(doc: Doc, limits: OutputLimits = {}): Promise<PdfOutput> {
    const output = new PdfOutput(doc, limits);
    const { maxPages, maxBytes } = limits;
    doc.on('data', (chunk: Uint8Array) => output.accept(chunk));

    // Let the stream start flowing before rendering, which never yields: until Readable has
    // run its first read, every chunk pdfkit pushes is queued inside the stream instead of
    // reaching the sink, and the whole uncompacted output would sit there until the end.
    await new Promise<void>((resolve) => setImmediate(resolve));
    writeDirectly(doc, output);

    doc.on('pageAdded', () => {
      output.pages++;
      // Thrown from inside doc.addPage(), so rendering stops at the first page too many.
      if (maxPages !== undefined && output.pages > maxPages) throw new ContentTooLargeError('pages', maxPages);
      // Finished pages are written out as we go (see sealPageContent), so bytes can stop us early too.
      if (maxBytes !== undefined && output.byteCount > maxBytes) throw new ContentTooLargeError('bytes', maxBytes);
      if (output.previousPage) sealPageContent(doc, output.previousPage);
      output.previousPage = doc.page;
      batchContentWrites((doc.page as unknown as { content?: unknown }).content);
    });
    return output;
  }

  /** Output bytes, in order: from the stream, or straight from pdfkit (writeDirectly). */
  accept(chunk: Uint8Array | string): void {
    const length = chunk.length;
    this.byteCount += length;
    // Past the limit the output is going to be rejected: stop holding on to it.
    if (this.limits.maxBytes !== undefined && this.byteCount > this.limits.maxBytes) return;
    if (typeof chunk === 'string') this.sink.writeLatin1(chunk);
    else this.sink.write(chunk);
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
 * stream), so holding on to them costs many times the PDF's size. Copy them instead into
 * one resizable ArrayBuffer, which grows in place (its address range is reserved up to
 * its maximum, and pages are committed as they are written). A large PDF is cut to the
 * exact size at the end: held once, never joined from pieces into a second copy, which at
 * 2,000 tagged pages (25 MB) was the difference between meeting the peak-memory target
 * and not; a small one is copied out (toBytes). Either buffer is ours alone, so the worker
 * may transfer it (Buffer.concat may return a slice of Node's shared pool, which must not be).
 */
export class ByteSink {
  /** Grow by at least this much, so that a run of tiny chunks does not resize on each. */
  private static readonly STEP = 1 << 20;
  /** The reservation when the render has no byte limit: address space, not memory. */
  private static readonly UNLIMITED = 2 ** 32;
  /** Pending strings are written out at this length: long enough to batch many lines, short enough not to count in memory. */
  private static readonly PENDING = 1 << 16;
  /** Up to this size the finished PDF is copied into a buffer of its own instead of cut in place (toBytes). */
  static readonly COPY_OUT = 4 << 20;
  private readonly buffer: ResizableArrayBuffer;
  private bytes: Buffer;
  private used = 0;

  constructor(maxBytes: number | undefined) {
    // Past the limit the sink is no longer written (PdfOutput), so the limit is its largest size.
    const max = maxBytes === undefined ? ByteSink.UNLIMITED : Math.max(maxBytes, 0);
    this.buffer = new (ArrayBuffer as unknown as ResizableArrayBufferConstructor)(0, { maxByteLength: max });
    this.bytes = Buffer.from(this.buffer, 0, 0);
  }

  /**
   * Strings not yet copied into the buffer: pdfkit writes an object as several short lines,
   * and a Buffer.write per line cost more than the copying; they are joined here and
   * written in one go.
   */
  private pending = '';

  write(chunk: Uint8Array): void {
    this.flush();
    this.reserve(chunk.length);
    this.bytes.set(chunk, this.used);
    this.used += chunk.length;
  }

  /** A string of bytes, one per UTF-16 code unit (its low byte), as pdfkit writes them. */
  writeLatin1(text: string): void {
    this.pending += text;
    if (this.pending.length >= ByteSink.PENDING) this.flush();
  }

  private flush(): void {
    const text = this.pending;
    if (text.length === 0) return;
    this.pending = '';
    this.reserve(text.length);
    this.used += this.bytes.write(text, this.used, 'latin1');
  }

  private reserve(length: number): void {
    const needed = this.used + length;
    if (needed <= this.buffer.byteLength) return;
    this.buffer.resize(Math.min(Math.max(needed, this.buffer.byteLength + ByteSink.STEP, Math.floor(this.buffer.byteLength * 1.25)), this.buffer.maxByteLength));
    this.bytes = Buffer.from(this.buffer, 0, this.buffer.byteLength);
  }

  toBytes(): Uint8Array {
    this.flush();
    // Shrinking a resizable buffer hands its slack back page by page, which costs far more
    // than copying a small PDF out (a tenth of a render of the demo document, against a
    // copy of tens of microseconds). A large one is cut in place: a copy would hold it twice.
    if (this.used <= ByteSink.COPY_OUT) return new Uint8Array(this.bytes.subarray(0, this.used));
    this.buffer.resize(this.used);
    return new Uint8Array(this.buffer);
  }
}

/** ES2024's resizable ArrayBuffer (Node 20 has it; the project's lib is ES2023). */
interface ResizableArrayBuffer extends ArrayBuffer {
  readonly maxByteLength: number;
  resize(byteLength: number): void;
}
interface ResizableArrayBufferConstructor {
  new (byteLength: number, options: { maxByteLength: number }): ResizableArrayBuffer;
}

/**
 * Has pdfkit hand its output straight to `output` instead of pushing it through its
 * Readable stream: a push per PDF line (three or more per object), each turned into a
 * Buffer, queued and emitted, was ~5% of a render, and tagging adds an object per block
 * and table cell. pdfkit's `_write` turns strings into bytes one char code at a time and
 * keeps `_offset` for the xref table; this does both (Node's latin1 is the same low-byte
 * mapping), and the stream still ends as before (push(null)). Only once the stream has
 * delivered what the constructor pushed, so the bytes stay in order. pdfkit internals: if
 * they ever change shape, the stream path stays.
 */
function writeDirectly(doc: Doc, output: PdfOutput): void {
  const internals = doc as unknown as { _write?: unknown; _offset?: unknown; readableLength: number };
  if (typeof internals._write !== 'function' || typeof internals._offset !== 'number' || internals.readableLength !== 0) return;
  const state = internals as { _offset: number };
  internals._write = (data: Uint8Array | string) => {
    if (typeof data === 'string') {
      const line = `${data}\n`;
      output.accept(line);
      state._offset += line.length;
    } else {
      output.accept(data);
      state._offset += data.length;
    }
  };
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
  batchContentWrites(footer);
  (sealed.end as () => void)();
  internals.content = footer as typeof sealed;
  data.Contents = [sealed, footer];
}

/**
 * pdfkit turns every content-stream operator into its own Uint8Array as it is written (one
 * char code at a time), and joins them all when the stream ends; tagging multiplied the
 * operators on a page (the marked-content operators around every element's text). Operators are
 * gathered here as one string instead and turned into bytes once, when the stream ends or
 * before any bytes written as bytes, with pdfkit's own write: the same bytes in the same
 * order (Node's latin1 keeps the low byte of each char code, as pdfkit does). pdfkit
 * internals: if they ever change shape, streams are written as before.
 */
function batchContentWrites(stream: unknown): void {
  const ref = stream as { write?: unknown; finalize?: unknown };
  const write = ref.write;
  const finalize = ref.finalize;
  if (typeof write !== 'function' || typeof finalize !== 'function') return;
  let pending = '';
  const flush = () => {
    if (pending.length === 0) return;
    const bytes = Buffer.from(pending, 'latin1');
    pending = '';
    write.call(ref, bytes);
  };
  ref.write = (chunk: unknown) => {
    if (chunk instanceof Uint8Array) {
      flush();
      write.call(ref, chunk);
    } else {
      pending += `${chunk as string}\n`;
    }
  };
  ref.finalize = () => {
    flush();
    finalize.call(ref);
  };
}
