import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/** The operator dashboard (SPEC §11). `vite build web` writes web/dist, which the server serves at `/`. */
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  // `vite dev` on :5173 talks to a server started with `npm start` on :3000.
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
});
