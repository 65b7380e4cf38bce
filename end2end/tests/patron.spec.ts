// The patron's side: a link read from the real SMTP sink opens a page where the patron
// decides, with or without JavaScript, from the keyboard, on a phone or a desktop.
import { mkdirSync } from "node:fs";
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { linkTo, messagesTo, propose, sql } from "./support";

const english = (link: string) => `${link}?lang=en`;
const PHONE = { width: 375, height: 812 };
const DESKTOP = { width: 1280, height: 800 };

async function expectNoAxeViolations(page: Page, label: string) {
  for (const viewport of [DESKTOP, PHONE]) {
    await page.setViewportSize(viewport);
    const results = await new AxeBuilder({ page })
      .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
      .analyze();
    expect(results.violations, `${label} at ${viewport.width}px`).toEqual([]);
  }
}

const journeys = [
  { choice: "approve", js: true, patron: "ana.okafor@example.org", outcome: "Change approved" },
  { choice: "approve", js: false, patron: "ana.lindqvist@example.org", outcome: "Change approved" },
  { choice: "reject", js: true, patron: "bruno.garcia@example.org", outcome: "Change rejected" },
  { choice: "reject", js: false, patron: "bruno.okafor@example.org", outcome: "Change rejected" },
];

for (const { choice, js, patron, outcome } of journeys) {
  test(`${choice} from the emailed link with JavaScript ${js ? "on" : "off"}`, async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: js });
    const page = await context.newPage();
    const newEmail = patron.replace("@example.org", ".new@example.net");
    propose(patron, newEmail);

    await page.goto(english(await linkTo(newEmail)));
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Confirm your new email address");
    await expect(page.getByText(newEmail)).toBeVisible();
    await expect(page.getByText("Asked at the box office")).toBeVisible();

    const button = choice === "approve" ? "Approve the change" : "Reject";
    await page.getByRole("button", { name: button, exact: true }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(outcome);
    await expect(page.locator("body")).not.toContainText(newEmail);

    // The outcome reaches the patron at both addresses.
    const [toNew] = (await messagesTo(newEmail, 2)).slice(-1);
    const [toOld] = (await messagesTo(patron, 2)).slice(-1);
    expect(toNew.text).toContain(choice === "approve" ? "You approved" : "You rejected");
    expect(toOld.text).toContain(choice === "approve" ? "You approved" : "You rejected");
    await context.close();
  });
}

test("mail scanners opening the link with GET and HEAD change nothing", async ({ page, request }) => {
  const patron = "carmen.garcia@example.org";
  const newEmail = "carmen.new@example.net";
  propose(patron, newEmail);
  const link = await linkTo(newEmail);
  for (let i = 0; i < 5; i++) {
    expect((await request.get(link)).status()).toBe(200);
    expect((await request.head(link)).status()).toBe(200);
  }
  await page.goto(english(link));
  await expect(page.getByRole("button", { name: "Approve the change" })).toBeVisible();
  expect(sql(`SELECT status FROM change_requests r JOIN patrons p ON p.id = r.patron_id WHERE p.email = '${patron}'`)).toBe("pending");
});

test("the whole decision works from the keyboard alone", async ({ page }) => {
  const patron = "carmen.lindqvist@example.org";
  const newEmail = "carmen.l.new@example.net";
  propose(patron, newEmail);
  await page.goto(english(await linkTo(newEmail)));
  for (let presses = 0; presses < 30; presses++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => document.activeElement?.textContent ?? "");
    if (focused === "Approve the change") break;
  }
  await expect(page.getByRole("button", { name: "Approve the change" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Change approved");
  expect(sql(`SELECT count(*) FROM patrons WHERE email = '${newEmail}'`)).toBe("1");
});

test("the page carries its protective headers and is saved as screenshots", async ({ page }) => {
  const patron = "carmen.moreau@example.org";
  const newEmail = "carmen.m.new@example.net";
  propose(patron, newEmail);
  const response = await page.goto(english(await linkTo(newEmail)));
  const headers = response!.headers();
  expect(headers["referrer-policy"]).toBe("no-referrer");
  expect(headers["cache-control"]).toBe("no-store");
  expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(headers["content-security-policy"]).not.toContain("unsafe-inline");

  mkdirSync("screenshots", { recursive: true });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: "screenshots/patron-phone.png", fullPage: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: "screenshots/patron-desktop.png", fullPage: true });
});

test("the patron's language is used, and can be switched", async ({ page }) => {
  // Demo patrons alternate locales; this one reads Spanish.
  const patron = "ana.garcia@example.org";
  const newEmail = "ana.garcia.new@example.net";
  propose(patron, newEmail);
  await page.goto(await linkTo(newEmail));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Confirme su nueva dirección de correo");
  await page.getByRole("link", { name: "English" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Confirm your new email address");
});

test("every state has its own accessible page with no personal data", async ({ page }) => {
  const personal = (patron: string, newEmail: string) => [patron, newEmail, patron.split("@")[0]];
  const expectClosed = async (title: string, forbidden: string[]) => {
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(title);
    const text = await page.locator("body").innerText();
    for (const value of forbidden) expect(text).not.toContain(value);
  };

  // Open: the decision page and the old address's "this wasn't me" page.
  const patron = "diego.okafor@example.org";
  const newEmail = "diego.new@example.net";
  propose(patron, newEmail);
  const decide = await linkTo(newEmail);
  const notMe = await linkTo(patron);
  await page.goto(english(decide));
  await expectNoAxeViolations(page, "decision page");
  await page.goto(english(notMe));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Did you ask for this change?");
  await expectNoAxeViolations(page, "this-wasn't-me page");

  // Cancelled by "this wasn't me".
  await page.getByRole("button", { name: "This wasn't me: cancel it" }).click();
  await expectClosed("Request cancelled", personal(patron, newEmail));
  await page.goto(english(decide));
  await expectClosed("Request cancelled", personal(patron, newEmail));
  await expectNoAxeViolations(page, "cancelled page");

  // Approved and rejected.
  for (const [who, choice, title] of [
    ["diego.lindqvist@example.org", "Approve the change", "Change approved"],
    ["elena.garcia@example.org", "Reject", "Change rejected"],
  ]) {
    const target = who.replace("@example.org", ".new@example.net");
    propose(who, target);
    const link = await linkTo(target);
    await page.goto(english(link));
    await page.getByRole("button", { name: choice, exact: true }).click();
    await page.goto(english(link));
    await expectClosed(title, personal(who, target));
    await expectNoAxeViolations(page, title);
  }

  // Expired: the clock runs out.
  const late = "elena.okafor@example.org";
  propose(late, "elena.late@example.net");
  const lateLink = await linkTo("elena.late@example.net");
  sql(`UPDATE change_requests SET expires_at = now() - interval '1 minute' WHERE new_value = 'elena.late@example.net'`);
  await page.goto(english(lateLink));
  await expectClosed("This link has expired", personal(late, "elena.late@example.net"));
  await expectNoAxeViolations(page, "expired page");

  // Replaced by a newer request.
  const twice = "elena.moreau@example.org";
  propose(twice, "elena.first@example.net");
  const firstLink = await linkTo("elena.first@example.net");
  propose(twice, "elena.second@example.net");
  await page.goto(english(firstLink));
  await expectClosed("This request was replaced", personal(twice, "elena.first@example.net"));
  await expectNoAxeViolations(page, "replaced page");

  // Unknown: a forged token looks like any other invalid link.
  await page.goto(`/c/${"A".repeat(43)}?lang=en`);
  await expectClosed("This link is not valid", []);
  await expectNoAxeViolations(page, "invalid page");
});
