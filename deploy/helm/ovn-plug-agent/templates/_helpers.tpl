{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "ovn-plug-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every resource name. */}}
{{- define "ovn-plug-agent.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "ovn-plug-agent.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "ovn-plug-agent.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "ovn-plug-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ovn-plug-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ovn-plug-agent.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ovn-plug-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "ovn-plug-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ovn-plug-agent.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ovn-plug-agent.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The port of agent.listen (HOST:PORT). */}}
{{- define "ovn-plug-agent.listenPort" -}}
{{- $port := .Values.agent.listen | splitList ":" | last }}
{{- if not (regexMatch "^[0-9]+$" $port) }}
{{- fail (printf "agent.listen must be HOST:PORT, got %q" .Values.agent.listen) }}
{{- end }}
{{- $port }}
{{- end }}

{{/* The host of agent.listen, for probes when it is a loopback address. */}}
{{- define "ovn-plug-agent.listenHost" -}}
{{- $parts := .Values.agent.listen | splitList ":" }}
{{- $parts | initial | join ":" | trimPrefix "[" | trimSuffix "]" }}
{{- end }}

{{/*
What both own-node policies share (templates/own-node-policy.yaml): only the agent's
ServiceAccount, the node from its token's claim, and the claim required. Ends inside
`validations:` so each policy appends its own rule. Argument: dict with "user".
*/}}
{{- define "ovn-plug-agent.ownNodeCommon" -}}
matchConditions:
  - name: agent-service-account
    expression: request.userInfo.username == {{ .user | quote }}
variables:
  # The node of the pod the token is bound to; empty when the token carries no such claim
  # (a TokenRequest not bound to a pod, a legacy Secret token, a cluster without the claim).
  - name: nodeName
    expression: >-
      'authentication.kubernetes.io/node-name' in request.userInfo.extra &&
      size(request.userInfo.extra['authentication.kubernetes.io/node-name']) == 1
      ? request.userInfo.extra['authentication.kubernetes.io/node-name'][0] : ''
validations:
  - expression: variables.nodeName != ''
    reason: Forbidden
    message: >-
      {{ .user }} may write only with a token bound to a pod on a node (no
      authentication.kubernetes.io/node-name claim in this request)
{{- end }}
