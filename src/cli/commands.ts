import { backfillSpec } from "./backfill.js";
import { browseSpec } from "./browse.js";
import type { CommandSpec } from "./command.js";
import { deadletterSpec } from "./deadletter.js";
import { demoSpec } from "./demo.js";
import { emulatorSpec } from "./emulator.js";
import { plantSpec } from "./plant.js";
import { reconcileSpec } from "./reconcile.js";
import { runSpec } from "./run.js";
import { schemaSpec } from "./schema.js";
import { validateSpec } from "./validate.js";

/** Every command, in the order of `opcua-ingest --help`. Importing a command's module is cheap: node-opcua and SQLite load when it runs. */
export const COMMANDS: readonly CommandSpec[] = [runSpec, validateSpec, browseSpec, demoSpec, emulatorSpec, deadletterSpec, plantSpec, schemaSpec, backfillSpec, reconcileSpec];
