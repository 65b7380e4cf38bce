// What the patron journeys need from outside the browser: a proposal made by an admin,
// the messages that reached the SMTP sink, and a way to move the clock on a request.
import { execFileSync } from "node:child_process";
import { expect } from "@playwright/test";

const databaseUrl = () => process.env.E2E_DATABASE_URL!;
const mailApi = () => process.env.E2E_MAIL_API!;

export const DEMO_ADMIN = "manager@demo.assent.test";

/** Proposes a new email for a demo patron, as the demo manager. */
export function propose(patronEmail: string, newEmail: string, reason = "Asked at the box office") {
  execFileSync(
    "../target/debug/assent",
    ["propose", "--admin", DEMO_ADMIN, "--patron", patronEmail, "--new-email", newEmail, "--reason", reason],
    { env: { ...process.env, DATABASE_URL: databaseUrl(), RUST_LOG: "off" }, stdio: "pipe" },
  );
}

/** Runs one SQL statement against the database under test. */
export function sql(statement: string): string {
  return execFileSync("psql", [databaseUrl(), "-Atc", statement], { encoding: "utf8" }).trim();
}

type Mail = { subject: string; text: string; envelope: { to: { address: string }[] }; time: string };

async function mailTo(address: string): Promise<Mail[]> {
  const response = await fetch(`${mailApi()}/email`);
  const all = (await response.json()) as Mail[];
  return all.filter((m) => m.envelope.to.some((t) => t.address.toLowerCase() === address.toLowerCase()));
}

/** Waits for `count` messages to `address` and returns them, oldest first. */
export async function messagesTo(address: string, count = 1): Promise<Mail[]> {
  let found: Mail[] = [];
  await expect
    .poll(async () => {
      found = await mailTo(address);
      return found.length;
    }, { timeout: 15_000 })
    .toBeGreaterThanOrEqual(count);
  return found;
}

/** The patron link in the newest message to `address`. */
export async function linkTo(address: string, count = 1): Promise<string> {
  const messages = await messagesTo(address, count);
  const match = messages[messages.length - 1].text.match(/https?:\/\/\S+\/c\/[A-Za-z0-9_-]{43}/);
  expect(match, "the message carries a patron link").not.toBeNull();
  return match![0];
}

/** Signs in as the demo manager on the instance the page's context points at. */
export async function signIn(page: import("@playwright/test").Page) {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(DEMO_ADMIN);
  await page.getByLabel("Password").fill("assent-demo-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/patrons$/);
}
