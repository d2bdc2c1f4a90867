/**
 * A render process driven over IPC by the bench (harness.startWorker): renders with the
 * service's renderPdf (subject) or with raw pdfkit (baseline), and reports its memory.
 * Documents are built before the clock starts; only rendering is timed.
 */
import { readFileSync } from 'node:fs';
import type { Content } from '../server/contract/content.js';
import { renderPdf } from '../server/render/render-pdf.js';
import { DEMO_CONTENT } from '../server/seed.js';
import { DEMO_TITLE, mixedDocument, plainLines, RENDER_TARGET, renderPlain, scriptsDocument, type PlainLine } from './documents.js';

/** Which document a render prints: mixedDocument (the default) or scriptsDocument. */
export type BenchDocument = 'mixed' | 'scripts';

export type RenderMessage =
  | { op: 'render'; engine: 'subject' | 'baseline'; sections: number; document?: BenchDocument }
  | { op: 'renderDemo' }
  | { op: 'memory' };

export interface RenderTiming {
  ms: number;
  pageCount: number;
  bytes: number;
}

export interface MemoryReport {
  /** process.resourceUsage().maxRSS, in MB. */
  maxRssMb: number;
  /** /proc/self/status VmHWM (peak resident set), in MB, where it exists. */
  vmHwmMb: number | undefined;
  rssMb: number;
  /** Now, from process.memoryUsage(): what of the resident set is the JS heap, and what is outside it. */
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
}

const EXPORTED_AT = Date.UTC(2026, 0, 15, 12, 0, 0);

const documents = new Map<string, { content: Content; plain?: PlainLine[] }>();
function documentOf(sections: number, kind: BenchDocument = 'mixed') {
  const key = `${kind}:${sections}`;
  let doc = documents.get(key);
  if (!doc) {
    doc = { content: kind === 'scripts' ? scriptsDocument(sections) : mixedDocument(sections) };
    documents.set(key, doc);
  }
  return doc;
}

async function handle(message: RenderMessage): Promise<RenderTiming | MemoryReport> {
  switch (message.op) {
    case 'render': {
      const doc = documentOf(message.sections, message.document);
      if (message.engine === 'subject') {
        const start = performance.now();
        const result = await renderPdf({ title: 'Bench document', content: doc.content, ...RENDER_TARGET, exportedAt: EXPORTED_AT });
        return { ms: performance.now() - start, pageCount: result.pageCount, bytes: result.pdf.length };
      }
      doc.plain ??= plainLines(doc.content);
      const start = performance.now();
      const result = await renderPlain('Bench document', doc.plain);
      return { ms: performance.now() - start, pageCount: result.pageCount, bytes: result.bytes };
    }
    case 'renderDemo': {
      const start = performance.now();
      const result = await renderPdf({
        title: DEMO_TITLE,
        content: DEMO_CONTENT,
        ...RENDER_TARGET,
        exportedAt: EXPORTED_AT,
        limits: { maxPages: 5_000, maxBytes: 200 * 1024 * 1024 },
      });
      return { ms: performance.now() - start, pageCount: result.pageCount, bytes: result.pdf.length };
    }
    case 'memory': {
      let vmHwmMb: number | undefined;
      try {
        const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
        if (match) vmHwmMb = Number(match[1]) / 1024;
      } catch {
        // Not Linux.
      }
      const usage = process.memoryUsage();
      const mb = (bytes: number) => bytes / 1024 / 1024;
      return {
        maxRssMb: process.resourceUsage().maxRSS / 1024,
        vmHwmMb,
        rssMb: mb(usage.rss),
        heapUsedMb: mb(usage.heapUsed),
        heapTotalMb: mb(usage.heapTotal),
        externalMb: mb(usage.external),
      };
    }
  }
}

process.on('message', (message: RenderMessage) => {
  handle(message).then(
    (value) => process.send?.({ ok: true, value }),
    (error: unknown) => process.send?.({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
