export const defaultConfigPath = "config/desired.yaml"

/** `--config` flag, else `PHALA_DRIFT_CONFIG`, else `config/desired.yaml`. */
export const resolveConfigPath = (flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string => {
  if (flag !== undefined && flag !== "") return flag
  const fromEnv = env["PHALA_DRIFT_CONFIG"]
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : defaultConfigPath
}
