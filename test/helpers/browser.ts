import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sparticuz from "@sparticuz/chromium";
import { chromium, type Browser } from "playwright-core";

/**
 * A headless Chromium for the status page test, found without installing anything on the system.
 *
 * Why: the README promises that `npm ci && npm test` passes on a fresh machine, and a fresh machine has
 * no Debian `chromium` package (CI used to apt-get it as root, which the README's commands never do).
 * So, in this order:
 * 1. `CHROMIUM_PATH`, when set: a browser of your own (it must exist). `CHROMIUM_PATH=bundled` skips
 *    step 2, to exercise step 3 on a machine that has Debian's browser.
 * 2. `/usr/bin/chromium` (Debian's `chromium` package), when present.
 * 3. The headless Chromium that the devDependency `@sparticuz/chromium` carries inside its npm tarball:
 *    `executablePath()` unpacks it to the temp folder (once, a few seconds; later runs reuse it). Nothing
 *    is downloaded, neither at install time (the package has no install script) nor here.
 */
const SYSTEM_CHROMIUM = "/usr/bin/chromium";
/** Flags for a full Chromium build such as Debian's (playwright-core adds its own defaults). */
const SYSTEM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface ChromiumChoice {
  executablePath: string;
  args: string[];
  env?: Record<string, string>;
  /** Which of the three it is, for the test's log. */
  source: string;
}

export async function findChromium(): Promise<ChromiumChoice> {
  const own = process.env.CHROMIUM_PATH;
  if (own && own !== "bundled") {
    if (!existsSync(own)) throw new Error(`CHROMIUM_PATH=${own} does not exist (unset it to use ${SYSTEM_CHROMIUM} or the Chromium of @sparticuz/chromium)`);
    return { executablePath: own, args: SYSTEM_ARGS, source: `CHROMIUM_PATH (${own})` };
  }
  if (own !== "bundled" && existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, args: SYSTEM_ARGS, source: SYSTEM_CHROMIUM };
  const executablePath = await sparticuz.executablePath();
  // The package also unpacks a font (Open Sans) with a fontconfig file to <tmp>/fonts: use it only on a
  // machine without fontconfig of its own, where pages would otherwise render without any text.
  const env = existsSync("/etc/fonts/fonts.conf") || process.env.FONTCONFIG_PATH ? undefined : { ...stringEnv(), FONTCONFIG_PATH: join(tmpdir(), "fonts") };
  return { executablePath, args: sparticuz.args, env, source: `@sparticuz/chromium (${executablePath})` };
}

export async function launchChromium(): Promise<{ browser: Browser; source: string }> {
  const choice = await findChromium();
  const launch = ({ executablePath, args, env }: ChromiumChoice) => chromium.launch({ executablePath, args, ...(env ? { env } : {}) });
  try {
    return { browser: await launch(choice), source: choice.source };
  } catch (error) {
    if (!choice.source.startsWith("@sparticuz/")) throw error;
    // The package unpacks in place and reuses <tmp>/chromium if it exists, so a run stopped during
    // the unpacking leaves a truncated binary behind: unpack it once more.
    rmSync(choice.executablePath, { force: true });
    const again = await findChromium();
    return { browser: await launch(again), source: `${again.source}, unpacked again after: ${(error as Error).message.split("\n")[0]}` };
  }
}

function stringEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
}
