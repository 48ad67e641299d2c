import { connect } from "node:net"

export interface SlowClient {
  /** Bytes written so far. */
  readonly sent: () => number
  /** Whether the server has closed the connection. */
  readonly closed: () => boolean
  readonly stop: () => void
}

/** Slowloris: opens a request to `127.0.0.1:port` and sends its headers one byte every `everyMs`, never finishing. */
export const slowClient = (port: number | string, everyMs = 50): SlowClient => {
  const socket = connect(Number(port), "127.0.0.1")
  const endless = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + "a".repeat(1_000_000)
  let sent = 0
  let closed = false
  socket.on("error", () => { /* reset by the server */ })
  socket.on("close", () => { closed = true })
  const timer = setInterval(() => {
    if (closed || sent >= endless.length) return
    socket.write(endless[sent] ?? "")
    sent++
  }, everyMs)
  return {
    sent: () => sent,
    closed: () => closed,
    stop: () => {
      clearInterval(timer)
      socket.destroy()
    }
  }
}
