import { setFlagsFromString } from "node:v8"

/**
 * V8 lets the old generation grow to a few times what is live before a full collection. A cycle replaces the whole
 * fleet's observations, so at 10,000 apps that slack was ~250 MB of dead reports between collections (RSS ~600 MB
 * for ~230 MB live). Collecting once the heap has grown 30 % past what survived the last collection keeps RSS near
 * the live set; the cycle time did not change (bench/README.md, "Fleet scale").
 */
const HEAP_GROWING_PERCENT = 30

export const limitHeapGrowth = (): void => setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
