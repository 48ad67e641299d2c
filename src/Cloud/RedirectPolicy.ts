/**
 * Redirects from the Phala API are never followed (DESIGN §4). The real API does not redirect; one that does is a
 * proxy or a wrong `api.url`, and following it would send `X-API-Key` wherever the `Location` points. Not following
 * same-origin redirects either keeps the rule simple and bounds any redirect loop to one request per attempt.
 */

/** Init for `fetch` (FetchHttpClient): hand 3xx responses to us instead of following them. */
export const manualRedirects: RequestInit = { redirect: "manual" }

/** A redirect status (304 Not Modified is a cache answer, not a redirect). */
export const isRedirect = (status: number): boolean => status >= 300 && status < 400 && status !== 304

const maxShown = 80

const clip = (text: string): string => (text.length <= maxShown ? text : `${text.slice(0, maxShown - 1)}…`)

const resolve = (location: string, base: string): URL | null => {
  try {
    return new URL(location, base)
  } catch {
    return null
  }
}

/** Why a redirect was not followed, naming where it pointed (the origin only, when it is another one). */
export const redirectMessage = (status: number, requestUrl: string, location: string | null): string => {
  const target = location === null ? null : resolve(location, requestUrl)
  if (target === null) return `HTTP ${status}: redirect without a usable Location, not followed`
  if (target.origin !== new URL(requestUrl).origin) {
    return `HTTP ${status}: redirect to another origin (${clip(target.origin)}) not followed; the API key is never ` +
      "sent there. Set api.url to the API's own address"
  }
  return `HTTP ${status}: redirect to ${clip(target.pathname)} not followed; set api.url to the address the API answers on`
}
