// The admin's side: sign in, and find a patron as you type.
import { expect, test } from "@playwright/test";
import { DEMO_ADMIN } from "./support";

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
