import { Context } from "effect"

/** The `X-Request-ID` of the request being served; structured error bodies repeat it as `request_id`. */
export class RequestId extends Context.Tag("phala-drift/Simulator/RequestId")<RequestId, string>() {}
