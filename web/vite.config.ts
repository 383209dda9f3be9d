// Vite builds the UI into web/dist, which the labelloop binary embeds and serves at "/".
// `npm run dev` proxies the API to a running `labelloop serve` (LL_SERVER, default :8080).
/// <reference types="vitest" />
import { defineConfig } from "vite";

const server = process.env.LL_SERVER || "http://127.0.0.1:8080";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", emptyOutDir: true, target: "es2020", sourcemap: false, chunkSizeWarningLimit: 300 },
  server: { proxy: { "/api": server, "/data": server, "/health": server } },
  test: { include: ["test/**/*.test.ts"], environment: "node", setupFiles: ["test/setup.ts"] },
});
