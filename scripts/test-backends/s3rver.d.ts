// @20minutes/s3rver ships no types: the slice the test backends use.
declare module '@20minutes/s3rver' {
  import type { AddressInfo } from 'node:net';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    /** Off by default: a request with a wrong signature is refused (SignatureDoesNotMatch). */
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: Array<{ name: string }>;
  }

  /** The slice of Koa's context the shim in main.ts touches. */
  interface KoaContext {
    path: string;
    mountPath: string | undefined;
    state: { vhost?: boolean };
  }
  type Middleware = (ctx: KoaContext, next: () => Promise<unknown>) => unknown;

  class S3rver {
    constructor(options?: S3rverOptions);
    /** Koa's middleware list (S3rver is a Koa application), composed when run() listens. */
    middleware: Middleware[];
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }
  export default S3rver;
}
