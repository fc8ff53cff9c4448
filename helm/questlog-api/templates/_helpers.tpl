{{/* Cross-field checks of the values; rendering fails with the reason. */}}
{{- define "questlog-api.validateValues" -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%v) is above autoscaling.maxReplicas (%v)" .Values.autoscaling.minReplicas .Values.autoscaling.maxReplicas) }}
{{- end }}
{{- if hasKey .Values.settings "kafka_bootstrap" }}
{{- fail "set the Kafka bootstrap servers with kafka.bootstrap, not settings.kafka_bootstrap" }}
{{- end }}
{{- if hasKey .Values.settings "provisioned_write_key" }}
{{- fail "the deployment's write key comes from a Secret (writeKey.existingSecret), not settings.provisioned_write_key" }}
{{- end }}
{{- if hasKey .Values.settings "personal_data_key" }}
{{- fail "the HMAC key of personal data comes from a Secret (personalDataKey.existingSecret), not settings.personal_data_key" }}
{{- end }}
{{- if hasKey .Values.settings "registry_url" }}
{{- fail "set the pilot registry's database with registry.url, not settings.registry_url" }}
{{- end }}
{{- if and (hasPrefix "sqlite" .Values.registry.url) (or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1)) }}
{{- fail "registry.url: SQLite keeps each pod's pilots to itself; with more than one replica use a database they share (PostgreSQL)" }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (not .Values.autoscaling.enabled) (le (int .Values.replicaCount) (int .Values.podDisruptionBudget.maxUnavailable)) }}
{{- fail (printf "podDisruptionBudget.maxUnavailable (%v) lets every one of the %v replicas go down at once" .Values.podDisruptionBudget.maxUnavailable .Values.replicaCount) }}
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
