// `node build.mjs`: webpack through its Node API, then the page and public/ into dist/.
import { cpSync, writeFileSync, readFileSync } from 'node:fs';
import webpack from 'webpack';
import config from './webpack.config.mjs';

const stats = await new Promise((resolve, reject) => webpack(config, (err, s) => (err ? reject(err) : resolve(s))));
if (stats.hasErrors()) throw new Error(stats.toString('errors-only'));
cpSync('public', 'dist', { recursive: true });
// webpack's output is a classic script.
writeFileSync('dist/index.html', readFileSync('index.html', 'utf8').replace('<script type="module" src="./main.js">', '<script defer src="./main.js">'));
