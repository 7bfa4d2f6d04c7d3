// The class's assignment cycle in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core; never a browser download). Run by tests/classroom/test_class_cycle.py,
// which starts the hub and passes a JSON plan: node cycle.mjs plan.json STEP
//
// Steps: release (instructor), answer (one learner: fetch, answer, validate, submit),
// collect (instructor: collect, autograde, feedback), feedback (one learner), snoop (a
// learner tries another learner's server and the instructor's files).
// Every step prints one JSON line of what the pages showed; the Python test asserts on it.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(new URL('../../classroom/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const step = process.argv[3];
const who = process.argv[4];
const LONG = 240_000;   // a busy 2-core machine: server start, nbgrader validate/autograde

const profiles = [];
const contexts = [];
async function browser() {
  // a fresh --user-data-dir per step, removed when the step ends
  const profile = fs.mkdtempSync(path.join(plan.out, `profile-${step}-`));
  profiles.push(profile);
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: plan.chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 900 },
  });
  contexts.push(ctx);
  return ctx;
}

let shot = 0;
async function snap(page, name) {
  shot += 1;
  await page.screenshot({ path: path.join(plan.out, `${step}-${who || 'instructor'}-${String(shot).padStart(2, '0')}-${name}.png`) });
}

async function login(page, user) {
  await page.goto(`${plan.url}/hub/login`);
  await page.fill('#username_input', user);
  await page.fill('#password_input', plan.password);
  await page.click('#login_submit');
  await page.waitForURL(/\/user\/[^/]+\/lab/, { timeout: LONG });
  await page.waitForSelector('#jp-main-dock-panel', { timeout: LONG });
}

// Opens a menu, returns every item it offered, clicks `item`.
async function menu(page, top, item) {
  await page.click(`.lm-MenuBar-itemLabel:text-is("${top}")`);
  const offered = await page.locator('.lm-Menu .lm-Menu-itemLabel').allInnerTexts();
  await page.click(`.lm-Menu-itemLabel:text-is("${item}")`);
  return offered.filter(t => t.trim());
}

// ---- instructor, formgrader (a page of the instructor's own server) ----
async function formgrader(page) {
  await page.goto(`${plan.url}/user/${plan.instructor}/formgrader/manage_assignments`);
  await row(page);
}

function row(page) {
  return page.locator('tr', { has: page.locator(`td.name:has-text("${plan.lab}")`) }).first();
}

async function formgraderAction(page, cell, what) {
  const r = row(page);
  await r.locator(`td.${cell} a`).first().click();
  const modal = page.locator('#success-modal, #error-modal');
  await modal.waitFor({ timeout: LONG });
  const text = await modal.innerText();
  await snap(page, what);
  await modal.locator('button').last().click();
  await modal.waitFor({ state: 'detached', timeout: 30_000 }).catch(() => {});
  await page.locator('.modal-backdrop').waitFor({ state: 'detached', timeout: 30_000 }).catch(() => {});
  return { ok: text.includes('Success'), text: text.slice(0, 400) };
}

async function release() {
  const ctx = await browser();
  const page = await ctx.newPage();
  await login(page, plan.instructor);
  await snap(page, 'instructor-lab');
  const menus = await menu(page, 'Nbgrader', 'Formgrader');
  // JupyterLab frames the formgrader: the frame must be allowed to load (nbgrader #1870).
  const frame = page.frameLocator('iframe').first();
  await frame.locator(`td.name:has-text("${plan.lab}")`).waitFor({ timeout: LONG });
  await snap(page, 'formgrader-in-lab');
  await page.waitForTimeout(1000);
  await formgrader(page);
  await row(page).waitFor({ timeout: LONG });
  const generate = await formgraderAction(page, 'assign', 'generated');
  await page.waitForSelector(`td.release a`, { timeout: LONG });
  const publish = await formgraderAction(page, 'release', 'released');
  const status = (await row(page).locator('td.status').innerText()).trim();
  await snap(page, 'status');
  await ctx.close();
  return { menus, generate, publish, status };
}

// ---- a learner: Assignment List, the notebook, Validate, Submit ----
async function assignmentList(page) {
  const offered = await menu(page, 'Nbgrader', 'Assignment List');
  await page.waitForSelector('#released_assignments_list', { timeout: LONG });
  return offered;
}

async function answer() {
  const ctx = await browser();
  const page = await ctx.newPage();
  await login(page, who);
  const menus = await assignmentList(page);
  const released = page.locator('#released_assignments_list .list_item', { hasText: plan.lab });
  await released.waitFor({ timeout: LONG });
  const listed = (await released.innerText()).trim();
  await snap(page, 'released');
  await released.locator('button', { hasText: 'Fetch' }).click();
  const fetched = page.locator('#fetched_assignments_list .list_item', { hasText: plan.lab }).first();
  await fetched.waitFor({ timeout: LONG });
  await snap(page, 'fetched');
  // Unfold the assignment, open its notebook from the list's own link.
  await fetched.locator('a.assignment-notebooks-link').click();
  const nbLink = fetched.locator('.assignment-notebooks a', { hasText: plan.lab }).first();
  await nbLink.waitFor({ timeout: 30_000 });
  await nbLink.click();
  const notebook = page.locator('.jp-NotebookPanel').last();
  await notebook.waitFor({ timeout: LONG });
  await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout: LONG });
  const answers = plan.answers[who] || {};
  for (const [part, yaml] of Object.entries(answers)) {
    const cell = notebook.locator('.jp-CodeCell', { hasText: `%%answer ${part}` }).first();
    await cell.scrollIntoViewIfNeeded();
    const editor = cell.locator('.cm-content').first();
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(`%%answer ${part}\n${yaml}`);
    await page.keyboard.press('Escape');
  }
  await page.keyboard.press('Control+S');
  await page.waitForTimeout(1500);
  await snap(page, 'answered');
  // Back to the assignment list tab: Validate, then Submit.
  await page.locator('.lm-TabBar-tab', { hasText: 'Assignments' }).first().click().catch(() => {});
  await page.locator('.lm-TabBar-tab', { hasText: 'Assignment List' }).first().click().catch(() => {});
  const item = page.locator('#fetched_assignments_list .list_item', { hasText: plan.lab }).first();
  if (!(await item.locator('button', { hasText: 'Validate' }).first().isVisible())) {
    await item.locator('a.assignment-notebooks-link').click();
  }
  await item.locator('button', { hasText: 'Validate' }).first().click();
  const dialog = page.locator('.jp-Dialog');
  await dialog.waitFor({ timeout: LONG });
  const validated = (await dialog.innerText()).slice(0, 600);
  await snap(page, 'validated');
  await dialog.locator('button').last().click();
  await item.locator('button', { hasText: 'Submit' }).first().click();
  const submitted = page.locator('#submitted_assignments_list .list_item', { hasText: plan.lab }).first();
  await submitted.waitFor({ timeout: LONG });
  const submittedText = (await page.locator('#submitted_assignments_list').innerText()).trim();
  await snap(page, 'submitted');
  await ctx.close();
  return { menus, listed, validated, submitted: submittedText };
}

async function collect() {
  const ctx = await browser();
  const page = await ctx.newPage();
  await login(page, plan.instructor);
  await formgrader(page);
  await row(page).waitFor({ timeout: LONG });
  const collected = await formgraderAction(page, 'collect', 'collected');
  await formgrader(page);
  await row(page).locator('td.num-submissions a').click();
  const grades = {};
  for (const learner of plan.learners) {
    const r = page.locator('tr', { has: page.locator(`td:text-is("${learner}")`) }).first();
    await r.waitFor({ timeout: LONG });
    await r.locator('td.autograde a').click();
    const modal = page.locator('#success-modal, #error-modal');
    await modal.waitFor({ timeout: LONG });
    const text = await modal.innerText();
    await snap(page, `autograded-${learner}`);
    await modal.locator('button').last().click();
    await page.locator('.modal-backdrop').waitFor({ state: 'detached', timeout: 30_000 }).catch(() => {});
    grades[learner] = { autograde: text.slice(0, 300) };
  }
  await page.waitForTimeout(1000);
  await page.reload();
  for (const learner of plan.learners) {
    const r = page.locator('tr', { has: page.locator(`td:text-is("${learner}")`) }).first();
    await r.waitFor({ timeout: LONG });
    grades[learner].score = (await r.locator('td.score').innerText()).trim();
    grades[learner].status = (await r.locator('td.status').innerText()).trim();
  }
  await snap(page, 'submissions');
  await formgrader(page);
  const generated = await formgraderAction(page, 'generate-feedback', 'feedback-generated');
  const released = await formgraderAction(page, 'release-feedback', 'feedback-released');
  // the roster: each learner's row in formgrader's Manage Students
  await page.goto(`${plan.url}/user/${plan.instructor}/formgrader/manage_students`);
  const students = {};
  for (const learner of plan.learners) {
    const r = page.locator('tr', { has: page.locator(`td:text-is("${learner}")`) }).first();
    await r.waitFor({ timeout: LONG });
    students[learner] = (await r.innerText()).trim();
  }
  await snap(page, 'students');
  await ctx.close();
  return { collected, grades, generated, released, students };
}

async function feedback() {
  const ctx = await browser();
  const page = await ctx.newPage();
  await login(page, who);
  await assignmentList(page);
  const submitted = page.locator('#submitted_assignments_list .list_item', { hasText: plan.lab }).first();
  await submitted.waitFor({ timeout: LONG });
  await submitted.locator('button', { hasText: 'Fetch Feedback' }).click();
  const view = page.locator('#submitted_assignments_list a', { hasText: 'view feedback' }).first();
  await view.waitFor({ timeout: LONG });
  await snap(page, 'feedback-fetched');
  await view.click();
  await page.waitForTimeout(1000);
  await snap(page, 'feedback-listed');
  // The feedback sits in a folder named by the submission's timestamp. Ask the learner's own
  // server for it (the file browser's rendering of that folder is JupyterLab's, not ours).
  const api = `${plan.url}/user/${who}/api/contents/svclab/${plan.lab}/feedback`;
  let folder = null;
  let name = null;
  const deadline = Date.now() + LONG;
  while (!name && Date.now() < deadline) {
    const listing = await page.request.get(api);
    if (listing.ok()) {
      const folders = (await listing.json()).content.filter(c => c.type === 'directory').map(c => c.name).sort();
      if (folders.length) {
        folder = folders[folders.length - 1];
        const inner = await page.request.get(`${api}/${folder}`);
        const html = inner.ok() ? (await inner.json()).content.find(c => c.name.endsWith('.html')) : null;
        if (html) name = html.name;
      }
    }
    if (!name) await page.waitForTimeout(1000);
  }
  if (!name) throw new Error(`no feedback page under ${api} after ${LONG / 1000} s`);
  const fb = await ctx.newPage();
  const url = `${plan.url}/user/${who}/files/svclab/${plan.lab}/feedback/${folder}/${name}`;
  await fb.goto(url);
  const text = await fb.locator('body').innerText();
  await snap(fb, 'feedback-page');
  await ctx.close();
  return { name, text: text.slice(0, 3000) };
}

// ---- a learner tries to reach what is not theirs ----
async function snoop() {
  const ctx = await browser();
  const page = await ctx.newPage();
  await login(page, who);
  const results = {};
  for (const [label, target] of Object.entries(plan.forbidden[who])) {
    const res = await page.goto(`${plan.url}${target}`);
    results[label] = { status: res ? res.status() : 0, url: page.url(), text: (await page.locator('body').innerText()).slice(0, 300) };
    await snap(page, `snoop-${label}`);
  }
  await ctx.close();
  return results;
}

const steps = { release, answer, collect, feedback, snoop };
try {
  const result = await steps[step]();
  console.log(JSON.stringify(result));
} catch (err) {
  console.error(`${step} ${who || ''}: ${err.stack || err}`);
  process.exitCode = 1;
  // what each open page showed when the step failed, beside the other screenshots
  for (const c of contexts) for (const p of c.pages()) await snap(p, 'failed').catch(() => {});
} finally {
  // A failed step leaves its browser open; close it, or node waits on it until the test's timeout.
  for (const c of contexts) await c.close().catch(() => {});
  for (const p of profiles) fs.rmSync(p, { recursive: true, force: true });
  process.exit();
}
