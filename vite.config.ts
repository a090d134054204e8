import { defineConfig } from 'vite';

// The browser app lives in web/; it imports lib/ and the wasm from build/ (made by `npm run build:wasm`).
export default defineConfig({
  root: 'web',
  base: './',
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
  },
  worker: { format: 'es' },
  server: { fs: { allow: ['..'] } },
});
