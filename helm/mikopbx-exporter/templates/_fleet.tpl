{{/* Fleet mode: one exporter process polls many PBXs from a targets file, sharded over StatefulSet replicas. */}}

{{/* 52 characters at most: the StatefulSet controller appends "-<revision hash>" (11) for a 63-character label. */}}
{{- define "mikopbx-exporter.statefulSetName" -}}
{{- include "mikopbx-exporter.fullname" . | trunc 52 | trimSuffix "-" }}
{{- end }}

{{/* Its own name, not the single-PBX Service's: a Service cannot turn headless in place (clusterIP is immutable). */}}
{{- define "mikopbx-exporter.headlessServiceName" -}}
{{- printf "%s-headless" (include "mikopbx-exporter.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{- define "mikopbx-exporter.targetsConfigMapName" -}}
{{- .Values.fleet.existingConfigMap | default (printf "%s-targets" (include "mikopbx-exporter.fullname" . | trunc 55 | trimSuffix "-")) }}
{{- end }}

{{- define "mikopbx-exporter.targetsFile" -}}
/etc/mikopbx-exporter/targets/targets.yaml
{{- end }}

{{/* The stable DNS name of replica .i (pod <sts>-<i> behind the headless Service), with the container port. */}}
{{- define "mikopbx-exporter.replicaAddress" -}}
{{- $ := .root }}
{{- printf "%s-%d.%s.%s.svc:%d" (include "mikopbx-exporter.statefulSetName" $) (int .i) (include "mikopbx-exporter.headlessServiceName" $) $.Release.Namespace (int $.Values.config.listenPort) }}
{{- end }}

{{/* What values.schema.json cannot say about fleet values (it already refuses MIKOPBX_URL and the single-PBX credentials). */}}
{{- define "mikopbx-exporter.validateFleet" -}}
{{- $f := .Values.fleet }}
{{- if $f.existingConfigMap }}
{{- if or $f.targets $f.authModules }}
{{- fail "fleet.existingConfigMap is set: leave fleet.targets and fleet.authModules empty (the targets file comes from that ConfigMap)" }}
{{- end }}
{{- else if not $f.targets }}
{{- fail "fleet.enabled: list the PBXs in fleet.targets, or set fleet.existingConfigMap to a ConfigMap holding targets.yaml" }}
{{- end }}
{{- $names := dict }}
{{- range $f.targets }}
{{- if hasKey $names .name }}
{{- fail (printf "fleet.targets: the name %q is used twice (names identify targets: the instance label, /probe?target=, the shard)" .name) }}
{{- end }}
{{- $_ := set $names .name true }}
{{- if and .auth (not (hasKey $f.authModules .auth)) }}
{{- fail (printf "fleet.targets: %s uses auth %q, which fleet.authModules does not define" .name .auth) }}
{{- end }}
{{- end }}
{{- range $module, $m := $f.authModules }}
{{- range $key := list "api_key_file" "password_file" }}
{{- $path := get $m $key }}
{{- if and $path (hasPrefix "/etc/mikopbx-exporter/secrets/" $path) (not $f.existingSecret) }}
{{- fail (printf "fleet.authModules.%s.%s points into /etc/mikopbx-exporter/secrets/: set fleet.existingSecret to the Secret holding that file" $module $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $f.existingSecret (not (.Values.podSecurityContext | default dict).fsGroup) }}
{{- fail "fleet.existingSecret is mounted with mode 0400: keep podSecurityContext.fsGroup set, or the exporter cannot read the files" }}
{{- end }}
{{- if ne .Values.service.type "ClusterIP" }}
{{- fail "fleet.enabled: service.type must be ClusterIP (the Service is headless: each replica serves its own shard, so Prometheus reaches every pod by name)" }}
{{- end }}
{{- range .Values.extraEnv }}
{{- if has .name (list "MIKOPBX_URL" "MIKOPBX_API_KEY" "MIKOPBX_API_KEY_FILE" "MIKOPBX_LOGIN" "MIKOPBX_PASSWORD" "MIKOPBX_PASSWORD_FILE") }}
{{- fail (printf "fleet.enabled: extraEnv must not set %s (the PBXs and their credentials are per target in the targets file)" .name) }}
{{- end }}
{{- end }}
{{- end }}
