{{/* Chart name, or nameOverride. */}}
{{- define "tributary.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name when it holds the chart name, else release-chart. */}}
{{- define "tributary.fullname" -}}
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

{{- define "tributary.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the workers. */}}
{{- define "tributary.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tributary.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end }}

{{- define "tributary.labels" -}}
helm.sh/chart: {{ include "tributary.chart" . }}
{{ include "tributary.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "tributary.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tributary.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tributary.credentialsName" -}}
{{- default (printf "%s-credentials" (include "tributary.fullname" .)) .Values.credentials.name }}
{{- end }}

{{- define "tributary.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (toString (default .Chart.AppVersion .Values.image.tag)) }}
{{- end }}
{{- end }}

{{/*
The worker properties: the chart's REST settings, then .Values.worker.properties, sorted.
Integral numbers print as integers (YAML gives Helm float64s).
*/}}
{{- define "tributary.workerProperties" -}}
{{- $port := int .Values.service.port }}
{{- $props := dict "listeners" (printf "http://0.0.0.0:%d" $port) "rest.advertised.host.name" "${env:POD_IP}" "rest.advertised.port" (toString $port) }}
{{- range $k, $v := .Values.worker.properties }}
{{- if has $k (list "listeners" "rest.advertised.host.name" "rest.advertised.port") }}
{{- fail (printf "worker.properties.%s is set by the chart (from service.port and the pod IP)" $k) }}
{{- end }}
{{- if kindIs "float64" $v }}
{{- if eq $v (floor $v) }}{{ $v = int64 $v }}{{ end }}
{{- end }}
{{- $_ := set $props $k (toString $v) }}
{{- end }}
{{- range $k := keys $props | sortAlpha }}
{{ $k }}={{ get $props $k }}
{{- end }}
{{- end }}
