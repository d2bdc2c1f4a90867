/**
 * `notepad-export export …`: the user's command line (the package's bin, bin/notepad-export.mjs).
 * It talks to a running server over HTTP through the typed client's exportPdf: creates the
 * export (idempotently), follows it by the watch subscription, writes the PDF. Progress goes
 * to stderr (a bar on a terminal, a line per change otherwise); `--json` prints one JSON object
 * on stdout. Ctrl-C cancels the job on the server. Exit codes: 0 done, 1 the export failed,
 * 2 a usage error, 130 cancelled.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createNotepadClient, exportPdf, NotepadClientError, type CreateExportJobRequest, type ExportJobProgress } from './index.js';

const USAGE = `usage: notepad-export export --url URL --token TOKEN
         (--document RID | --generation-job RID --template RID)
         --locale LOCALE --timezone ZONE [-o FILE.pdf] [--json]`;

export class UsageError extends Error {}

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Aborts on Ctrl-C. */
  signal: AbortSignal;
}

interface ExportArgs {
  url: string;
  token: string;
  request: CreateExportJobRequest;
  output: string | undefined;
  json: boolean;
}

function parseExportArgs(argv: string[]): ExportArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      document: { type: 'string' },
      'generation-job': { type: 'string' },
      template: { type: 'string' },
      locale: { type: 'string' },
      timezone: { type: 'string' },
      output: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const required = (name: 'url' | 'token' | 'locale' | 'timezone'): string => {
    const value = values[name];
    if (!value) throw new UsageError(`--${name} is required`);
    return value;
  };
  const generationJob = values['generation-job'];
  if (values.document && (generationJob || values.template)) throw new UsageError('give either --document or --generation-job with --template, not both');
  if (!values.document && !(generationJob && values.template)) throw new UsageError('give --document RID, or --generation-job RID with --template RID');
  const exportJobSource: CreateExportJobRequest['exportJobSource'] = values.document
    ? { type: 'documentSource', documentRid: values.document }
    : { type: 'generationJobSource', generationJobRid: generationJob!, templateRid: values.template! };
  return {
    url: required('url'),
    token: required('token'),
    request: { exportJobSource, exportJobTarget: { type: 'pdf', userLocale: required('locale'), userTimezone: required('timezone') } },
    output: values.output,
    json: values.json === true,
  };
}

const STAGES: ExportJobProgress['stage'][] = ['queued', 'rendering', 'storing'];

/** The progress display: a redrawn bar on a terminal, a line per change otherwise, nothing with --json. */
function progressReporter(io: CliIo, json: boolean) {
  let last = '';
  let drawn = false;
  return {
    update(progress: ExportJobProgress) {
      if (json) return;
      const text = progress.stage === 'rendering' ? `rendering, ${progress.pagesRendered} page${progress.pagesRendered === 1 ? '' : 's'}` : progress.stage;
      if (text === last) return;
      last = text;
      if (io.stderr.isTTY) {
        const done = STAGES.indexOf(progress.stage) + 1;
        const bar = '█'.repeat(done * 8).padEnd(STAGES.length * 8 + 8, '░');
        io.stderr.write(`\r\x1b[2K${bar} ${text}`);
        drawn = true;
      } else {
        io.stderr.write(`${text}\n`);
      }
    },
    finish() {
      if (drawn) io.stderr.write('\r\x1b[2K');
    },
  };
}

/** Runs the CLI; returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || (command === 'export' && (rest.includes('--help') || rest.includes('-h')))) {
    io.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  let args: ExportArgs;
  try {
    if (command !== 'export') throw new UsageError(`unknown command: ${command}`);
    args = parseExportArgs(rest);
  } catch (error) {
    io.stderr.write(`notepad-export: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }

  const client = createNotepadClient({ url: args.url, token: args.token });
  const progress = progressReporter(io, args.json);
  try {
    const result = await exportPdf(client, args.request, { signal: io.signal, onProgress: (p) => progress.update(p) });
    progress.finish();
    const file = args.output ?? `${result.job.rid.slice(result.job.rid.lastIndexOf('.') + 1)}.pdf`;
    await writeFile(file, result.bytes);
    const summary = { exportJobRid: result.job.rid, fileRid: result.fileRid, file, bytes: result.bytes.length };
    if (args.json) io.stdout.write(`${JSON.stringify(summary)}\n`);
    else io.stderr.write(`wrote ${file} (${result.bytes.length} bytes)\n`);
    return 0;
  } catch (error) {
    progress.finish();
    const cancelled = io.signal.aborted;
    const errorName = cancelled ? 'Cancelled' : error instanceof NotepadClientError ? error.errorName : 'Error';
    const message = cancelled ? 'the export was cancelled; the job was cancelled on the server' : error instanceof Error ? error.message : String(error);
    if (args.json) io.stdout.write(`${JSON.stringify({ error: { errorName, message, ...(error instanceof NotepadClientError ? { errorCode: error.errorCode, parameters: error.parameters } : {}) } })}\n`);
    io.stderr.write(`notepad-export: ${errorName}: ${message}\n`);
    return cancelled ? 130 : 1;
  }
}
