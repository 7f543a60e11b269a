{{- define "sightline.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release name, prefixed with the chart name unless it already contains it; 63 characters for DNS names. */}}
{{- define "sightline.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "sightline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sightline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sightline.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "sightline.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The CPU image, or its CUDA build (the same tag with gpu.imageTagSuffix) when gpu.enabled. */}}
{{- define "sightline.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion }}
{{- if .Values.gpu.enabled }}
{{- $tag = printf "%s%s" $tag .Values.gpu.imageTagSuffix }}
{{- end }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}

{{/* application.yaml: values.config with the chart-managed keys on top, so the two cannot disagree. */}}
{{- define "sightline.applicationConfig" -}}
{{- $managed := dict "sightline" (dict
      "model" (dict "path" .Values.model.path)
      "engine" (dict "execution-provider" (ternary "cuda" "cpu" .Values.gpu.enabled))
      "auth" (dict "enabled" .Values.auth.enabled)) }}
{{- toYaml (mergeOverwrite (deepCopy .Values.config) $managed) }}
{{- end }}
