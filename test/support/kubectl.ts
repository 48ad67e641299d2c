import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"

/** Where scripts/ensure-test-tools.sh unpacks Debian's kubectl when another package owns /usr/bin/kubectl. */
const UNPACKED = "/opt/phala-drift/kubernetes-client/usr/bin/kubectl"

/** Debian's kubectl (package kubernetes-client), never another one that happens to be on the PATH. */
export const debianKubectl = (): string => {
  if (existsSync(UNPACKED)) return UNPACKED
  const owner = spawnSync("dpkg-query", ["-S", "/usr/bin/kubectl"], { encoding: "utf8" })
  if (owner.status === 0 && owner.stdout.startsWith("kubernetes-client:")) return "/usr/bin/kubectl"
  throw new Error("Debian's kubectl (kubernetes-client) is missing: run scripts/ensure-test-tools.sh")
}
