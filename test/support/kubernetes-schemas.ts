// Kubernetes object schemas from npm (kubernetes-models, generated from the Kubernetes OpenAPI spec, and the Prometheus
// Operator's CRDs): what the API server would reject for a wrong type, a missing required field or a bad enum value.
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule"
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor"
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet"
import { ConfigMap } from "kubernetes-models/v1/ConfigMap"
import { Namespace } from "kubernetes-models/v1/Namespace"
import { Secret } from "kubernetes-models/v1/Secret"
import { Service } from "kubernetes-models/v1/Service"

const models: Record<string, new () => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/StatefulSet": StatefulSet,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule
}

/** Schema violations of one object ([] when valid); an apiVersion/kind without a schema here is a violation too. */
export const schemaProblems = (object: Record<string, unknown>): ReadonlyArray<string> => {
  const type = `${String(object["apiVersion"])}/${String(object["kind"])}`
  const metadata = object["metadata"]
  const name = `${type} ${typeof metadata === "object" && metadata !== null && "name" in metadata ? String(metadata.name) : "(no name)"}`
  const Model = models[type]
  if (Model === undefined) return [`${name}: no schema for ${type} in test/support/kubernetes-schemas.ts`]
  try {
    Object.assign(new Model(), object).validate()
    return []
  } catch (e) {
    return [`${name}: ${e instanceof Error ? e.message : String(e)}`]
  }
}
