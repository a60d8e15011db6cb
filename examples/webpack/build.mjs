// `node build.mjs`: webpack through its Node API, then the page and public/ into dist/.
import { cpSync, writeFileSync } from 'node:fs';
import webpack from 'webpack';
import config, { page } from './webpack.config.mjs';

const stats = await new Promise((resolve, reject) => webpack(config, (err, s) => (err ? reject(err) : resolve(s))));
if (stats.hasErrors()) throw new Error(stats.toString('errors-only'));
cpSync('public', 'dist', { recursive: true });
writeFileSync('dist/index.html', page());
