/** A minimal Server-Sent Events reader over fetch, for tests: frames as they arrive, comments included. */

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  /** The text of a comment line (`: heartbeat`). */
  comment?: string;
}

export interface SseConnection {
  status: number;
  headers: Headers;
  /** The body as JSON, for an error answer (not an event stream). */
  json(): Promise<Record<string, unknown>>;
  /** The next frame; undefined once the server ended the stream. */
  next(): Promise<SseFrame | undefined>;
  /** Every frame until the server ends the stream. */
  rest(): Promise<SseFrame[]>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string>): Promise<SseConnection> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  let reader: ReadableStreamDefaultReader<string> | undefined;
  let buffer = '';
  const pending: SseFrame[] = [];
  let done = false;

  const parse = (block: string): SseFrame[] => {
    const frame: SseFrame = {};
    const comments: SseFrame[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push({ comment: line.slice(1).trim() });
      const match = /^(id|event|data): ?(.*)$/.exec(line);
      if (match) frame[match[1] as 'id' | 'event' | 'data'] = match[2];
    }
    return Object.keys(frame).length ? [...comments, frame] : comments;
  };

  const next = async (): Promise<SseFrame | undefined> => {
    for (;;) {
      if (pending.length) return pending.shift();
      if (done) return undefined;
      const cut = buffer.indexOf('\n\n');
      if (cut >= 0) {
        pending.push(...parse(buffer.slice(0, cut)));
        buffer = buffer.slice(cut + 2);
        continue;
      }
      reader ??= response.body!.pipeThrough(new TextDecoderStream()).getReader();
      const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done) done = true;
      else buffer += chunk.value;
    }
  };

  return {
    status: response.status,
    headers: response.headers,
    json: async () => (await response.json()) as Record<string, unknown>,
    next,
    async rest() {
      const frames: SseFrame[] = [];
      for (let frame = await next(); frame; frame = await next()) frames.push(frame);
      return frames;
    },
    close: () => controller.abort(),
  };
}
