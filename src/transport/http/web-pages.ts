import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import { type Config, PROJECT_ROOT } from '../../config.js';
import { registerDevelopmentTokens } from './development-tokens.js';

/** Where `npm run build:web` puts the pages and their bundles (web/build.mjs). */
const ASSETS_DIR = path.join(PROJECT_ROOT, 'dist', 'web');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * Nothing but the gateway itself: scripts, styles, fonts (inline), GraphQL over HTTP and websocket.
 * Styles allow inline attributes, which GraphiQL's editor sets.
 */
const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

interface Asset {
  body: Buffer;
  gzip?: Buffer;
  type: string;
  etag: string;
}

// Per process and folder: the built pages do not change under a running gateway, and each gateway
// started in a process (the tests start some hundred) hashed the same few megabytes again.
const loaded = new Map<string, Map<string, Asset>>();

function loadAssets(dir: string): Map<string, Asset> {
  const known = loaded.get(dir);
  if (known) return known;
  const assets = new Map<string, Asset>();
  if (!existsSync(dir)) return assets;
  loaded.set(dir, assets);
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[path.extname(name)];
    if (!type) continue;
    const body = readFileSync(path.join(dir, name));
    const gzipFile = path.join(dir, `${name}.gz`);
    assets.set(name, {
      body,
      type,
      gzip: existsSync(gzipFile) ? readFileSync(gzipFile) : undefined,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    });
  }
  return assets;
}

/** A browser asking for a page: GET, HTML accepted, and not a GraphQL query sent by GET. */
const wantsPage = (request: IncomingMessage): boolean =>
  request.method === 'GET' && /\btext\/html\b/.test(String(request.headers.accept ?? '')) && !/[?&]query=/.test(request.url ?? '');

/** What `registerWebPages` serves and from where. */
export interface WebPagesOptions {
  /** Decides whether the explorer is served and whether the development token door opens. */
  config: Config;
  /** Built pages; default dist/web. */
  assetsDir?: string;
}

/**
 * The offline explorer (a browser's GET /graphql), the live prescription board (/board), their
 * bundles (/ui/*) and, outside production with the development secret, the "sign in as" token door.
 * Pages and bundles are public (they hold nothing); every GraphQL call they make carries a token.
 */
export function registerWebPages<Logger extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>,
  options: WebPagesOptions,
): void {
  const { config } = options;
  const assets = loadAssets(options.assetsDir ?? ASSETS_DIR);

  const send = (request: FastifyRequest, reply: FastifyReply, name: string) => {
    const asset = assets.get(name);
    if (!asset) {
      return reply.code(503).send({
        error: 'SERVICE_UNAVAILABLE',
        message: `The web pages are not built (${name} is missing): run npm run build:web (npm run build does it too).`,
      });
    }
    reply.header('ETag', asset.etag).header('Cache-Control', 'no-cache').header('Vary', 'Accept-Encoding').type(asset.type);
    if (asset.type.startsWith('text/html')) reply.header('Content-Security-Policy', PAGE_CSP);
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    if (asset.gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) return reply.header('Content-Encoding', 'gzip').send(asset.gzip);
    return reply.send(asset.body);
  };

  if (config.graphqlExplorer) {
    // The explorer shares its path with the GraphQL endpoint: a constraint picks it for browsers only,
    // before the endpoint's authentication, and every other request goes on to GraphQL as before.
    app.addConstraintStrategy({
      name: 'page',
      storage() {
        const handlers = new Map<string, unknown>();
        return { get: (value: string) => (handlers.get(value) ?? null) as never, set: (value: string, handler: unknown) => void handlers.set(value, handler) };
      },
      deriveConstraint: (request: IncomingMessage) => (wantsPage(request) ? 'html' : undefined) as unknown as string,
      mustMatchWhenDerived: false,
    });
    app.get('/graphql', { constraints: { page: 'html' } }, (request, reply) => send(request, reply, 'explorer.html'));
  }
  app.get('/board', (request, reply) => send(request, reply, 'board.html'));
  app.get<{ Params: { file: string } }>('/ui/:file', (request, reply) => {
    const name = request.params.file;
    if (name.endsWith('.html') || !assets.has(name)) return reply.code(404).send({ error: 'NOT_FOUND', message: `Nothing at ${request.method} /ui/${name}.` });
    return send(request, reply, name);
  });
  registerDevelopmentTokens(app, config);
}
