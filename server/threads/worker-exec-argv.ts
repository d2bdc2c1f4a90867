import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** Whether the calling module runs as TypeScript (so its worker entry must, too). */
export const isTypeScriptModule = (moduleUrl: string): boolean => moduleUrl.endsWith('.ts');

/**
 * The entry file of a worker that sits beside `moduleUrl`: `name.ts` while the code runs as
 * TypeScript, `name.js` if it is ever compiled.
 */
export function workerEntry(moduleUrl: string, name: string): URL {
  return new URL(`./${name}${isTypeScriptModule(moduleUrl) ? '.ts' : '.js'}`, moduleUrl);
}

/**
 * Worker threads do not inherit module loaders registered at run time, only the flags
 * they are started with. Under `tsx server/main.ts` tsx's `--import`/`--require` flags
 * are already in execArgv, and leaving execArgv undefined makes the worker inherit them.
 * Elsewhere (vitest transforms TypeScript in-process) the worker needs tsx itself,
 * resolved to a file URL so that it does not depend on the current directory.
 */
export function workerExecArgv(moduleUrl: string): string[] | undefined {
  if (!isTypeScriptModule(moduleUrl)) return undefined;
  if (process.execArgv.some((arg) => /(^|[\\/@=])tsx([\\/]|$)/.test(arg))) return undefined;
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return ['--import', loader];
}
