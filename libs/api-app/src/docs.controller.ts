import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, Header, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { notFound, Public } from '@caseline/api-platform';

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Caseline API</title><link rel="stylesheet" href="/api/docs/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/swagger-ui-standalone-preset.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/api/docs-json', dom_id: '#ui', presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout', persistAuthorization: true });</script>
</body></html>`;

/**
 * The OpenAPI page at /api/docs (the document itself is at /api/docs-json). Served from the
 * swagger-ui-dist package by this controller rather than a static-files plugin: three fixed
 * files, read once, nothing else on disk reachable.
 */
@ApiExcludeController()
@Public()
@Controller('api/docs')
export class DocsController {
  private readonly cache = new Map<string, Buffer>();

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return PAGE;
  }

  @Get(':asset')
  asset(@Param('asset') asset: string, @Res() reply: FastifyReply): void {
    const type = ASSETS[asset];
    if (!type) throw notFound('document');
    let body = this.cache.get(asset);
    if (!body) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const root: string = require('swagger-ui-dist').getAbsoluteFSPath();
      body = readFileSync(join(root, asset));
      this.cache.set(asset, body);
    }
    void reply.header('content-type', type).header('cache-control', 'public, max-age=86400').send(body);
  }
}
