/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// During development (`npm run dev` / `npm run preview`) API calls and the console
// WebSocket go to a running panel, by default http://127.0.0.1:8080.
const panel = process.env.CAP_PANEL_URL ?? 'http://127.0.0.1:8080';
const proxy = { '/api': { target: panel, ws: true, changeOrigin: false } };

export default defineConfig({
  plugins: [react()],
  build: {
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 700,
  },
  server: { proxy },
  preview: { proxy },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
  },
});
