// Builds the dashboard into dashboard/dist, which the hub serves at `/`.
// `npm run dev -w @iot-hub/dashboard` serves it with hot reload and proxies
// the API and the live socket to a running hub (HUB_URL, default :8080).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const hubUrl = process.env.HUB_URL ?? 'http://localhost:8080';
const hubOrigin = new URL(hubUrl).origin;

export default defineConfig({
  root,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    proxy: {
      '/api': { target: hubUrl, changeOrigin: true },
      '/healthz': { target: hubUrl, changeOrigin: true },
      '/ws': {
        target: hubUrl,
        ws: true,
        changeOrigin: true,
        // The hub refuses dashboard sockets from other origins; through this
        // proxy the page's origin is the dev server's, so present the hub's own.
        configure: (proxy) => {
          proxy.on('proxyReqWs', (proxyReq) => proxyReq.setHeader('origin', hubOrigin));
        },
      },
    },
  },
});
