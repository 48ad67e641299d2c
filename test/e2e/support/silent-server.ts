import { createServer } from "node:net"
import type { Socket } from "node:net"

/** A loopback TCP server that accepts connections and never says a word: a receiver or API that hangs. */
export interface SilentServer {
  readonly port: number
  readonly url: string
  /** Connections accepted so far. */
  readonly connections: () => number
  readonly close: () => Promise<void>
}

export const startSilentServer = (): Promise<SilentServer> =>
  new Promise((resolve, reject) => {
    const sockets = new Set<Socket>()
    let accepted = 0
    const server = createServer((socket) => {
      accepted++
      sockets.add(socket)
      socket.on("error", () => { /* the client gave up */ })
      socket.once("close", () => sockets.delete(socket))
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resolve({
        port,
        url: `http://127.0.0.1:${port}`,
        connections: () => accepted,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })
