// Bakes the git commit into the build (dist/build-info.json), read by `phala-drift version`. Outside a git checkout
// (a source tarball, a container build without .git) the commit is PHALA_DRIFT_COMMIT, or "unknown".
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"

const fromGit = () => {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
    return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined
  } catch {
    return undefined
  }
}

const commit = process.env.PHALA_DRIFT_COMMIT || fromGit() || "unknown"
mkdirSync("dist", { recursive: true })
writeFileSync("dist/build-info.json", `${JSON.stringify({ commit })}\n`)
