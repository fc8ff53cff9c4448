{{/* Cross-field checks of the values; rendering fails with the reason. */}}
{{- define "questlog-umbrella.validateValues" -}}
{{- if gt (int .Values.kafka.topics.replicas) (int .Values.kafka.replicas) }}
{{- fail (printf "kafka.topics.replicas (%v) is more than the %v Kafka nodes" .Values.kafka.topics.replicas .Values.kafka.replicas) }}
{{- end }}
{{- if not (has .Values.kafka.storage.type (list "ephemeral" "persistent-claim")) }}
{{- fail (printf "kafka.storage.type must be ephemeral or persistent-claim, not %q" .Values.kafka.storage.type) }}
{{- end }}
{{- if and .Values.stream.enabled (not .Values.metastore.enabled) }}
{{- fail "stream.enabled needs metastore.enabled: the streaming app registers its tables there" }}
{{- end }}
{{- end }}

{{- define "questlog-umbrella.s3Name" -}}
{{- printf "%s-s3" (include "questlog.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The object store's secret key: from the values, else the existing Secret, else new. */}}
{{- define "questlog-umbrella.s3SecretKey" -}}
{{- $secret := lookup "v1" "Secret" .Release.Namespace (include "questlog-umbrella.s3Name" .) }}
{{- if .Values.objectStore.secretKey }}
{{- .Values.objectStore.secretKey }}
{{- else if $secret }}
{{- index $secret.data "AWS_SECRET_ACCESS_KEY" | b64dec }}
{{- else }}
{{- randAlphaNum 32 }}
{{- end }}
{{- end }}
