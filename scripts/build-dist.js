// `npm run build`, and the prepare script of `npm ci`: compiles the sources into dist/ (scripts/dist.js).
import { buildDist } from './dist.js';

buildDist();
