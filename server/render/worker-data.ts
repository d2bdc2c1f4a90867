/** What each render worker is started with (pool.ts passes it, worker.ts reads it). */
export interface RenderWorkerData {
  /** This thread's Linux nice value (pool.ts RENDER_NICENESS). */
  niceness: number;
}
