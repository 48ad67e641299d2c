import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

// The documentation a user reads stands on its own: no link leaves the repository, every relative link reaches a
// file (and a heading, when it names one), and nothing points at the workspace's DESIGN.md, which users never get.

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const docs = [
  "README.md",
  join("deploy", "README.md"),
  ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f))
]
const read = (file: string): string => readFileSync(join(ROOT, file), "utf8")

/** Markdown links `[text](target)` outside code blocks and code spans. */
const links = (markdown: string): ReadonlyArray<string> => {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "")
  return [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? "")
}

/** GitHub's heading anchors: lower-cased, punctuation dropped, spaces to hyphens, repeats numbered. */
const anchors = (markdown: string): ReadonlySet<string> => {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const m of markdown.replace(/^```[\s\S]*?^```/gm, "").matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = (m[1] ?? "").toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-")
    const n = seen.get(slug) ?? 0
    seen.set(slug, n + 1)
    out.add(n === 0 ? slug : `${slug}-${n}`)
  }
  return out
}

const external = /^[a-z][a-z0-9+.-]*:/i

describe("README.md, deploy/README.md and docs/*.md", () => {
  it("finds the links it checks", () => {
    expect(links("see [a](docs/a.md#x) and `[b](c.md)` and [c](https://e.com)")).toEqual(["docs/a.md#x", "https://e.com"])
    expect(anchors("# Which path: A or B?\n## Nothing lost\n## Nothing lost\n")).toEqual(
      new Set(["which-path-a-or-b", "nothing-lost", "nothing-lost-1"])
    )
    expect(links(read("README.md")).length).toBeGreaterThan(10)
  })

  it.each(docs)("%s links only to files inside the repository that exist, and to headings they have", (file) => {
    const problems: Array<string> = []
    for (const target of links(read(file))) {
      if (external.test(target)) {
        if (!/^(https?|mailto):/i.test(target)) problems.push(`${target}: not a web link`)
        continue
      }
      const [path = "", anchor] = target.split("#", 2)
      const absolute = path === "" ? join(ROOT, file) : resolve(ROOT, dirname(file), decodeURIComponent(path))
      const inside = relative(ROOT, absolute)
      if (path.startsWith("/") || inside.startsWith("..") || inside.split(sep).includes("node_modules")) {
        problems.push(`${target}: outside the repository`)
        continue
      }
      if (!existsSync(absolute)) {
        problems.push(`${target}: no such file`)
        continue
      }
      if (anchor !== undefined && anchor !== "" && statSync(absolute).isFile() && absolute.endsWith(".md")) {
        if (!anchors(readFileSync(absolute, "utf8")).has(anchor)) problems.push(`${target}: no such heading`)
      }
    }
    expect(problems).toEqual([])
  })

  it.each(docs)("%s does not send readers to the workspace's DESIGN.md or ../shared", (file) => {
    const text = read(file)
    expect(text).not.toMatch(/DESIGN(\.md)?\b/)
    expect(text).not.toContain("../shared")
  })

  it("docs/plan.md documents every field of the plan document", () => {
    const plan: unknown = JSON.parse(read(join("test", "golden", "plan.json")))
    const keys = new Set<string>()
    const walk = (value: unknown, underStatuses: boolean): void => {
      if (Array.isArray(value)) for (const v of value) walk(v, false)
      else if (typeof value === "object" && value !== null) {
        for (const [k, v] of Object.entries(value)) {
          // the keys of `statuses` are CVM statuses, not fields
          if (!underStatuses) keys.add(k)
          walk(v, k === "statuses")
        }
      }
    }
    walk(plan, false)
    expect(keys.size).toBeGreaterThan(15)
    const doc = read(join("docs", "plan.md"))
    expect([...keys].filter((k) => !doc.includes(`\`${k}\``))).toEqual([])
  })
})
