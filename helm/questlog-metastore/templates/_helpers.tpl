{{/* Cross-field checks of the values; rendering fails with the reason. */}}
{{- define "questlog-metastore.validateValues" -}}
{{- if not .Values.postgresql.enabled }}
{{- if not (hasPrefix "jdbc:postgresql://" .Values.externalDatabase.url) }}
{{- fail (printf "postgresql.enabled is false, so externalDatabase.url must be a jdbc:postgresql:// URL (it is %q)" .Values.externalDatabase.url) }}
{{- end }}
{{- if not .Values.externalDatabase.passwordSecret }}
{{- fail "postgresql.enabled is false, so externalDatabase.passwordSecret must name the Secret with the database password" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "questlog-metastore.postgresqlName" -}}
{{- printf "%s-postgresql" (include "questlog.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The database password: from the values, else the existing Secret, else a new one. */}}
{{- define "questlog-metastore.dbPassword" -}}
{{- $secret := lookup "v1" "Secret" .Release.Namespace (include "questlog-metastore.postgresqlName" .) }}
{{- if .Values.postgresql.password }}
{{- .Values.postgresql.password }}
{{- else if $secret }}
{{- index $secret.data "password" | b64dec }}
{{- else }}
{{- randAlphaNum 24 }}
{{- end }}
{{- end }}

{{/*
The metastore's settings (settings/questlog_settings), which the runner writes hive-site.xml and
core-site.xml from: its database, the warehouse, the lake's S3 endpoint. The password
comes from its Secret; the lake's keys from the credentials Secret.
*/}}
{{- define "questlog-metastore.env" -}}
{{- $url := .Values.externalDatabase.url }}
{{- $user := .Values.externalDatabase.user }}
{{- if .Values.postgresql.enabled }}
{{- $url = printf "jdbc:postgresql://%s:5432/%s" (include "questlog-metastore.postgresqlName" .) .Values.postgresql.database }}
{{- $user = .Values.postgresql.database }}
{{- end }}
- name: QUESTLOG__METASTORE__PORT
  value: {{ .Values.port | quote }}
- name: QUESTLOG__METASTORE__HEAP
  value: {{ .Values.heap | quote }}
- name: QUESTLOG__METASTORE__DB_URL
  value: {{ $url | quote }}
- name: QUESTLOG__METASTORE__DB_USER
  value: {{ $user | quote }}
- name: QUESTLOG__LAKE__ROOT
  value: {{ .Values.lake.warehouse | quote }}
- name: QUESTLOG__S3__ENDPOINT
  value: {{ .Values.lake.s3.endpoint | quote }}
{{- end }}

{{/* The Secret and key holding the database password. */}}
{{- define "questlog-metastore.passwordEnv" -}}
- name: QUESTLOG__METASTORE__DB_PASSWORD
  valueFrom:
    secretKeyRef:
      {{- if .Values.postgresql.enabled }}
      name: {{ include "questlog-metastore.postgresqlName" . }}
      {{- else }}
      name: {{ .Values.externalDatabase.passwordSecret }}
      {{- end }}
      key: password
{{- end }}

{{/* The runner's readiness question to the metastore, as an exec probe. */}}
{{- define "questlog-metastore.check" -}}
exec:
  command: [python, -m, questlog.stack.container, metastore, --check]
timeoutSeconds: 10
{{- end }}
