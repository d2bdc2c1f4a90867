/**
 * The API's description, served: the OpenAPI document at GET /api/openapi.json (no
 * credentials) and a reference page rendered from it at GET /docs. The page is swagger-ui,
 * every asset of it served from the @fastify/swagger-ui package on this machine (no CDN:
 * the service runs offline), handed the same document as a static specification.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { buildOpenApiDocument, OPENAPI_URL, type JsonObject } from './openapi.js';

export const DOCS_PAGE_URL = '/docs';

let built: { document: JsonObject; body: string } | undefined;

/** Built once per process: the same code always gives the same document. */
function theDocument(): { document: JsonObject; body: string } {
  if (!built) {
    const document = buildOpenApiDocument();
    built = { document, body: JSON.stringify(document) };
  }
  return built;
}

export async function registerApiDocs(app: FastifyInstance): Promise<void> {
  const { document, body } = theDocument();
  app.get(OPENAPI_URL, { config: { public: true } }, async (_request, reply) =>
    reply.header('Content-Type', 'application/json; charset=utf-8').send(body),
  );

  // Handed over as is (a static specification is never rewritten); its type names OpenAPI 3.0 only.
  const specification: fastifySwagger.StaticDocumentSpec = { document: structuredClone(document) as unknown as fastifySwagger.StaticDocumentSpec['document'] };
  await app.register(fastifySwagger, { mode: 'static', specification });
  await app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PAGE_URL,
    // No "valid" badge: swagger-ui would fetch it from a validator on the internet.
    validatorUrl: false,
    uiConfig: { deepLinking: true, docExpansion: 'list', defaultModelsExpandDepth: 0, tryItOutEnabled: false },
    theme: { title: 'notepad-export API' },
  });
}
