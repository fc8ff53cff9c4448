{{/* Cross-field checks of the values; rendering fails with the reason. */}}
{{- define "questlog-umbrella.validateValues" -}}
{{- if and (eq .Values.kafka.mode "statefulset") (ne (int .Values.kafka.replicas) 1) }}
{{- fail (printf "kafka.mode statefulset runs one KRaft node (questlog/kafka), not %v; use kafka.mode strimzi for more" .Values.kafka.replicas) }}
{{- end }}
{{- if and (eq .Values.kafka.mode "statefulset") (or (ne (int .Values.kafka.topics.partitions) 3) (ne (int .Values.kafka.topics.retentionHours) 168)) }}
{{- fail "kafka.topics.partitions and retentionHours apply to kafka.mode strimzi; the statefulset's runner creates the local stack's topics (3 partitions, 168 h)" }}
{{- end }}
{{- if and .Values.trino.enabled (ne (trimSuffix "/" .Values.trino.url) "http://trino:8080") }}
{{- fail (printf "trino.enabled runs Trino as the Service trino:8080; trino.url (%s) must be http://trino:8080" .Values.trino.url) }}
{{- end }}
{{- if and .Values.prometheus.enabled .Values.api.enabled (or .Values.api.autoscaling.enabled (gt (int .Values.api.replicaCount) 1)) }}
{{- fail "prometheus.enabled scrapes the API through its Service, one pod at a time: run one API replica (api.autoscaling.enabled=false, api.replicaCount=1) or scrape with the Prometheus operator (api.serviceMonitor)" }}
{{- end }}
{{- if and .Values.prometheus.enabled .Values.api.enabled (gt (int .Values.api.registry.replicaCount) 1) }}
{{- fail "prometheus.enabled scrapes the pilot registry through its Service, one pod at a time: run one registry replica (api.registry.replicaCount=1) or scrape with the Prometheus operator (api.serviceMonitor)" }}
{{- end }}
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

{{- define "questlog-umbrella.kafkaName" -}}
{{- printf "%s-kafka" (include "questlog.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* repository:tag of an image's values (list root image); the tag defaults to appVersion. */}}
{{- define "questlog-umbrella.image" -}}
{{- $image := index . 1 }}
{{- printf "%s:%s" $image.repository (default (index . 0).Chart.AppVersion $image.tag) }}
{{- end }}

{{/* The security contexts of the umbrella's workloads: the image's non-root user (the
argument), no privilege escalation, no capabilities, a read-only root file system. */}}
{{- define "questlog-umbrella.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "questlog-umbrella.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* The runner's readiness question to a component (the image's health check), as an exec
probe; the Python start-up alone takes a few seconds on a busy node. */}}
{{- define "questlog-umbrella.check" -}}
exec:
  command: [python, -m, questlog.stack.container, {{ . }}, --check]
timeoutSeconds: 20
{{- end }}

{{/* Kafka's settings: it announces its stable name on the headless Service, where it
also finds its own controller listener (the runner derives that from this address). The
name is the full one, with the cluster's domain: the pod's /etc/hosts has it, so the broker
and its postStart hook resolve it before the pod is ready, while its DNS record does not
exist yet (a pod has no endpoint before its postStart hook ends). */}}
{{- define "questlog-umbrella.kafkaEnv" -}}
{{- $name := include "questlog-umbrella.kafkaName" . }}
- name: QUESTLOG__KAFKA__BOOTSTRAP
  value: {{ printf "%s-0.%s-brokers.%s.svc.%s:9092" $name $name .Release.Namespace .Values.clusterDomain | quote }}
- name: QUESTLOG__KAFKA__HEAP
  value: {{ .Values.kafka.heap | quote }}
{{- end }}

{{/* Trino's settings. It announces loopback: one node is its own coordinator and worker,
and the Service would not route to it before it is ready. */}}
{{- define "questlog-umbrella.trinoEnv" -}}
- name: QUESTLOG__TRINO__URL
  value: http://127.0.0.1:8080
- name: QUESTLOG__TRINO__HEAP
  value: {{ .Values.trino.heap | quote }}
- name: QUESTLOG__METASTORE__URI
  value: {{ printf "thrift://%s:9083" .Values.metastore.fullnameOverride | quote }}
- name: QUESTLOG__LAKE__ROOT
  value: {{ printf "s3a://%s/warehouse" .Values.objectStore.bucket | quote }}
- name: QUESTLOG__S3__ENDPOINT
  value: {{ printf "http://%s:8333" (include "questlog-umbrella.s3Name" .) | quote }}
{{- end }}

{{/* Prometheus' targets, the Services of the API, the pilot registry, the stream's driver
and the canary. */}}
{{- define "questlog-umbrella.prometheusEnv" -}}
- name: QUESTLOG__API__URL
  value: {{ printf "http://%s:%v" .Values.api.fullnameOverride .Values.api.service.port | quote }}
- name: QUESTLOG__REGISTRY__URL
  value: {{ printf "http://%s-registry:%v" .Values.api.fullnameOverride .Values.api.registry.port | quote }}
- name: QUESTLOG__STREAM__METRICS_URL
  value: {{ printf "http://%s-metrics:%v" .Values.stream.fullnameOverride .Values.stream.metrics.port | quote }}
- name: QUESTLOG__CANARY__URL
  value: {{ printf "http://%s-canary:8002" (include "questlog.fullname" .) | quote }}
{{- end }}

{{/* The write key the chart's own clients (the canary, the pipeline test, the load test)
post with: the one the API subchart stores from its Secret. */}}
{{- define "questlog-umbrella.writeKeyEnv" -}}
- name: QUESTLOG_WRITE_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.api.writeKey.existingSecret | default (printf "%s-write-key" .Values.api.fullnameOverride) }}
      key: write-key
{{- end }}
