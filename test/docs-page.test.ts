import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.js';
import { createTestEnv, type TestEnv } from './helpers.js';

let env: TestEnv;
let app: Awaited<ReturnType<typeof buildApp>>;

beforeAll(async () => {
  env = await createTestEnv();
  app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
});
afterAll(async () => {
  await app.close();
  env.cleanup();
});

/** The URLs a page's src and href attributes name, but in-page anchors. */
const assetsOf = (html: string) => [...html.matchAll(/\b(?:src|href)="([^"#][^"]*)"/g)].map((m) => m[1]!);

describe('GET /docs, the API reference page', () => {
  it('is served without credentials, every asset from this server (nothing from a CDN)', async () => {
    const page = await app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const assets = assetsOf(page.body);
    expect(assets.length).toBeGreaterThanOrEqual(5);
    for (const asset of assets) {
      expect(asset, 'a path on this server').toMatch(/^\/docs\/static\//);
      const response = await app.inject({ method: 'GET', url: asset });
      expect(response.statusCode, asset).toBe(200);
      expect(response.rawPayload.length, asset).toBeGreaterThan(0);
    }
    expect(assets).toEqual(expect.arrayContaining(['/docs/static/swagger-ui-bundle.js', '/docs/static/swagger-initializer.js', '/docs/static/swagger-ui.css']));
  });

  it('renders the served OpenAPI document, with no online validator badge', async () => {
    const initializer = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(initializer.body).toContain("url: resolveUrl('./json')");
    expect(initializer.body).toMatch(/validatorUrl: null/);
    const [fromDocs, fromApi] = await Promise.all([app.inject({ method: 'GET', url: '/docs/json' }), app.inject({ method: 'GET', url: '/api/openapi.json' })]);
    expect(fromDocs.statusCode).toBe(200);
    expect(fromDocs.json()).toEqual(fromApi.json());
  });

  it('answers an asset it does not have with the contract 404', async () => {
    const response = await app.inject({ method: 'GET', url: '/docs/static/no-such-file.js' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ errorCode: 'NOT_FOUND', errorName: 'Default:NotFound' });
  });
});
