import { open, readFile, rm } from "node:fs/promises";
import path from "node:path";

/**
 * PGlite lets exactly one process use a data folder and does not enforce it: a second process opening the
 * same folder corrupts it. So whoever opens the embedded database (the gateway or the CLI) first takes this
 * lock file; a lock left by a process that no longer runs is taken over.
 */
export class DataDirInUseError extends Error {
  override name = "DataDirInUseError";
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `The embedded data folder ${dataDir} is in use by process ${pid} (probably a running gateway). ` +
        "PGlite allows one process per data folder: stop that process first, or use DATABASE_URL to reach a Postgres server.",
    );
  }
}

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Takes the folder's lock; the returned function releases it. Throws DataDirInUseError when it is held. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, "verdict.lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, "wx", 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = Number.parseInt((await readFile(file, "utf8").catch(() => "")).trim(), 10);
      if (Number.isInteger(pid) && pid > 0 && isRunning(pid)) throw new DataDirInUseError(path.resolve(dataDir), pid);
      await rm(file, { force: true }); // left behind by a process that is gone
    }
  }
  throw new Error(`Could not lock the data folder ${dataDir}`);
}
