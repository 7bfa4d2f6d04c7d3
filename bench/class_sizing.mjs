// Used by bench/class_sizing.py: a learner logs in and opens a course notebook in headless
// Chromium (Debian's chromium): the single-user server as a learner's browser loads it.
//   node bench/class_sizing.mjs URL USER PASSWORD NOTEBOOK PROFILE_DIR
import { createRequire } from 'node:module';

const require = createRequire(new URL('../classroom/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const [url, user, password, notebook, profile] = process.argv.slice(2);
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await ctx.newPage();
  await page.goto(`${url}/hub/login`);
  await page.fill('#username_input', user);
  await page.fill('#password_input', password);
  await page.click('#login_submit');
  await page.waitForURL(/\/user\/[^/]+\/lab/, { timeout: 240_000 });
  console.log(`server-ready ${Date.now()}`);
  await page.goto(`${url}/user/${user}/lab/tree/course/${notebook}`);
  await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout: 240_000 });
  console.log('notebook-open');
} catch (err) {
  const pages = ctx.pages();
  if (pages.length) await pages[pages.length - 1].screenshot({ path: `${profile}-failed.png` });
  throw err;
} finally {
  await ctx.close();
}
