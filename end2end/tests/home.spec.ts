import { expect, test } from "@playwright/test";

test("the home page hydrates and its lifecycle explorer responds to clicks", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Staff cannot silently change");

  // Wait for the WASM to take over: the explanation changes only once hydrated.
  const explanation = page.getByTestId("state-explanation");
  await expect(explanation).toContainText("An admin proposed a new email");
  const rejected = page.getByRole("button", { name: "rejected" });
  await expect(async () => {
    await rejected.click();
    await expect(explanation).toContainText("The patron rejected", { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  await expect(rejected).toHaveAttribute("aria-pressed", "true");

  await page.getByRole("button", { name: "approved" }).click();
  await expect(explanation).toContainText("Only now");
  await expect(rejected).toHaveAttribute("aria-pressed", "false");
});
