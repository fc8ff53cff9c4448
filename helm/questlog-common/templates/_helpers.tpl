{{/*
Named templates shared by the questlog charts. Each takes the chart's root context.
*/}}

{{/* The chart's name, cut to the 63 characters a Kubernetes name allows. */}}
{{- define "questlog.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's resources. The release name alone when it already contains
the chart's name, so `questlog-api` installed as `questlog-api` is not doubled.
*/}}
{{- define "questlog.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "questlog.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "questlog.selectorLabels" -}}
app.kubernetes.io/name: {{ include "questlog.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "questlog.labels" -}}
helm.sh/chart: {{ include "questlog.chart" . }}
{{ include "questlog.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: questlog
{{- end }}

{{/* Labels of a helm test pod: the release's, minus the name every Service selects by (a
running test pod has no readiness probe, so it would count as one of the API's endpoints). */}}
{{- define "questlog.testLabels" -}}
helm.sh/chart: {{ include "questlog.chart" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: questlog
{{- end }}

{{/* repository:tag of .Values.image; the tag defaults to the chart's appVersion. */}}
{{- define "questlog.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The pod and container security contexts every questlog workload runs with: a non-root
user, no privilege escalation, no capabilities, a read-only root file system.
*/}}
{{- define "questlog.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsUser }}
fsGroup: {{ .Values.securityContext.runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "questlog.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ .Values.securityContext.readOnlyRootFilesystem }}
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* Environment variables QUESTLOG_<KEY> from a map of settings (key: value). */}}
{{- define "questlog.settingsEnv" -}}
{{- range $key, $value := . }}
- name: {{ printf "QUESTLOG_%s" ($key | upper) }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* checksum/config annotation of a rendered template, so pods roll when it changes. */}}
{{- define "questlog.checksum" -}}
{{- $root := index . 0 }}
{{- include (print $root.Template.BasePath "/" (index . 1)) $root | sha256sum }}
{{- end }}
