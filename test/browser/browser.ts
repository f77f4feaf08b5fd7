import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { build } from 'vite';

/** Debian's `chromium` package (`apt-get install -y chromium`). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

export const hasChromium = existsSync(CHROMIUM_PATH);

/**
 * In CI the browser suite is required: without Chromium it fails instead of being left out
 * silently (as the PostgreSQL suites do, see test/setup/require-postgres.ts).
 */
export const isBrowserSuiteRequired = Boolean(process.env.CI);

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** Builds web/dist exactly as `npm run build:web` does, through vite's build API. */
export async function buildDashboard(): Promise<void> {
  await build({ root: WEB_DIR, configFile: join(WEB_DIR, 'vite.config.ts'), logLevel: 'warn' });
}

export interface Browser {
  readonly context: BrowserContext;
  readonly profileDir: string;
  close(): Promise<void>;
}

/** Chromium's fake microphone and camera, granted without a prompt: for recording voice notes. */
export const FAKE_MEDIA_ARGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

/** Headless Chromium with a throwaway profile (flags per TOOLCHAIN.md), plus `extraArgs`. */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  if (!hasChromium) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: the browser suite is required in CI (install it with apt-get install -y chromium)`,
    );
  }
  const profileDir = mkdtempSync(join(tmpdir(), 'sb-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
    viewport: { width: 1400, height: 860 },
  });
  return {
    context,
    profileDir,
    close: async () => {
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}
