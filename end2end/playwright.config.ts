import { defineConfig, devices } from "@playwright/test";

// The server under test: the real binary built by `cargo leptos build`, on its own port
// and its own fresh database, with the demo data that a new user sees.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
const database = `assent_e2e_${Date.now()}`;

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: { baseURL, trace: "off" },
  webServer: {
    command: "../target/debug/assent serve",
    url: `${baseURL}/readyz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
      ASSENT_ADDR: `127.0.0.1:${port}`,
      ASSENT_ENV: "development",
      LEPTOS_SITE_ROOT: "../target/site",
      MAILBOX_DIR: `../target/e2e-mailbox-${database}`,
      RUST_LOG: "warn",
    },
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: "/usr/bin/chromium",
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
          ],
        },
      },
    },
  ],
});
