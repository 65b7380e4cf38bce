// Two server instances behind one database: what one records, the other's dashboard shows
// at once, without a reload.
import { expect, test, type Page } from "@playwright/test";
import { linkTo, signIn, sql } from "./support";

/** Waits, checking every animation frame, until the changes table shows `text`. */
async function appears(page: Page, text: string): Promise<void> {
  await page.waitForFunction(
    (t) => document.querySelector("[data-testid=changes]")?.textContent?.includes(t) ?? false,
    text,
    { polling: "raf", timeout: 10_000 },
  );
}

async function liveDashboard(page: Page) {
  await signIn(page);
  await page.getByRole("link", { name: "Changes" }).click();
  await expect(page.getByTestId("live-status")).toHaveAttribute("data-connected", "true");
}

test("a proposal and its approval reach the other instance's dashboard live", async ({ browser }) => {
  const first = await (await browser.newContext()).newPage();
  const second = await (await browser.newContext({ baseURL: process.env.E2E_SECOND_URL })).newPage();
  await liveDashboard(first);
  await liveDashboard(second);

  const id = sql("SELECT id FROM patrons WHERE email = 'lucia.okafor@example.org'");
  const newEmail = "lucia.live@example.net";
  const admin = await (await browser.newContext()).newPage();
  await signIn(admin);
  await admin.goto(`/patrons/${id}`);
  await admin.getByLabel("New email", { exact: true }).fill(newEmail);
  await admin.getByLabel("Reason (the patron reads it)").fill("Asked at the box office");

  let started = Date.now();
  await admin.getByRole("button", { name: "Propose the change" }).click();
  await appears(second, newEmail);
  const proposedMs = Date.now() - started;
  await appears(first, newEmail);

  const patron = await (await browser.newContext()).newPage();
  await patron.goto(`${await linkTo(newEmail)}?lang=en`);
  const row = (page: Page) => page.getByTestId("changes").getByRole("row").filter({ hasText: newEmail });
  started = Date.now();
  await patron.getByRole("button", { name: "Approve the change" }).click();
  await second.waitForFunction(
    (t) => [...document.querySelectorAll("[data-testid=changes] tr")].some((r) => r.textContent!.includes(t) && r.textContent!.includes("approved")),
    newEmail,
    { polling: "raf", timeout: 10_000 },
  );
  const approvedMs = Date.now() - started;
  await expect(row(first)).toContainText("approved");
  console.log(`live update: proposal on instance 1 shown on instance 2 after ${proposedMs} ms; patron's approve click shown after ${approvedMs} ms`);

  await second.goto(`/patrons/${id}`);
  await expect(second.getByTestId("primary-email")).toHaveText(newEmail);
});
