/** Statuses worth retrying (the server may answer differently soon): 408, 429 and every 5xx. */
export const isTransientStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500
