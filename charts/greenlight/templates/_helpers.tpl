{{/* Names and labels shared by every object of the release. */}}
{{- define "greenlight.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release name alone when it already says greenlight (helm install greenlight ...: greenlight-web,
     not greenlight-greenlight-web). */}}
{{- define "greenlight.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "greenlight.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "greenlight.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "greenlight.selectorLabels" -}}
app.kubernetes.io/name: {{ include "greenlight.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "greenlight.labels" -}}
{{ include "greenlight.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "greenlight.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{/* Environment of both roles (ROLE is set per Deployment); secrets come from existingSecret (envFrom). */}}
{{- define "greenlight.env" -}}
- name: PORT
  value: "3000"
{{- if .Values.redis.url }}
- name: REDIS_URL
  value: {{ .Values.redis.url | quote }}
{{- end }}
- name: REDIS_MODE
  value: {{ .Values.redis.mode | quote }}
- name: REDIS_PREFIX
  value: {{ .Values.redis.prefix | quote }}
- name: GITLAB_URL
  value: {{ .Values.config.gitlabUrl | quote }}
- name: GITLAB_AUTH_MODE
  value: {{ .Values.config.gitlabAuthMode | quote }}
- name: GITLAB_RATE_LIMIT
  value: {{ .Values.config.gitlabRateLimit | toString | quote }}
- name: GITLAB_PROJECT_RATE_LIMIT
  value: {{ .Values.config.gitlabProjectRateLimit | toString | quote }}
- name: GITLAB_SWEEP_RATE_LIMIT
  value: {{ .Values.config.gitlabSweepRateLimit | toString | quote }}
- name: SLACK_COMMAND
  value: {{ .Values.config.slackCommand | quote }}
- name: LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
{{- $publicUrl := required "config.publicUrl: the URL where GitLab, Slack and browsers reach greenlight" .Values.config.publicUrl }}
- name: PUBLIC_URL
  value: {{ $publicUrl | quote }}
{{- if .Values.config.slackChannel }}
- name: SLACK_CHANNEL
  value: {{ .Values.config.slackChannel | quote }}
{{- else if not (hasKey (fromYaml (default "{}" .Values.policy)) "channel") }}
{{- fail "config.slackChannel: set the channel ID for cards (C0123ABCD), or channel: in the policy" }}
{{- end }}
{{- if .Values.config.trustedProxies }}
- name: TRUSTED_PROXIES
  value: {{ .Values.config.trustedProxies | quote }}
{{- else if .Values.ingress.enabled }}
- name: TRUSTED_PROXIES
  value: {{ .Values.ingress.trustedProxies | quote }}
{{- end }}
{{- if .Values.policy }}
- name: CONFIG_FILE
  value: /etc/greenlight/policy.yml
{{- end }}
{{- range $name, $value := .Values.extraEnv }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by both roles. */}}
{{- define "greenlight.podSecurity" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: 30
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "greenlight.podAnnotations" -}}
{{- if .Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: "3000"
prometheus.io/path: /metrics
{{- end }}
{{- if .Values.policy }}
checksum/policy: {{ .Values.policy | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}
