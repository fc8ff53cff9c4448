{{/* Cross-field checks of the values; rendering fails with the reason. */}}
{{- define "questlog-stream.validateValues" -}}
{{- range $key := list "kafka_bootstrap" "lake_root" "checkpoint_root" "stream_metrics_host" "stream_metrics_port" }}
{{- if hasKey $.Values.settings $key }}
{{- fail (printf "settings.%s is set by the chart from its own values (kafka, lake, metrics); set it there" $key) }}
{{- end }}
{{- end }}
{{- if not (hasPrefix "thrift://" .Values.metastore.uri) }}
{{- fail (printf "metastore.uri must be a thrift:// URI, not %q" .Values.metastore.uri) }}
{{- end }}
{{- if and (hasPrefix "s3a://" .Values.lake.root) (not .Values.lake.s3.endpoint) }}
{{- fail "lake.root is on s3a:// but lake.s3.endpoint is empty" }}
{{- end }}
{{- end }}

{{/* The app's settings as environment variables (settings/questlog_settings). The
scheduled maintenance job compacts the lake, so the streaming app runs no rounds itself. */}}
{{- define "questlog-stream.env" -}}
- name: QUESTLOG__KAFKA__BOOTSTRAP
  value: {{ .Values.kafka.bootstrap | quote }}
- name: QUESTLOG__LAKE__ROOT
  value: {{ .Values.lake.root | quote }}
- name: QUESTLOG__LAKE__CHECKPOINT_ROOT
  value: {{ printf "%s/stream" (trimSuffix "/" .Values.lake.checkpointRoot) | quote }}
- name: QUESTLOG__STREAM__METRICS_HOST
  value: "0.0.0.0"
- name: QUESTLOG__STREAM__METRICS_PORT
  value: {{ .Values.metrics.port | quote }}
- name: QUESTLOG__LAKE__MAINTENANCE_MINUTES
  value: "0"
{{- include "questlog.settingsEnv" (list "stream" .Values.settings) }}
{{- end }}

{{/* Spark conf of the app: the pipeline's, where the metastore and lake are, S3A. */}}
{{- define "questlog-stream.sparkConf" -}}
{{- $conf := dict "spark.hadoop.hive.metastore.uris" .Values.metastore.uri "spark.sql.warehouse.dir" .Values.lake.root }}
{{- if .Values.lake.s3.endpoint }}
{{- $_ := set $conf "spark.hadoop.fs.s3a.endpoint" .Values.lake.s3.endpoint }}
{{- $_ := set $conf "spark.hadoop.fs.s3a.path.style.access" (toString .Values.lake.s3.pathStyleAccess) }}
{{- $_ := set $conf "spark.hadoop.fs.s3a.endpoint.region" "us-east-1" }}
{{- $_ := set $conf "spark.hadoop.fs.s3a.connection.ssl.enabled" (toString (hasPrefix "https://" .Values.lake.s3.endpoint)) }}
{{- end }}
{{- toYaml (merge $conf .Values.sparkConf) }}
{{- end }}

{{/* What a driver or executor pod of the chart's Spark apps runs with, as the pod template
spark-submit builds the pod from: settings, the object store's credentials, the security
contexts, the container port (the driver's metrics) and more variables. With a template,
the operator marks no pod for its mutating webhook, so the apps run the same with or
without it. Takes (list root role ports env). */}}
{{- define "questlog-stream.sparkPod" -}}
{{- $root := index . 0 }}
{{- with $root }}
template:
  spec:
    securityContext:
      {{- include "questlog.podSecurityContext" . | nindent 6 }}
    containers:
      # The container Spark takes as its own (the operator names it so).
      - name: spark-kubernetes-{{ index $ 1 }}
        env:
          {{- include "questlog-stream.env" . | nindent 10 }}
          {{- with index $ 3 }}
          {{- toYaml . | nindent 10 }}
          {{- end }}
        envFrom:
          - secretRef:
              name: {{ .Values.lake.s3.credentialsSecret }}
        {{- with index $ 2 }}
        ports:
          {{- toYaml . | nindent 10 }}
        {{- end }}
        securityContext:
          {{- include "questlog.containerSecurityContext" . | nindent 10 }}
{{- end }}
{{- end }}

{{/* Labels of every driver and executor pod of the chart's Spark apps, beside the release's
instance label: the one its NetworkPolicy selects, and the client labels of the servers
they read and write. */}}
{{- define "questlog-stream.sparkLabels" -}}
questlog.dev/spark: "true"
{{- include "questlog.clientLabels" (list "kafka" "metastore" "object-store") }}
{{- end }}

{{/* The spec of a batch job's SparkApplication, the stream's image, Spark conf and sizes, run
once (restartPolicy Never). Takes (list root job), job a dict of: name (its component),
app (the file in questlog_spark), arguments, env (more of the driver's variables; optional). */}}
{{- define "questlog-stream.batchApplication" -}}
{{- $root := index . 0 }}
{{- $job := index . 1 -}}
type: Python
mode: cluster
image: {{ include "questlog.image" $root }}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - {{ .name }}
  {{- end }}
{{- end }}
sparkVersion: {{ $root.Values.sparkVersion | quote }}
mainApplicationFile: {{ include "questlog-stream.appFile" $job.app }}
{{- with $job.arguments }}
arguments:
  {{- toYaml . | nindent 2 }}
{{- end }}
sparkConf:
  {{- include "questlog-stream.sparkConf" $root | nindent 2 }}
# Never restarted: a scheduled job's next run tries again (each job is idempotent), and a
# one-off job is run again by hand.
restartPolicy:
  type: Never
driver:
  {{- include "questlog-stream.size" $root.Values.driver | nindent 2 }}
  serviceAccount: {{ $root.Values.driver.serviceAccount }}
  labels:
    app.kubernetes.io/instance: {{ $root.Release.Name }}
    app.kubernetes.io/component: {{ $job.name }}
    questlog.dev/role: driver
    {{- include "questlog-stream.sparkLabels" $root | nindent 4 }}
  {{- include "questlog-stream.sparkPod" (list $root "driver" list ($job.env | default list)) | nindent 2 }}
executor:
  instances: {{ $root.Values.executor.instances }}
  {{- include "questlog-stream.size" $root.Values.executor | nindent 2 }}
  labels:
    app.kubernetes.io/instance: {{ $root.Release.Name }}
    app.kubernetes.io/component: {{ $job.name }}
    questlog.dev/role: executor
    {{- include "questlog-stream.sparkLabels" $root | nindent 4 }}
  {{- include "questlog-stream.sparkPod" (list $root "executor" list list) | nindent 2 }}
{{- end }}

{{/* Cores, CPU request, heap and memory beside it of a driver or executor (.Values.driver
or .executor). */}}
{{- define "questlog-stream.size" -}}
cores: {{ .cores }}
coreRequest: {{ .coreRequest | quote }}
memory: {{ .memory | quote }}
{{- with .memoryOverhead }}
memoryOverhead: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Where the image's Python environment keeps an app of spark-apps/questlog_spark. */}}
{{- define "questlog-stream.appFile" -}}
local:///opt/questlog/app/questlog_spark/{{ . }}.py
{{- end }}
