// The admin's side: sign in, and find a patron as you type.
import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { DEMO_ADMIN, linkTo, propose, signIn, sql } from "./support";

test("an admin signs in and finds patrons as they type", async ({ page }) => {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(DEMO_ADMIN);
  await page.getByLabel("Password").fill("wrong password here");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("do not match");

  await page.getByLabel("Password").fill("assent-demo-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/patrons$/);
  await expect(page.getByTestId("signed-in-as")).toContainText("Demo Manager (manager)");

  const results = page.getByTestId("patron-results");
  await expect(results.locator("tbody tr")).toHaveCount(25);
  await page.getByLabel("Search by name or email").pressSequentially("lindq");
  await expect(results.locator("tbody tr")).toHaveCount(12);
  await expect(results).toContainText("Keiko Lindqvist");

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto("/patrons");
  await expect(page.getByRole("alert")).toContainText("Sign in first");
});

test("an admin proposes a change, sees the errors inline, and the patron's approval shows", async ({ page, browser }) => {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(DEMO_ADMIN);
  await page.getByLabel("Password").fill("assent-demo-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/patrons$/);

  await page.getByLabel("Search by name or email").fill("keiko.moreau");
  await page.getByRole("link", { name: "Keiko Moreau" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Keiko Moreau");

  // A typed error, shown inline, and nothing proposed.
  await page.getByLabel("New email", { exact: true }).fill("hugo.okafor@example.org");
  await page.getByLabel("Reason (the patron reads it)").fill("Phoned the box office");
  await page.getByRole("button", { name: "Propose the change" }).click();
  await expect(page.getByTestId("action-error")).toContainText("belongs to another patron");

  await page.getByLabel("New email", { exact: true }).fill("keiko.new@example.net");
  await page.getByRole("button", { name: "Propose the change" }).click();
  await expect(page.getByTestId("pending-request")).toContainText("keiko.new@example.net");
  await expect(page.getByTestId("primary-email")).toHaveText("keiko.moreau@example.org");

  // The patron approves from the link in a browser of their own.
  const patron = await browser.newContext();
  const patronPage = await patron.newPage();
  await patronPage.goto(`${await linkTo("keiko.new@example.net")}?lang=en`);
  await patronPage.getByRole("button", { name: "Approve the change" }).click();
  await expect(patronPage.getByRole("heading", { level: 1 })).toHaveText("Change approved");
  await patron.close();

  await page.reload();
  await expect(page.getByTestId("primary-email")).toHaveText("keiko.new@example.net");
  await expect(page.getByTestId("history")).toContainText("approved");
  await expect(page.getByTestId("messages")).toContainText("sent");
  await expect(page.locator("body")).not.toContainText("/c/");
});

test("the audit log filters by kind and offers the same filter as CSV", async ({ page }) => {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(DEMO_ADMIN);
  await page.getByLabel("Password").fill("assent-demo-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByLabel("Kind").fill("proposed");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/kind=proposed/);
  const rows = page.getByTestId("audit").locator("tbody tr");
  await expect(rows.first()).toContainText("proposed");
  const kinds = await page.getByTestId("audit").locator("tbody tr td:nth-child(3)").allTextContents();
  expect(new Set(kinds)).toEqual(new Set(["proposed"]));
  await expect(page.getByRole("link", { name: "Download CSV" })).toHaveAttribute("href", "/audit.csv?kind=proposed");
  const csv = await page.request.get("/audit.csv?kind=proposed");
  expect(csv.status()).toBe(200);
  expect((await csv.text()).split("\n")[0]).toContain("id,at,actor,admin");
});

test("the dashboard's pages pass axe at desktop and tablet widths", async ({ page }) => {
  await page.goto("/signin");
  const pages = ["/signin"];
  await page.getByLabel("Email").fill(DEMO_ADMIN);
  await page.getByLabel("Password").fill("assent-demo-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/patrons$/);
  const id = sql("SELECT id FROM patrons ORDER BY id LIMIT 1");
  pages.push("/patrons", `/patrons/${id}`, "/changes", "/audit", "/admins", "/branding");
  for (const path of pages) {
    await page.goto(path);
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    for (const viewport of [{ width: 1280, height: 800 }, { width: 768, height: 1024 }]) {
      await page.setViewportSize(viewport);
      const results = await new AxeBuilder({ page })
        .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
        .analyze();
      expect(results.violations, `${path} at ${viewport.width}px`).toEqual([]);
    }
  }
});

test("a manager changes the branding and the patron's message and page use it", async ({ page, browser }) => {
  await signIn(page);
  await page.getByRole("link", { name: "Branding" }).click();
  await expect(page.getByTestId("branding-source")).toContainText("configuration");
  const original = {
    name: await page.getByLabel("Venue name").inputValue(),
    colour: await page.getByLabel("Colour").inputValue(),
  };

  await page.getByLabel("Venue name").fill("Teatro Branding Test");
  await page.getByLabel("Colour").fill("#0a5c36");
  await page.getByRole("button", { name: "Save the branding" }).click();
  await expect(page.getByTestId("branding-outcome")).toContainText("Saved");
  await expect(page.getByTestId("branding-source")).toContainText("Saved by Demo Manager");

  propose("grace.moreau@example.org", "grace.branded@example.net");
  const patron = await browser.newPage();
  const link = await linkTo("grace.branded@example.net");
  await patron.goto(link);
  await expect(patron.locator("body")).toContainText("Teatro Branding Test");
  const css = await patron.request.get(new URL("/brand.css", link).toString());
  expect(await css.text()).toContain("#0a5c36");
  await patron.close();

  // Put it back, so the journeys after this one see the configured branding.
  await page.getByLabel("Venue name").fill(original.name);
  await page.getByLabel("Colour").fill(original.colour);
  await page.getByRole("button", { name: "Save the branding" }).click();
  await expect(page.getByTestId("branding-outcome")).toContainText("Saved");
  expect(sql("SELECT org_name FROM branding")).toBe(original.name);
});
