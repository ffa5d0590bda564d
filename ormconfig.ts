/**
 * TypeORM data source for the TypeORM CLI (`npx typeorm -d dist/ormconfig.js migration:show`).
 * Needs DATABASE_URL; `npm run migrate` also handles the embedded database.
 */
import 'reflect-metadata';
import { createDataSource } from './src/adapters/db/data-source.js';

if (!process.env.DATABASE_URL) throw new Error('ormconfig: set DATABASE_URL (postgres://…) for the TypeORM CLI');

export default createDataSource({ url: process.env.DATABASE_URL, poolSize: 2 });
