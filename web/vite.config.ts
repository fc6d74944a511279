/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// During development (`npm run dev` / `npm run preview`) API calls and the console
// WebSocket go to a running panel, by default http://127.0.0.1:8080.
const panel = process.env.CAP_PANEL_URL ?? 'http://127.0.0.1:8080';
const proxy = { '/api': { target: panel, ws: true, changeOrigin: false } };

// The policy the panel serves the UI under; `vite preview` applies it too, so the browser
// suite catches anything (inline script, eval, CDN) that would break in production.
const csp =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self' data:";

export default defineConfig({
  plugins: [react()],
  build: {
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 700,
  },
  server: { proxy },
  preview: { proxy, headers: { 'Content-Security-Policy': csp } },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
  },
});
