// `node serve.mjs --port N`: webpack-dev-server (its defaults: in-memory output, hot reload)
// with the same webpack config in development mode, serving public/ and the page.
import { mkdirSync, writeFileSync } from 'node:fs';
import webpack from 'webpack';
import WebpackDevServer from 'webpack-dev-server';
import config, { page } from './webpack.config.mjs';

const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
mkdirSync('page', { recursive: true });
writeFileSync('page/index.html', page());
const compiler = webpack({ ...config, mode: 'development' });
await new WebpackDevServer({ host: '127.0.0.1', port, static: ['public', 'page'] }, compiler).start();
