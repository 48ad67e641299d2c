import { Either, Schema } from "effect"
import { show } from "../Echo.js"
import { leaf } from "./Leaf.js"

/** Where a server listens: `server.listen`, `--listen`. */
export interface ListenAddress {
  readonly host: string
  readonly port: number
}

/** `host:port`, `[ipv6]:port`, or `:port` (all interfaces). */
export const parseListen = (text: string): ListenAddress | null => {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]*)):(\d{1,5})$/.exec(text)
  if (match === null) return null
  const port = Number(match[3])
  if (port < 1 || port > 65535) return null
  const host = match[1] ?? (match[2] === undefined || match[2] === "" ? "0.0.0.0" : match[2])
  return { host, port }
}

/** The one way a host and port are written together: `127.0.0.1:9477`, `[::1]:9477`. */
export const formatHostPort = (host: string, port: number): string => `${host.includes(":") ? `[${host}]` : host}:${port}`

export const listenHint = "use host:port, [ipv6]:port or :port, port 1-65535"

export const ListenAddress = leaf(Schema.Struct({ host: Schema.String, port: Schema.Number }), (u) => {
  const parsed = typeof u === "string" ? parseListen(u) : null
  return parsed === null ? Either.left(`invalid listen address ${show(u)} (${listenHint})`) : Either.right(parsed)
})
