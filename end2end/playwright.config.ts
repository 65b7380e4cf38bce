import { defineConfig, devices } from "@playwright/test";

// The servers under test: a real SMTP sink (maildev) and the real `assent` binary built by
// `cargo leptos build`, on their own ports and a fresh database with the demo data.
const port = Number(process.env.E2E_PORT ?? 3100);
const smtpPort = port + 25;
const mailApiPort = port + 80;
// Set once in the runner; workers inherit it, so every process sees the same database.
process.env.E2E_DATABASE ??= `assent_e2e_${Date.now()}`;
process.env.E2E_DATABASE_URL ??= `postgres://postgres@127.0.0.1:5432/${process.env.E2E_DATABASE}`;
process.env.E2E_MAIL_API ??= `http://127.0.0.1:${mailApiPort}`;
const baseURL = `http://127.0.0.1:${port}`;
process.env.E2E_SECOND_URL ??= `http://127.0.0.1:${port + 1}`;

// Two instances of the server share one database, as behind a load balancer.
const instance = (listen: number) => ({
  command: "../target/debug/assent serve",
  url: `http://127.0.0.1:${listen}/readyz`,
  reuseExistingServer: false,
  timeout: 120_000,
  stdout: "ignore" as const,
  stderr: "pipe" as const,
  env: {
    DATABASE_URL: process.env.E2E_DATABASE_URL!,
    ASSENT_ADDR: `127.0.0.1:${listen}`,
    ASSENT_ENV: "development",
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    LEPTOS_SITE_ROOT: "../target/site",
    OUTBOX_POLL_MS: "50",
    // The journeys open many links from one address; the limit has its own Rust test.
    PATRON_RATE_BURST: "10000",
    RUST_LOG: "warn",
  },
});

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: { baseURL, trace: "off" },
  webServer: [
    {
      command: `npx maildev --smtp ${smtpPort} --web ${mailApiPort} --ip 127.0.0.1 --web-ip 127.0.0.1`,
      url: `http://127.0.0.1:${mailApiPort}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore",
    },
    instance(port),
    instance(port + 1),
  ],
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
