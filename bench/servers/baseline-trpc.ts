/**
 * Baseline for tRPC create: a stock tRPC v11 router on the stock Fastify adapter, one
 * trivial mutation at the same path, fed the same body. What remains between this and the
 * service is the service's own work (auth, zod, SQL), not tRPC's.
 *
 * Listens on 127.0.0.1, port 0; prints {"port": n}.
 */
import { randomUUID } from 'node:crypto';
import { initTRPC } from '@trpc/server';
import { fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import Fastify from 'fastify';

const t = initTRPC.create();
const router = t.router({
  notepad: t.router({
    exportJobs: t.router({
      // An identity parser, so the body is read and parsed as the service's zod input would be.
      create: t.procedure
        .input((value: unknown) => value)
        .mutation(() => ({ rid: `ri.notepad.main.export-job.${randomUUID()}`, status: { type: 'running' as const } })),
    }),
  }),
});

const app = Fastify({ logger: false });
await app.register(fastifyTRPCPlugin, { prefix: '/trpc', trpcOptions: { router, createContext: () => ({}) } });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
