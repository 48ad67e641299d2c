import { Either, ParseResult, Schema } from "effect"

/**
 * A schema for one value as a parser produced it (YAML, a CLI flag): anything goes in, `check` decides with its own
 * message. The message is the whole diagnostic text, so it can avoid echoing values (secrets).
 */
export const leaf = <A>(to: Schema.Schema<A>, check: (u: unknown) => Either.Either<A, string>) =>
  Schema.transformOrFail(Schema.Unknown, to, {
    strict: true,
    decode: (u, _, ast) =>
      Either.match(check(u), {
        onLeft: (message) => ParseResult.fail(new ParseResult.Type(ast, u, message)),
        onRight: ParseResult.succeed
      }),
    encode: ParseResult.succeed
  })
