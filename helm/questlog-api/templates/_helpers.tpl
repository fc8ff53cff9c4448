{{/* Cross-field checks of the values; rendering fails with the reason. */}}
{{- define "questlog-api.validateValues" -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%v) is above autoscaling.maxReplicas (%v)" .Values.autoscaling.minReplicas .Values.autoscaling.maxReplicas) }}
{{- end }}
{{- /* Settings the chart sets itself, from other values or Secrets: by the settings map they
might be given in, what to set instead. */}}
{{- $shared := dict
      "kafka_bootstrap" "set the Kafka bootstrap servers with kafka.bootstrap, not %s.kafka_bootstrap"
      "personal_data_key" "the HMAC key of personal data comes from a Secret (personalDataKey.existingSecret), not %s.personal_data_key"
      "provisioned_write_key" "the deployment's write key comes from a Secret (writeKey.existingSecret), which the registry stores, not %s.provisioned_write_key"
      "provisioned_write_key_name" "set the name of the deployment's write key with writeKey.name, not %s.provisioned_write_key_name" }}
{{- $api := merge (dict
      "registry_url" "the chart points the API at the registry's Service (registry.port), not %s.registry_url"
      "port" "set the API's port with service.port, not %s.port") $shared }}
{{- $registry := merge (dict
      "url" "the chart points the API at the registry's Service (registry.port), not %s.url"
      "port" "set the registry's port with registry.port, not %s.port"
      "database_url" "set the registry's database with registry.database.url, not %s.database_url"
      "database_password" "the registry's database password comes from a Secret (registry.database.passwordSecret), not %s.database_password") $shared }}
{{- range $map, $checked := dict "settings" (list .Values.settings $api) "registry.settings" (list .Values.registry.settings $registry) }}
{{- range $key, $reason := index $checked 1 }}
{{- if hasKey (index $checked 0) $key }}
{{- fail (printf $reason $map) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (hasPrefix "sqlite" .Values.registry.database.url) (gt (int .Values.registry.replicaCount) 1) }}
{{- fail (printf "registry.database.url: SQLite keeps each registry pod's pilots and write keys to itself; with %v registry replicas use a database they share (PostgreSQL), or set registry.replicaCount=1" .Values.registry.replicaCount) }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (not .Values.autoscaling.enabled) (le (int .Values.replicaCount) (int .Values.podDisruptionBudget.maxUnavailable)) }}
{{- fail (printf "podDisruptionBudget.maxUnavailable (%v) lets every one of the %v replicas go down at once" .Values.podDisruptionBudget.maxUnavailable .Values.replicaCount) }}
{{- end }}
{{- if and .Values.registry.podDisruptionBudget.enabled (le (int .Values.registry.replicaCount) (int .Values.registry.podDisruptionBudget.maxUnavailable)) }}
{{- fail (printf "registry.podDisruptionBudget.maxUnavailable (%v) lets every one of the %v registry replicas go down at once" .Values.registry.podDisruptionBudget.maxUnavailable .Values.registry.replicaCount) }}
{{- end }}
{{- end }}

{{/* The Secret holding the deployment's own write key (under `write-key`). */}}
{{- define "questlog-api.writeKeySecret" -}}
{{- .Values.writeKey.existingSecret | default (printf "%s-write-key" (include "questlog.fullname" .) | trunc 63 | trimSuffix "-") }}
{{- end }}

{{/* The Secret holding the HMAC key of personal data (under `personal-data-key`). */}}
{{- define "questlog-api.personalDataKeySecret" -}}
{{- .Values.personalDataKey.existingSecret | default (printf "%s-personal-data-key" (include "questlog.fullname" .) | trunc 63 | trimSuffix "-") }}
{{- end }}

{{/* A Secret of one random value under a key, made once and then kept across upgrades:
(list $ name key prefix). */}}
{{- define "questlog-api.keptRandomSecret" -}}
{{- $top := index . 0 }}
{{- $name := index . 1 }}
{{- $key := index . 2 }}
{{- $found := lookup "v1" "Secret" $top.Release.Namespace $name }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ $name }}
  labels:
    {{- include "questlog.labels" $top | nindent 4 }}
type: Opaque
data:
  {{- if and $found (hasKey $found.data $key) }}
  {{ $key }}: {{ index $found.data $key }}
  {{- else }}
  {{ $key }}: {{ printf "%s%s" (index . 3) (randAlphaNum 43) | b64enc }}
  {{- end }}
{{- end }}

{{/* The headless Service: its DNS name resolves to every pod, for per-pod metrics. */}}
{{- define "questlog-api.headlessName" -}}
{{- printf "%s-pods" (include "questlog.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The pilot registry's name: its Deployment, Service, ConfigMap and policies. */}}
{{- define "questlog-api.registryName" -}}
{{- printf "%s-registry" (include "questlog.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The registry pods' labels: a name of their own, so that none of the API's selectors
(its Deployment's, Services', budget's, policy's) selects them, nor theirs the API's. */}}
{{- define "questlog-api.registrySelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-registry" (include "questlog.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: registry
{{- end }}

{{- define "questlog-api.registryLabels" -}}
helm.sh/chart: {{ include "questlog.chart" . }}
{{ include "questlog-api.registrySelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: questlog
{{- end }}

{{/* repository:tag of the registry's image; the tag defaults to the chart's appVersion. */}}
{{- define "questlog-api.registryImage" -}}
{{- printf "%s:%s" .Values.registry.image.repository (default .Chart.AppVersion .Values.registry.image.tag) }}
{{- end }}

{{/* Where the API reaches the registry: its Service. */}}
{{- define "questlog-api.registryUrl" -}}
{{- printf "http://%s:%v" (include "questlog-api.registryName" .) .Values.registry.port }}
{{- end }}
