import { Either, Option, Schema } from "effect"

// Error bodies of the FastAPI backend (reference §4.2), decoded only to say what went wrong.

const Structured = Schema.Struct({ error_code: Schema.String, message: Schema.String })
const DetailText = Schema.Struct({ detail: Schema.String })
const DetailObject = Schema.Struct({ detail: Schema.Struct({ message: Schema.String }) })
const ValidationIssue = Schema.Struct({
  loc: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  msg: Schema.String
})
const DetailValidation = Schema.Struct({ detail: Schema.NonEmptyArray(ValidationIssue) })
const Message = Schema.Struct({ message: Schema.String })

const ErrorBody = Schema.Union(Structured, DetailText, DetailObject, DetailValidation, Message)
type ErrorBody = typeof ErrorBody.Type

const decodeErrorBody = Schema.decodeUnknownEither(Schema.parseJson(ErrorBody))

// FastAPI prefixes `loc` with where the value came from; the field path is what a reader needs
const requestParts: ReadonlySet<unknown> = new Set(["body", "query", "path", "header"])

const textOf = (body: ErrorBody): string => {
  if ("error_code" in body) return `${body.message} (${body.error_code})`
  if (!("detail" in body)) return body.message
  const { detail } = body
  if (typeof detail === "string") return detail
  if ("message" in detail) return detail.message
  return detail
    .map((issue) => {
      const field = issue.loc.filter((part) => !requestParts.has(part)).join(".")
      return field === "" ? issue.msg : `${field}: ${issue.msg}`
    })
    .join("; ")
}

/** The API's own error text, when the body is one of the known error shapes. */
export const apiErrorText = (body: string): Option.Option<string> =>
  decodeErrorBody(body).pipe(
    Either.map(textOf),
    Either.getRight,
    Option.map((text) => text.trim()),
    Option.filter((text) => text.length > 0)
  )

/** FastAPI's body for a path that no route matches (Starlette's default 404). */
export const routeNotFoundDetail = "Not Found"

/**
 * The text of a 404 that is the API's own answer about a resource: a structured error, or a `detail` other than
 * the route-level "Not Found". A bare `{"message": …}` is what gateways send, so it does not count.
 */
export const resourceNotFoundText = (body: string): Option.Option<string> =>
  decodeErrorBody(body).pipe(
    Either.getRight,
    Option.filter((decoded) =>
      "error_code" in decoded ||
      ("detail" in decoded &&
        (typeof decoded.detail === "string"
          ? decoded.detail.trim() !== "" && decoded.detail.trim() !== routeNotFoundDetail
          : "message" in decoded.detail))
    ),
    Option.map((decoded) => textOf(decoded).trim())
  )
