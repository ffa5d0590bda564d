/** Writes schema/schema.graphql from the code (the subgraph SDL, federation directives included). */
import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCommandLine } from '../src/cli.js';
import { PROJECT_ROOT } from '../src/config.js';
import { printSubgraphSdl } from '../src/transport/graphql/schema.js';

parseCommandLine(
  'schema:print',
  'usage: npm run schema:print\n\nWrites schema/schema.graphql from the code.\n\noptions:\n  -h, --help   print this help and exit\n',
  {},
);

const file = path.join(PROJECT_ROOT, 'schema', 'schema.graphql');
await writeFile(file, await printSubgraphSdl());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
