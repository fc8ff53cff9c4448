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

{{/* Environment variables QUESTLOG__<SECTION>__<KEY> from a section's name and a map of its
settings (key: value). */}}
{{- define "questlog.settingsEnv" -}}
{{- $section := index . 0 }}
{{- range $key, $value := index . 1 }}
- name: {{ printf "QUESTLOG__%s__%s" $section $key | upper }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* checksum/config annotation of a rendered template, so pods roll when it changes. */}}
{{- define "questlog.checksum" -}}
{{- $root := index . 0 }}
{{- include (print $root.Template.BasePath "/" (index . 1)) $root | sha256sum }}
{{- end }}

{{/*
The labels that let a pod connect to servers which admit their clients only (see
questlog.networkPolicy), from a list of server names: (list "kafka" "metastore") gives
questlog.dev/kafka-client: "true" and questlog.dev/metastore-client: "true".
*/}}
{{- define "questlog.clientLabels" -}}
{{- range . }}
questlog.dev/{{ . }}-client: "true"
{{- end }}
{{- end }}

{{/*
A NetworkPolicy that isolates one workload's pods for ingress and admits what its rules
say. A dict of:
  root      the chart's context (for the labels)
  name      the policy's name
  selector  the pods' labels, a dict
  rules     a list of dicts, each:
              from   "anywhere"; "namespace" (any pod of the release's namespace); a
                     server's name, whose clients (questlog.clientLabels) it admits; or
                     absent, for the peers alone
              ports  the ports it admits (numbers); every port when absent
              peers  NetworkPolicyPeers it admits besides (optional)
  annotations  the policy's (optional)
  labels    the policy's, as YAML text (optional; default questlog.labels)
*/}}
{{- define "questlog.networkPolicy" -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .name }}
  labels:
    {{- .labels | default (include "questlog.labels" .root) | nindent 4 }}
  {{- with .annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  podSelector:
    matchLabels:
      {{- toYaml .selector | nindent 6 }}
  policyTypes: [Ingress]
  {{- $ingress := list }}
  {{- range .rules }}
  {{- $rule := dict }}
  {{- $peers := .peers | default list }}
  {{- if eq .from "namespace" }}
  {{- $_ := set $rule "from" (prepend $peers (dict "podSelector" dict)) }}
  {{- else if not .from }}
  {{- $_ := set $rule "from" $peers }}
  {{- else if ne .from "anywhere" }}
  {{- $clients := dict (printf "questlog.dev/%s-client" .from) "true" }}
  {{- $_ := set $rule "from" (prepend $peers (dict "podSelector" (dict "matchLabels" $clients))) }}
  {{- end }}
  {{- $ports := list }}
  {{- range .ports }}
  {{- $ports = append $ports (dict "protocol" "TCP" "port" .) }}
  {{- end }}
  {{- with $ports }}
  {{- $_ := set $rule "ports" . }}
  {{- end }}
  {{- $ingress = append $ingress $rule }}
  {{- end }}
  ingress:
    {{- toYaml $ingress | nindent 4 }}
{{- end }}

{{/*
The pods' affinity, from a list (root, the pods' labels as a dict[, their affinity]): the
affinity given (default .Values.affinity) when set, else a preference to spread the
replicas over nodes.
*/}}
{{- define "questlog.affinity" -}}
{{- $root := index . 0 }}
{{- $affinity := $root.Values.affinity }}
{{- if gt (len .) 2 }}
{{- $affinity = index . 2 }}
{{- end }}
{{- if $affinity }}
{{- toYaml $affinity }}
{{- else }}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- toYaml (index . 1) | nindent 12 }}
{{- end }}
{{- end }}

{{/*
A PodDisruptionBudget, from a list (root, the pods' labels as a dict[, its name, its values,
its labels]): all but maxUnavailable replicas keep serving through voluntary disruptions
(node drains). The name defaults to the full name, the values ({enabled, maxUnavailable})
to .Values.podDisruptionBudget, the labels to questlog.labels.
*/}}
{{- define "questlog.podDisruptionBudget" -}}
{{- $root := index . 0 }}
{{- $name := include "questlog.fullname" $root }}
{{- $budget := $root.Values.podDisruptionBudget }}
{{- $labels := include "questlog.labels" $root }}
{{- if gt (len .) 2 }}
{{- $name = index . 2 }}
{{- $budget = index . 3 }}
{{- $labels = index . 4 }}
{{- end }}
{{- if $budget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  labels:
    {{- $labels | nindent 4 }}
spec:
  maxUnavailable: {{ $budget.maxUnavailable }}
  selector:
    matchLabels:
      {{- toYaml (index . 1) | nindent 6 }}
{{- end }}
{{- end }}

{{/* A NetworkPolicy admitting no connection into pods that serve nothing, from a list (root,
the policy's name, the pods' labels as a dict). */}}
{{- define "questlog.closedNetworkPolicy" -}}
{{- include "questlog.networkPolicy" (dict "root" (index . 0) "name" (index . 1) "selector" (index . 2) "rules" list) }}
{{- end }}

{{/* The closed NetworkPolicy of the chart's `helm test` pods. */}}
{{- define "questlog.testsNetworkPolicy" -}}
{{- $pods := dict "app.kubernetes.io/instance" .Release.Name "app.kubernetes.io/component" "test" "helm.sh/chart" (include "questlog.chart" .) }}
{{- include "questlog.closedNetworkPolicy" (list . (printf "%s-tests" (include "questlog.fullname" .)) $pods) }}
{{- end }}
