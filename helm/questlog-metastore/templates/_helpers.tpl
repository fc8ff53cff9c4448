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

{{- define "questlog-metastore.xmlEscape" -}}
{{- . | replace "&" "&amp;" | replace "<" "&lt;" | replace ">" "&gt;" | replace "\"" "&quot;" }}
{{- end }}

{{/*
hive-site.xml: the local stack's own template (questlog/stack/templates/hive-site.xml),
filled in with this deployment's database and warehouse. The password is left as
${env.QUESTLOG_METASTORE_DB_PASSWORD}, which Hadoop's Configuration reads from the
environment, so it stays in its Secret.
*/}}
{{- define "questlog-metastore.hiveSite" -}}
{{- $url := .Values.externalDatabase.url }}
{{- $user := .Values.externalDatabase.user }}
{{- if .Values.postgresql.enabled }}
{{- $url = printf "jdbc:postgresql://%s:5432/%s" (include "questlog-metastore.postgresqlName" .) .Values.postgresql.database }}
{{- $user = .Values.postgresql.database }}
{{- end }}
{{- .Files.Get "files/hive-site.xml"
  | replace "${db_url}" (include "questlog-metastore.xmlEscape" $url)
  | replace "${db_driver}" "org.postgresql.Driver"
  | replace "${db_user}" (include "questlog-metastore.xmlEscape" $user)
  | replace "${db_password}" "${env.QUESTLOG_METASTORE_DB_PASSWORD}"
  | replace "${warehouse}" (include "questlog-metastore.xmlEscape" .Values.lake.warehouse)
  | replace "${port}" (toString .Values.port) }}
{{- end }}

{{/* The Secret and key holding the database password. */}}
{{- define "questlog-metastore.passwordEnv" -}}
- name: QUESTLOG_METASTORE_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      {{- if .Values.postgresql.enabled }}
      name: {{ include "questlog-metastore.postgresqlName" . }}
      {{- else }}
      name: {{ .Values.externalDatabase.passwordSecret }}
      {{- end }}
      key: password
{{- end }}
