{{/*
The pod template of the exporter, shared by the Deployment (one PBX) and the StatefulSet (fleet
mode). Fleet mode differs only in where the PBXs and their credentials come from: a targets file
and a Secret of credential files instead of MIKOPBX_URL and MIKOPBX_* credentials.
*/}}
{{- define "mikopbx-exporter.podTemplate" -}}
{{- /* Here, where exactly one of the two workloads passes in either mode. */}}
{{- include "mikopbx-exporter.validate" . }}
{{- $fleet := .Values.fleet.enabled }}
{{- $authSecret := include "mikopbx-exporter.authSecretName" . }}
{{- $apiKeyKey := include "mikopbx-exporter.apiKeyKey" . }}
{{- $passwordKey := include "mikopbx-exporter.passwordKey" . }}
{{- $webConfig := include "mikopbx-exporter.webConfigEnabled" . }}
{{- $scheme := include "mikopbx-exporter.scheme" . }}
{{- $ca := or .Values.caBundle.configMap .Values.caBundle.secret -}}
metadata:
  labels:
    {{- include "mikopbx-exporter.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    {{- /* Roll the pod when a Secret rendered by this chart changes. The targets ConfigMap has no
    checksum on purpose: the exporter re-reads the targets file itself, without a restart. */}}
    checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "mikopbx-exporter.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.automountServiceAccountToken }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: exporter
      image: {{ include "mikopbx-exporter.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      env:
        {{- if $fleet }}
        {{- /* POD_NAME first: Kubernetes expands $(POD_NAME) only from variables defined above it. */}}
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: SHARD
          value: "$(POD_NAME)/{{ .Values.fleet.replicas }}"
        - name: TARGETS_FILE
          value: {{ include "mikopbx-exporter.targetsFile" . }}
        - name: MAX_REQUESTS_IN_FLIGHT
          value: {{ .Values.fleet.maxRequestsInFlight | quote }}
        {{- else }}
        - name: MIKOPBX_URL
          value: {{ required "config.url is required: the base URL of the PBX, e.g. https://pbx.example.com" .Values.config.url | quote }}
        {{- end }}
        - name: MIKOPBX_API_VERSION
          value: {{ .Values.config.apiVersion | quote }}
        - name: MIKOPBX_TLS_INSECURE_SKIP_VERIFY
          value: {{ .Values.config.tlsInsecureSkipVerify | quote }}
        - name: MIKOPBX_TIMEOUT_SECONDS
          value: {{ .Values.config.timeoutSeconds | quote }}
        - name: POLL_INTERVAL_SECONDS
          value: {{ .Values.config.pollIntervalSeconds | quote }}
        - name: CDR_POLL_INTERVAL_SECONDS
          value: {{ .Values.config.cdrPollIntervalSeconds | quote }}
        - name: SYSTEM_POLL_INTERVAL_SECONDS
          value: {{ .Values.config.systemPollIntervalSeconds | quote }}
        - name: COLLECTORS
          value: {{ join "," .Values.config.collectors | quote }}
        - name: PEER_DETAILS
          value: {{ .Values.config.peerDetails | quote }}
        - name: LISTEN_ADDRESS
          value: {{ .Values.config.listenAddress | quote }}
        - name: LISTEN_PORT
          value: {{ .Values.config.listenPort | quote }}
        - name: MIKOPBX_MAX_REQUESTS_PER_MINUTE
          value: {{ .Values.config.maxRequestsPerMinute | quote }}
        - name: LOG_LEVEL
          value: {{ .Values.config.logLevel | quote }}
        {{- if $apiKeyKey }}
        - name: MIKOPBX_API_KEY_FILE
          value: /etc/mikopbx-exporter/auth/{{ $apiKeyKey }}
        {{- end }}
        {{- if and .Values.auth.existingSecret.name .Values.auth.existingSecret.loginKey }}
        - name: MIKOPBX_LOGIN
          valueFrom:
            secretKeyRef:
              name: {{ .Values.auth.existingSecret.name }}
              key: {{ .Values.auth.existingSecret.loginKey }}
        {{- else if .Values.auth.login }}
        - name: MIKOPBX_LOGIN
          value: {{ .Values.auth.login | quote }}
        {{- end }}
        {{- if $passwordKey }}
        - name: MIKOPBX_PASSWORD_FILE
          value: /etc/mikopbx-exporter/auth/{{ $passwordKey }}
        {{- end }}
        {{- if $ca }}
        - name: MIKOPBX_CA_FILE
          value: /etc/mikopbx-exporter/ca/{{ .Values.caBundle.key }}
        {{- end }}
        {{- if $webConfig }}
        - name: WEB_CONFIG_FILE
          value: /etc/mikopbx-exporter/web/web-config.yml
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http-metrics
          containerPort: {{ .Values.config.listenPort }}
          protocol: TCP
      {{- with .Values.livenessProbe }}
      livenessProbe:
        {{- include "mikopbx-exporter.probe" (dict "probe" . "scheme" $scheme) | nindent 8 }}
      {{- end }}
      {{- with .Values.readinessProbe }}
      readinessProbe:
        {{- include "mikopbx-exporter.probe" (dict "probe" . "scheme" $scheme) | nindent 8 }}
      {{- end }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        {{- if $authSecret }}
        - name: auth
          mountPath: /etc/mikopbx-exporter/auth
          readOnly: true
        {{- end }}
        {{- if $fleet }}
        {{- /* The directory, not a subPath: only then does the kubelet update the file in place. */}}
        - name: targets
          mountPath: /etc/mikopbx-exporter/targets
          readOnly: true
        {{- with .Values.fleet.existingSecret }}
        - name: fleet-secrets
          mountPath: /etc/mikopbx-exporter/secrets
          readOnly: true
        {{- end }}
        {{- end }}
        {{- if $ca }}
        - name: ca
          mountPath: /etc/mikopbx-exporter/ca
          readOnly: true
        {{- end }}
        {{- if $webConfig }}
        - name: web-config
          mountPath: /etc/mikopbx-exporter/web
          readOnly: true
        {{- end }}
        {{- if .Values.webConfig.tlsSecret }}
        - name: tls
          mountPath: /etc/mikopbx-exporter/tls
          readOnly: true
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    {{- if $authSecret }}
    - name: auth
      secret:
        secretName: {{ $authSecret }}
        # World-readable inside the pod: the exporter runs as whatever runAsUser says.
        defaultMode: 0444
    {{- end }}
    {{- if $fleet }}
    - name: targets
      configMap:
        name: {{ include "mikopbx-exporter.targetsConfigMapName" . }}
        items:
          - key: targets.yaml
            path: targets.yaml
    {{- with .Values.fleet.existingSecret }}
    - name: fleet-secrets
      secret:
        secretName: {{ . }}
        # Owner-only; with fsGroup (checked at install) the kubelet makes the files readable by
        # the pod's group too (0440), so the exporter reads them and nothing else in the pod does.
        defaultMode: 0400
    {{- end }}
    {{- end }}
    {{- if .Values.caBundle.configMap }}
    - name: ca
      configMap:
        name: {{ .Values.caBundle.configMap }}
        items:
          - key: {{ .Values.caBundle.key }}
            path: {{ .Values.caBundle.key }}
    {{- else if .Values.caBundle.secret }}
    - name: ca
      secret:
        secretName: {{ .Values.caBundle.secret }}
        items:
          - key: {{ .Values.caBundle.key }}
            path: {{ .Values.caBundle.key }}
    {{- end }}
    {{- if $webConfig }}
    - name: web-config
      secret:
        secretName: {{ include "mikopbx-exporter.webConfigSecretName" . }}
        items:
          - key: web-config.yml
            path: web-config.yml
    {{- end }}
    {{- if .Values.webConfig.tlsSecret }}
    - name: tls
      secret:
        secretName: {{ .Values.webConfig.tlsSecret }}
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
