import { createRequire } from 'node:module';
import fs from 'node:fs';
const require = createRequire(new URL('../../classroom/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const [url, user, pw, out] = process.argv.slice(2);
const dir = fs.mkdtempSync('/tmp/pw-');
const ctx = await chromium.launchPersistentContext(dir, {executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'], viewport: {width: 1400, height: 900}});
const page = await ctx.newPage();
await page.goto(url + '/hub/login');
await page.fill('#username_input', user);
await page.fill('#password_input', pw);
await page.click('#login_submit');
await page.waitForURL(/\/user\/.*\/lab/, {timeout: 60000});
await page.waitForSelector('.jp-LabShell', {timeout: 120000});
await page.waitForTimeout(3000);
await page.screenshot({path: out});
console.log(page.url());
await ctx.close();
