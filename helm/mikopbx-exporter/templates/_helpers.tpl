{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "mikopbx-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release name, plus the chart name unless the release name already contains it. */}}
{{- define "mikopbx-exporter.fullname" -}}
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

{{- define "mikopbx-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mikopbx-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mikopbx-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mikopbx-exporter.labels" -}}
helm.sh/chart: {{ include "mikopbx-exporter.chart" . }}
{{ include "mikopbx-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mikopbx-exporter
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "mikopbx-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mikopbx-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mikopbx-exporter.image" -}}
{{- $repo := .Values.image.repository }}
{{- if .Values.image.registry }}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Name of the Secret the credentials are mounted from ("" when there are none). */}}
{{- define "mikopbx-exporter.authSecretName" -}}
{{- if .Values.auth.existingSecret.name }}
{{- .Values.auth.existingSecret.name }}
{{- else if or .Values.auth.apiKey .Values.auth.password }}
{{- include "mikopbx-exporter.fullname" . }}
{{- end }}
{{- end }}

{{/* Key of the API key / password in that Secret ("" when not configured). */}}
{{- define "mikopbx-exporter.apiKeyKey" -}}
{{- if .Values.auth.existingSecret.name }}{{ .Values.auth.existingSecret.apiKeyKey }}{{ else if .Values.auth.apiKey }}api-key{{ end }}
{{- end }}
{{- define "mikopbx-exporter.passwordKey" -}}
{{- if .Values.auth.existingSecret.name }}{{ .Values.auth.existingSecret.passwordKey }}{{ else if .Values.auth.password }}password{{ end }}
{{- end }}

{{- define "mikopbx-exporter.webConfigEnabled" -}}
{{- if or .Values.webConfig.config .Values.webConfig.existingSecret }}true{{ end }}
{{- end }}

{{- define "mikopbx-exporter.webConfigSecretName" -}}
{{- .Values.webConfig.existingSecret | default (printf "%s-web-config" (include "mikopbx-exporter.fullname" .)) }}
{{- end }}

{{/* HTTPS when the web config enables TLS: probes and the ServiceMonitor follow it. */}}
{{- define "mikopbx-exporter.scheme" -}}
{{- if or .Values.webConfig.tls (hasKey .Values.webConfig.config "tls_server_config") }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/* Configuration mistakes the exporter would only report at start (exit 2), reported at install instead. */}}
{{- define "mikopbx-exporter.validate" -}}
{{- $a := .Values.auth }}
{{- $apiKeyKey := include "mikopbx-exporter.apiKeyKey" . }}
{{- $passwordKey := include "mikopbx-exporter.passwordKey" . }}
{{- $hasLogin := or $a.login (and $a.existingSecret.name $a.existingSecret.loginKey) }}
{{- if and $a.existingSecret.name (not (or $apiKeyKey $passwordKey)) }}
{{- fail "auth.existingSecret.name is set: set auth.existingSecret.apiKeyKey and/or auth.existingSecret.passwordKey to the keys that hold the credentials" }}
{{- end }}
{{- if and $passwordKey (not $hasLogin) }}
{{- fail "a password is configured: set auth.login (or auth.existingSecret.loginKey) too" }}
{{- end }}
{{- if and $hasLogin (not $passwordKey) }}
{{- fail "auth.login is set: set auth.password (or auth.existingSecret.passwordKey) too" }}
{{- end }}
{{- if and (eq .Values.config.apiVersion "legacy") (not $hasLogin) (not .Values.fleet.enabled) }}
{{- fail "config.apiVersion is legacy, which needs auth.login and a password (legacy MikoPBX has no API keys)" }}
{{- end }}
{{- if and .Values.caBundle.configMap .Values.caBundle.secret }}
{{- fail "set only one of caBundle.configMap and caBundle.secret" }}
{{- end }}
{{- if and .Values.webConfig.config .Values.webConfig.existingSecret }}
{{- fail "set only one of webConfig.config and webConfig.existingSecret" }}
{{- end }}
{{- if .Values.fleet.enabled }}
{{- include "mikopbx-exporter.validateFleet" . }}
{{- end }}
{{- end }}

{{/* A probe from values; an httpGet probe without its own scheme gets the exporter's. */}}
{{- define "mikopbx-exporter.probe" -}}
{{- $probe := deepCopy .probe }}
{{- if hasKey $probe "httpGet" }}
{{- $_ := set $probe.httpGet "scheme" ($probe.httpGet.scheme | default .scheme) }}
{{- end }}
{{- toYaml $probe }}
{{- end }}
