/** One problem of a config file, placed in its source: what `validate`, reloads and `POST /-/reload` report. */
export interface ConfigDiagnostic {
  readonly file: string
  /** 1-based. */
  readonly line: number
  /** 1-based. */
  readonly column: number
  /** Key path such as `apps[1].replicas.min`; empty for the document itself. */
  readonly path: string
  readonly message: string
}
